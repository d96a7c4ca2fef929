package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/kycbackend/kyc/shared/aws/secrets"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffapi"
)

// probeID is a journey / session id no vendor knows: asked for it, an API that accepted the
// credentials answers 404, one that refused them 401 or 403.
const probeID = "kycctl-doctor-probe"

// doctor holds what `kycctl doctor` checks (built from the processor's environment).
type doctor struct {
	getenv       func(string) string
	cfg          aws.Config
	journey      string // -journey: a finished test journey
	spotCheck    string // -spot-check: a finished spot check journey
	apiURL       string // -api-url: the ApiUrl output (webhook URLs)
	http         *http.Client
	checkTimeout time.Duration
}

// runDoctor is `kycctl doctor` (make doctor): one table of checks before the first real
// user (design.md "Before the first real user"); exit 0 only when every check passes.
func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kycctl doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := doctor{getenv: getenv, http: &http.Client{Timeout: 10 * time.Second}}
	fs.StringVar(&d.journey, "journey", "", "id of a finished IDWise test journey: Get Journey Result must answer and parse, with its reference_number")
	fs.StringVar(&d.spotCheck, "spot-check", "", "id of a finished IDWise spot check journey: Get Spot Check Result likewise")
	fs.StringVar(&d.apiURL, "api-url", getenv("KYC_API_URL"), "the stack's ApiUrl output (KYC_API_URL): prints and probes the webhook URLs")
	fs.DurationVar(&d.checkTimeout, "check-timeout", 20*time.Second, "bound of each check")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "kycctl doctor: load aws config: %v\n", err)
		return 1
	}
	d.cfg = cfg
	checks := d.run(ctx)
	if err := printChecks(stdout, checks, *asJSON); err != nil {
		fmt.Fprintf(stderr, "kycctl doctor: %v\n", err)
		return 1
	}
	if failed(checks) {
		fmt.Fprintln(stderr, "kycctl doctor: some checks failed: each names its fix")
		return 1
	}
	return 0
}

func (d doctor) run(ctx context.Context) []check {
	var out []check
	out = append(out, d.idwise(ctx)...)
	out = append(out, d.veriff(ctx)...)
	out = append(out, d.platforms(ctx)...)
	out = append(out, d.alarms(ctx))
	out = append(out, d.webhooks(ctx)...)
	return out
}

func (d doctor) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.checkTimeout)
}

// idwise: the API secret is filled, the credentials are accepted and the region answers;
// with -journey / -spot-check, the configured result paths answer and parse.
func (d doctor) idwise(ctx context.Context) []check {
	id := d.getenv("IDWISE_API_SECRET_ARN")
	if id == "" {
		return []check{{"idwise secret", false, "IDWISE_API_SECRET_ARN is not set", "set it to the stack's IdwiseApiSecretArn output"}}
	}
	var key struct{ APIKey, APISecret string }
	c, cancel := d.bounded(ctx)
	err := secrets.JSON(c, secretsmanager.NewFromConfig(d.cfg), id, &key)
	cancel()
	switch {
	case err != nil:
		return []check{{"idwise secret", false, err.Error(), "check IDWISE_API_SECRET_ARN and the credentials' secretsmanager:GetSecretValue"}}
	case key.APIKey == "" || key.APISecret == "":
		return []check{{"idwise secret", false, id + ": apiKey or apiSecret is empty (the stack creates it empty)",
			"aws secretsmanager put-secret-value --secret-id " + id + ` --secret-string '{"apiKey":"...","apiSecret":"..."}'`}}
	}
	out := []check{{"idwise secret", true, id + ": apiKey and apiSecret set", ""}}
	getenv := func(k string) string {
		if k == "JOURNEY_OWNERSHIP" { // the client's configuration does not depend on it
			return ""
		}
		return d.getenv(k)
	}
	p, err := compose.NewProcessing(compose.Runtime{AWS: d.cfg, Getenv: getenv, Metrics: io.Discard}, "kycctl")
	if err != nil {
		return append(out, check{"idwise api", false, "processor configuration: " + err.Error(), "fix the named variable (the template parameter of the same meaning)"})
	}
	base := d.getenv("IDWISE_API_BASE_URL")
	if base == "" {
		base = "region " + orDefault(d.getenv("IDWISE_REGION"), "eu")
	}
	c, cancel = d.bounded(ctx)
	_, err = p.IDWise.Journey(c, probeID)
	cancel()
	out = append(out, idwiseProbe(base, err))
	if d.journey != "" {
		out = append(out, d.idwiseResult("idwise journey result", d.journey, orDefault(d.getenv("IDWISE_PATH_JOURNEY_RESULT"), "journey/v2/result/{journeyId}"), "IdwiseJourneyResultPath", p.IDWise.Journey, ctx))
	}
	if d.spotCheck != "" {
		out = append(out, d.idwiseResult("idwise spot check result", d.spotCheck, orDefault(d.getenv("IDWISE_PATH_SPOT_CHECK_RESULT"), "journey/v2/spot-check/result/{journeyId}"), "IdwiseSpotCheckResultPath", p.IDWise.SpotCheck, ctx))
	}
	return out
}

