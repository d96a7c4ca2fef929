package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
	"github.com/kycbackend/kyc/shared/aws/secrets"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwiseauth"
)

// smokeEvent is the name of the smoke test's delivery: not an IDWise event name, so the
// processor stores it as not processable (skipped) and calls no vendor API, changes no
// profile and fires no alarm.
const smokeEvent = "kycctl Smoke Test"

// check is one row of the smoke test's (and the doctor's) table.
type check struct {
	Name   string `json:"check"`
	OK     bool   `json:"ok"`
	Result string `json:"result"`
	Fix    string `json:"fix,omitempty"`
}

func printChecks(w io.Writer, checks []check, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(checks)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
	for _, c := range checks {
		res, detail := "ok", c.Result
		if !c.OK {
			res = "FAIL"
			if c.Fix != "" {
				detail += "; fix: " + c.Fix
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, res, detail)
	}
	return tw.Flush()
}

func failed(checks []check) bool {
	for _, c := range checks {
		if !c.OK {
			return true
		}
	}
	return false
}

// runSmoke is `kycctl smoke -url <WebhookUrl>` (make smoke URL=...): one authenticated test
// delivery to the deployed (or local) IDWise webhook, accepted, deduplicated, seen by the
// processor in the table, then deleted. Exit 0 when every step passed, 1 otherwise.
func runSmoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kycctl smoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "the stack's WebhookUrl output (https://.../webhooks/idwise)")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the processor")
	asJSON := fs.Bool("json", false, "print JSON")
	table := fs.String("table", getenv("TABLE_NAME"), "the stack's TableName output (TABLE_NAME)")
	secretARN := fs.String("idwise-webhook-secret-arn", getenv("IDWISE_WEBHOOK_SECRET_ARN"), "the IdwiseWebhookSecretArn output (IDWISE_WEBHOOK_SECRET_ARN)")
	mode := fs.String("auth", envOr(getenv, "IDWISE_WEBHOOK_AUTH", "bearer"), "the stack's IdwiseWebhookAuthMode: bearer, basic or header")
	header := fs.String("header", envOr(getenv, "IDWISE_WEBHOOK_HEADER", "X-IDWise-Token"), "the header in header mode")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *url == "" || *table == "" || *secretARN == "" {
		fmt.Fprintln(stderr, "usage: kycctl smoke -url <WebhookUrl> with TABLE_NAME and IDWISE_WEBHOOK_SECRET_ARN set (the stack's TableName and IdwiseWebhookSecretArn outputs)")
		return 2
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "kycctl smoke: load aws config: %v\n", err)
		return 1
	}
	s := smoke{
		url: *url, mode: *mode, header: *header, timeout: *timeout, http: &http.Client{Timeout: 15 * time.Second},
		creds: secrets.IDWiseWebhookCredentials{Client: secretsmanager.NewFromConfig(cfg), ID: *secretARN},
		tbl:   compose.OperatorTable(cfg, *table, 0),
	}
	checks := s.run(ctx, time.Now().UTC())
	if err := printChecks(stdout, checks, *asJSON); err != nil {
		fmt.Fprintf(stderr, "kycctl smoke: %v\n", err)
		return 1
	}
	if failed(checks) {
		return 1
	}
	return 0
}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}

// smokeTable is what the smoke test reads and deletes (dynamo.Operator).
type smokeTable interface {
	StoredEvent(ctx context.Context, provider, eventID string) (opstore.Event, bool, error)
	Delete(ctx context.Context, k opstore.ItemKey) (bool, error)
}

type smoke struct {
	url, mode, header string
	timeout           time.Duration
	http              *http.Client
	creds             interface {
		Credentials(ctx context.Context) (idwiseauth.Credentials, error)
	}
	tbl smokeTable
}

func (s smoke) run(ctx context.Context, now time.Time) []check {
	id := "kycctl-smoke-" + now.Format("20060102T150405.000000000Z")
	var checks []check
	add := func(c check) bool { checks = append(checks, c); return c.OK }
	creds, err := s.creds.Credentials(ctx)
	if !add(check{"webhook secret", err == nil && creds.Secret != "", "read", "put the webhook credentials in IDWISE_WEBHOOK_SECRET_ARN's secret ({\"username\",\"secret\"})"}) {
		if err != nil {
			checks[len(checks)-1].Result = err.Error()
		}
		return checks
	}
	body, _ := json.Marshal(map[string]any{"event": smokeEvent, "body": map[string]string{"eventId": id, "journeyId": id}})
	for _, want := range []string{"accepted", "duplicate"} {
		status, got, err := s.post(ctx, body, creds)
		ok := err == nil && status == http.StatusOK && got == want
		res := fmt.Sprintf("HTTP %d %s", status, got)
		if err != nil {
			res = err.Error()
		}
		fix := "check the URL (the WebhookUrl output) and the auth mode (IdwiseWebhookAuthMode)"
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			fix = "the webhook refused the secret: compare IDWISE_WEBHOOK_SECRET_ARN with the stack's IdwiseWebhookSecretArn, and -auth with IdwiseWebhookAuthMode"
		}
		if !add(check{"delivery " + want, ok, res + " (eventId " + id + ")", fix}) {
			return checks
		}
	}
	ev, err := s.waitProcessed(ctx, id)
	if !add(check{"processed", err == nil, stateOf(ev, err), "the processor did not mark the event: check ProcessorFunction's logs and the table's stream"}) {
		s.cleanup(ctx, ev, &checks)
		return checks
	}
	s.cleanup(ctx, ev, &checks)
	return checks
}

func stateOf(ev opstore.Event, err error) string {
	if err != nil {
		return err.Error()
	}
	return "stored and marked " + ev.State + " by the processor"
}

func (s smoke) cleanup(ctx context.Context, ev opstore.Event, checks *[]check) {
	if ev.Key.PK == "" {
		return
	}
	deleted, err := s.tbl.Delete(ctx, ev.Key)
	res := "deleted " + ev.Key.PK
	if err != nil {
		res = err.Error()
	}
	*checks = append(*checks, check{"cleaned up", err == nil && deleted, res, "delete the item " + ev.Key.PK + " by hand (it expires with its TTL otherwise)"})
}

func (s smoke) post(ctx context.Context, body []byte, c idwiseauth.Credentials) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch s.mode {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+c.Secret)
	case "basic":
		req.SetBasicAuth(envOrString(c.Username, "idwise"), c.Secret)
	case "header":
		req.Header.Set(s.header, c.Secret)
	case "none":
	default:
		return 0, "", fmt.Errorf("auth mode %q: want bearer, basic, header or none", s.mode)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out)
	return resp.StatusCode, out.Status, nil
}

func envOrString(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

// waitProcessed reads the event until the processor has marked it (not pending).
func (s smoke) waitProcessed(ctx context.Context, id string) (opstore.Event, error) {
	deadline := time.Now().Add(s.timeout)
	var last opstore.Event
	for {
		ev, found, err := s.tbl.StoredEvent(ctx, "idwise", id)
		if err != nil {
			return last, fmt.Errorf("read the event: %w", err)
		}
		if found {
			last = ev
			if ev.State != "" && ev.State != "pending" {
				return ev, nil
			}
		}
		if time.Now().After(deadline) {
			if !found {
				return last, errors.New("not in the table: the webhook answered without storing it")
			}
			return last, fmt.Errorf("still %s after %s", ev.State, s.timeout)
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
