package dynamo_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
)

// tableSpec is what a table is to the code: the fields of AWS::DynamoDB::Table that
// CreateTable and UpdateTimeToLive take, in a canonical order.
type tableSpec struct {
	BillingMode            string
	AttributeDefinitions   []struct{ AttributeName, AttributeType string }
	KeySchema              []keyElement
	GlobalSecondaryIndexes []struct {
		IndexName  string
		KeySchema  []keyElement
		Projection struct {
			ProjectionType   string
			NonKeyAttributes []string
		}
	}
	StreamSpecification     struct{ StreamViewType string }
	TimeToLiveSpecification struct {
		AttributeName string
		Enabled       bool
	}
}

type keyElement struct{ AttributeName, KeyType string }

func (s *tableSpec) sort() {
	slices.SortFunc(s.AttributeDefinitions, func(a, b struct{ AttributeName, AttributeType string }) int {
		return strings.Compare(a.AttributeName, b.AttributeName)
	})
	slices.SortFunc(s.GlobalSecondaryIndexes, func(a, b struct {
		IndexName  string
		KeySchema  []keyElement
		Projection struct {
			ProjectionType   string
			NonKeyAttributes []string
		}
	}) int {
		return strings.Compare(a.IndexName, b.IndexName)
	})
}

// templateTable reads the Table resource of template.yaml (goformation's YAML reader:
// short-form tags become their long form, intrinsics stay as written).
func templateTable(t *testing.T) tableSpec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties tableSpec
		}
	}
	if err := json.Unmarshal(js, &tpl); err != nil {
		t.Fatalf("decode template.yaml: %v", err)
	}
	r, ok := tpl.Resources["Table"]
	if !ok || r.Type != "AWS::DynamoDB::Table" {
		t.Fatalf("template.yaml has no AWS::DynamoDB::Table named Table")
	}
	r.Properties.sort()
	return r.Properties
}

// declaredTable is dynamo.TableInput as a tableSpec (through JSON: the SDK's field names are
// CloudFormation's).
func declaredTable(t *testing.T, in *dynamodb.CreateTableInput, ttl string) tableSpec {
	t.Helper()
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var s tableSpec
	if err := json.Unmarshal(js, &s); err != nil {
		t.Fatal(err)
	}
	s.TimeToLiveSpecification.AttributeName, s.TimeToLiveSpecification.Enabled = ttl, ttl != ""
	s.sort()
	return s
}

// TestTemplateTableIsTheDeclaration: template.yaml deploys the table the code declares
// (keys, attribute definitions, indexes with their projections, TTL attribute, stream).
func TestTemplateTableIsTheDeclaration(t *testing.T) {
	got, want := templateTable(t), declaredTable(t, dynamo.TableInput("x"), dynamo.TTLAttribute)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("template.yaml Table =\n%s\nwant dynamo.TableInput =\n%s", g, w)
	}
}

// TestTableSpecDetectsDrift: the comparison above can fail (a changed projection, index
// or TTL attribute shows).
func TestTableSpecDetectsDrift(t *testing.T) {
	base := declaredTable(t, dynamo.TableInput("x"), dynamo.TTLAttribute)
	tests := []struct {
		name   string
		change func(in *dynamodb.CreateTableInput) string // returns the TTL attribute
	}{
		{"projection", func(in *dynamodb.CreateTableInput) string {
			in.GlobalSecondaryIndexes[1].Projection.ProjectionType = types.ProjectionTypeAll
			return dynamo.TTLAttribute
		}},
		{"index dropped", func(in *dynamodb.CreateTableInput) string {
			in.GlobalSecondaryIndexes = in.GlobalSecondaryIndexes[:1]
			return dynamo.TTLAttribute
		}},
		{"ttl attribute", func(*dynamodb.CreateTableInput) string { return "ttl" }},
		{"stream", func(in *dynamodb.CreateTableInput) string {
			in.StreamSpecification.StreamViewType = types.StreamViewTypeNewAndOldImages
			return dynamo.TTLAttribute
		}},
		{"sort key", func(in *dynamodb.CreateTableInput) string {
			in.KeySchema[1].AttributeName = aws.String("other")
			return dynamo.TTLAttribute
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := dynamo.TableInput("x")
			ttl := tt.change(in)
			if got := declaredTable(t, in, ttl); reflect.DeepEqual(got, base) {
				t.Errorf("changed %s: spec = base spec, want a difference", tt.name)
			}
			if tt.name != "ttl attribute" && dynamo.SameTable(dynamo.TableInput("x"), describe(in)) {
				t.Errorf("SameTable(declaration, table with changed %s) = true, want false", tt.name)
			}
		})
	}
	if !dynamo.SameTable(dynamo.TableInput("x"), describe(dynamo.TableInput("y"))) {
		t.Errorf("SameTable(declaration, its own table) = false, want true")
	}
}

// describe is the TableDescription DynamoDB gives for a table created with in.
func describe(in *dynamodb.CreateTableInput) *types.TableDescription {
	d := &types.TableDescription{TableName: in.TableName, KeySchema: in.KeySchema, StreamSpecification: in.StreamSpecification}
	for _, g := range in.GlobalSecondaryIndexes {
		d.GlobalSecondaryIndexes = append(d.GlobalSecondaryIndexes, types.GlobalSecondaryIndexDescription{
			IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection})
	}
	return d
}
