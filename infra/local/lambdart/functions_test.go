package lambdart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/kycbackend/kyc/infra/local/lambdart"
	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/infra/local/stack"
	"github.com/kycbackend/kyc/shared/app/sweeper"
	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
)

// root is the repository: the Makefile, template.yaml and events/.
const root = "../../.."

// eventsToken is the bearer token of the webhook samples in events/ (make run's default
// webhook secret); every local stack here is created with it.
const eventsToken = "local-webhook-secret"

// The Veriff credentials of the veriff-*.json samples (make run's defaults): X-AUTH-CLIENT
// and the key of their X-HMAC-SIGNATURE.
const (
	veriffAPIKey       = "local-veriff-api-key"
	veriffSharedSecret = "local-veriff-shared-secret"
)

// memoryMB is Globals.Function.MemorySize of template.yaml.
const memoryMB = 256

// rows maps the files of events/ to the function of template.yaml that receives them and
// says how its answer is checked. It is the one place that decides: the first row whose
// Glob matches a file's name takes it. A file no row takes fails TestFunctionBinaries, and
// so does a function of the template that no file reaches, so a new sample or a new
// function cannot be forgotten.
//
// HTTP samples (API Gateway HTTP API payload 2.0) must name a route of template.yaml served
// by the row's function. They must be answered 200 with {"status":"accepted"|"duplicate"}
// (webhooks) or with a 2xx JSON body (other routes), unless the file name marks the sample
// as one to refuse (a "bad", "invalid", "malformed", "unauthorized", "forbidden" or
// "tampered" word, e.g. veriff-bad-signature.json): then a 4xx with the error shape
// {"error":{"code","message"}}.
var rows = []row{
	{Glob: "idwise-*", Function: "WebhookFunction", HTTP: true, Prepare: webhookSample},
	{Glob: "veriff-*", Function: "WebhookFunction", HTTP: true, Prepare: webhookSample},
	{Glob: "processor-*", Function: "ProcessorFunction", Prepare: streamSample},
	// SWEEP_MIN_AGE_SECONDS=0, as infra/local/sam-env.json sets it: the seeded event is
	// stuck at once instead of after the deployed 10 minutes.
	{Glob: "sweeper-*", Function: "SweeperFunction", Env: map[string]string{"SWEEP_MIN_AGE_SECONDS": "0"}, Prepare: scheduleSample},
	{Glob: "push-*", Function: "PushFunction", Prepare: queueSample},
	// Any other HTTP API sample goes to the function serving its route (the app API).
	{Glob: "*", Function: byRoute, HTTP: true, Prepare: apiSample},
}

// byRoute as a row's Function: the function of the template route the HTTP sample names.
const byRoute = ""

type row struct {
	Glob     string            // file name pattern (path.Match) in events/
	Function string            // logical ID in template.yaml, or byRoute
	HTTP     bool              // its samples are API Gateway HTTP API 2.0 events
	Env      map[string]string // overrides of the function's environment
	// Prepare puts in place what the sample presumes (the item a stream record is about,
	// the IDWise journey behind it) and returns the check of the function's answer.
	Prepare func(tb testing.TB, w *world, s sample) check
}

type check func(tb testing.TB, out []byte)

// sample is one file of events/ and the row that took it.
type sample struct {
	Name     string // file name
	Payload  []byte
	Function string
	Row      *row
	Route    string // routeKey of an HTTP sample
}

// httpEvent is the part of an API Gateway HTTP API (2.0) event that routes it.
type httpEvent struct {
	Version  string `json:"version"`
	RouteKey string `json:"routeKey"`
}

func (e httpEvent) ok() bool { return e.Version == "2.0" && e.RouteKey != "" }

