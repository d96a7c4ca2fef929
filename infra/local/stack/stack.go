// Package stack creates one local stack of template.yaml on the emulators, as
// CloudFormation would create it in AWS: the template's tables, topics and queues, and the
// secrets the template would generate or be given (IDWise webhook and API, Veriff webhook).
// It then resolves each function's environment (template.yaml's Environment.Variables)
// against what it created.
// `make run` (infra/local/run) and the binary-level tests (infra/local/lambdart) share it,
// so both give the functions the same environment.
package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// Config is what a local stack needs beyond the template.
type Config struct {
	// Prefix names the resources: Prefix + logical ID ("kyc-local-" gives "kyc-local-Table");
	// the secrets are "<Prefix without its trailing dash>/idwise-webhook" and ".../idwise-api"
	// (the names infra/local/sam-env.json refers to for "kyc-local-").
	Prefix string

	// Template parameters of the IDWise webhook (IdwiseWebhookAuthMode, ...) and the
	// webhook secret's content.
	WebhookAuthMode string
	WebhookHeader   string
	WebhookUsername string
	WebhookSecret   string
	AllowedCIDRs    string

	// The IDWise API secret's content and base URL (IdwiseApiBaseUrl: the simulator's,
	// with a trailing slash).
	APIKey        string
	APISecret     string
	IDWiseBaseURL string

	// The Veriff webhook secret's content ("<Prefix without its dash>/veriff-webhook"):
	// VeriffIntegrations when set (the secret's JSON, VERIFF_INTEGRATIONS of make run),
	// else one identity integration of VeriffAPIKey and VeriffSharedSecret. The API keys
	// secret of the app API ("<...>/veriff-api-keys") is made from it, without the shared
	// secrets.
	VeriffAPIKey       string
	VeriffSharedSecret string
	VeriffIntegrations *veriff.Credentials

	// Parameters are further template parameters (JwtIssuer, JwtAudience, the platform
	// application ARNs, ...), over the defaults and the ones above.
	Parameters map[string]string
}

// Stack is what Create made.
type Stack struct {
	Tables map[string]string          // table names by logical ID
	Topics map[string]string          // topic ARNs by logical ID
	Queues map[string]provision.Queue // queues by logical ID
	Env    provision.Env              // parameters, conditions and the created resources, to resolve values

	tpl *provision.Template
}

// Create creates the template's tables, topics and queues and the secrets (existing ones
// are kept or updated: see provision), and the Env to resolve the functions' environment
// against them.
func Create(ctx context.Context, awsCfg aws.Config, tpl *provision.Template, c Config) (*Stack, error) {
	st := &Stack{tpl: tpl}
	var err error
	if st.Tables, err = tpl.CreateTables(ctx, awsCfg, c.Prefix); err != nil {
		return nil, fmt.Errorf("create tables: %w", err)
	}
	if st.Topics, err = tpl.CreateTopics(ctx, awsCfg, c.Prefix); err != nil {
		return nil, fmt.Errorf("create topics: %w", err)
	}
	if st.Queues, err = tpl.CreateQueues(ctx, awsCfg, c.Prefix); err != nil {
		return nil, fmt.Errorf("create queues: %w", err)
	}
	name := strings.TrimSuffix(c.Prefix, "-")
	webhookSecret, _ := json.Marshal(map[string]string{"username": c.WebhookUsername, "secret": c.WebhookSecret})
	webhookARN, err := provision.PutSecret(ctx, awsCfg, name+"/idwise-webhook", string(webhookSecret))
	if err != nil {
		return nil, fmt.Errorf("put webhook secret: %w", err)
	}
	apiSecret, _ := json.Marshal(map[string]string{"apiKey": c.APIKey, "apiSecret": c.APISecret})
	apiARN, err := provision.PutSecret(ctx, awsCfg, name+"/idwise-api", string(apiSecret))
	if err != nil {
		return nil, fmt.Errorf("put api secret: %w", err)
	}
	veriffCreds := veriff.Credentials{APIKey: c.VeriffAPIKey, SharedSecret: c.VeriffSharedSecret}
	if c.VeriffIntegrations != nil {
		veriffCreds = *c.VeriffIntegrations
	}
	veriffSecret, _ := json.Marshal(veriffCreds)
	veriffARN, err := provision.PutSecret(ctx, awsCfg, name+"/veriff-webhook", string(veriffSecret))
	if err != nil {
		return nil, fmt.Errorf("put veriff secret: %w", err)
	}
	veriffKeys, _ := json.Marshal(veriffCreds.APIKeys())
	veriffKeysARN, err := provision.PutSecret(ctx, awsCfg, name+"/veriff-api-keys", string(veriffKeys))
	if err != nil {
		return nil, fmt.Errorf("put veriff api keys secret: %w", err)
	}
	params := map[string]string{
		"IdwiseWebhookAuthMode":    c.WebhookAuthMode,
		"IdwiseWebhookHeaderName":  c.WebhookHeader,
		"IdwiseWebhookSecretArn":   webhookARN,
		"IdwiseAllowedSourceCidrs": c.AllowedCIDRs,
		"IdwiseApiSecretArn":       apiARN,
		"IdwiseApiBaseUrl":         c.IDWiseBaseURL,
		"VeriffSecretArn":          veriffARN,
		"VeriffApiKeysSecretArn":   veriffKeysARN,
	}
	for k, v := range c.Parameters {
		params[k] = v
	}
	st.Env, err = tpl.Env(params)
	if err != nil {
		return nil, fmt.Errorf("template parameters: %w", err)
	}
	for id, name := range st.Tables {
		st.Env.Refs[id] = name
		st.Env.Attrs[id+".Arn"] = "arn:aws:dynamodb:us-east-1:123456789012:table/" + name
	}
	for id, arn := range st.Topics {
		st.Env.Refs[id] = arn
		st.Env.Attrs[id+".TopicArn"] = arn
	}
	for id, q := range st.Queues {
		st.Env.Refs[id] = q.URL
		st.Env.Attrs[id+".Arn"] = q.ARN
	}
	return st, nil
}

// FunctionEnv returns the environment template.yaml gives the function logicalID,
// resolved against the stack (Globals included, as tpl.FunctionEnv merges them).
func (s *Stack) FunctionEnv(logicalID string) (map[string]string, error) {
	vals := s.tpl.FunctionEnv(logicalID)
	if vals == nil {
		return nil, fmt.Errorf("function %s is not in the template", logicalID)
	}
	vars := make(map[string]string, len(vals))
	for name, v := range vals {
		r, err := v.Resolve(s.Env)
		if err != nil {
			return nil, fmt.Errorf("%s environment %s: %w", logicalID, name, err)
		}
		vars[name] = r
	}
	return vars, nil
}
