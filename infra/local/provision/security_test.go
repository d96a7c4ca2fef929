package provision

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// The template's guards, read from template.yaml as CloudFormation will: each subtest fails
// when the guard is removed from the template (issue 13, items 1, 5, 6, 7, 10). cfn-lint
// (sam validate --lint) checks the syntax; this checks the intent.

// rawDoc is template.yaml as generic JSON (short-form tags in long form, not evaluated).
func rawDoc(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func at(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// evalRule evaluates a Rules condition (Fn::Equals, Not, And, Or, Ref of a parameter, strings).
func evalRule(t *testing.T, v any, params map[string]string) any {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		for fn, arg := range x {
			args, _ := arg.([]any)
			switch fn {
			case "Ref":
				p, ok := params[arg.(string)]
				if !ok {
					t.Fatalf("rule refers to parameter %v, not given", arg)
				}
				return p
			case "Fn::Equals":
				return evalRule(t, args[0], params) == evalRule(t, args[1], params)
			case "Fn::Contains": // [list of strings, value]
				list, _ := args[0].([]any)
				return slices.Contains(list, evalRule(t, args[1], params))
			case "Fn::Not":
				return !evalRule(t, args[0], params).(bool)
			case "Fn::And", "Fn::Or":
				out := fn == "Fn::And"
				for _, a := range args {
					b := evalRule(t, a, params).(bool)
					if fn == "Fn::And" {
						out = out && b
					} else {
						out = out || b
					}
				}
				return out
			}
			t.Fatalf("rule function %s not understood by this test", fn)
		}
	}
	t.Fatalf("rule value %v not understood by this test", v)
	return nil
}

// stackAccepted reports whether every rule of the template holds for params (a parameter
// not given has its default).
func stackAccepted(t *testing.T, doc map[string]any, given map[string]string) bool {
	params := map[string]string{}
	for name, p := range doc["Parameters"].(map[string]any) {
		if d, ok := at(p, "Default").(string); ok {
			params[name] = d
		}
	}
	for k, v := range given {
		params[k] = v
	}
	rules, _ := doc["Rules"].(map[string]any)
	for _, r := range rules {
		if cond := at(r, "RuleCondition"); cond != nil && !evalRule(t, cond, params).(bool) {
			continue
		}
		for _, a := range at(r, "Assertions").([]any) {
			if !evalRule(t, at(a, "Assert"), params).(bool) {
				return false
			}
		}
	}
	return true
}

func TestTemplateRefusesNoneWithoutAllowList(t *testing.T) {
	doc := rawDoc(t)
	tests := []struct {
		mode, cidrs string
		want        bool
	}{
		{"none", "", false},
		{"none", "0.0.0.0/0", false},
		{"none", "::/0", false},
		{"none", "198.51.100.0/24", true},
		{"bearer", "", true},
		{"basic", "", true},
		// issue 20 item 3: the halves of the address space are a catch-all too (the width
		// of other entries is checked by the function at start, compose tests).
		{"none", "0.0.0.0/1,128.0.0.0/1", false},
		{"none", "::/1, 8000::/1", false},
		{"bearer", "0.0.0.0/1,128.0.0.0/1", true},
	}
	for _, tt := range tests {
		got := stackAccepted(t, doc, map[string]string{"IdwiseWebhookAuthMode": tt.mode, "IdwiseAllowedSourceCidrs": tt.cidrs})
		if got != tt.want {
			t.Errorf("stack accepted with mode %s and allow-list %q = %v, want %v", tt.mode, tt.cidrs, got, tt.want)
		}
	}
	if !stackAccepted(t, doc, map[string]string{"IdwiseWebhookAuthMode": "none", "IdwiseAllowedSourceCidrs": "0.0.0.0/1,128.0.0.0/1", "IdwiseAllowBroadSourceCidrs": "true"}) {
		t.Errorf("stack refused halves with IdwiseAllowBroadSourceCidrs true, want the explicit override honoured")
	}
}

// ReferenceNoClaim is an allow-list (issue 20 item 3): sub, or a custom claim declared
// immutable; the AllowedPattern refuses every other claim, the rule a custom one not declared.
func TestTemplateReferenceNoClaimAllowList(t *testing.T) {
	doc := rawDoc(t)
	pattern := regexp.MustCompile(at(doc, "Parameters", "ReferenceNoClaim", "AllowedPattern").(string))
	tests := []struct {
		claim, immutable string
		want             bool
	}{
		{"sub", "false", true},
		{"custom:ref", "true", true},
		{"custom:ref", "false", false},
		{"email", "true", false},
		{"phone_number", "true", false},
		{"nickname", "true", false},
		{"client_id", "true", false},
		{"username", "true", false},
		{"cognito:username", "true", false},
	}
	for _, tt := range tests {
		got := pattern.MatchString(tt.claim) && stackAccepted(t, doc, map[string]string{"ReferenceNoClaim": tt.claim, "ReferenceNoClaimImmutable": tt.immutable})
		if got != tt.want {
			t.Errorf("stack accepted with ReferenceNoClaim %q, immutable %s = %v, want %v", tt.claim, tt.immutable, got, tt.want)
		}
	}
}

func TestTemplateVendorURLsAreHTTPS(t *testing.T) {
	doc := rawDoc(t)
	params := doc["Parameters"].(map[string]any)
	checked := 0
	for name, p := range params {
		if !strings.HasSuffix(name, "BaseUrl") && !strings.HasSuffix(name, "ApiUrl") {
			continue
		}
		checked++
		pattern, _ := at(p, "AllowedPattern").(string)
		if pattern == "" {
			t.Errorf("parameter %s has no AllowedPattern, want https only", name)
			continue
		}
		re := regexp.MustCompile(pattern)
		for url, want := range map[string]bool{
			"": true, "https://api.idwise.com/": true, "https://api-uae.idwise.com": true, "http://127.0.0.1:3001/": true,
			"http://api.idwise.com/": false, "http://10.0.0.1/": false, "ftp://api.idwise.com/": false, "api.idwise.com": false,
		} {
			if got := re.MatchString(url); got != want {
				t.Errorf("%s AllowedPattern matches %q = %v, want %v", name, url, got, want)
			}
		}
	}
	if checked == 0 {
		t.Errorf("no vendor base URL parameter found, want IdwiseApiBaseUrl")
	}
}

func TestTemplateWebhookRoutesThrottledApart(t *testing.T) {
	api := at(rawDoc(t), "Resources", "HttpApi", "Properties")
	if at(api, "DefaultRouteSettings", "ThrottlingBurstLimit") == nil {
		t.Errorf("HttpApi has no default route throttle, want one for the app routes")
	}
	for _, route := range []string{"POST /webhooks/idwise", "POST /webhooks/veriff"} {
		for _, limit := range []string{"ThrottlingBurstLimit", "ThrottlingRateLimit"} {
			got := at(api, "RouteSettings", route, limit)
			ref, _ := at(got, "Ref").(string)
			if !strings.HasPrefix(ref, "Webhook") {
				t.Errorf("RouteSettings[%s].%s = %v, want its own Webhook* parameter", route, limit, got)
			}
		}
	}
}

func TestTemplateJourneyRetention(t *testing.T) {
	doc := rawDoc(t)
	if def := at(doc, "Parameters", "JourneyDetailRetentionDays", "Default"); fmt.Sprint(def) != "0" {
		t.Errorf("JourneyDetailRetentionDays default = %v, want 0 (keep)", def)
	}
	for _, fn := range []string{"ProcessorFunction", "SweeperFunction"} {
		got := at(doc, "Resources", fn, "Properties", "Environment", "Variables", "JOURNEY_DETAIL_RETENTION_DAYS", "Ref")
		if got != "JourneyDetailRetentionDays" {
			t.Errorf("%s JOURNEY_DETAIL_RETENTION_DAYS = %v, want Ref JourneyDetailRetentionDays", fn, got)
		}
	}
}

// statements returns a function's inline policy statements, unwrapping Fn::If branches.
func statements(t *testing.T, doc map[string]any, fn string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, pol := range at(doc, "Resources", fn, "Properties", "Policies").([]any) {
		stmts, _ := at(pol, "Statement").([]any)
		for _, s := range stmts {
			if branches, ok := at(s, "Fn::If").([]any); ok {
				s = branches[1]
			}
			if m, ok := s.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func hasAction(s map[string]any, action string) bool {
	for _, a := range list(s["Action"]) {
		if a == action {
			return true
		}
	}
	return false
}

func TestTemplateWebhookPutItemOnlyItsOwnKeys(t *testing.T) {
	doc := rawDoc(t)
	n := 0
	for _, s := range statements(t, doc, "WebhookFunction") {
		if !hasAction(s, "dynamodb:PutItem") {
			continue
		}
		n++
		keys := list(at(s, "Condition", "ForAllValues:StringLike", "dynamodb:LeadingKeys"))
		var got []string
		for _, k := range keys {
			if k, ok := k.(string); ok {
				got = append(got, k)
			}
		}
		slices.Sort(got)
		if want := []string{"EVENT#*", "QUARANTINE#*"}; !slices.Equal(got, want) {
			t.Errorf("webhook PutItem leading keys = %v, want %v (ddb.EventKey, ddb.QuarantineKey)", got, want)
		}
	}
	if n == 0 {
		t.Fatalf("WebhookFunction has no PutItem statement")
	}
}

func TestTemplatePushOnlyToOwnPlatformEndpoints(t *testing.T) {
	doc := rawDoc(t)
	n := 0
	for _, s := range statements(t, doc, "PushFunction") {
		if !hasAction(s, "sns:Publish") {
			continue
		}
		n++
		for _, r := range list(s["Resource"]) {
			js, _ := json.Marshal(r)
			// The endpoint ARN is built from the platform application parameter, never a
			// wildcard over every endpoint of the account.
			if !strings.Contains(string(js), "PlatformApplicationArn") || !strings.Contains(string(js), ":endpoint/") {
				t.Errorf("push Publish resource %s, want endpoints of the stack's platform application only", js)
			}
		}
	}
	if n == 0 {
		t.Fatalf("PushFunction has no sns:Publish statement")
	}
}

func TestTemplateAlarmTopicKey(t *testing.T) {
	doc := rawDoc(t)
	keyRef, _ := at(doc, "Resources", "AlarmTopic", "Properties", "KmsMasterKeyId", "Ref").(string)
	if keyRef == "" || keyRef == "TableKey" {
		t.Fatalf("AlarmTopic key = %v, want its own key, not the table's", at(doc, "Resources", "AlarmTopic", "Properties", "KmsMasterKeyId"))
	}
	if typ := at(doc, "Resources", keyRef, "Type"); typ != "AWS::KMS::Key" {
		t.Fatalf("%s type = %v, want AWS::KMS::Key", keyRef, typ)
	}
	for _, name := range []string{keyRef, "TableKey"} {
		for _, s := range list(at(doc, "Resources", name, "Properties", "KeyPolicy", "Statement")) {
			if at(s, "Principal", "Service") != "cloudwatch.amazonaws.com" {
				continue
			}
			if name == "TableKey" {
				t.Errorf("TableKey grants CloudWatch, want only the alarm topic's key to")
			}
			if got := at(s, "Condition", "StringEquals", "aws:SourceAccount", "Ref"); got != "AWS::AccountId" {
				t.Errorf("%s grants CloudWatch with aws:SourceAccount = %v, want Ref AWS::AccountId", name, got)
			}
		}
	}
}

// secretsReadBy lists the secrets a function may read (GetSecretValue statements'
// resources, Fn::If branches and Refs resolved to their logical ids or parameter names).
func secretsReadBy(t *testing.T, doc map[string]any, fn string) []string {
	t.Helper()
	var out []string
	for _, s := range statements(t, doc, fn) {
		if !hasAction(s, "secretsmanager:GetSecretValue") && !hasAction(s, "secretsmanager:*") && !hasAction(s, "*") {
			continue
		}
		for _, r := range list(s["Resource"]) {
			out = append(out, refsIn(r)...)
		}
	}
	return out
}

// refsIn is every Ref (and the wildcard "*") under v.
func refsIn(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "*" || strings.HasSuffix(x, ":*") {
			return []string{"*"}
		}
	case map[string]any:
		var out []string
		for k, e := range x {
			if k == "Ref" {
				if s, ok := e.(string); ok {
					out = append(out, s)
					continue
				}
			}
			out = append(out, refsIn(e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, refsIn(e)...)
		}
		return out
	}
	return nil
}

// Issue 20 item 4: the app API creates Veriff sessions with the API keys secret and can
// never read the Veriff secret that holds the webhook signing keys (it could forge any
// Veriff decision with them); the webhook function reads the signing secret, and no other
// function does.
func TestTemplateVeriffSigningKeyOnlyForTheWebhook(t *testing.T) {
	doc := rawDoc(t)
	signing := []string{"VeriffSecret", "VeriffSecretArn", "*"}
	for _, fn := range []string{"ApiFunction", "ProcessorFunction", "SweeperFunction", "PushFunction"} {
		for _, r := range secretsReadBy(t, doc, fn) {
			if slices.Contains(signing, r) {
				t.Errorf("%s may read secret %s, want the Veriff signing secret out of its reach", fn, r)
			}
		}
	}
	if got := secretsReadBy(t, doc, "ApiFunction"); !slices.Contains(got, "VeriffApiKeysSecret") || !slices.Contains(got, "VeriffApiKeysSecretArn") {
		t.Errorf("ApiFunction reads secrets %v, want the Veriff API keys secret (created or given)", got)
	}
	if got := secretsReadBy(t, doc, "WebhookFunction"); !slices.Contains(got, "VeriffSecret") || slices.Contains(got, "VeriffApiKeysSecret") {
		t.Errorf("WebhookFunction reads secrets %v, want the Veriff signing secret and not the API keys one", got)
	}
	env := at(doc, "Resources", "ApiFunction", "Properties", "Environment", "Variables").(map[string]any)
	if _, ok := env["VERIFF_SECRET_ARN"]; ok {
		t.Error("ApiFunction has VERIFF_SECRET_ARN, want only VERIFF_API_KEYS_SECRET_ARN")
	}
}