// assign reads events/ and gives each file to a function through rows. It reports every
// file no row takes and every function no file reaches.
func assign(tb testing.TB, tpl *provision.Template) map[string][]sample {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "events"))
	if err != nil {
		tb.Fatalf("read events/: %v", err)
	}
	routes := map[string]string{} // routeKey -> function
	for _, r := range tpl.Routes() {
		routes[r.Method+" "+r.Path] = r.FunctionLogicalID
	}
	functions := tpl.Functions()
	out := map[string][]sample{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(root, "events", e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		s, why := match(e.Name(), raw, routes)
		switch {
		case s.Row == nil:
			tb.Errorf("events/%s matches no function (%s): add a row to rows in infra/local/lambdart/functions_test.go", e.Name(), why)
		case !slices.Contains(functions, s.Function):
			tb.Errorf("events/%s belongs to %s, which template.yaml does not declare", e.Name(), s.Function)
		default:
			out[s.Function] = append(out[s.Function], s)
		}
	}
	for _, id := range functions {
		if len(out[id]) == 0 {
			tb.Errorf("%s of template.yaml has no sample in events/: add one (and a row in rows if its name is new)", id)
		}
	}
	return out
}

func match(name string, raw []byte, routes map[string]string) (sample, string) {
	var ev httpEvent
	_ = json.Unmarshal(raw, &ev)
	why := "no row's pattern matches its name"
	for i := range rows {
		r := &rows[i]
		if ok, _ := path.Match(r.Glob, name); !ok {
			continue
		}
		if !ev.ok() {
			if r.Function == byRoute {
				why = "not an API Gateway HTTP API 2.0 event, and no row names its function"
				continue
			}
			if r.HTTP {
				return sample{}, "its row expects an API Gateway HTTP API 2.0 event"
			}
			return sample{Name: name, Payload: raw, Function: r.Function, Row: r}, ""
		}
		fn, found := routes[ev.RouteKey]
		if !found {
			_, p, _ := strings.Cut(ev.RouteKey, " ")
			fn, found = routes["ANY "+p]
		}
		if !found {
			return sample{}, fmt.Sprintf("route %q is not in template.yaml", ev.RouteKey)
		}
		if r.Function != byRoute && fn != r.Function {
			return sample{}, fmt.Sprintf("route %q is served by %s, not %s", ev.RouteKey, fn, r.Function)
		}
		return sample{Name: name, Payload: raw, Function: fn, Row: r, Route: ev.RouteKey}, ""
	}
	return sample{}, why
}

// TestFunctionBinaries is the binary-level proof of every function of template.yaml, what
// `sam local invoke` does in its container, without Docker: each function is built by its
// Makefile target build-<LogicalId> as `sam build` builds it, started as Lambda starts a
// provided.al2023 bootstrap (lambdart: under AWS's Runtime Interface Emulator, the program
// sam local invoke runs in its container, with the Lambda variables, the template's
// Timeout, and the template's environment resolved against a stack created from
// template.yaml on the emulators, plus the emulator endpoints as infra/local/sam-env.json
// gives them), and sent every file of events/ that belongs to it (rows) through the
// emulator's invoke endpoint, as `make invoke` sends one; each answer's shape and status
// are checked, and the emulator must still be running at the end.
//
// Architecture: Lambda runs arm64 (GOARCH=arm64 in the Makefile) and this machine may not,
// so the binaries run here are built from the same recipe with GOARCH replaced by this
// machine's (lambdart.Build): CGO_ENABLED=0, -trimpath, -tags lambda.norpc and
// -ldflags="-s -w" are identical, only the architecture differs so that they can execute.
// BenchmarkBootstrap builds the real arm64 binaries too, for their size.
func TestFunctionBinaries(t *testing.T) {
	cfg := dynamotest.AWSConfig(t)
	tpl, err := provision.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	samples := assign(t, tpl)
	for _, id := range tpl.Functions() {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			if len(samples[id]) == 0 {
				return // reported by assign
			}
			bin := build(t, id, runtime.GOARCH)
			w := newWorld(t, cfg, tpl)
			p, logs := w.start(t, id, bin, samples[id])
			for _, s := range samples[id] {
				t.Run(s.Name, func(t *testing.T) {
					check := s.Row.Prepare(t, w, s)
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					out, err := p.Invoke(ctx, s.Payload)
					if err != nil {
						t.Fatalf("invoke %s with events/%s: %v", id, s.Name, err)
					}
					check(t, out)
				})
			}
			if err := p.Stop(); err != nil {
				t.Errorf("%s: %v", id, err)
			}
			if t.Failed() {
				t.Logf("%s logs:\n%s", id, logs.String())
			}
		})
	}
}

