// Command run is `make run`: the whole product on one machine, against the emulators that
// infra/local/with-emulators.sh started. It creates what template.yaml declares (tables,
// topics, queues, secrets), builds every function exactly as its main.go does
// (shared/compose) with the environment the template gives it, and drives each one the
// way AWS would: HTTP API routes, the table's stream with the template's event source
// settings, schedules. The IDWise simulator stands in for the IDWise API.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/kycbackend/kyc/infra/local/httpapi"
	"github.com/kycbackend/kyc/infra/local/iamrecord"
	"github.com/kycbackend/kyc/infra/local/invoke"
	"github.com/kycbackend/kyc/infra/local/meter"
	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/infra/local/queues"
	tplstack "github.com/kycbackend/kyc/infra/local/stack"
	"github.com/kycbackend/kyc/infra/local/streams"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// settings are the runner's own knobs, from its environment, with printed defaults.
type settings struct {
	Port         string
	SimPort      string
	Template     string
	AuthMode     string
	Secret       string
	Username     string
	Header       string
	AllowedCIDRs string
	APIKey       string
	APISecret    string
	VeriffAPIKey string
	VeriffSecret string // the Veriff shared secret key
	// VeriffIntegrations is the Veriff secret (VERIFF_INTEGRATIONS, the secret's JSON);
	// unset, an identity integration of VeriffAPIKey / VeriffSecret and a proof-of-address
	// one of VERIFF_POA_API_KEY / VERIFF_POA_SHARED_SECRET (veriff.go).
	VeriffIntegrations *veriff.Credentials
	settingsErr        error             // a bad variable, reported by run
	VeriffSimPort      string            // VERIFF_SIM_PORT [3002]; empty: a free port
	VeriffSimURL       string            // the Veriff API simulator's URL, once started (veriffsim.go)
	SweepInterval      time.Duration     // 0: the template's schedule
	SweepMinAge        string            // seconds; empty: the template's default
	QueueRetry         time.Duration     // failed queue messages come back after this, not the visibility timeout
	CustomStep         customStep        // KYC_CUSTOM_STEP=1: the IDWise custom journey step (customstep.go)
	Params             map[string]string // more template parameters (tests)
}

