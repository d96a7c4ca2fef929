package compose_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// RENEWAL_POLICY, RENEWAL_GRACE_DAYS and AML_CLEAR_RESTORES (issue 19): defaults, values,
// and a precise error naming the variable.
func TestLoadIDWisePolicy(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "t", "STATUS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
		"IDWISE_API_SECRET_ARN": "arn", "IDWISE_REGION": "eu"}
	tests := []struct {
		name      string
		env       []string
		renewal   string
		grace     time.Duration
		keepAML   bool
		wantError string
	}{
		{name: "defaults", renewal: idwise.RenewalGrace, grace: 14 * 24 * time.Hour},
		{name: "strict", env: []string{"RENEWAL_POLICY", "strict"}, renewal: idwise.RenewalStrict, grace: 14 * 24 * time.Hour},
		{name: "grace days", env: []string{"RENEWAL_GRACE_DAYS", "30"}, renewal: idwise.RenewalGrace, grace: 30 * 24 * time.Hour},
		{name: "AML clear keeps the review", env: []string{"AML_CLEAR_RESTORES", "false"}, renewal: idwise.RenewalGrace, grace: 14 * 24 * time.Hour, keepAML: true},
		{name: "unknown policy", env: []string{"RENEWAL_POLICY", "lenient"}, wantError: "RENEWAL_POLICY"},
		{name: "zero grace days", env: []string{"RENEWAL_GRACE_DAYS", "0"}, wantError: "RENEWAL_GRACE_DAYS"},
		{name: "not a boolean", env: []string{"AML_CLEAR_RESTORES", "yes"}, wantError: "AML_CLEAR_RESTORES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := compose.LoadProcessingConfig(getenv(with(base, tt.env...)))
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("LoadProcessingConfig() error = %v, want one naming %s", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadProcessingConfig() = %v", err)
			}
			if c.Policy.Renewal != tt.renewal || c.Policy.RenewalGracePeriod != tt.grace || c.Policy.AMLKeepReview != tt.keepAML {
				t.Errorf("Policy = renewal %q grace %v keepAML %v, want %q %v %v", c.Policy.Renewal, c.Policy.RenewalGracePeriod,
					c.Policy.AMLKeepReview, tt.renewal, tt.grace, tt.keepAML)
			}
		})
	}
}

// The template's defaults are the code's: what make run and a deployed stack get without
// parameters is what LoadProcessingConfig does without the variables.
func TestTemplateIDWisePolicyDefaults(t *testing.T) {
	tpl, err := provision.Load(dynamotest.TemplatePath())
	if err != nil {
		t.Fatal(err)
	}
	env, err := tpl.Env(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"ProcessorFunction", "SweeperFunction"} {
		vars := tpl.FunctionEnv(fn)
		got := map[string]string{}
		for _, name := range []string{"RENEWAL_POLICY", "RENEWAL_GRACE_DAYS", "AML_CLEAR_RESTORES"} {
			v, ok := vars[name]
			if !ok {
				t.Fatalf("%s does not set %s", fn, name)
			}
			if got[name], err = v.Resolve(env); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]string{"RENEWAL_POLICY": idwise.RenewalGrace, "RENEWAL_GRACE_DAYS": "14", "AML_CLEAR_RESTORES": "true"}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s %s default = %q, want %q (the code's default)", fn, k, got[k], w)
			}
		}
	}
	if idwise.DefaultRenewalGrace != 14*24*time.Hour {
		t.Errorf("DefaultRenewalGrace = %v, want the template's 14 days", idwise.DefaultRenewalGrace)
	}
}