// --- building ------------------------------------------------------------------------

var builds struct {
	mu    sync.Mutex
	dir   string
	paths map[string]string // by logical ID + "/" + GOARCH
}

// build builds function id for goarch once per test binary (lambdart.Build) and returns
// the bootstrap's path.
func build(tb testing.TB, id, goarch string) string {
	tb.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	key := id + "/" + goarch
	if p, ok := builds.paths[key]; ok {
		return p
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "lambdart-functions-")
		if err != nil {
			tb.Fatal(err)
		}
		builds.dir, builds.paths = dir, map[string]string{}
	}
	dir := filepath.Join(builds.dir, id, goarch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	absRoot, _ := filepath.Abs(root)
	p, err := lambdart.Build(context.Background(), absRoot, id, dir, goarch)
	if err != nil {
		tb.Fatal(err)
	}
	builds.paths[key] = p
	return p
}

// --- one function's world: a stack on the emulators and the IDWise simulator ---------

type world struct {
	cfg   aws.Config
	tpl   *provision.Template
	stack *stack.Stack
	sim   *idwisesim.Server
	ddb   *dynamodb.Client
	table string
}

var stackSeq atomic.Int64

// newWorld creates a stack of the template under a fresh prefix, with the IDWise
// simulator (httptest) as IdwiseApiBaseUrl.
func newWorld(tb testing.TB, cfg aws.Config, tpl *provision.Template) *world {
	tb.Helper()
	sim := idwisesim.New(idwisesim.Config{APIKey: "local-api-key", APISecret: "local-api-secret"})
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	prefix := fmt.Sprintf("lrt%d-%d-", time.Now().UnixNano()%1e9, stackSeq.Add(1))
	st, err := stack.Create(context.Background(), cfg, tpl, stack.Config{
		Parameters:      platformApps(tb, cfg, prefix),
		Prefix:          prefix,
		WebhookAuthMode: "bearer", WebhookHeader: "X-IDWise-Token", WebhookUsername: "idwise", WebhookSecret: eventsToken,
		APIKey: "local-api-key", APISecret: "local-api-secret", IDWiseBaseURL: srv.URL + "/",
		VeriffAPIKey: veriffAPIKey, VeriffSharedSecret: veriffSharedSecret,
	})
	if err != nil {
		tb.Fatalf("create stack: %v", err)
	}
	client := dynamodb.NewFromConfig(cfg)
	tb.Cleanup(func() {
		for _, name := range st.Tables {
			_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	return &world{cfg: cfg, tpl: tpl, stack: st, sim: sim, ddb: client, table: st.Tables["Table"]}
}

// platformApps creates the SNS platform applications of the three push platforms on moto,
// as make run does (a deployment is given them as parameters), and returns the template
// parameters that name them.
func platformApps(tb testing.TB, cfg aws.Config, prefix string) map[string]string {
	tb.Helper()
	client := sns.NewFromConfig(cfg)
	params := map[string]string{}
	for _, app := range []struct{ param, name, platform string }{
		{"ApnsPlatformApplicationArn", prefix + "apns", "APNS"},
		{"ApnsSandboxPlatformApplicationArn", prefix + "apns-sandbox", "APNS_SANDBOX"},
		{"FcmPlatformApplicationArn", prefix + "fcm", "GCM"},
	} {
		out, err := client.CreatePlatformApplication(context.Background(), &sns.CreatePlatformApplicationInput{
			Name: aws.String(app.name), Platform: aws.String(app.platform),
			Attributes: map[string]string{"PlatformCredential": "local-credential", "PlatformPrincipal": "local-principal"},
		})
		if err != nil {
			tb.Fatalf("create platform application %s: %v", app.name, err)
		}
		params[app.param] = aws.ToString(out.PlatformApplicationArn)
	}
	return params
}

// env is the environment of function id: template.yaml's, resolved against the stack,
// with the rows' overrides, then the emulator endpoints (what infra/local/sam-env.json's
// Parameters do for sam local invoke), the region and the credentials.
func (w *world) env(tb testing.TB, id string, samples []sample) map[string]string {
	tb.Helper()
	vars, err := w.stack.FunctionEnv(id)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range samples {
		for k, v := range s.Row.Env {
			vars[k] = v
		}
	}
	for _, kv := range os.Environ() {
		if name, v, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_ENDPOINT_URL") {
			vars[name] = v
		}
	}
	creds, err := w.cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		tb.Fatalf("credentials: %v", err)
	}
	vars["AWS_REGION"] = w.cfg.Region
	vars["AWS_ACCESS_KEY_ID"] = creds.AccessKeyID
	vars["AWS_SECRET_ACCESS_KEY"] = creds.SecretAccessKey
	if creds.SessionToken != "" {
		vars["AWS_SESSION_TOKEN"] = creds.SessionToken
	}
	vars["AWS_EC2_METADATA_DISABLED"] = "true"
	return vars
}

// start starts the bootstrap bin as function id under the Runtime Interface Emulator, with
// the template's Timeout as each invocation's deadline; it is stopped when the test ends.
func (w *world) start(tb testing.TB, id, bin string, samples []sample) (*lambdart.Process, *syncBuffer) {
	tb.Helper()
	logs := &syncBuffer{}
	p, err := lambdart.Start(lambdart.Config{Path: bin, FunctionName: "kyc-local-" + id, MemoryMB: memoryMB,
		Timeout: w.tpl.FunctionTimeout(id), Env: w.env(tb, id, samples), Output: logs})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Stop() })
	return p, logs
}