func loadSettings() settings {
	s := settings{
		Port:          envOr("PORT", "3000"),
		SimPort:       envOr("IDWISE_SIM_PORT", "3001"),
		Template:      envOr("KYC_TEMPLATE", "template.yaml"),
		AuthMode:      envOr("IDWISE_WEBHOOK_AUTH", "bearer"),
		Secret:        envOr("IDWISE_WEBHOOK_SECRET", "local-webhook-secret"),
		Username:      envOr("IDWISE_WEBHOOK_USERNAME", "idwise"),
		Header:        envOr("IDWISE_WEBHOOK_HEADER", "X-IDWise-Token"),
		AllowedCIDRs:  os.Getenv("IDWISE_ALLOWED_CIDRS"),
		APIKey:        envOr("IDWISE_API_KEY", "local-api-key"),
		APISecret:     envOr("IDWISE_API_SECRET", "local-api-secret"),
		VeriffAPIKey:  envOr("VERIFF_API_KEY", "local-veriff-api-key"),
		VeriffSecret:  envOr("VERIFF_SHARED_SECRET", "local-veriff-shared-secret"),
		VeriffSimPort: envOr("VERIFF_SIM_PORT", "3002"),
		SweepMinAge:   envOr("SWEEP_MIN_AGE_SECONDS", "60"),
		CustomStep:    loadCustomStep(),
	}
	s.VeriffIntegrations, s.settingsErr = loadVeriffIntegrations(s)
	if s.VeriffIntegrations != nil {
		if in, ok := s.VeriffIntegrations.For(veriff.ProductIdentity); ok {
			s.VeriffAPIKey, s.VeriffSecret = in.APIKey, in.SharedSecret
		}
	}
	if d, err := time.ParseDuration(envOr("KYC_QUEUE_RETRY_DELAY", "5s")); err == nil {
		s.QueueRetry = d
	}
	if d, err := time.ParseDuration(envOr("KYC_SWEEP_INTERVAL", "30s")); err == nil {
		s.SweepInterval = d
	}
	return s
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, loadSettings(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
}

const prefix = "kyc-local-"

// usagePath is the runner's own route, never deployed: what the functions consumed
// (infra/local/meter), the figures of the cost per million webhooks in BENCHMARKS.md.
const usagePath = meter.Path

// stack is what the runner created on the emulators.
type stack struct {
	tables  map[string]string
	topics  map[string]string
	queues  map[string]provision.Queue
	created *tplstack.Stack // resolves the functions' environment
}

func run(ctx context.Context, s settings, out io.Writer) error {
	if s.settingsErr != nil {
		return s.settingsErr
	}
	if os.Getenv("KYC_EMULATORS") != "1" {
		return errors.New("emulators are not running: start with `make run` (infra/local/with-emulators.sh)")
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(dynamotest.LocalLogger{}))
	if err != nil {
		return fmt.Errorf("load aws config: %w", err)
	}
	// GET /_local/messages: every SNS Publish of the functions (status events, pushes).
	rec := newRecorder()
	rec.onPush = func(m localMessage) { timeline(out, "push", "%s", pushLine(m)) }
	awsCfg.APIOptions = append(awsCfg.APIOptions, rec.apiOption)
	usage := meter.New() // GET /_local/usage
	// The functions' logs, as text on stdout; the meter counts what each would send to
	// CloudWatch Logs. (Never a wrapper of slog's own default handler: with the log
	// package redirected to it, that would loop.)
	slog.SetDefault(slog.New(usage.LogHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	tpl, err := provision.Load(s.Template)
	if err != nil {
		return fmt.Errorf("load %s: %w", s.Template, err)
	}

	calls := &simCalls{out: out, ctx: ctx, meter: usage} // the simulator's calls on the timeline
	sim := idwisesim.New(idwisesim.Config{APIKey: s.APIKey, APISecret: s.APISecret, OnCall: calls.onCall})
	calls.sim.Store(sim)
	simLn, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", s.SimPort))
	if err != nil {
		return fmt.Errorf("listen on IDWISE_SIM_PORT %s: %w", s.SimPort, err)
	}
	simURL := "http://" + simLn.Addr().String()
	veriffURL, stopVeriffSim, err := startVeriffSim(s)
	if err != nil {
		return err
	}
	defer stopVeriffSim()
	s.VeriffSimURL = veriffURL

	// The app's token issuer (the local dev key) and the push platform applications are
	// template parameters, as a deployment gives them (localauth.go).
	auth, err := newLocalAuth()
	if err != nil {
		return err
	}
	params, err := stackParameters(ctx, awsCfg, s, auth)
	if err != nil {
		return err
	}
	st, err := createStack(ctx, awsCfg, tpl, s, simURL, params)
	if err != nil {
		return err
	}
	// KYC_IAM_RECORD=<file>: every AWS call of every function, as IAM authorizes it, for
	// infra/local/iamcheck (make test, make demo). Unset: nothing installed.
	iamRec, err := iamrecord.FromEnv(iamrecord.Stack{
		Stack: fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()),
		Refs:  st.created.Env.Refs, Attrs: st.created.Env.Attrs, Conditions: st.created.Env.Conditions,
	}, "123456789012", awsCfg.Region)
	if err != nil {
		return err
	}
	if iamRec != nil {
		defer iamRec.Close()
	}
	// As the template's JourneyOwnershipParameter does: kycctl reads the mode of the stack.
	own, err := kyc.ParseOwnership(st.ownership())
	if err != nil {
		return fmt.Errorf("JOURNEY_OWNERSHIP: %w", err)
	}
	if err := compose.PutStackOwnership(ctx, awsCfg, strings.TrimSuffix(prefix, "-"), own); err != nil {
		return err
	}
	if arn := st.topics["AlarmTopic"]; arn != "" {
		if err := alarmQueue(ctx, awsCfg, arn); err != nil { // alarms.go
			return err
		}
	}
	if claim := st.created.Env.Refs["ReferenceNoClaim"]; claim != "" {
		auth.claim = claim
	}
	rec.watchTopics(st.topics)
	if err := tpl.ConfigureQueues(ctx, awsCfg, st.queues); err != nil {
		return fmt.Errorf("configure queues: %w", err)
	}
	if _, err := tpl.CreateSubscriptions(ctx, awsCfg, st.topics, st.queues); err != nil {
		return fmt.Errorf("create subscriptions: %w", err)
	}

	fns := map[string]function{}
	for _, id := range tpl.Functions() {
		build, ok := functions[id]
		if !ok {
			return fmt.Errorf("function %s is in the template but not wired in infra/local/run/functions.go", id)
		}
		vars, err := st.created.FunctionEnv(id)
		if err != nil {
			return err
		}
		if id == "SweeperFunction" && s.SweepMinAge != "" {
			vars["SWEEP_MIN_AGE_SECONDS"] = s.SweepMinAge // local: re-drive sooner than in AWS
		}
		fnCfg := awsCfg.Copy()                                                        // its own, so that the meter knows whose requests these are
		fnCfg.APIOptions = append(slices.Clip(fnCfg.APIOptions), usage.APIOption(id)) // never shares the array
		if iamRec != nil {
			fnCfg.APIOptions = append(fnCfg.APIOptions, iamRec.APIOption(id))
		}
		fn, err := build(compose.Runtime{AWS: fnCfg, Getenv: func(k string) string { return vars[k] }, Metrics: usage.MetricsWriter(id)})
		if err != nil {
			return fmt.Errorf("build %s: %w", id, err)
		}
		fns[id] = metered(usage, id, bounded(fn, invoke.Function{ARN: functionARN(id), Timeout: tpl.FunctionTimeout(id)}))
	}

	var routes []httpapi.Route
	for _, r := range tpl.Routes() {
		if fns[r.FunctionLogicalID].http == nil {
			return fmt.Errorf("route %s %s: %s has no HTTP handler", r.Method, r.Path, r.FunctionLogicalID)
		}
		authorize, err := auth.authorizer(r, st.created.Env) // API Gateway's JWT authorizer, locally
		if err != nil {
			return err
		}
		routes = append(routes, httpapi.Route{Method: r.Method, Path: r.Path, Handler: fns[r.FunctionLogicalID].http, Authorizer: authorize})
	}
	srv := httpapi.New(routes)
	srv.OnRequest = func(routeKey string, status int, d time.Duration) {
		usage.HTTPRequest()
		timeline(out, "http", "%s -> %d (%s)", routeKey, status, d.Round(time.Microsecond))
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", s.Port))
	if err != nil {
		return fmt.Errorf("listen on port %s: %w", s.Port, err)
	}
	base := "http://" + ln.Addr().String()
	if s.CustomStep.Enabled { // IDWise sends Finished Journey once the custom step is completed
		sender, err := webhookSender(base, s)
		if err != nil {
			return fmt.Errorf("custom step: %w", err)
		}
		calls.sender.Store(sender)
	}

	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()

	ddb, ddbs := dynamodb.NewFromConfig(awsCfg), dynamodbstreams.NewFromConfig(awsCfg)
	sqsc := sqs.NewFromConfig(awsCfg)
	var ready []<-chan struct{}
	for _, src := range tpl.StreamSources() {
		if !src.Enabled {
			continue
		}
		fn := fns[src.FunctionLogicalID]
		awaiting := newAwaitingClaims(awsCfg, st.tables[src.TableLogicalID], out)
		if fn.stream == nil {
			return fmt.Errorf("stream source %s: %s has no stream handler", src.Name, src.FunctionLogicalID)
		}
		dlq := st.queues[src.OnFailureDestination]
		p, err := streams.New(ddb, ddbs, streams.Mapping{
			TableName: st.tables[src.TableLogicalID], Source: src, Handler: fn.stream, Region: awsCfg.Region,
			FunctionARN: functionARN(src.FunctionLogicalID),
			Timeout:     tpl.FunctionTimeout(src.FunctionLogicalID),
			OnFailure: func(ctx context.Context, recs []events.DynamoDBEventRecord, reason error) {
				timeline(out, "stream", "%d record(s) given up after retries -> %s", len(recs), src.OnFailureDestination)
				var f *streams.Failure
				if dlq.URL == "" || !errors.As(reason, &f) {
					return
				}
				if body, err := f.InvocationRecord(); err == nil {
					_, _ = sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(dlq.URL), MessageBody: aws.String(string(body))})
				}
			},
			OnInvoke: func(inv streams.Invocation) {
				timeline(out, "stream", "%s: batch of %d -> %s", src.FunctionLogicalID, inv.Records, inv.Result)
				if src.FunctionLogicalID == "ProcessorFunction" {
					awaiting.report() // awaiting.go
				}
			},
		})
		if err != nil {
			return fmt.Errorf("stream source %s: %w", src.Name, err)
		}
		ready = append(ready, p.Ready())
		wg.Add(1)
		go func() { defer wg.Done(); p.Run(ctx) }()
	}
	for _, src := range tpl.SQSSources() {
		fn, q := fns[src.FunctionLogicalID], st.queues[src.QueueLogicalID]
		if !src.Enabled {
			continue
		}
		if fn.queue == nil {
			return fmt.Errorf("sqs source %s: %s has no queue handler", src.Name, src.FunctionLogicalID)
		}
		p, err := queues.New(sqsc, queues.Mapping{
			QueueURL: q.URL, QueueARN: q.ARN, Source: src, Handler: fn.queue, Region: awsCfg.Region,
			FunctionARN: functionARN(src.FunctionLogicalID),
			Timeout:     tpl.FunctionTimeout(src.FunctionLogicalID), RetryDelay: s.QueueRetry,
			OnInvoke: func(inv queues.Invocation) {
				timeline(out, "queue", "%s: batch of %d -> %s", src.FunctionLogicalID, inv.Messages, inv.Result)
			},
		})
		if err != nil {
			return fmt.Errorf("sqs source %s: %w", src.Name, err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); p.Run(ctx) }()
	}
	for _, sc := range tpl.Schedules() {
		fn := fns[sc.FunctionLogicalID]
		every, err := sc.Interval()
		if err != nil || !sc.Enabled || fn.schedule == nil {
			continue
		}
		if s.SweepInterval > 0 {
			every = s.SweepInterval
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := fn.schedule(ctx); err != nil && ctx.Err() == nil {
						timeline(out, "schedule", "%s: %v", sc.FunctionLogicalID, err)
					}
				}
			}
		}()
	}
	if err := watchTopics(ctx, &wg, awsCfg, st, out); err != nil {
		return err
	}
	for _, r := range ready {
		select {
		case <-r:
		case <-ctx.Done():
			return nil
		}
	}

	printBanner(out, s, base, simURL, st, routes)
	withLocal := withLocalRoutes(srv, map[string]http.Handler{messagesPath: rec, usagePath: usage, tokenPath: auth})
	hs := &http.Server{Handler: withLocal, ReadHeaderTimeout: 10 * time.Second}
	simSrv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	go func() { errc <- simSrv.Serve(simLn) }()
	fmt.Fprintf(out, "ready %s\n", base)
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "stopping")
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	_ = simSrv.Shutdown(shutdown)
	return hs.Shutdown(shutdown)
}