func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

// idwiseProbe reads the answer to Get Journey Result of a journey nobody has.
func idwiseProbe(base string, err error) check {
	var api *idwise.APIError
	switch {
	case err == nil || errors.Is(err, idwise.ErrNotFound):
		return check{"idwise api", true, base + " answers; credentials accepted (404 for an unknown journey)", ""}
	case errors.Is(err, idwise.ErrUnauthorized):
		return check{"idwise api", false, base + " refused the credentials (401/403)",
			"put the API key and secret of this IDWise account and region into IDWISE_API_SECRET_ARN's secret, or fix IdwiseRegion"}
	case errors.As(err, &api) && api.Status == 0:
		return check{"idwise api", false, base + " unreachable: " + err.Error(), "check IdwiseRegion (eu, uae, qat) or IdwiseApiBaseUrl, and the network"}
	default:
		return check{"idwise api", false, base + ": " + err.Error(), "check IdwiseRegion / IdwiseApiBaseUrl"}
	}
}

func (d doctor) idwiseResult(name, journeyID, path, param string, get func(context.Context, string) (idwise.Journey, error), ctx context.Context) check {
	c, cancel := d.bounded(ctx)
	defer cancel()
	j, err := get(c, journeyID)
	switch {
	case errors.Is(err, idwise.ErrNotFound):
		return check{name, false, "GET " + path + " for " + journeyID + ": 404", "the path is wrong (set " + param + " as your IDWise API reference names it) or the journey id is not a finished journey of this account"}
	case err != nil:
		return check{name, false, "GET " + path + " for " + journeyID + ": " + err.Error(), "check " + param + " and the IDWise credentials"}
	case j.ReferenceNumber == "":
		return check{name, false, "GET " + path + " for " + journeyID + ": answered without reference_number", "the path answers something else than the journey result: check " + param}
	}
	return check{name, true, "GET " + path + ": journey " + journeyID + " of reference_number " + j.ReferenceNumber + ", system_decision " + orDefault(j.SystemDecision, "-"), ""}
}

// veriff: every integration of the Veriff secret is filled (not the stack's placeholder),
// and each product's API key and shared secret are accepted by the Veriff API.
func (d doctor) veriff(ctx context.Context) []check {
	id := d.getenv("VERIFF_SECRET_ARN")
	if id == "" {
		return []check{{"veriff", true, "not configured (VERIFF_SECRET_ARN empty): Veriff deliveries are refused", ""}}
	}
	c, cancel := d.bounded(ctx)
	creds, err := secrets.VeriffWebhookCredentials{Client: secretsmanager.NewFromConfig(d.cfg), ID: id}.Credentials(c)
	cancel()
	if err != nil {
		return []check{{"veriff secret", false, err.Error(), "check VERIFF_SECRET_ARN (the VeriffSecretArn output)"}}
	}
	list := creds.List()
	if c := veriffSecretFilled(id, list); !c.OK {
		return []check{c}
	}
	out := []check{{"veriff secret", true, id + ": " + integrationNames(list) + " set", ""}}
	if keysID := d.getenv("VERIFF_API_KEYS_SECRET_ARN"); keysID != "" {
		out = append(out, d.veriffAPIKeys(ctx, keysID, list))
	}
	// The decision re-fetch signs with the shared secret, which only the webhook secret holds.
	getenv := func(k string) string {
		if k == "VERIFF_API_KEYS_SECRET_ARN" {
			return ""
		}
		return d.getenv(k)
	}
	api, _, err := compose.VeriffAPI(compose.Runtime{AWS: d.cfg, Getenv: getenv, Metrics: io.Discard})
	if err != nil {
		return append(out, check{"veriff api", false, err.Error(), "fix VERIFF_API_BASE_URL (VeriffApiBaseUrl)"})
	}
	for _, p := range products(list) {
		out = append(out, d.veriffAPI(ctx, api, id, p))
	}
	return out
}

