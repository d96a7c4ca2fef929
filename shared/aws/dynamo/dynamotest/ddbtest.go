// Package dynamotest gives integration tests a fresh table on DynamoDB Local, created from
// the table's declaration in Go (dynamo.TableInput, which template.yaml is tested to equal),
// so that tests need neither the template nor the local runtime.
package dynamotest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
)

// AWSConfig returns the SDK configuration for the emulators started by
// infra/local/with-emulators.sh (it exports the standard AWS_ENDPOINT_URL_* variables).
// Without them the test is skipped; `make test` always sets them.
func AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("emulators not running: use `make test` or infra/local/with-emulators.sh go test ./...")
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("load aws config: %v", err)
	}
	return cfg
}

var seq atomic.Int64

// TemplatePath is the repository's template.yaml.
func TemplatePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "template.yaml")
}

// NewTable creates the declared table under a unique name and deletes it when the test
// ends. It returns a client and the table name.
func NewTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	cfg := AWSConfig(t)
	name := fmt.Sprintf("t%d-%d-Table", time.Now().UnixNano()%1e9, seq.Add(1))
	client := dynamodb.NewFromConfig(cfg)
	if err := dynamo.EnsureTable(context.Background(), client, dynamo.TableInput(name), dynamo.TTLAttribute); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return client, name
}
