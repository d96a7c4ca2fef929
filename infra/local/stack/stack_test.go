package stack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/infra/local/stack"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
)

func TestCreateAndFunctionEnv(t *testing.T) {
	cfg := dynamotest.AWSConfig(t)
	tpl, err := provision.Load(dynamotest.TemplatePath())
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("st%d-", time.Now().UnixNano()%1e9)
	ctx := context.Background()
	st, err := stack.Create(ctx, cfg, tpl, stack.Config{
		Prefix: prefix, WebhookAuthMode: "header", WebhookHeader: "X-Token", WebhookUsername: "idwise", WebhookSecret: "s1",
		APIKey: "k", APISecret: "p", IDWiseBaseURL: "http://127.0.0.1:9/",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range st.Tables {
			_, _ = dynamodb.NewFromConfig(cfg).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	if st.Tables["Table"] != prefix+"Table" {
		t.Errorf("tables = %v, want Table named %sTable", st.Tables, prefix)
	}

	// The secrets hold what the config says, under the names sam-env.json uses for "kyc-local-".
	sm := secretsmanager.NewFromConfig(cfg)
	for name, want := range map[string]string{
		"/idwise-webhook": `{"secret":"s1","username":"idwise"}`,
		"/idwise-api":     `{"apiKey":"k","apiSecret":"p"}`,
	} {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(strings.TrimSuffix(prefix, "-") + name)})
		if err != nil || aws.ToString(out.SecretString) != want {
			t.Errorf("secret %s = %v, %v; want %s", name, out, err, want)
		}
	}

	// Every function's environment resolves; the values come from the stack and the config.
	for _, id := range tpl.Functions() {
		if _, err := st.FunctionEnv(id); err != nil {
			t.Errorf("FunctionEnv(%s) = %v", id, err)
		}
	}
	tests := []struct {
		function, name, want string
	}{
		{"WebhookFunction", "TABLE_NAME", prefix + "Table"},
		{"WebhookFunction", "IDWISE_WEBHOOK_AUTH", "header"},
		{"WebhookFunction", "IDWISE_WEBHOOK_HEADER", "X-Token"},
		{"WebhookFunction", "AWS_ENDPOINT_URL", ""}, // Globals: empty in AWS
		{"ProcessorFunction", "IDWISE_API_BASE_URL", "http://127.0.0.1:9/"},
		{"ProcessorFunction", "STATUS_TOPIC_ARN", st.Topics["StatusTopic"]},
	}
	for _, tt := range tests {
		env, err := st.FunctionEnv(tt.function)
		got, ok := env[tt.name]
		if err != nil || !ok || got != tt.want {
			t.Errorf("FunctionEnv(%s)[%s] = %q (set %v), %v; want %q", tt.function, tt.name, got, ok, err, tt.want)
		}
	}
	env, _ := st.FunctionEnv("WebhookFunction")
	if arn := env["IDWISE_WEBHOOK_SECRET_ARN"]; !strings.HasPrefix(arn, "arn:aws:secretsmanager:") || !strings.Contains(arn, strings.TrimSuffix(prefix, "-")+"/idwise-webhook") {
		t.Errorf("IDWISE_WEBHOOK_SECRET_ARN = %q, want the created secret's ARN", arn)
	}
	if _, err := st.FunctionEnv("NoSuchFunction"); err == nil {
		t.Error("FunctionEnv(NoSuchFunction) = nil error")
	}
}