// veriffAPIKeys: the app API's API keys secret names the same integrations with the same
// API keys as the webhook secret (session creation uses it).
func (d doctor) veriffAPIKeys(ctx context.Context, keysID string, want []veriff.Integration) check {
	c, cancel := d.bounded(ctx)
	keys, err := secrets.VeriffWebhookCredentials{Client: secretsmanager.NewFromConfig(d.cfg), ID: keysID}.Credentials(c)
	cancel()
	if err != nil {
		return check{"veriff api keys", false, err.Error(), "check VERIFF_API_KEYS_SECRET_ARN (the VeriffApiKeysSecretArn output)"}
	}
	got := map[string]veriff.Integration{}
	for _, in := range keys.List() {
		got[in.Name] = in
	}
	fix := "put the same integrations (name, product, apiKey; no sharedSecret) into " + keysID
	for _, in := range want {
		k, ok := got[in.Name]
		switch {
		case !ok:
			return check{"veriff api keys", false, keysID + ": no integration " + in.Name, fix}
		case k.APIKey == "":
			return check{"veriff api keys", false, keysID + ": integration " + in.Name + " has an empty apiKey (the stack's generated placeholder)", fix}
		case k.APIKey != in.APIKey || k.Product != in.Product:
			return check{"veriff api keys", false, keysID + ": integration " + in.Name + " differs from the webhook secret's", fix}
		}
	}
	return check{"veriff api keys", true, keysID + ": the same integrations and API keys as the webhook secret", ""}
}

// veriffSecretFilled fails on the first integration without an API key or shared secret.
func veriffSecretFilled(id string, list []veriff.Integration) check {
	for _, in := range list {
		if in.APIKey == "" || in.SharedSecret == "" {
			return check{"veriff secret", false, id + ": integration " + in.Name + " (" + string(in.Product) + ") has an empty apiKey or sharedSecret (the stack's generated placeholder)",
				"aws secretsmanager put-secret-value --secret-id " + id + ` --secret-string '{"integrations":[{"name":"...","product":"identity","apiKey":"...","sharedSecret":"..."}]}' with each integration's keys from the Veriff Customer Portal`}
		}
	}
	return check{OK: true}
}

// integrationNames lists "name (product)" of each integration.
func integrationNames(list []veriff.Integration) string {
	names := make([]string, 0, len(list))
	for _, in := range list {
		names = append(names, in.Name+" ("+string(in.Product)+")")
	}
	return strings.Join(names, ", ")
}

// products are the distinct products of list, in order.
func products(list []veriff.Integration) []veriff.Product {
	var out []veriff.Product
	for _, in := range list {
		if !slices.Contains(out, in.Product) {
			out = append(out, in.Product)
		}
	}
	return out
}

// veriffAPI asks the Veriff API for the decision of a session that does not exist with
// product's credentials: 404 means the key and signature were accepted.
func (d doctor) veriffAPI(ctx context.Context, api *veriffapi.Client, id string, p veriff.Product) check {
	name := "veriff api"
	if p != veriff.ProductIdentity {
		name += " " + string(p)
	}
	base := orDefault(d.getenv("VERIFF_API_BASE_URL"), "https://stationapi.veriff.com")
	c, cancel := d.bounded(ctx)
	_, err := api.DecisionOf(c, p, probeID)
	cancel()
	switch {
	case err == nil || errors.Is(err, veriffapi.ErrNotFound):
		return check{name, true, base + " accepted the " + string(p) + " API key (404 for an unknown session)", ""}
	case errors.Is(err, veriffapi.ErrUnauthorized):
		return check{name, false, base + " refused the API key or signature of the " + string(p) + " integration (401/403)", "copy the integration's API key and shared secret key (" + string(p) + ") into " + id}
	default:
		return check{name, false, base + ": " + err.Error(), "check VeriffApiBaseUrl and the network"}
	}
}