// createStack creates the template's resources and the secrets, and the Env to resolve
// the functions' environment against them (infra/local/stack, shared with the binary tests).
func createStack(ctx context.Context, awsCfg aws.Config, tpl *provision.Template, s settings, simURL string, params map[string]string) (stack, error) {
	created, err := tplstack.Create(ctx, awsCfg, tpl, tplstack.Config{
		Prefix: prefix, WebhookAuthMode: s.AuthMode, WebhookHeader: s.Header, WebhookUsername: s.Username,
		WebhookSecret: s.Secret, AllowedCIDRs: s.AllowedCIDRs, APIKey: s.APIKey, APISecret: s.APISecret,
		IDWiseBaseURL: simURL + "/", VeriffAPIKey: s.VeriffAPIKey, VeriffSharedSecret: s.VeriffSecret,
		VeriffIntegrations: s.VeriffIntegrations,
		Parameters:         params,
	})
	if err != nil {
		return stack{}, err
	}
	return stack{tables: created.Tables, topics: created.Topics, queues: created.Queues, created: created}, nil
}

// watchTopics subscribes a local queue to every topic and prints each message's ids on
// the timeline, as a subscriber would see them.
func watchTopics(ctx context.Context, wg *sync.WaitGroup, awsCfg aws.Config, st stack, out io.Writer) error {
	snsc, sqsc := sns.NewFromConfig(awsCfg), sqs.NewFromConfig(awsCfg)
	for id, arn := range st.topics {
		q, err := provision.CreateQueue(ctx, awsCfg, prefix+id+"-timeline")
		if err != nil {
			return err
		}
		if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"),
			Endpoint: aws.String(q.ARN), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
			return fmt.Errorf("subscribe to %s: %w", id, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				res, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				if err != nil {
					time.Sleep(time.Second)
					continue
				}
				for _, m := range res.Messages {
					var ev struct{ ID, JourneyID, PreviousStatus, Status string }
					_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &ev)
					timeline(out, "topic", "%s: journey %s %s -> %s (status event %s)", id, ev.JourneyID, orNone(ev.PreviousStatus), ev.Status, ev.ID)
					_, _ = sqsc.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: m.ReceiptHandle})
				}
			}
		}()
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