// --- samples and their checks -----------------------------------------------------------

// refused says the file name marks a sample the function must refuse.
func refused(name string) bool {
	for _, word := range strings.FieldsFunc(strings.TrimSuffix(name, ".json"), func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		switch word {
		case "bad", "invalid", "malformed", "unauthorized", "unauthorised", "forbidden", "tampered":
			return true
		}
	}
	return false
}

// webhookSample: 200 {"status":"accepted"|"duplicate"}, or a refusal for a bad sample.
func webhookSample(_ testing.TB, _ *world, s sample) check {
	return func(tb testing.TB, out []byte) {
		tb.Helper()
		resp := httpResponse(tb, out)
		if refused(s.Name) {
			checkRefusal(tb, resp)
			return
		}
		var body struct {
			Status string `json:"status"`
		}
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &body) != nil || (body.Status != "accepted" && body.Status != "duplicate") {
			tb.Errorf("%s answered %d %s, want 200 {\"status\":\"accepted\"|\"duplicate\"}", s.Route, resp.StatusCode, resp.Body)
		}
	}
}

// apiSample: a 2xx JSON answer (204 without a body), or a refusal for a bad sample. The
// samples of one function run in file-name order on one process and one stack, so a later
// sample may rely on an earlier one (api-2-get-profile.json reads what api-1-... created).
func apiSample(_ testing.TB, _ *world, s sample) check {
	return func(tb testing.TB, out []byte) {
		tb.Helper()
		resp := httpResponse(tb, out)
		if refused(s.Name) {
			checkRefusal(tb, resp)
			return
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 || (resp.Body == "") != (resp.StatusCode == 204) || (resp.Body != "" && !json.Valid([]byte(resp.Body))) {
			tb.Errorf("%s answered %d %s, want 2xx with a JSON body (204: none)", s.Route, resp.StatusCode, resp.Body)
		}
	}
}

// httpResponse decodes an API Gateway HTTP API response; a body must be declared JSON.
func httpResponse(tb testing.TB, out []byte) events.APIGatewayV2HTTPResponse {
	tb.Helper()
	var resp events.APIGatewayV2HTTPResponse
	if err := strictJSON(out, &resp); err != nil || resp.StatusCode == 0 {
		tb.Fatalf("answer %s is not an API Gateway HTTP API response: %v", out, err)
	}
	var ct string
	for k, v := range resp.Headers {
		if strings.EqualFold(k, "Content-Type") {
			ct = v
		}
	}
	if resp.Body != "" && !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("content-type = %q, want application/json", ct)
	}
	return resp
}

