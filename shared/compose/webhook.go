// Package compose is the composition root: it reads a function's configuration from its
// environment and builds its handler with real AWS clients. Each functions/<name>/main.go
// and the local runner (infra/local/run) call the same constructor, so what runs locally
// is wired exactly as what runs in Lambda.
package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/metrics"
	"github.com/kycbackend/kyc/shared/aws/secrets"
	"github.com/kycbackend/kyc/shared/aws/tracing"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/edge/apigw"
	"github.com/kycbackend/kyc/shared/edge/webhook"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwiseauth"
)

// Getenv reads one environment variable (os.Getenv, or a map in tests and locally).
type Getenv func(string) string

// Runtime is what a function's wiring gets from its host: Lambda (main.go) or the local
// runner.
type Runtime struct {
	AWS     aws.Config
	Getenv  Getenv
	Metrics io.Writer // EMF metric lines; nil means standard output (what CloudWatch reads)
}

// WebhookConfig is the IDWise webhook function's configuration.
type WebhookConfig struct {
	Table        string
	AuthMode     idwiseauth.Mode
	HeaderName   string
	SecretID     string
	AllowedCIDRs []string
	// AllowBroadCIDRs (IDWISE_ALLOW_BROAD_CIDRS=true, template IdwiseAllowBroadSourceCidrs)
	// lets auth mode none take ranges broader than /24 (IPv4) or /48 (IPv6).
	AllowBroadCIDRs bool
	Retention       time.Duration
	// SecretMaxAge bounds how long a webhook secret is used before it is read again
	// (WEBHOOK_SECRET_MAX_AGE_SECONDS; 0: secretcache's default, five minutes).
	SecretMaxAge time.Duration
}

// LoadWebhookConfig reads and checks the webhook function's environment.
func LoadWebhookConfig(getenv Getenv) (WebhookConfig, error) {
	c := WebhookConfig{
		Table:      getenv("TABLE_NAME"),
		AuthMode:   idwiseauth.Mode(strings.ToLower(strings.TrimSpace(getenv("IDWISE_WEBHOOK_AUTH")))),
		HeaderName: getenv("IDWISE_WEBHOOK_HEADER"),
		SecretID:   getenv("IDWISE_WEBHOOK_SECRET_ARN"),
		Retention:  30 * 24 * time.Hour,
	}
	if c.Table == "" {
		return c, fmt.Errorf("TABLE_NAME is required")
	}
	if c.AuthMode == "" {
		return c, fmt.Errorf("IDWISE_WEBHOOK_AUTH is required (basic, bearer, header or none)")
	}
	if c.AuthMode != idwiseauth.ModeNone && c.SecretID == "" {
		return c, fmt.Errorf("IDWISE_WEBHOOK_SECRET_ARN is required for auth mode %s", c.AuthMode)
	}
	for _, s := range strings.Split(getenv("IDWISE_ALLOWED_CIDRS"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.AllowedCIDRs = append(c.AllowedCIDRs, s)
		}
	}
	var err error
	if c.AllowBroadCIDRs, err = strconv.ParseBool(strings.TrimSpace(getenvOr(getenv, "IDWISE_ALLOW_BROAD_CIDRS", "false"))); err != nil {
		return c, fmt.Errorf("IDWISE_ALLOW_BROAD_CIDRS must be true or false, got %q", getenv("IDWISE_ALLOW_BROAD_CIDRS"))
	}
	if _, err := idwiseauth.ParseSources(c.AllowedCIDRs); err != nil {
		return c, fmt.Errorf("IDWISE_ALLOWED_CIDRS: %w", err)
	}
	if c.AuthMode == idwiseauth.ModeNone {
		if err := realAllowList(c.AllowedCIDRs, c.AllowBroadCIDRs); err != nil {
			return c, err
		}
	}
	if c.SecretMaxAge, err = secretMaxAge(getenv); err != nil {
		return c, err
	}
	if v := strings.TrimSpace(getenv("RAW_EVENT_RETENTION_DAYS")); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 {
			return c, fmt.Errorf("RAW_EVENT_RETENTION_DAYS must be a positive number of days, got %q", v)
		}
		c.Retention = time.Duration(days) * 24 * time.Hour
	}
	return c, nil
}

