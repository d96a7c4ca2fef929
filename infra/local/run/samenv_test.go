package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/kycbackend/kyc/infra/local/provision"
)

// TestSamEnvFileMatchesTemplate: `sam local invoke --env-vars` silently ignores a
// variable the template does not declare for that function, so every entry of
// infra/local/sam-env.json must be declared, and every function must have an entry.
func TestSamEnvFileMatchesTemplate(t *testing.T) {
	raw, err := os.ReadFile("../sam-env.json")
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]map[string]string
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("sam-env.json: %v", err)
	}
	tpl, err := provision.Load("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range tpl.Functions() {
		vars, ok := file[fn]
		if !ok {
			t.Errorf("sam-env.json has no entry for function %s", fn)
		}
		declared := tpl.FunctionEnv(fn)
		for name := range vars {
			if _, ok := declared[name]; !ok {
				t.Errorf("sam-env.json sets %s.%s, which the template does not declare (sam would ignore it)", fn, name)
			}
		}
		for name := range file["Parameters"] {
			if _, ok := declared[name]; !ok {
				t.Errorf("sam-env.json Parameters sets %s, which %s does not declare", name, fn)
			}
		}
	}
}