func checkRefusal(tb testing.TB, resp events.APIGatewayV2HTTPResponse) {
	tb.Helper()
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if resp.StatusCode < 400 || resp.StatusCode > 499 || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Error.Code == "" || body.Error.Message == "" {
		tb.Errorf("answered %d %s, want a 4xx with {\"error\":{\"code\",\"message\"}}", resp.StatusCode, resp.Body)
	}
}

// streamSample puts each record's item into the table, as the webhook wrote it, and
// scripts its IDWise journey with the record's decisions; the answer must report no
// failed item and every event must be out of the unprocessed index.
func streamSample(tb testing.TB, w *world, s sample) check {
	tb.Helper()
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(s.Payload, &ev); err != nil || len(ev.Records) == 0 {
		tb.Fatalf("events/%s is not a DynamoDB stream event with records: %v", s.Name, err)
	}
	var keys []map[string]types.AttributeValue
	for _, rec := range ev.Records {
		item, err := dynamo.FromStreamImage(rec.Change.NewImage)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(w.table), Item: item}); err != nil {
			tb.Fatalf("put the record's item: %v", err)
		}
		keys = append(keys, map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]})
		img := rec.Change.NewImage
		if streamString(img["provider"]) == idwise.Provider {
			dec := img["attributes"]
			var decisions map[string]events.DynamoDBAttributeValue
			if dec.DataType() == events.DataTypeMap {
				decisions = dec.Map()
			}
			w.claim(tb, streamString(img["journeyId"]), streamString(img["referenceNo"]))
			w.sim.SetJourney(idwise.Journey{JourneyID: streamString(img["journeyId"]), ReferenceNumber: streamString(img["referenceNo"]),
				SystemDecision: streamString(decisions["systemDecision"]), ManualDecision: streamString(decisions["manualDecision"]),
				FinalDecision: streamString(decisions["finalDecision"])})
		}
	}
	return func(tb testing.TB, out []byte) {
		tb.Helper()
		var fields map[string]json.RawMessage
		var resp events.DynamoDBEventResponse
		if json.Unmarshal(out, &fields) != nil || fields["batchItemFailures"] == nil || strictJSON(out, &resp) != nil {
			tb.Fatalf("answer %s is not a DynamoDBEventResponse", out)
		}
		if len(resp.BatchItemFailures) != 0 {
			tb.Errorf("batchItemFailures = %+v, want none", resp.BatchItemFailures)
		}
		for _, key := range keys {
			state, pending := w.eventState(tb, key)
			if (state != "processed" && state != "skipped") || pending != "" {
				tb.Errorf("event %s: state %q, pendingKey %q; want processed or skipped, out of the unprocessed index", attrString(key["pk"]), state, pending)
			}
		}
	}
}

