package provision

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

const openAPIPath = "../../../openapi.yaml"

type openAPIDoc struct {
	OpenAPI string `yaml:"openapi"`
	Paths   map[string]map[string]struct {
		Security []map[string][]string `yaml:"security"`
	} `yaml:"paths"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPIMatchesTemplate: openapi.yaml documents every route of template.yaml and no
// other, and a route sits behind the JWT authorizer in one exactly when the other says so.
func TestOpenAPIMatchesTemplate(t *testing.T) {
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	documented := map[string]bool{} // "METHOD /path" -> uses the jwt scheme
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if !slices.Contains(httpMethods, method) {
				continue // parameters, summary, ...
			}
			jwt := false
			for _, req := range op.Security {
				if _, ok := req["jwt"]; ok {
					jwt = true
				}
			}
			documented[strings.ToUpper(method)+" "+path] = jwt
		}
	}
	deployed := map[string]bool{}
	for _, r := range loadTemplate(t).Routes() {
		deployed[r.Method+" "+r.Path] = r.JWT != nil
	}
	for route, jwt := range deployed {
		doc, ok := documented[route]
		switch {
		case !ok:
			t.Errorf("template.yaml route %s is not in openapi.yaml", route)
		case doc != jwt:
			t.Errorf("%s: JWT authorizer in template.yaml = %v, jwt security in openapi.yaml = %v", route, jwt, doc)
		}
	}
	for route := range documented {
		if _, ok := deployed[route]; !ok {
			t.Errorf("openapi.yaml route %s is not in template.yaml", route)
		}
	}
}

// TestOpenAPIRefsResolve: every $ref of openapi.yaml names a component that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	refs := 0
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "$ref" {
					refs++
					ref, _ := e.(string)
					if !resolves(doc, ref) {
						t.Errorf("$ref %q does not resolve", ref)
					}
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	if refs == 0 {
		t.Error("no $ref found: the walk is broken")
	}
}

func resolves(doc map[string]any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for _, p := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[p]; !ok {
			return false
		}
	}
	return true
}

// TestLocalHelpersNeverDeployed: the runner's /_local routes (dev tokens, captured push
// messages) exist only in `make run`, never in what is deployed or documented.
func TestLocalHelpersNeverDeployed(t *testing.T) {
	for _, file := range []string{templatePath, openAPIPath} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "/_local") {
			t.Errorf("%s mentions /_local: the local helpers must never be deployed", file)
		}
	}
	for _, r := range loadTemplate(t).Routes() {
		if strings.HasPrefix(r.Path, "/_") {
			t.Errorf("template route %s %s: /_ paths are reserved for local helpers", r.Method, r.Path)
		}
	}
}

// TestOpenAPIReferenceIsTheRule: openapi.yaml's referenceNo pattern is kyc's reference rule
// (kyc.ReferencePattern, held equal to kyc.CheckReference by its own test), so schemathesis
// generates what the product accepts and refuses.
func TestOpenAPIReferenceIsTheRule(t *testing.T) {
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Pattern   string `yaml:"pattern"`
				MaxLength int    `yaml:"maxLength"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	ref := doc.Components.Schemas["Reference"]
	if ref.Pattern != kyc.ReferencePattern || ref.MaxLength != kyc.MaxReferenceLength {
		t.Errorf("Reference = pattern %q maxLength %d, want kyc.ReferencePattern %q and %d", ref.Pattern, ref.MaxLength, kyc.ReferencePattern, kyc.MaxReferenceLength)
	}
	// A vendor's referenceNo is the same once trimmed of white space, or empty.
	const ws = `[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*`
	inner := strings.TrimSuffix(strings.TrimPrefix(kyc.ReferencePattern, "^"), "$")
	if got, want := doc.Components.Schemas["VendorReference"].Pattern, "^"+ws+"("+inner+")?"+ws+"$"; got != want {
		t.Errorf("VendorReference pattern = %q, want %q", got, want)
	}
}
