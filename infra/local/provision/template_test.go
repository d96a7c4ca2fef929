package provision

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// templatePath is the repository's real template, so that the local and the deployed
// definitions cannot drift.
const templatePath = "../../../template.yaml"

func loadTemplate(t *testing.T) *Template {
	t.Helper()
	tmpl, err := Load(templatePath)
	if err != nil {
		t.Fatalf("Load(%q): %v", templatePath, err)
	}
	return tmpl
}

func TestRoutes(t *testing.T) {
	routes := loadTemplate(t).Routes()
	tests := []struct {
		name string
		want Route
	}{
		{
			name: "idwise webhook",
			want: Route{Method: "POST", Path: "/webhooks/idwise", FunctionLogicalID: "WebhookFunction", API: "HttpApi"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Contains(routes, tt.want) {
				t.Errorf("Routes() = %+v, want it to contain %+v", routes, tt.want)
			}
		})
	}
}

func TestTablesFromTemplate(t *testing.T) {
	tables := loadTemplate(t).Tables()
	i := slices.IndexFunc(tables, func(tbl Table) bool { return tbl.LogicalID == "Table" })
	if i < 0 {
		t.Fatalf("Tables() = %+v, want a table with logical ID Table", tables)
	}
	tbl := tables[i]
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"keys", tbl.Keys, []Key{{"pk", "HASH"}, {"sk", "RANGE"}}},
		{"stream", tbl.StreamViewType, "NEW_IMAGE"},
		{"ttl attribute", tbl.TTLAttribute, "expiresAt"},
		{"gsi count", len(tbl.GSIs), 2}, // ByJourney, Unprocessed: no index by profile (cost)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !equal(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func equal(a, b any) bool {
	ka, okA := a.([]Key)
	kb, okB := b.([]Key)
	if okA && okB {
		return slices.Equal(ka, kb)
	}
	return a == b
}

func TestFunctionEnvResolves(t *testing.T) {
	tmpl := loadTemplate(t)
	if env := tmpl.FunctionEnv("NoSuchFunction"); env != nil {
		t.Errorf("FunctionEnv(NoSuchFunction) = %v, want nil", env)
	}
	const (
		tableName = "kyc-local-Table"
		secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:kyc-local/idwise-webhook-AbCdEf"
		givenARN  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:given-XyZ123"
	)
	tests := []struct {
		name   string
		params map[string]string
		want   map[string]string
	}{
		{
			name: "defaults: the stack's own secret",
			want: map[string]string{
				"TABLE_NAME":                tableName,
				"IDWISE_WEBHOOK_SECRET_ARN": secretARN,
				"RAW_EVENT_RETENTION_DAYS":  "30",
				"IDWISE_ALLOWED_CIDRS":      "",
			},
		},
		{
			name:   "existing secret and overrides",
			params: map[string]string{"IdwiseWebhookSecretArn": givenARN, "RawEventRetentionDays": "9", "IdwiseWebhookAuthMode": "basic"},
			want: map[string]string{
				"IDWISE_WEBHOOK_SECRET_ARN": givenARN,
				"RAW_EVENT_RETENTION_DAYS":  "9",
				"IDWISE_WEBHOOK_AUTH":       "basic",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := tmpl.Env(tt.params)
			if err != nil {
				t.Fatalf("Env(%v): %v", tt.params, err)
			}
			env.Refs["Table"] = tableName
			env.Refs["IdwiseWebhookSecret"] = secretARN
			vars := tmpl.FunctionEnv("WebhookFunction")
			for name, want := range tt.want {
				v, ok := vars[name]
				if !ok {
					t.Errorf("FunctionEnv(WebhookFunction)[%s] missing, want %q", name, want)
					continue
				}
				got, err := v.Resolve(env)
				if err != nil || got != want {
					t.Errorf("%s.Resolve() = %q, %v, want %q, nil", name, got, err, want)
				}
			}
		})
	}
}