// realAllowList refuses, in auth mode none, an empty allow-list or one broader than
// IDWise's egress needs (each range at most /24 of IPv4 or /48 of IPv6, unless
// IDWISE_ALLOW_BROAD_CIDRS=true): with no credentials, the source IP is the webhook's only
// guard, and 0.0.0.0/1,128.0.0.0/1 is as open as 0.0.0.0/0.
func realAllowList(cidrs []string, allowBroad bool) error {
	const msg = "IDWISE_WEBHOOK_AUTH=none needs IDWISE_ALLOWED_CIDRS (the IDWise IP allow-list), " +
		"the only guard of a webhook without credentials"
	prefixes, err := idwiseauth.ParseSources(cidrs)
	if err != nil {
		return fmt.Errorf("IDWISE_ALLOWED_CIDRS: %w", err)
	}
	if len(prefixes) == 0 {
		return errors.New(msg)
	}
	for _, p := range prefixes {
		if p.Bits() == 0 { // never, whatever the override
			return fmt.Errorf("%s: %s allows every address", msg, p)
		}
	}
	if allowBroad {
		return nil
	}
	if err := idwiseauth.NarrowSources(prefixes); err != nil {
		return fmt.Errorf("%s: %w (IDWISE_ALLOW_BROAD_CIDRS=true, template IdwiseAllowBroadSourceCidrs, overrides)", msg, err)
	}
	return nil
}

// secretMaxAge reads WEBHOOK_SECRET_MAX_AGE_SECONDS, the maximum age of every cached
// webhook secret (IDWise and Veriff): 0 or unset means secretcache's default.
func secretMaxAge(getenv Getenv) (time.Duration, error) {
	v := strings.TrimSpace(getenv("WEBHOOK_SECRET_MAX_AGE_SECONDS"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 3600 {
		return 0, fmt.Errorf("WEBHOOK_SECRET_MAX_AGE_SECONDS must be 1..3600 seconds, got %q", v)
	}
	return time.Duration(n) * time.Second, nil
}

// traced returns rt's AWS configuration with every SDK call recorded as an X-Ray
// subsegment (when Lambda runs with active tracing), and the emitter for HTTP clients.
func traced(rt Runtime) (aws.Config, *tracing.Emitter) {
	cfg := rt.AWS.Copy()
	t := tracing.New(rt.Getenv)
	t.Instrument(&cfg)
	return cfg, t
}

// IDWiseWebhook builds the IDWise webhook handler from its environment.
func IDWiseWebhook(rt Runtime) (*webhook.Handler, error) {
	c, err := LoadWebhookConfig(rt.Getenv)
	if err != nil {
		return nil, err
	}
	rt.AWS, _ = traced(rt)
	var source idwiseauth.SecretSource
	if c.AuthMode != idwiseauth.ModeNone {
		source = secrets.IDWiseWebhookCredentials{Client: secretsmanager.NewFromConfig(rt.AWS), ID: c.SecretID}
	}
	auth, err := idwiseauth.New(idwiseauth.Config{
		Mode: c.AuthMode, HeaderName: c.HeaderName, AllowedCIDRs: c.AllowedCIDRs, MaxAge: c.SecretMaxAge,
		AllowBroadSources: c.AllowBroadCIDRs,
	}, source)
	if err != nil {
		return nil, fmt.Errorf("webhook auth: %w", err)
	}
	emf := metrics.New(rt.Metrics, "webhook")
	in := inbox.New(dynamo.NewInbox(dynamodb.NewFromConfig(rt.AWS), c.Table), emf, c.Retention)
	return webhook.New(idwise.Provider, auth, in, idwise.ParseEvent, emf), nil
}

// webhookRoutes registers each vendor's webhook route (template.yaml: the HttpApi events of
// WebhookFunction) with the constructor of its handler; a constructor that returns nil
// leaves its vendor off (not configured). Adding a vendor is one line here.
var webhookRoutes = []struct {
	key   string
	build func(Runtime) (*webhook.Handler, error)
}{
	{"POST /webhooks/idwise", IDWiseWebhook},
	{"POST /webhooks/veriff", VeriffWebhook},
}

// WebhookRoutes is the webhook function's handler: one vendor handler per route.
type WebhookRoutes struct {
	routes map[string]*webhook.Handler
}

// Webhooks builds the webhook function's handler from its environment.
func Webhooks(rt Runtime) (*WebhookRoutes, error) {
	w := &WebhookRoutes{routes: map[string]*webhook.Handler{}}
	for _, r := range webhookRoutes {
		h, err := r.build(rt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.key, err)
		}
		if h != nil {
			w.routes[r.key] = h
		}
	}
	return w, nil
}

// Handle dispatches an API Gateway HTTP API (payload v2) request by its route key.
func (w *WebhookRoutes) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if h, ok := w.routes[req.RouteKey]; ok {
		return h.Handle(ctx, req)
	}
	if req.RouteKey == "" || req.RouteKey == "$default" { // a caller that sets no route key: match the path
		path := req.RequestContext.HTTP.Path
		if path == "" {
			path = req.RawPath
		}
		for key, h := range w.routes {
			if _, p, _ := strings.Cut(key, " "); p == path {
				return h.Handle(ctx, req) // the handler answers 405 to another method
			}
		}
	}
	return apigw.Error(http.StatusNotFound, "not_found", "no webhook on this route"), nil
}