// queueSample: an SQS batch (the push queue) must be answered with an SQSEventResponse
// that reports no failed message.
func queueSample(tb testing.TB, _ *world, s sample) check {
	tb.Helper()
	var ev events.SQSEvent
	if err := json.Unmarshal(s.Payload, &ev); err != nil || len(ev.Records) == 0 || ev.Records[0].EventSource != "aws:sqs" {
		tb.Fatalf("events/%s is not an SQS event with records: %v", s.Name, err)
	}
	return func(tb testing.TB, out []byte) {
		tb.Helper()
		var fields map[string]json.RawMessage
		var resp events.SQSEventResponse
		if json.Unmarshal(out, &fields) != nil || fields["batchItemFailures"] == nil || strictJSON(out, &resp) != nil {
			tb.Fatalf("answer %s is not an SQSEventResponse", out)
		}
		if len(resp.BatchItemFailures) != 0 {
			tb.Errorf("batchItemFailures = %+v, want none", resp.BatchItemFailures)
		}
	}
}

var sweepSeq atomic.Int64

// scheduleSample leaves one IDWise event stuck in the inbox (accepted as the webhook
// accepts it, never processed) with its journey scripted; the sweeper's answer must be its
// JSON result with that event re-driven and no error.
func scheduleSample(tb testing.TB, w *world, s sample) check {
	tb.Helper()
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(s.Payload, &ev); err != nil || ev.DetailType != "Scheduled Event" {
		tb.Fatalf("events/%s is not an EventBridge schedule event: %v", s.Name, err)
	}
	n := sweepSeq.Add(1)
	jid, ref := fmt.Sprintf("journey-sweep-%d", n), fmt.Sprintf("customer-sweep-%d", n)
	e, err := idwise.ParseEvent(fmt.Appendf(nil, `{"event":%q,"body":{"eventId":"evt-sweep-%d","journeyId":%q,"referenceNo":%q,"systemDecision":"Complete"}}`,
		idwise.FinishedJourney, n, jid, ref))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := inbox.New(dynamo.NewInbox(w.ddb, w.table), nil, time.Hour).Accept(context.Background(), e); err != nil {
		tb.Fatalf("leave a stuck event: %v", err)
	}
	w.claim(tb, jid, ref)
	w.sim.SetJourney(idwise.Journey{JourneyID: jid, ReferenceNumber: ref, SystemDecision: "Complete", FinalDecision: "Complete"})
	pk, sk := dynamo.EventKey(e.Provider, e.EventID)
	return func(tb testing.TB, out []byte) {
		tb.Helper()
		var res sweeper.Result
		if err := strictJSON(out, &res); err != nil {
			tb.Fatalf("answer %s is not the sweeper's result: %v", out, err)
		}
		if res.StuckEvents != 1 || res.Redriven != 1 || res.Errors != 0 {
			tb.Errorf("result = %+v, want the one stuck event re-driven, no error", res)
		}
		key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
		if state, pending := w.eventState(tb, key); state != "processed" || pending != "" {
			tb.Errorf("stuck event: state %q, pendingKey %q; want processed", state, pending)
		}
	}
}

// claim records that ref claimed the IDWise journey, as the app does through POST
// /v1/journeys: the template's default JourneyOwnership (claimed) applies outcomes only to
// claimed journeys.
func (w *world) claim(tb testing.TB, journeyID, ref string) {
	tb.Helper()
	if _, _, err := dynamo.NewStore(w.ddb, w.table, time.Hour).PutClaim(context.Background(),
		kyc.Claim{Provider: idwise.Provider, JourneyID: journeyID, ReferenceNo: ref, Source: kyc.ClaimByApp, ClaimedAt: time.Now()}); err != nil {
		tb.Fatalf("claim journey %s: %v", journeyID, err)
	}
}

func (w *world) eventState(tb testing.TB, key map[string]types.AttributeValue) (state, pending string) {
	tb.Helper()
	out, err := w.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(w.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		tb.Fatal(err)
	}
	return attrString(out.Item["state"]), attrString(out.Item["pendingKey"])
}

// strictJSON decodes data into v, refusing unknown fields: the answer has exactly the
// shape of the type the caller expects.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func streamString(v events.DynamoDBAttributeValue) string {
	if v.DataType() == events.DataTypeString {
		return v.String()
	}
	return ""
}

func attrString(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
