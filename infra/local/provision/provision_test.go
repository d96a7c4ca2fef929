package provision

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// emulatorConfig returns an SDK config for the emulators of infra/local/with-emulators.sh
// (endpoints come from AWS_ENDPOINT_URL_*), or skips the test outside it. CI always runs
// the tests through with-emulators.sh.
func emulatorConfig(t *testing.T) (context.Context, aws.Config) {
	t.Helper()
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("KYC_EMULATORS is not 1: run through infra/local/with-emulators.sh (CI does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return ctx, cfg
}

type index struct {
	name       string
	hash       string
	rangeKey   string
	projection ddbtypes.ProjectionType
}

func TestCreateTables(t *testing.T) {
	ctx, cfg := emulatorConfig(t)
	tmpl := loadTemplate(t)
	client := dynamodb.NewFromConfig(cfg)

	const prefix = "kyc-test-"
	names, err := tmpl.CreateTables(ctx, cfg, prefix)
	if err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	if got, want := names["Table"], prefix+"Table"; got != want {
		t.Fatalf("CreateTables()[Table] = %q, want %q", got, want)
	}
	name := names["Table"]

	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeTable(%s): %v", name, err)
	}
	table := desc.Table

	// The indexes the product queries (dynamo.IndexByJourney, dynamo.IndexUnprocessed): the template must declare them.
	wantIndexes := []index{
		{"ByJourney", "journeyKey", "receivedAt", ddbtypes.ProjectionTypeAll},
		{"Unprocessed", "pendingKey", "receivedAt", ddbtypes.ProjectionTypeKeysOnly},
	}
	var gotIndexes []index
	for _, g := range table.GlobalSecondaryIndexes {
		ix := index{name: aws.ToString(g.IndexName)}
		for _, k := range g.KeySchema {
			switch k.KeyType {
			case ddbtypes.KeyTypeHash:
				ix.hash = aws.ToString(k.AttributeName)
			case ddbtypes.KeyTypeRange:
				ix.rangeKey = aws.ToString(k.AttributeName)
			}
		}
		if g.Projection != nil {
			ix.projection = g.Projection.ProjectionType
		}
		gotIndexes = append(gotIndexes, ix)
	}
	for _, want := range wantIndexes {
		t.Run("gsi "+want.name, func(t *testing.T) {
			if !slices.Contains(gotIndexes, want) {
				t.Errorf("global secondary indexes = %+v, want one %+v", gotIndexes, want)
			}
		})
	}

	checks := []struct {
		name string
		got  any
		want any
	}{
		{"billing mode", billingMode(table), ddbtypes.BillingModePayPerRequest},
		{"stream enabled", table.StreamSpecification != nil && aws.ToBool(table.StreamSpecification.StreamEnabled), true},
		{"stream view type", streamViewType(table), ddbtypes.StreamViewTypeNewImage},
		{"stream arn set", table.LatestStreamArn != nil, true},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}

	t.Run("ttl", func(t *testing.T) {
		var wantAttr string
		for _, tbl := range tmpl.Tables() {
			if tbl.LogicalID == "Table" {
				wantAttr = tbl.TTLAttribute
			}
		}
		if wantAttr == "" {
			t.Fatalf("template Table has no TTL attribute, want one")
		}
		out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeTimeToLive: %v", err)
		}
		d := out.TimeToLiveDescription
		if d == nil {
			t.Fatalf("TimeToLiveDescription = nil, want attribute %s enabled", wantAttr)
		}
		if got := aws.ToString(d.AttributeName); got != wantAttr {
			t.Errorf("TTL attribute = %q, want %q", got, wantAttr)
		}
		if d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled {
			t.Errorf("TTL status = %s, want %s", d.TimeToLiveStatus, ddbtypes.TimeToLiveStatusEnabled)
		}
	})

	t.Run("second run keeps the table and its items", func(t *testing.T) {
		key := map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "TEST#keep"},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "TEST"},
		}
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: key}); err != nil {
			t.Fatalf("PutItem: %v", err)
		}
		again, err := tmpl.CreateTables(ctx, cfg, prefix)
		if err != nil {
			t.Fatalf("CreateTables again: %v", err)
		}
		if got := again["Table"]; got != name {
			t.Errorf("CreateTables again [Table] = %q, want %q", got, name)
		}
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: key})
		if err != nil {
			t.Fatalf("GetItem: %v", err)
		}
		if out.Item == nil {
			t.Errorf("item after second CreateTables = nil, want it kept")
		}
	})
}

func TestCreateTablesReplacesOutdated(t *testing.T) {
	ctx, cfg := emulatorConfig(t)
	tmpl := loadTemplate(t)
	client := dynamodb.NewFromConfig(cfg)

	const prefix = "kyc-outdated-"
	name := prefix + "Table"
	// A table of the same name with an older shape: hash key only, no index, no stream.
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable(%s): %v", name, err)
	}

	if _, err := tmpl.CreateTables(ctx, cfg, prefix); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeTable(%s): %v", name, err)
	}
	if got, want := len(desc.Table.KeySchema), 2; got != want {
		t.Errorf("key schema length = %d, want %d", got, want)
	}
	if got, want := len(desc.Table.GlobalSecondaryIndexes), len(tmpl.Tables()[0].GSIs); got != want {
		t.Errorf("global secondary indexes = %d, want %d", got, want)
	}
	if got, want := streamViewType(desc.Table), ddbtypes.StreamViewTypeNewImage; got != want {
		t.Errorf("stream view type = %q, want %q", got, want)
	}
}

func billingMode(d *ddbtypes.TableDescription) ddbtypes.BillingMode {
	if d.BillingModeSummary == nil {
		return ""
	}
	return d.BillingModeSummary.BillingMode
}

func streamViewType(d *ddbtypes.TableDescription) ddbtypes.StreamViewType {
	if d.StreamSpecification == nil {
		return ""
	}
	return d.StreamSpecification.StreamViewType
}

func TestPutSecret(t *testing.T) {
	ctx, cfg := emulatorConfig(t)
	client := secretsmanager.NewFromConfig(cfg)
	const name = "kyc-test/idwise-webhook"

	tests := []struct {
		name  string
		value string
	}{
		{"create", `{"username":"idwise","secret":"first"}`},
		{"update", `{"username":"idwise","secret":"second","previousSecret":"first"}`},
	}
	var firstARN string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arn, err := PutSecret(ctx, cfg, name, tt.value)
			if err != nil {
				t.Fatalf("PutSecret(%s): %v", name, err)
			}
			if firstARN == "" {
				firstARN = arn
			} else if arn != firstARN {
				t.Errorf("PutSecret ARN = %q, want the first one %q", arn, firstARN)
			}
			out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
			if err != nil {
				t.Fatalf("GetSecretValue(%s): %v", arn, err)
			}
			if got := aws.ToString(out.SecretString); got != tt.value {
				t.Errorf("GetSecretValue = %q, want %q", got, tt.value)
			}
		})
	}
}
