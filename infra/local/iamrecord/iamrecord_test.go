package iamrecord

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Each SDK call becomes the authorizations IAM makes for it: a transaction item by item
// with the per-item action (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html),
// a Query's leading key from its key condition, on the index's partition key for an index.
func TestAuthorizations(t *testing.T) {
	r := &Recorder{account: "123456789012", region: "us-east-1"}
	const tbl = "arn:aws:dynamodb:us-east-1:123456789012:table/T"
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	key := func(pk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": s(pk), "sk": s("X")}
	}
	tests := []struct {
		name   string
		op     string
		params any
		want   []Call
	}{
		{"get", "DynamoDB.GetItem", &dynamodb.GetItemInput{TableName: aws.String("T"), Key: key("PROFILE#a")},
			[]Call{{Action: "dynamodb:GetItem", Resource: tbl, LeadingKeys: []string{"PROFILE#a"}}}},
		{"transaction item by item", "DynamoDB.TransactWriteItems", &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String("T"), Item: key("PROFILE#a")}},
			{Update: &types.Update{TableName: aws.String("T"), Key: key("EVENT#e")}},
			{ConditionCheck: &types.ConditionCheck{TableName: aws.String("T"), Key: key("CLAIM#c")}},
			{Delete: &types.Delete{TableName: aws.String("T"), Key: key("TOKEN#t")}},
		}}, []Call{
			{Action: "dynamodb:PutItem", Resource: tbl, LeadingKeys: []string{"PROFILE#a"}},
			{Action: "dynamodb:UpdateItem", Resource: tbl, LeadingKeys: []string{"EVENT#e"}},
			{Action: "dynamodb:ConditionCheckItem", Resource: tbl, LeadingKeys: []string{"CLAIM#c"}},
			{Action: "dynamodb:DeleteItem", Resource: tbl, LeadingKeys: []string{"TOKEN#t"}},
		}},
		{"query with names", "DynamoDB.Query", &dynamodb.QueryInput{TableName: aws.String("T"),
			KeyConditionExpression:    aws.String("#0 = :0 AND begins_with(#1, :1)"),
			ExpressionAttributeNames:  map[string]string{"#0": "pk", "#1": "sk"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":0": s("PROFILE#a"), ":1": s("DEVICE#")}},
			[]Call{{Action: "dynamodb:Query", Resource: tbl, LeadingKeys: []string{"PROFILE#a"}}}},
		{"query of an index", "DynamoDB.Query", &dynamodb.QueryInput{TableName: aws.String("T"), IndexName: aws.String("ByJourney"),
			KeyConditionExpression:    aws.String("journeyKey = :j"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":j": s("idwise#j1")}},
			[]Call{{Action: "dynamodb:Query", Resource: tbl + "/index/ByJourney", LeadingKeys: []string{"idwise#j1"}}}},
		{"publish to an endpoint", "SNS.Publish", &sns.PublishInput{TargetArn: aws.String("arn:aws:sns:us-east-1:123456789012:endpoint/GCM/a/1")},
			[]Call{{Action: "sns:Publish", Resource: "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/a/1"}}},
		{"secret by name", "Secrets Manager.GetSecretValue", &secretsmanager.GetSecretValueInput{SecretId: aws.String("kyc/x")},
			[]Call{{Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:kyc/x"}}},
		{"queue url", "SQS.SendMessage", &sqs.SendMessageInput{QueueUrl: aws.String("http://127.0.0.1:5000/123456789012/q")},
			[]Call{{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:123456789012:q"}}},
		{"unknown operation", "DynamoDB.DescribeTable", &dynamodb.DescribeTableInput{TableName: aws.String("T")},
			[]Call{{Action: "dynamodb:DescribeTable", Resource: "*"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Authorizations(tt.op, tt.params); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Authorizations(%s) = %+v, want %+v", tt.op, got, tt.want)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvVar, "")
	if r, err := FromEnv(Stack{Stack: "s"}, "1", "r"); r != nil || err != nil {
		t.Fatalf("FromEnv() unset = %v, %v, want nil, nil (nothing installed)", r, err)
	}
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	t.Setenv(EnvVar, path)
	r, err := FromEnv(Stack{Stack: "s", Refs: map[string]string{"Table": "T"}}, "123456789012", "us-east-1")
	if err != nil || r == nil {
		t.Fatalf("FromEnv() = %v, %v", r, err)
	}
	for _, c := range r.Authorizations("DynamoDB.GetItem", &dynamodb.GetItemInput{TableName: aws.String("T")}) {
		c.Kind, c.Stack, c.Function = "call", "s", "F"
		if err := r.write(c); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var kinds []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct{ Kind, Stack string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Stack != "s" {
			t.Fatalf("line %q: %v, want JSON of stack s", sc.Text(), err)
		}
		kinds = append(kinds, line.Kind)
	}
	if want := []string{"stack", "call"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
}