// The deadline of every local invocation (infra/local/invoke, the emulator's
// AWS_LAMBDA_FUNCTION_TIMEOUT) is the function's Timeout, else Globals'.
func TestFunctionTimeout(t *testing.T) {
	tmpl := loadTemplate(t)
	tests := []struct {
		id   string
		want time.Duration
	}{
		{"WebhookFunction", 10 * time.Second}, // Globals
		{"ApiFunction", 10 * time.Second},
		{"ProcessorFunction", 90 * time.Second},
		{"SweeperFunction", 300 * time.Second},
		{"PushFunction", 30 * time.Second},
		{"NoSuchFunction", 0},
	}
	for _, tt := range tests {
		if got := tmpl.FunctionTimeout(tt.id); got != tt.want {
			t.Errorf("FunctionTimeout(%s) = %v, want %v", tt.id, got, tt.want)
		}
		if got, want := tmpl.FunctionMemoryMB(tt.id), 256; tt.want != 0 && got != want {
			t.Errorf("FunctionMemoryMB(%s) = %d, want %d (Globals)", tt.id, got, want)
		}
	}
	bare, err := parse([]byte("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := bare.FunctionTimeout("F"); got != DefaultTimeout {
		t.Errorf("FunctionTimeout(F) without Timeout = %v, want %v", got, DefaultTimeout)
	}
	if _, err := parse([]byte("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Timeout: 901}\n")); err == nil {
		t.Errorf("parse(Timeout: 901) error = nil, want an error")
	}
}

func TestEnvUnknownParameter(t *testing.T) {
	_, err := loadTemplate(t).Env(map[string]string{"NoSuchParameter": "x"})
	if err == nil {
		t.Errorf("Env(NoSuchParameter) error = nil, want an error")
	}
}

const valuesTemplate = `
Parameters:
  Stage: {Type: String, Default: dev}
  Size: {Type: Number, Default: 5}
  Given: {Type: String, Default: ""}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition NotProd, !Equals [!Ref Given, ""]]
  Either: {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": [1, 1]}]}
Globals:
  Function:
    Environment:
      Variables:
        SHARED: global
        OVERRIDDEN: global
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          OVERRIDDEN: local
          SIZE: !Ref Size
          ARN: !GetAtt Table.Arn
          ARN_LONG: {"Fn::GetAtt": [Table, StreamArn]}
          SUB: !Sub '${AWS::StackName}-${Table}-${Table.Arn}-${!Literal}'
          SUB_VARS: !Sub ['${A}/${Stage}', {A: !Ref Table}]
          IF: !If [IsProd, prod-value, !Ref Stage]
          JOIN: !Join ['-', [a, b]]
          MISSING: !Ref Nowhere
          IMPORT: !ImportValue other-stack-output
          IF_MISSING: !If [NotProd, !Ref Nowhere, x]
          IF_OTHER_MISSING: !If [IsProd, !Ref Nowhere, !Ref Stage]
          SUB_MISSING: !Sub 'a-${Nowhere}'
      Events:
        Any:
          Type: HttpApi
        Get:
          Type: HttpApi
          Properties: {Method: get, Path: /x}
        Queue:
          Type: SQS
          Properties: {Queue: arn}
`

func TestValues(t *testing.T) {
	tmpl, err := parse([]byte(valuesTemplate))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	env, err := tmpl.Env(nil)
	if err != nil {
		t.Fatalf("Env(nil): %v", err)
	}
	env.Refs["Table"] = "tbl"
	env.Attrs["Table.Arn"] = "tbl-arn"
	env.Attrs["Table.StreamArn"] = "tbl-stream"
	vars := tmpl.FunctionEnv("Fn")

	tests := []struct {
		name     string
		variable string
		want     string
		wantErr  error
	}{
		{name: "globals", variable: "SHARED", want: "global"},
		{name: "function over globals", variable: "OVERRIDDEN", want: "local"},
		{name: "number parameter", variable: "SIZE", want: "5"},
		{name: "getatt short form", variable: "ARN", want: "tbl-arn"},
		{name: "getatt long form", variable: "ARN_LONG", want: "tbl-stream"},
		{name: "sub", variable: "SUB", want: "kyc-local-tbl-tbl-arn-${Literal}"},
		{name: "sub with variables", variable: "SUB_VARS", want: "tbl/dev"},
		{name: "if false", variable: "IF", want: "dev"},
		{name: "join (goformation's handler)", variable: "JOIN", want: "a-b"},
		{name: "intrinsic goformation does not evaluate", variable: "IMPORT", wantErr: ErrUnresolved},
		{name: "unknown ref in the branch taken", variable: "IF_MISSING", wantErr: ErrUnresolved},
		{name: "unknown ref in the branch not taken", variable: "IF_OTHER_MISSING", want: "dev"},
		{name: "sub of an unknown name", variable: "SUB_MISSING", wantErr: ErrUnresolved},
		{name: "unknown ref", variable: "MISSING", wantErr: ErrUnresolved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vars[tt.variable].Resolve(env)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("%s.Resolve() = %q, %v, want %q, %v", tt.variable, got, err, tt.want, tt.wantErr)
			}
		})
	}

	conds := []struct {
		name string
		want bool
	}{
		{"IsProd", false},
		{"NotProd", true},
		{"Both", true},
		{"Either", true},
	}
	for _, c := range conds {
		if got := env.Conditions[c.name]; got != c.want {
			t.Errorf("condition %s = %v, want %v", c.name, got, c.want)
		}
	}

	prod, err := tmpl.Env(map[string]string{"Stage": "prod"})
	if err != nil {
		t.Fatalf("Env(Stage=prod): %v", err)
	}
	if got, err := vars["IF"].Resolve(prod); err != nil || got != "prod-value" {
		t.Errorf("IF.Resolve(Stage=prod) = %q, %v, want %q, nil", got, err, "prod-value")
	}

	wantRoutes := []Route{
		{Method: "ANY", Path: "$default", FunctionLogicalID: "Fn"},
		{Method: "GET", Path: "/x", FunctionLogicalID: "Fn"},
	}
	if got := tmpl.Routes(); !slices.Equal(got, wantRoutes) {
		t.Errorf("Routes() = %+v, want %+v", got, wantRoutes)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		template string
	}{
		{"not yaml", "Resources: [unclosed"},
		{"table without keys", "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties: {}\n"},
		{"env value is a list", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables: {A: [1, 2]}\n"},
		{"api id not a ref", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E: {Type: HttpApi, Properties: {ApiId: abc}}\n"},
		{"condition cycle", "Conditions:\n  A: !Not [!Condition B]\n  B: !Not [!Condition A]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := parse([]byte(tt.template))
			if err == nil {
				_, err = tmpl.Env(nil)
			}
			if err == nil {
				t.Errorf("parse and Env error = nil, want an error")
			}
		})
	}
}
