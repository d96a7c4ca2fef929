package compose

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/metrics"
	"github.com/kycbackend/kyc/shared/aws/secrets"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/edge/webhook"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// VeriffConfig is the Veriff part of the webhook function's configuration.
type VeriffConfig struct {
	Table     string
	SecretID  string // secret {"apiKey","sharedSecret","previousSharedSecret"}
	Reference veriff.ReferenceField
	Retention time.Duration
	Drop      []string // VERIFF_STRIP_FIELDS: members dropped even where the allow-list keeps them
	// SecretMaxAge: WEBHOOK_SECRET_MAX_AGE_SECONDS, as for IDWise (webhook.go).
	SecretMaxAge time.Duration
}

// LoadVeriffConfig reads the Veriff webhook's environment. enabled is false when
// VERIFF_SECRET_ARN is not set: the stack then serves IDWise only.
func LoadVeriffConfig(getenv Getenv) (c VeriffConfig, enabled bool, err error) {
	c = VeriffConfig{Table: getenv("TABLE_NAME"), SecretID: strings.TrimSpace(getenv("VERIFF_SECRET_ARN"))}
	if c.SecretID == "" {
		return c, false, nil
	}
	if c.Table == "" {
		return c, true, fmt.Errorf("TABLE_NAME is required")
	}
	if c.Reference, err = veriff.ParseReferenceField(getenv("VERIFF_REFERENCE_FIELD")); err != nil {
		return c, true, fmt.Errorf("VERIFF_REFERENCE_FIELD: %w", err)
	}
	if c.Retention, err = days(getenv, "RAW_EVENT_RETENTION_DAYS", 30*24*time.Hour); err != nil {
		return c, true, err
	}
	c.Drop = veriff.ParseDropFields(getenv("VERIFF_STRIP_FIELDS"))
	if c.SecretMaxAge, err = secretMaxAge(getenv); err != nil {
		return c, true, err
	}
	return c, true, nil
}

// VeriffWebhook builds the Veriff webhook handler from its environment; nil (and no
// error) when Veriff is not configured.
func VeriffWebhook(rt Runtime) (*webhook.Handler, error) {
	c, enabled, err := LoadVeriffConfig(rt.Getenv)
	if err != nil || !enabled {
		return nil, err
	}
	rt.AWS, _ = traced(rt)
	auth, err := veriff.NewAuthenticatorConfig(secrets.VeriffWebhookCredentials{Client: secretsmanager.NewFromConfig(rt.AWS), ID: c.SecretID},
		veriff.AuthConfig{MaxAge: c.SecretMaxAge})
	if err != nil {
		return nil, fmt.Errorf("veriff webhook auth: %w", err)
	}
	emf := metrics.New(rt.Metrics, "webhook")
	in := inbox.New(dynamo.NewInbox(dynamodb.NewFromConfig(rt.AWS), c.Table), emf, c.Retention)
	parser := veriff.Parser{Reference: c.Reference, Drop: c.Drop}
	h := webhook.New(veriff.Provider, auth, in, parser.ParseEvent, emf)
	h.Redactor = parser.Redact // a quarantined JSON body loses the same sections
	return h, nil
}
