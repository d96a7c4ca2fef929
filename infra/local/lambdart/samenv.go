package lambdart

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/kycbackend/kyc/infra/local/provision"
)

// Ports are where the local stack listens (make run's fixed ports).
type Ports struct {
	DynamoDB string // KYC_DYNAMODB_PORT, default 8000
	Moto     string // KYC_MOTO_PORT, default 5000
	IDWise   string // IDWISE_SIM_PORT (the IDWise simulator), default 3001
}

// PortsFromEnv reads the ports as make run takes them.
func PortsFromEnv() Ports {
	get := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	return Ports{DynamoDB: get("KYC_DYNAMODB_PORT", "8000"), Moto: get("KYC_MOTO_PORT", "5000"), IDWise: get("IDWISE_SIM_PORT", "3001")}
}

// SamEnv returns the environment of function id for the local stack of `make run`, as
// `sam local invoke --env-vars infra/local/sam-env.json` gives it: every variable the
// template declares for id, with the value of samEnvFile (its Parameters section, then the
// function's own section) or else the template's value resolved from the parameter
// defaults. sam-env.json reaches the emulators through host.docker.internal from sam's
// container; here the function runs on this machine, so that host becomes 127.0.0.1 and
// the emulator endpoints take ports' DynamoDB and moto ports. Region and credentials are
// the local ones (us-east-1, "local"), as infra/local/with-emulators.sh sets them.
func SamEnv(tpl *provision.Template, samEnvFile, id string, ports Ports) (map[string]string, error) {
	raw, err := os.ReadFile(samEnvFile)
	if err != nil {
		return nil, fmt.Errorf("sam env: %w", err)
	}
	var file map[string]map[string]string
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("sam env %s: %w", samEnvFile, err)
	}
	declared := tpl.FunctionEnv(id)
	if declared == nil {
		return nil, fmt.Errorf("function %s is not in the template", id)
	}
	given := maps.Clone(file["Parameters"])
	if given == nil {
		given = map[string]string{}
	}
	maps.Copy(given, file[id])
	tenv, err := tpl.Env(nil)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	var missing []string
	for _, name := range slices.Sorted(maps.Keys(declared)) {
		if v, ok := given[name]; ok {
			env[name] = strings.ReplaceAll(v, "host.docker.internal", "127.0.0.1")
			continue
		}
		v, err := declared[name].Resolve(tenv)
		if errors.Is(err, provision.ErrUnresolved) {
			missing = append(missing, name)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", id, name, err)
		}
		env[name] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %s name resources of the stack: give them in %s", id, strings.Join(missing, ", "), samEnvFile)
	}
	if _, ok := declared["AWS_ENDPOINT_URL"]; ok {
		env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:" + ports.Moto
	}
	if _, ok := declared["AWS_ENDPOINT_URL_DYNAMODB"]; ok {
		env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:" + ports.DynamoDB
	}
	for name, v := range env { // the IDWise simulator's port (IDWISE_API_BASE_URL)
		env[name] = strings.ReplaceAll(v, "127.0.0.1:3001", "127.0.0.1:"+ports.IDWise)
	}
	maps.Copy(env, map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_EC2_METADATA_DISABLED": "true",
	})
	return env, nil
}
