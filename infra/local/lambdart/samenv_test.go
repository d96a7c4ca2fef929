package lambdart

import (
	"path/filepath"
	"testing"

	"github.com/kycbackend/kyc/infra/local/provision"
)

// make invoke's environment: sam-env.json's values for make run's stack, on this machine
// (127.0.0.1, not host.docker.internal) and on the ports make run was given.
func TestSamEnv(t *testing.T) {
	tpl, err := provision.Load(filepath.Join("..", "..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ports := Ports{DynamoDB: "18000", Moto: "15000", IDWise: "13001"}
	for _, id := range tpl.Functions() {
		env, err := SamEnv(tpl, filepath.Join("..", "sam-env.json"), id, ports)
		if err != nil {
			t.Errorf("SamEnv(%s) = %v", id, err)
			continue
		}
		for name := range tpl.FunctionEnv(id) {
			if _, ok := env[name]; !ok {
				t.Errorf("SamEnv(%s) lacks %s, which the template declares", id, name)
			}
		}
		want := map[string]string{
			"AWS_ENDPOINT_URL": "http://127.0.0.1:15000", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:18000",
			"TABLE_NAME": "kyc-local-Table", "AWS_REGION": "us-east-1",
		}
		if id == "ProcessorFunction" {
			want["IDWISE_API_BASE_URL"] = "http://127.0.0.1:13001/"
		}
		for k, w := range want {
			if env[k] != w {
				t.Errorf("SamEnv(%s)[%s] = %q, want %q", id, k, env[k], w)
			}
		}
	}
	if _, err := SamEnv(tpl, filepath.Join("..", "sam-env.json"), "NoSuchFunction", ports); err == nil {
		t.Errorf("SamEnv(NoSuchFunction) error = nil, want an error")
	}
}