// platforms: each configured SNS platform application is enabled.
func (d doctor) platforms(ctx context.Context) []check {
	client := awssns.NewFromConfig(d.cfg)
	var out []check
	for _, p := range []struct{ env, param string }{
		{"APNS_PLATFORM_APPLICATION_ARN", "ApnsPlatformApplicationArn"},
		{"APNS_SANDBOX_PLATFORM_APPLICATION_ARN", "ApnsSandboxPlatformApplicationArn"},
		{"FCM_PLATFORM_APPLICATION_ARN", "FcmPlatformApplicationArn"},
	} {
		arn := d.getenv(p.env)
		if arn == "" {
			out = append(out, check{"push " + p.param, true, "not configured: devices of this platform are refused", ""})
			continue
		}
		c, cancel := d.bounded(ctx)
		attrs, err := client.GetPlatformApplicationAttributes(c, &awssns.GetPlatformApplicationAttributesInput{PlatformApplicationArn: aws.String(arn)})
		cancel()
		switch {
		case err != nil:
			out = append(out, check{"push " + p.param, false, err.Error(), "check " + p.param + " (" + p.env + ") and sns:GetPlatformApplicationAttributes"})
		case attrs.Attributes["Enabled"] != "true":
			out = append(out, check{"push " + p.param, false, arn + " is disabled (its APNs certificate or FCM key expired or was refused)",
				"renew the credentials of the platform application in the SNS console, then enable it"})
		default:
			out = append(out, check{"push " + p.param, true, arn + " enabled", ""})
		}
	}
	return out
}

// alarms: the alarm topic has a confirmed subscriber.
func (d doctor) alarms(ctx context.Context) check {
	arn := d.getenv("ALARM_TOPIC_ARN")
	if arn == "" {
		return check{"alarm topic", false, "ALARM_TOPIC_ARN is not set", "set it to the stack's AlarmTopicArn output"}
	}
	c, cancel := d.bounded(ctx)
	defer cancel()
	subs, err := awssns.NewFromConfig(d.cfg).ListSubscriptionsByTopic(c, &awssns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	if err != nil {
		return check{"alarm topic", false, err.Error(), "check ALARM_TOPIC_ARN and sns:ListSubscriptionsByTopic"}
	}
	confirmed, pending := 0, 0
	for _, s := range subs.Subscriptions {
		if strings.HasPrefix(aws.ToString(s.SubscriptionArn), "arn:") {
			confirmed++
		} else {
			pending++
		}
	}
	if confirmed == 0 {
		res := "no confirmed subscriber: nobody hears an alarm"
		if pending > 0 {
			res = fmt.Sprintf("%d subscription(s) pending confirmation", pending)
		}
		return check{"alarm topic", false, res, "deploy with AlarmEmail=<on-call address> and confirm the e-mail, or subscribe your on-call tool to " + arn}
	}
	return check{"alarm topic", true, fmt.Sprintf("%d confirmed subscriber(s)", confirmed), ""}
}

// webhooks: the URLs to paste into each console, each answering an unauthenticated
// delivery with 401 (reachable, and refusing strangers).
func (d doctor) webhooks(ctx context.Context) []check {
	if d.apiURL == "" {
		return []check{{"webhook urls", false, "no -api-url (KYC_API_URL)", "pass the stack's ApiUrl output as -api-url to print and probe the webhook URLs"}}
	}
	var out []check
	for _, v := range []struct{ name, path, console string }{
		{"idwise", "/webhooks/idwise", "IDWise console, webhook settings"},
		{"veriff", "/webhooks/veriff", "Veriff Customer Portal, every webhook URL of the integration"},
	} {
		url := strings.TrimRight(d.apiURL, "/") + v.path
		c, cancel := d.bounded(ctx)
		req, _ := http.NewRequestWithContext(c, http.MethodPost, url, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := d.http.Do(req)
		cancel()
		if err != nil {
			out = append(out, check{"webhook " + v.name, false, url + ": " + err.Error(), "check -api-url (the ApiUrl output) and that the stack is deployed"})
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			out = append(out, check{"webhook " + v.name, false, fmt.Sprintf("%s answered %d to an unauthenticated delivery, want 401", url, resp.StatusCode), "check the webhook's auth mode (IdwiseWebhookAuthMode none needs an allow-list) and the URL"})
			continue
		}
		out = append(out, check{"webhook " + v.name, true, url + " (paste into: " + v.console + ")", ""})
	}
	return out
}
