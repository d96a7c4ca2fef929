// Command run is `make run`: the whole product on one machine, against the emulators that
// infra/local/with-emulators.sh started. It creates the template's tables and the webhook
// secret, builds every function exactly as its main.go does (shared/compose) with the
// environment template.yaml gives it, and serves the template's HTTP API routes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/kycbackend/kyc/infra/local/httpapi"
	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/shared/compose"
)

// settings are the runner's own knobs, from its environment, with printed defaults.
type settings struct {
	Port         string
	Template     string
	AuthMode     string
	Secret       string
	Username     string
	Header       string
	AllowedCIDRs string
}

func loadSettings() settings {
	return settings{
		Port:         envOr("PORT", "3000"),
		Template:     envOr("KYC_TEMPLATE", "template.yaml"),
		AuthMode:     envOr("IDWISE_WEBHOOK_AUTH", "bearer"),
		Secret:       envOr("IDWISE_WEBHOOK_SECRET", "local-webhook-secret"),
		Username:     envOr("IDWISE_WEBHOOK_USERNAME", "idwise"),
		Header:       envOr("IDWISE_WEBHOOK_HEADER", "X-IDWise-Token"),
		AllowedCIDRs: os.Getenv("IDWISE_ALLOWED_CIDRS"),
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, loadSettings(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, s settings, out io.Writer) error {
	if os.Getenv("KYC_EMULATORS") != "1" {
		return errors.New("emulators are not running: start with `make run` (infra/local/with-emulators.sh)")
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(quietLogger{}))
	if err != nil {
		return fmt.Errorf("load aws config: %w", err)
	}
	tpl, err := provision.Load(s.Template)
	if err != nil {
		return fmt.Errorf("load %s: %w", s.Template, err)
	}
	tables, err := tpl.CreateTables(ctx, awsCfg, "kyc-local-")
	if err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	secret, err := json.Marshal(map[string]string{"username": s.Username, "secret": s.Secret})
	if err != nil {
		return err
	}
	secretARN, err := provision.PutSecret(ctx, awsCfg, "kyc-local/idwise-webhook", string(secret))
	if err != nil {
		return fmt.Errorf("put webhook secret: %w", err)
	}

	env, err := tpl.Env(map[string]string{
		"IdwiseWebhookAuthMode":    s.AuthMode,
		"IdwiseWebhookHeaderName":  s.Header,
		"IdwiseWebhookSecretArn":   secretARN,
		"IdwiseAllowedSourceCidrs": s.AllowedCIDRs,
	})
	if err != nil {
		return fmt.Errorf("template parameters: %w", err)
	}
	for id, name := range tables {
		env.Refs[id] = name
		env.Attrs[id+".Arn"] = "arn:aws:dynamodb:us-east-1:000000000000:table/" + name
	}

	handlers := map[string]httpapi.Handler{}
	routed := map[string]bool{}
	for _, r := range tpl.Routes() {
		routed[r.FunctionLogicalID] = true
	}
	for _, id := range tpl.Functions() {
		if !routed[id] {
			continue
		}
		build, ok := httpFunctions[id]
		if !ok {
			return fmt.Errorf("function %s is in the template but not wired in infra/local/run/functions.go", id)
		}
		vars := map[string]string{}
		for name, v := range tpl.FunctionEnv(id) {
			if vars[name], err = v.Resolve(env); err != nil {
				return fmt.Errorf("%s environment %s: %w", id, name, err)
			}
		}
		h, err := build(compose.Runtime{AWS: awsCfg, Getenv: func(k string) string { return vars[k] }, Metrics: io.Discard})
		if err != nil {
			return fmt.Errorf("build %s: %w", id, err)
		}
		handlers[id] = h
	}
	var routes []httpapi.Route
	for _, r := range tpl.Routes() {
		h, ok := handlers[r.FunctionLogicalID]
		if !ok {
			return fmt.Errorf("route %s %s: no handler for %s", r.Method, r.Path, r.FunctionLogicalID)
		}
		routes = append(routes, httpapi.Route{Method: r.Method, Path: r.Path, Handler: h})
	}

	srv := httpapi.New(routes)
	srv.OnRequest = func(routeKey string, status int, d time.Duration) {
		fmt.Fprintf(out, "%s  %-28s -> %d  (%s)\n", time.Now().Format("15:04:05.000"), routeKey, status, d.Round(time.Microsecond))
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", s.Port))
	if err != nil {
		return fmt.Errorf("listen on port %s: %w", s.Port, err)
	}
	base := "http://" + ln.Addr().String()
	printBanner(out, s, base, tables, secretARN, routes)

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(out, "ready %s\n", base)
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "stopping")
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}

func printBanner(out io.Writer, s settings, base string, tables map[string]string, secretARN string, routes []httpapi.Route) {
	fmt.Fprintln(out, "KYC backend, local")
	fmt.Fprintf(out, "  DynamoDB Local   %s\n", os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	fmt.Fprintf(out, "  moto             %s\n", os.Getenv("AWS_ENDPOINT_URL"))
	ids := make([]string, 0, len(tables))
	for id := range tables {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(out, "  table %-10s %s\n", id, tables[id])
	}
	fmt.Fprintf(out, "  webhook secret   %s\n", secretARN)
	fmt.Fprintln(out, "Routes")
	for _, r := range routes {
		fmt.Fprintf(out, "  %-6s %s%s\n", r.Method, base, r.Path)
	}
	fmt.Fprintln(out, "IDWise webhook credentials (set IDWISE_WEBHOOK_AUTH / _SECRET / _USERNAME / _HEADER to change)")
	fmt.Fprintf(out, "  mode %s\n", s.AuthMode)
	example := fmt.Sprintf(`curl -s -X POST %s/webhooks/idwise -H 'Content-Type: application/json'`, base)
	switch s.AuthMode {
	case "bearer":
		fmt.Fprintf(out, "  token %s\n", s.Secret)
		example += fmt.Sprintf(` -H 'Authorization: Bearer %s'`, s.Secret)
	case "basic":
		fmt.Fprintf(out, "  username %s  password %s\n", s.Username, s.Secret)
		example += fmt.Sprintf(` -u '%s:%s'`, s.Username, s.Secret)
	case "header":
		fmt.Fprintf(out, "  header %s: %s\n", s.Header, s.Secret)
		example += fmt.Sprintf(` -H '%s: %s'`, s.Header, s.Secret)
	}
	example += ` -d @` + filepath.Join("shared", "idwise", "testdata", "finished-journey.json")
	fmt.Fprintln(out, "Try")
	fmt.Fprintln(out, "  "+example)
}

// quietLogger drops one SDK warning that DynamoDB Local causes and AWS does not: it
// sends a CRC32 header that does not match the body of a ConditionalCheckFailed answer
// that carries the old item. Every other SDK message is printed.
type quietLogger struct{}

func (quietLogger) Logf(c logging.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "did not match expected checksum") {
		return
	}
	fmt.Fprintf(os.Stderr, "SDK %s %s\n", c, msg)
}