var timelineMu sync.Mutex

func timeline(out io.Writer, kind, format string, args ...any) {
	timelineMu.Lock()
	defer timelineMu.Unlock()
	fmt.Fprintf(out, "%s  %-8s %s\n", time.Now().Format("15:04:05.000"), kind, fmt.Sprintf(format, args...))
}

func printBanner(out io.Writer, s settings, base, simURL string, st stack, routes []httpapi.Route) {
	fmt.Fprintln(out, "KYC backend, local")
	fmt.Fprintf(out, "  DynamoDB Local    %s\n", os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	fmt.Fprintf(out, "  moto              %s\n", os.Getenv("AWS_ENDPOINT_URL"))
	fmt.Fprintf(out, "  idwise simulator  %s  (API key %s, secret %s; PUT/GET %s/_sim/journeys/{journeyId})\n", simURL, s.APIKey, s.APISecret, simURL)
	fmt.Fprint(out, veriffSimBanner(s))
	for _, kv := range sorted(st.tables) {
		fmt.Fprintf(out, "  table %-11s %s\n", kv[0], kv[1])
	}
	for _, kv := range sorted(st.topics) {
		fmt.Fprintf(out, "  topic %-11s %s\n", kv[0], kv[1])
	}
	for id, q := range st.queues {
		fmt.Fprintf(out, "  queue %-11s %s\n", id, q.URL)
	}
	fmt.Fprintln(out, "Routes")
	for _, r := range routes {
		fmt.Fprintf(out, "  %-6s %s%s\n", r.Method, base, r.Path)
	}
	fmt.Fprintf(out, "  %-6s %s%s  (local only: status events and pushes sent, oldest first)\n", "GET", base, messagesPath)
	fmt.Fprintf(out, "  %-6s %s%s?referenceNo=...  (local only: a JWT for the app API, signed with this run's dev key)\n", "GET", base, tokenPath)
	fmt.Fprintf(out, "  %-6s %s%s  (local only: what each function consumed: invocations, AWS requests, DynamoDB units, log bytes)\n", "GET", base, usagePath)
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
	example += ` -d @` + filepath.Join("shared", "vendors", "idwise", "testdata", "finished-journey.json")
	fmt.Fprintln(out, "Try (from the repository's root; infra/local/walkthrough/testdata/banner.txtar runs these)")
	fmt.Fprintf(out, "  curl -s -X PUT %s/_sim/journeys/6720a1b2c3d4e5f6a7b8c22e -d @shared/vendors/idwise/testdata/journey-result.json\n", simURL)
	if st.ownership() != "vendor" { // claimed (the default): the outcome waits for the app's claim
		fmt.Fprintf(out, "  TOKEN=$(curl -s '%s%s?referenceNo=customer-0001')\n", base, tokenPath)
		fmt.Fprintf(out, "  curl -s -X POST %s/v1/journeys -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{\"journeyId\":\"6720a1b2c3d4e5f6a7b8c22e\",\"referenceNo\":\"customer-0001\"}'\n", base)
	}
	fmt.Fprintln(out, "  "+example)
	s.CustomStep.banner(out, simURL, strings.Replace(example, "finished-journey.json", "finished-user-steps.json", 1))
	fmt.Fprintln(out, "Veriff integrations (set VERIFF_INTEGRATIONS, or VERIFF_API_KEY / VERIFF_SHARED_SECRET, to change)")
	for _, in := range s.veriffCreds().List() {
		fmt.Fprintf(out, "  %s (%s)  X-AUTH-CLIENT %s  shared secret %s\n", in.Name, in.Product, in.APIKey, in.SharedSecret)
	}
	fmt.Fprintln(out, "  "+veriffCurl(base, s, filepath.Join("shared", "vendors", "veriff", "testdata", "decision-approved.json")))
}

// veriffCurl is a curl that sends file to the Veriff webhook, signed as Veriff signs it:
// X-HMAC-SIGNATURE is the hex HMAC-SHA256 of the exact bytes under the shared secret.
func veriffCurl(base string, s settings, file string) string {
	return fmt.Sprintf(`curl -s -X POST %s/webhooks/veriff -H 'Content-Type: application/json' -H 'X-AUTH-CLIENT: %s'`+
		` -H "X-HMAC-SIGNATURE: $(openssl dgst -sha256 -hmac '%s' %s | sed 's/^.* //')" --data-binary @%s`,
		base, s.VeriffAPIKey, s.VeriffSecret, file, file)
}

func sorted(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for k, v := range m {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// ownership is the stack's JourneyOwnership (claimed unless the run said vendor).
func (st stack) ownership() string {
	if st.created == nil {
		return "claimed"
	}
	return st.created.Env.Refs["JourneyOwnership"]
}

// withLocalRoutes serves the GETs of the local-only paths (never deployed) with their
// handlers, and everything else with srv.
func withLocalRoutes(srv http.Handler, local map[string]http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := local[r.URL.Path]; ok && r.Method == http.MethodGet {
			h.ServeHTTP(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	})
}

// stackParameters are the template parameters of the local stack, as a deployment gives
// them: the push platform applications, the app's token issuer, the settings' parameters,
// the journey ownership, the Veriff simulator, KYC_PARAMETER_OVERRIDES and the custom step.
func stackParameters(ctx context.Context, awsCfg aws.Config, s settings, auth *localAuth) (map[string]string, error) {
	params, err := platformApps(ctx, awsCfg)
	if err != nil {
		return nil, err
	}
	maps.Copy(params, auth.parameters())
	maps.Copy(params, s.Params)
	// Journey ownership as a deployment sets it (template JourneyOwnership; claimed by default).
	if v := os.Getenv("JOURNEY_OWNERSHIP"); v != "" {
		params["JourneyOwnership"] = v
	}
	params["VeriffApiBaseUrl"] = s.VeriffSimURL // the product calls the Veriff simulator
	overrides, err := parameterOverrides(os.Getenv("KYC_PARAMETER_OVERRIDES"))
	if err != nil {
		return nil, err
	}
	maps.Copy(params, overrides)
	if s.CustomStep.Enabled {
		p, err := s.CustomStep.setup(ctx, awsCfg)
		if err != nil {
			return nil, fmt.Errorf("custom step: %w", err)
		}
		maps.Copy(params, p)
	}
	return params, nil
}
