package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/aws/sns"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/compose/composetest"
	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffapi"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffsim"
	"net/http/httptest"
)

// dynamo.Operator is the port's implementation (the assertion lives here: dynamo returns
// opstore records without importing ops, and ops may not import dynamo).
var _ Table = (*dynamo.Operator)(nil)

// TestMain keeps the logs of the code under test to warnings, so a failure stands out.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

// stack is the product's processing side against the emulators (DynamoDB Local, moto
// SNS/SQS/Secrets Manager, the IDWise simulator) with the tool on top, wired as kycctl
// wires it (compose.NewProcessing).
type stack struct {
	t        *testing.T
	ctx      context.Context
	db       *dynamodb.Client
	table    string
	proc     *compose.Processing
	ops      *Ops
	sim      *idwisesim.Server
	inbox    *inbox.Service
	sns      *awssns.Client
	sqs      *sqs.Client
	queueURL string
	snsDown  *atomic.Bool // composetest: SNS Publish fails while true
}

func newStack(t *testing.T) *stack {
	t.Helper()
	cfg := dynamotest.AWSConfig(t)
	e := composetest.New(t, &cfg)
	st := &stack{t: t, ctx: context.Background(), db: e.DB, table: e.Table, sim: e.Sim, sns: e.SNS, sqs: e.SQS,
		queueURL: e.QueueURL, snsDown: e.SNSDown}
	env := e.Env
	env["IDWISE_NOT_FOUND_RETRY_MINUTES"] = "0" // these tests play a journey IDWise never knew: failed at once
	var err error
	st.proc, err = compose.NewProcessing(compose.Runtime{AWS: cfg, Getenv: func(k string) string { return env[k] }, Metrics: io.Discard}, "test")
	if err != nil {
		t.Fatalf("NewProcessing() = %v", err)
	}
	st.ops = New(Config{Store: dynamo.NewOperator(st.db, st.table, 0), Processor: st.proc.Service, IDWise: st.proc.IDWise, Journeys: st.proc.IDWise, Endpoints: sns.NewSender(st.sns, 0)})
	st.inbox = inbox.New(dynamo.NewInbox(st.db, st.table), nil, time.Hour)
	return st
}

// journey scripts the simulator's Get Journey Result; person is the extracted name (the
// personal data the journey details keep).
func (st *stack) journey(id, ref, system, manual, final, person string) {
	st.sim.SetJourney(idwise.Journey{JourneyID: id, ReferenceNumber: ref, SystemDecision: system, ManualDecision: manual, FinalDecision: final,
		Documents: map[string]idwise.Document{"0": {DocumentType: "Passport", IssuingCountry: "ARE",
			ExtractedFields: map[string]idwise.ExtractedField{"Full Name": {Value: idwise.Text(person)}}}}})
}

// deliver stores a webhook body as the webhook function does and returns the stored event.
func (st *stack) deliver(body string) inbox.Event {
	st.t.Helper()
	e, err := idwise.ParseEvent([]byte(body))
	if err != nil {
		st.t.Fatalf("parse %s: %v", body, err)
	}
	if _, err := st.inbox.Accept(st.ctx, e); err != nil {
		st.t.Fatalf("accept: %v", err)
	}
	stored, found, err := dynamo.NewInbox(st.db, st.table).Event(st.ctx, e.Provider, e.EventID)
	if err != nil || !found {
		st.t.Fatalf("read back %s: %v %v", e.EventID, found, err)
	}
	return stored
}

// processed delivers and processes an event, as the stream would.
func (st *stack) processed(body string) inbox.Event {
	st.t.Helper()
	e := st.deliver(body)
	if err := st.proc.Service.Process(st.ctx, e); err != nil {
		st.t.Fatalf("Process(%s) = %v", e.EventID, err)
	}
	return e
}

func (st *stack) state(eventID string) (state, pending string) {
	st.t.Helper()
	pk, sk := dynamo.EventKey(idwise.Provider, eventID)
	out, err := st.db.GetItem(st.ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{dynamo.AttrPK: &types.AttributeValueMemberS{Value: pk}, dynamo.AttrSK: &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		st.t.Fatal(err)
	}
	it := out.Item
	return s(it, "state"), s(it, dynamo.AttrPendingKey)
}

// s is the string attribute name of item, or "".
func s(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func (st *stack) status(ref string) kyc.Status {
	st.t.Helper()
	p, _, err := st.proc.Store.Profile(st.ctx, ref)
	if err != nil {
		st.t.Fatal(err)
	}
	return p.Status
}

// messages drains the subscribed queue: the status events published so far.
func (st *stack) messages() []kyc.StatusEvent {
	st.t.Helper()
	var out []kyc.StatusEvent
	for {
		r, err := st.sqs.ReceiveMessage(st.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(st.queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			st.t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			var ev kyc.StatusEvent
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				st.t.Fatalf("message is not a status event: %v", err)
			}
			out = append(out, ev)
			_, _ = st.sqs.DeleteMessage(st.ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(st.queueURL), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

// items scans the whole table (strongly consistent), each item rendered as text.
func (st *stack) items() map[string]string {
	st.t.Helper()
	out := map[string]string{}
	in := &dynamodb.ScanInput{TableName: aws.String(st.table), ConsistentRead: aws.Bool(true)}
	for {
		page, err := st.db.Scan(st.ctx, in)
		if err != nil {
			st.t.Fatal(err)
		}
		for _, it := range page.Items {
			out[s(it, dynamo.AttrPK)+" "+s(it, dynamo.AttrSK)] = render(it)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// render writes every attribute name and value of an item, binary ones as text, in a
// stable order.
func render(it map[string]types.AttributeValue) string {
	names := make([]string, 0, len(it))
	for k := range it {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%s;", k, renderValue(it[k]))
	}
	return b.String()
}

func renderValue(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	case *types.AttributeValueMemberB:
		return string(v.Value)
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint(v.Value)
	case *types.AttributeValueMemberSS:
		return strings.Join(v.Value, ",")
	case *types.AttributeValueMemberM:
		return "{" + render(v.Value) + "}"
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = renderValue(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf("%T", v)
}

func body(name, eventID, journeyID, ref string, extra ...string) string {
	fields := fmt.Sprintf(`"eventId":%q,"journeyId":%q`, eventID, journeyID)
	if ref != "" {
		fields += fmt.Sprintf(`,"referenceNo":%q`, ref)
	}
	for i := 0; i < len(extra); i += 2 {
		fields += fmt.Sprintf(",%q:%q", extra[i], extra[i+1])
	}
	return fmt.Sprintf(`{"event":%q,"body":{%s}}`, name, fields)
}

func TestProblems(t *testing.T) {
	st := newStack(t)
	// failed: IDWise does not know the journey (permanent).
	failed := st.processed(body(idwise.FinishedJourney, "ev-failed", "j-unknown", "ref-1"))
	// stuck: stored, never processed.
	stuck := st.deliver(body(idwise.FinishedJourney, "ev-stuck", "j-stuck", "ref-2"))
	// unsent: processed while SNS was down; the status change waits in the outbox.
	st.journey("j-unsent", "ref-3", "Complete", "", "Complete", "Person Three")
	st.snsDown.Store(true)
	st.processed(body(idwise.FinishedJourney, "ev-unsent", "j-unsent", "ref-3"))
	st.snsDown.Store(false)
	// done: a processed event is no problem.
	st.journey("j-done", "ref-4", "Complete", "", "Complete", "Person Four")
	st.processed(body(idwise.FinishedJourney, "ev-done", "j-done", "ref-4"))
	// quarantined: an authenticated body that could not be parsed.
	hash, err := st.inbox.Quarantine(st.ctx, idwise.Provider, []byte(`{"event":"Finished Journey","body":{"journeyId":"j"}}`), "body.eventId")
	if err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(time.Hour) }

	tests := []struct {
		name string
		opt  ListOptions
		now  func() time.Time
		want []string // kind:id
	}{
		{"all, an hour later", ListOptions{}, later, []string{"failed:ev-failed", "stuck:" + stuck.EventID, "unsent:*", "quarantined:" + hash}},
		{"all, now: nothing is stuck yet", ListOptions{}, time.Now, []string{"failed:ev-failed", "quarantined:" + hash}},
		{"failed only", ListOptions{Failed: true}, later, []string{"failed:" + failed.EventID}},
		{"stuck only, 2h threshold", ListOptions{Stuck: true, StuckAfter: 2 * time.Hour}, later, nil},
		{"stuck only", ListOptions{Stuck: true}, later, []string{"stuck:ev-stuck", "unsent:*"}},
		{"quarantined only", ListOptions{Quarantined: true}, later, []string{"quarantined:" + hash}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st.ops.now = tt.now
			got, err := st.ops.Problems(st.ctx, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range got {
				id := p.ID
				if p.Kind == KindUnsent {
					id = "*"
				}
				ids = append(ids, p.Kind+":"+id)
				if p.Why == "" || p.ReceivedAt.IsZero() {
					t.Errorf("problem %+v lacks why or receivedAt", p)
				}
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("Problems(%+v) = %v, want %v", tt.opt, ids, tt.want)
			}
		})
	}
	st.ops.now = time.Now
	got, _ := st.ops.Problems(st.ctx, ListOptions{Failed: true, Quarantined: true})
	whys := map[string]string{}
	for _, p := range got {
		whys[p.Kind] = p.Why
	}
	if !strings.Contains(whys[KindFailed], "not found") || whys[KindQuarantined] != "body not understood: body.eventId" {
		t.Errorf("why = %q, want the processor's note (not found) and the quarantine reason", whys)
	}
}

func TestReplay(t *testing.T) {
	st := newStack(t)
	// ev-a failed (journey unknown), then IDWise knows it: replay processes it.
	st.processed(body(idwise.FinishedJourney, "ev-a", "j-a", "ref-a"))
	// ev-b failed and IDWise still does not know it: replay fails it again.
	st.processed(body(idwise.FinishedJourney, "ev-b", "j-b", "ref-b"))
	// ev-c is stuck pending: replay processes it.
	st.journey("j-c", "ref-c", "Refer", "", "Refer", "Person C")
	st.deliver(body(idwise.FinishedJourney, "ev-c", "j-c", "ref-c"))
	// ev-d is processed: replay does nothing at all.
	st.journey("j-d", "ref-d", "Complete", "", "Complete", "Person D")
	st.processed(body(idwise.FinishedJourney, "ev-d", "j-d", "ref-d"))
	// ev-e is unprocessable (an event name this version does not know).
	st.processed(body("Some Future Event", "ev-e", "j-e", "ref-e"))
	// ev-f failed; at replay IDWise answers 500s: the error is returned, the event stays pending.
	st.processed(body(idwise.FinishedJourney, "ev-f", "j-f", "ref-f"))
	st.journey("j-a", "ref-a", "Complete", "", "Complete", "Person A")
	st.journey("j-f", "ref-f", "Complete", "", "Complete", "Person F")
	st.messages()

	tests := []struct {
		name         string
		eventID      string
		before       func()
		wantReplayed bool
		wantErr      bool
		wantBefore   string
		wantAfter    string
		wantPending  string
		wantStatus   kyc.Status // of the event's profile afterwards
		wantMessages int
	}{
		{name: "failed, now resolvable", eventID: "ev-a", wantReplayed: true, wantBefore: "failed", wantAfter: "processed", wantStatus: kyc.Approved, wantMessages: 1},
		{name: "failed again", eventID: "ev-b", wantReplayed: true, wantBefore: "failed", wantAfter: "failed", wantPending: "FAILED"},
		{name: "stuck", eventID: "ev-c", wantReplayed: true, wantBefore: "pending", wantAfter: "processed", wantStatus: kyc.InReview, wantMessages: 1},
		{name: "processed: nothing to do", eventID: "ev-d", wantBefore: "processed", wantAfter: "processed", wantStatus: kyc.Approved},
		{name: "replayed again: nothing to do", eventID: "ev-a", wantBefore: "processed", wantAfter: "processed", wantStatus: kyc.Approved},
		{name: "skipped (unknown event name): nothing to do", eventID: "ev-e", wantBefore: "skipped", wantAfter: "skipped"},
		{name: "vendor down: left pending for the sweeper", eventID: "ev-f", wantReplayed: true, wantErr: true,
			before:     func() { st.sim.Fail(idwisesim.EndpointJourney, 10, idwisesim.Fault{Status: 500}) },
			wantBefore: "failed", wantAfter: "pending", wantPending: "PENDING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			before := st.items()
			got, err := st.ops.Replay(st.ctx, idwise.Provider, tt.eventID)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Replay(%s) error = %v, want error %v", tt.eventID, err, tt.wantErr)
			}
			if got.Replayed != tt.wantReplayed || got.Before != tt.wantBefore || got.After != tt.wantAfter {
				t.Errorf("Replay(%s) = %+v, want replayed %v, %s -> %s", tt.eventID, got, tt.wantReplayed, tt.wantBefore, tt.wantAfter)
			}
			if state, pending := st.state(tt.eventID); state != tt.wantAfter || pending != tt.wantPending {
				t.Errorf("stored state = %s/%q, want %s/%q", state, pending, tt.wantAfter, tt.wantPending)
			}
			ref := "ref-" + strings.TrimPrefix(tt.eventID, "ev-")
			if got := st.status(ref); got != tt.wantStatus {
				t.Errorf("status of %s = %q, want %q", ref, got, tt.wantStatus)
			}
			if got := len(st.messages()); got != tt.wantMessages {
				t.Errorf("published %d status events, want %d", got, tt.wantMessages)
			}
			if !tt.wantReplayed {
				if after := st.items(); !equalItems(before, after) {
					t.Errorf("replay changed the table:\nbefore %v\nafter  %v", before, after)
				}
			}
		})
	}
	if _, err := st.ops.Replay(st.ctx, idwise.Provider, "no-such-event"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replay(unknown) = %v, want ErrNotFound", err)
	}
}

func equalItems(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestReplayFailedByTimeRange(t *testing.T) {
	st := newStack(t)
	st.processed(body(idwise.FinishedJourney, "ev-1", "j-1", "ref-1"))
	st.processed(body(idwise.FinishedJourney, "ev-2", "j-2", "ref-2"))
	time.Sleep(10 * time.Millisecond) // receivedAt has nanoseconds; keep the boundary clear of both sides
	boundary := time.Now()
	time.Sleep(10 * time.Millisecond)
	st.processed(body(idwise.FinishedJourney, "ev-3", "j-3", "ref-3"))
	for i := 1; i <= 3; i++ {
		st.journey(fmt.Sprintf("j-%d", i), fmt.Sprintf("ref-%d", i), "Complete", "", "Complete", "Person")
	}
	st.messages()

	got, err := st.ops.ReplayFailed(st.ctx, time.Time{}, boundary, 0)
	if err != nil {
		t.Fatalf("ReplayFailed() = %v", err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.EventID+":"+r.After)
	}
	if want := []string{"ev-1:processed", "ev-2:processed"}; !slices.Equal(ids, want) {
		t.Errorf("ReplayFailed(-, boundary) = %v, want %v", ids, want)
	}
	if state, _ := st.state("ev-3"); state != "failed" {
		t.Errorf("ev-3 (after the range) state = %s, want failed (untouched)", state)
	}
	if n := len(st.messages()); n != 2 {
		t.Errorf("published %d, want 2", n)
	}
	// The same range again finds nothing failed: nothing happens.
	before := st.items()
	if got, err := st.ops.ReplayFailed(st.ctx, time.Time{}, boundary, 0); err != nil || len(got) != 0 {
		t.Errorf("ReplayFailed() again = %v, %v, want nothing", got, err)
	}
	if !equalItems(before, st.items()) || len(st.messages()) != 0 {
		t.Errorf("replaying the range again changed something")
	}
}

func TestRefetch(t *testing.T) {
	st := newStack(t)
	st.journey("j-1", "ref-1", "Refer", "", "Refer", "Person One")
	st.processed(body(idwise.FinishedJourney, "ev-1", "j-1", "ref-1"))
	st.messages()

	// A manual review happened but its webhook never came: re-fetch picks the decision up.
	if err := st.sim.Review("j-1", "Approved"); err != nil {
		t.Fatal(err)
	}
	got, err := st.ops.Refetch(st.ctx, idwise.Provider, "j-1")
	if err != nil {
		t.Fatalf("Refetch() = %v", err)
	}
	if got.Before != kyc.InReview || got.After != kyc.Approved || got.State != "processed" || got.ReferenceNo != "ref-1" ||
		got.Decisions["manualDecision"] != "Approved" || !strings.HasPrefix(got.EventID, RefetchEventPrefix) {
		t.Errorf("Refetch() = %+v, want IN_REVIEW -> APPROVED, processed, manual decision Approved", got)
	}
	msgs := st.messages()
	if len(msgs) != 1 || msgs[0].Status != kyc.Approved || msgs[0].PreviousStatus != kyc.InReview {
		t.Errorf("published %+v, want one APPROVED (from IN_REVIEW)", msgs)
	}
	tl, err := st.ops.Timeline(st.ctx, idwise.Provider, "j-1")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tl.Entries); n != 2 || !tl.Entries[1].Operator || tl.Entries[1].State != "processed" {
		t.Errorf("timeline = %+v, want the webhook then the operator's refetch, processed", tl.Entries)
	}

	// Nothing changed at the vendor: the status stays, nothing is published.
	got, err = st.ops.Refetch(st.ctx, idwise.Provider, "j-1")
	if err != nil || got.Before != kyc.Approved || got.After != kyc.Approved || !strings.Contains(got.Note, "unchanged") {
		t.Errorf("Refetch() again = %+v, %v, want APPROVED kept, status unchanged", got, err)
	}
	if n := len(st.messages()); n != 0 {
		t.Errorf("published %d, want 0", n)
	}

	if _, err := st.ops.Refetch(st.ctx, idwise.Provider, "j-never-seen"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Refetch(unknown journey) = %v, want ErrNotFound", err)
	}
	if _, err := st.ops.Refetch(st.ctx, "veriff", "j-1"); err == nil {
		t.Errorf("Refetch(veriff) without the Veriff API = nil, want an error")
	}
	st.sim.Fail(idwisesim.EndpointJourney, 10, idwisesim.Fault{Status: 503})
	got, err = st.ops.Refetch(st.ctx, idwise.Provider, "j-1")
	if err == nil || got.State != "pending" {
		t.Errorf("Refetch() with IDWise down = %+v, %v, want an error and the event left pending", got, err)
	}
}

func TestHistoryAndTimeline(t *testing.T) {
	st := newStack(t)
	st.journey("j-1", "ref-1", "Complete", "", "Complete", "Person One")
	st.processed(body(idwise.FinishedUserSteps, "ev-1", "j-1", "ref-1"))
	st.processed(body(idwise.FinishedStep, "ev-2", "j-1", "ref-1", "stepId", "0"))
	st.processed(body(idwise.FinishedJourney, "ev-3", "j-1", "ref-1", "systemDecision", "Complete"))
	st.journey("j-2", "ref-1", "Refer", "", "Refer", "Person One")
	st.snsDown.Store(true)
	st.processed(body(idwise.FinishedJourney, "ev-4", "j-2", "ref-1", "systemDecision", "Refer"))
	st.snsDown.Store(false)

	h, err := st.ops.History(st.ctx, "ref-1")
	if err != nil {
		t.Fatalf("History() = %v", err)
	}
	var chain []string
	for _, c := range h.Changes {
		chain = append(chain, fmt.Sprintf("%s:%s->%s sent=%v", c.JourneyID, c.PreviousStatus, c.Status, c.SentAt != nil))
	}
	want := []string{"j-1:->PENDING_VERIFICATION sent=true", "j-1:PENDING_VERIFICATION->APPROVED sent=true", "j-2:APPROVED->IN_REVIEW sent=false"}
	if !slices.Equal(chain, want) {
		t.Errorf("History().Changes = %v, want %v", chain, want)
	}
	if h.Profile == nil || h.Profile.Status != kyc.InReview || h.Profile.JourneyID != "j-2" || h.Erased {
		t.Errorf("History().Profile = %+v erased=%v, want IN_REVIEW on j-2", h.Profile, h.Erased)
	}
	if _, err := st.ops.History(st.ctx, "ref-none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("History(unknown) = %v, want ErrNotFound", err)
	}

	tl, err := st.ops.Timeline(st.ctx, idwise.Provider, "j-1")
	if err != nil {
		t.Fatalf("Timeline() = %v", err)
	}
	var entries []string
	for _, e := range tl.Entries {
		entries = append(entries, e.EventID+":"+e.Event+":"+e.State)
	}
	wantEntries := []string{"ev-1:Finished User Steps:processed", "ev-2:Finished Step:processed", "ev-3:Finished Journey:processed"}
	if !slices.Equal(entries, wantEntries) {
		t.Errorf("Timeline().Entries = %v, want %v", entries, wantEntries)
	}
	if tl.ReferenceNo != "ref-1" || tl.Decisions["systemDecision"] != "Complete" || tl.FetchedAt == nil ||
		tl.Entries[1].Decisions["stepId"] != "0" || !strings.Contains(tl.Entries[2].Note, "status APPROVED") {
		t.Errorf("Timeline() = %+v, want ref-1, system decision Complete, step 0, note with the status", tl)
	}
	out, _ := json.Marshal(tl)
	if strings.Contains(string(out), "Person One") || strings.Contains(string(out), "Passport") {
		t.Errorf("timeline shows journey details: %s", out)
	}
	if _, err := st.ops.Timeline(st.ctx, idwise.Provider, "j-none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Timeline(unknown) = %v, want ErrNotFound", err)
	}
}

func TestErase(t *testing.T) {
	st := newStack(t)
	const ref, other = "customer-erase-7", "customer-keep-8"
	// The profile to erase: a rejected journey, then an approved one, a failed event of a
	// journey IDWise does not know, an event name we do not know, a device with a push
	// endpoint, a quarantined body naming it.
	st.journey("j-old", ref, "Refer", "Rejected", "Rejected", "Erase Me")
	st.processed(body(idwise.ManuallyReviewed, "ev-1", "j-old", ref, "manualDecision", "Rejected"))
	st.journey("j-new", ref, "Complete", "", "Complete", "Erase Me")
	st.processed(body(idwise.FinishedUserSteps, "ev-2", "j-new", ref))
	st.processed(body(idwise.FinishedJourney, "ev-3", "j-new", ref))
	st.processed(body(idwise.FinishedJourney, "ev-4", "j-lost", ref))
	st.processed(body("Some Future Event", "ev-5", "j-new", ref))
	// A user who gave up after one step: a timeline-only event of a journey never fetched,
	// so nothing else ties it to the profile.
	st.processed(body(idwise.FinishedStep, "ev-7", "j-steps", ref, "stepId", "0"))
	st.journey("j-pending", ref, "Complete", "", "Complete", "Erase Me")
	st.deliver(body(idwise.FinishedJourney, "ev-6", "j-pending", ref)) // acknowledged, not processed yet
	endpoint := st.device(ref, "token-of-erase-me")
	// A device whose removal failed between its two deletes: its item is gone, its token
	// index entry (which names the profile) is left; the erasure finds it all the same.
	orphanEndpoint := st.device(ref, "token-of-a-failed-removal")
	if _, err := st.db.DeleteItem(st.ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.table),
		Key: dynamo.DeviceKey(ref, devices.ID(devices.FCM, "token-of-a-failed-removal"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.inbox.Quarantine(st.ctx, idwise.Provider, []byte(`{"event":"Finished Journey","body":{"referenceNo":"`+ref+`"}}`), "body.eventId"); err != nil {
		t.Fatal(err)
	}
	// Another profile, which must stay whole.
	st.journey("j-other", other, "Complete", "", "Complete", "Keep Me")
	st.processed(body(idwise.FinishedJourney, "ev-9", "j-other", other))
	otherEndpoint := st.device(other, "token-of-keep-me")
	if _, err := st.inbox.Quarantine(st.ctx, idwise.Provider, []byte(`{"event":"x","body":{"referenceNo":"`+other+`"}}`), "body.eventId"); err != nil {
		t.Fatal(err)
	}
	// What else names the profile (issue 13 item 8): the claim of its journey, a custom-step
	// marker of it, a push marker of one of its status events.
	if _, _, err := st.proc.Store.PutClaim(st.ctx, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-new", ReferenceNo: ref, Source: kyc.ClaimByApp}); err != nil {
		t.Fatal(err)
	}
	step := dynamo.CustomStepKey(idwise.Provider, "j-new", "gov-face")
	step["kind"] = &types.AttributeValueMemberS{Value: "customStep"}
	if _, err := st.db.PutItem(st.ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: step}); err != nil {
		t.Fatal(err)
	}
	// The erased user also reported someone else's journey as theirs (issue 12 item 5):
	// its claim by them goes, the journey, its events and its vendor data stay.
	if _, _, err := st.proc.Store.PutClaim(st.ctx, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-other", ReferenceNo: ref, Source: kyc.ClaimByApp}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.proc.Service.Apply(st.ctx, kyc.Change{ReferenceNo: ref, JourneyID: "j-other", Provider: idwise.Provider,
		Status: kyc.PendingVerification, Version: kyc.Version(time.Now(), "j-other"), OccurredAt: time.Now()}, processor.UnlessJourneyKnown); err != nil {
		t.Fatal(err)
	}
	h, err := st.ops.History(st.ctx, ref)
	if err != nil || len(h.Changes) == 0 {
		t.Fatalf("History() = %+v, %v", h, err)
	}
	if claimed, err := st.proc.Store.ClaimPush(st.ctx, h.Changes[0].StatusEventID, "dev-1"); err != nil || !claimed {
		t.Fatalf("ClaimPush() = %v, %v", claimed, err)
	}
	st.messages()
	otherItems := func(items map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range items {
			if strings.Contains(v, other) || strings.Contains(v, "Keep Me") {
				out[k] = v
			}
		}
		return out
	}
	before := st.items()
	keep := otherItems(before)

	// A dry run counts and changes nothing.
	dry, err := st.ops.Erase(st.ctx, ref, EraseOptions{VendorDelete: true, Quarantine: true, DryRun: true})
	if err != nil {
		t.Fatalf("Erase(dry run) = %v", err)
	}
	wantDeleted := map[string]int{"events": 7, "journeys": 2, "statusEvents": 4, "profile": 1, "devices": 1, "quarantined": 1,
		"claims": 2, "customSteps": 1, "pushMarkers": 1, "deviceTokens": 1}
	for k, n := range wantDeleted {
		if dry.Deleted[k] != n {
			t.Errorf("Erase(dry run).Deleted = %v, want %v", dry.Deleted, wantDeleted)
			break
		}
	}
	if !equalItems(before, st.items()) || len(st.sim.Deleted()) != 0 {
		t.Fatalf("a dry run changed something")
	}

	got, err := st.ops.Erase(st.ctx, ref, EraseOptions{VendorDelete: true, Quarantine: true})
	if err != nil {
		t.Fatalf("Erase() = %v", err)
	}
	if fmt.Sprint(got.Deleted) != fmt.Sprint(wantDeleted) || got.Endpoints != 2 || got.ErasedAt.IsZero() {
		t.Errorf("Erase() = %+v, want deleted %v and 2 endpoints", got, wantDeleted)
	}
	// Only the journeys the profile owns (the table's journey details, else IDWise's
	// reference, else the claim): not j-other, which the user only reported, nor j-lost and
	// j-steps, which nothing ties to anyone (their events naming the profile are deleted).
	wantJourneys := []string{"idwise/j-new", "idwise/j-old", "idwise/j-pending"}
	if !slices.Equal(got.Journeys, wantJourneys) || !slices.Equal(got.VendorDeleted, wantJourneys) {
		t.Errorf("Erase() journeys = %v, vendor deleted %v, want %v for both", got.Journeys, got.VendorDeleted, wantJourneys)
	}
	if d := st.sim.Deleted(); !slices.Equal(sorted(d), []string{"j-new", "j-old", "j-pending"}) {
		t.Errorf("IDWise deleted %v, want j-new, j-old and j-pending (not j-other, another user's)", d)
	}
	st.assertErased(ref, "Erase Me")
	if after := otherItems(st.items()); !equalItems(keep, after) {
		t.Errorf("the other profile's items changed:\nbefore %v\nafter  %v", keep, after)
	}
	st.assertEndpoint(endpoint, false)
	st.assertEndpoint(orphanEndpoint, false)
	st.assertEndpoint(otherEndpoint, true)
	h, err = st.ops.History(st.ctx, ref)
	if err != nil || !h.Erased || h.Profile != nil || len(h.Changes) != 0 {
		t.Errorf("History(erased) = %+v, %v, want erased, no profile, no changes", h, err)
	}

	// Erasing again is safe and finds nothing; the tombstone keeps its first time.
	again, err := st.ops.Erase(st.ctx, ref, EraseOptions{VendorDelete: true, Quarantine: true})
	if err != nil || len(again.Deleted) != 0 || !again.ErasedAt.Equal(got.ErasedAt) {
		t.Errorf("Erase() again = %+v, %v, want nothing deleted, erasedAt %v", again, err, got.ErasedAt)
	}
	// The app API cannot bring the profile back either.
	_, err = st.proc.Service.Apply(st.ctx, kyc.Change{ReferenceNo: ref, JourneyID: "j-app", Provider: idwise.Provider,
		Status: kyc.PendingVerification, Version: 1, OccurredAt: time.Now()}, processor.Always)
	if !errors.Is(err, processor.ErrErased) {
		t.Errorf("Apply(erased profile) = %v, want processor.ErrErased", err)
	}
	st.assertErased(ref, "Erase Me")
}

func TestLateWebhooksAfterErasureAreIgnored(t *testing.T) {
	st := newStack(t)
	const ref = "customer-late-1"
	st.journey("j-1", ref, "Refer", "", "Refer", "Late Person")
	st.processed(body(idwise.FinishedJourney, "ev-1", "j-1", ref))
	if _, err := st.ops.Erase(st.ctx, ref, EraseOptions{}); err != nil { // IDWise keeps its copy
		t.Fatal(err)
	}
	st.messages()
	if err := st.sim.Review("j-1", "Approved"); err != nil {
		t.Fatal(err)
	}
	requests := st.sim.Requests(idwisesim.EndpointJourney)

	tests := []struct {
		name        string
		body        string
		wantFetches int // the event names no profile: the journey must be fetched to know whose it is
	}{
		{"names the profile", body(idwise.ManuallyReviewed, "ev-late-1", "j-1", ref, "manualDecision", "Approved"), 0},
		{"names no profile", body(idwise.ManuallyReviewed, "ev-late-2", "j-1", "", "manualDecision", "Approved"), 1},
		{"unknown event name", body("Some Future Event", "ev-late-3", "j-1", ref), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := st.processed(tt.body)
			if state, pending := st.state(e.EventID); state != "skipped" || pending != "" {
				t.Errorf("late event state = %s/%q, want skipped and out of the index", state, pending)
			}
			if got := st.sim.Requests(idwisesim.EndpointJourney) - requests; got != tt.wantFetches {
				t.Errorf("IDWise fetches = %d, want %d", got, tt.wantFetches)
			}
			requests = st.sim.Requests(idwisesim.EndpointJourney)
			if n := len(st.messages()); n != 0 {
				t.Errorf("published %d status events, want 0", n)
			}
			tl, err := st.ops.Timeline(st.ctx, idwise.Provider, "j-1")
			if err != nil || len(tl.Entries) == 0 || tl.Entries[len(tl.Entries)-1].Note != "profile erased" {
				t.Errorf("timeline = %+v, %v, want the late event noted \"profile erased\"", tl, err)
			}
			st.assertErased(ref, "Late Person")
		})
	}
	// A replay of a forgotten event does nothing either, and a refetch is forgotten too
	// (IDWise still has the journey: it names the erased profile).
	if r, err := st.ops.Replay(st.ctx, idwise.Provider, "ev-late-1"); err != nil || r.Replayed {
		t.Errorf("Replay(forgotten) = %+v, %v, want nothing to do", r, err)
	}
	if r, err := st.ops.Refetch(st.ctx, idwise.Provider, "j-1"); err != nil || r.State != "skipped" || r.Note != "profile erased" || r.After != "" {
		t.Errorf("Refetch(erased journey) = %+v, %v, want the refetch skipped: profile erased", r, err)
	}
	if n := len(st.messages()); n != 0 {
		t.Errorf("published %d status events, want 0", n)
	}
	st.assertErased(ref, "Late Person")
}

// assertErased scans the whole table: no item may name ref, except the tombstone by its
// key, and no item may hold the person's journey details.
func (st *stack) assertErased(ref, person string) {
	st.t.Helper()
	tombstones := 0
	for k, v := range st.items() {
		if k == "PROFILE#"+ref+" ERASED" {
			tombstones++
			if strings.Count(v, ref) != 1 { // the pk only
				st.t.Errorf("tombstone holds more than its key: %s", v)
			}
			continue
		}
		if strings.Contains(k+v, ref) || strings.Contains(v, person) {
			st.t.Errorf("item %s still holds personal data: %s", k, v)
		}
	}
	if tombstones != 1 {
		st.t.Errorf("tombstones = %d, want 1", tombstones)
	}
}

// device registers a device with an SNS push endpoint for ref, as the app API does.
func (st *stack) device(ref, token string) string {
	st.t.Helper()
	app, err := st.sns.CreatePlatformApplication(st.ctx, &awssns.CreatePlatformApplicationInput{Name: aws.String(st.table + "-fcm"),
		Platform: aws.String("GCM"), Attributes: map[string]string{"PlatformCredential": "server-key"}})
	if err != nil {
		st.t.Fatalf("create platform application: %v", err)
	}
	ep, err := st.sns.CreatePlatformEndpoint(st.ctx, &awssns.CreatePlatformEndpointInput{PlatformApplicationArn: app.PlatformApplicationArn,
		Token: aws.String(token)})
	if err != nil {
		st.t.Fatalf("create endpoint: %v", err)
	}
	now := time.Now()
	d := devices.Device{ReferenceNo: ref, DeviceID: devices.ID(devices.FCM, token), Platform: devices.FCM,
		EndpointARN: aws.ToString(ep.EndpointArn), Locale: "en", TokenHash: devices.TokenHash(token), CreatedAt: now, RegisteredAt: now}
	if err := st.proc.Store.SaveDevice(st.ctx, d, nil, nil); err != nil {
		st.t.Fatalf("save device: %v", err)
	}
	return aws.ToString(ep.EndpointArn)
}

func (st *stack) assertEndpoint(arn string, exists bool) {
	st.t.Helper()
	_, err := st.sns.GetEndpointAttributes(st.ctx, &awssns.GetEndpointAttributesInput{EndpointArn: aws.String(arn)})
	if (err == nil) != exists {
		st.t.Errorf("endpoint %s: GetEndpointAttributes error = %v, want exists %v", arn, err, exists)
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// kycctl refetch of a Veriff session: the decision webhook never came; the decision
// fetched from the API (the simulator) moves the profile through the processor, and the
// event recorded keeps no personal data.
func TestRefetchVeriff(t *testing.T) {
	st := newStack(t)
	sim := veriffsim.New(veriffsim.Config{APIKey: "k", SharedSecret: "s"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	api, err := veriffapi.New(veriffapi.Config{BaseURL: srv.URL}, veriffCreds{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := New(Config{Store: dynamo.NewOperator(st.db, st.table, 0), Processor: st.proc.Service, Veriff: api})

	submitted := `{"id":"sess-rf","attemptId":"a1","code":7002,"action":"submitted","vendorData":"ref-rf"}`
	e, err := veriff.ParseEvent([]byte(submitted))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.inbox.Accept(st.ctx, e); err != nil {
		t.Fatal(err)
	}
	stored, _, _ := dynamo.NewInbox(st.db, st.table).Event(st.ctx, e.Provider, e.EventID)
	if err := st.proc.Service.Process(st.ctx, stored); err != nil {
		t.Fatal(err)
	}
	st.messages()

	// Veriff has not decided yet: nothing is recorded.
	if err := sim.SetDecision("sess-rf", []byte(`{"status":"success","verification":null}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Refetch(st.ctx, veriff.Provider, "sess-rf"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Refetch() before a decision = %v, want ErrNotFound", err)
	}

	d, _ := sim.Decision("sess-rf", "approved", time.Now())
	_ = sim.SetDecision("sess-rf", d)
	got, err := o.Refetch(st.ctx, veriff.Provider, "sess-rf")
	if err != nil {
		t.Fatalf("Refetch() = %v", err)
	}
	if got.Before != kyc.PendingVerification || got.After != kyc.Approved || got.State != "processed" || got.ReferenceNo != "ref-rf" ||
		got.Decisions["decisionCode"] != "9001" || !strings.HasPrefix(got.EventID, RefetchEventPrefix) {
		t.Errorf("Refetch() = %+v, want PENDING_VERIFICATION -> APPROVED, processed", got)
	}
	if msgs := st.messages(); len(msgs) != 1 || msgs[0].Status != kyc.Approved {
		t.Errorf("published %+v, want one APPROVED", msgs)
	}
	ev, found, err := dynamo.NewInbox(st.db, st.table).Event(st.ctx, veriff.Provider, got.EventID)
	if err != nil || !found || strings.Contains(string(ev.Body), "PERSON") || strings.Contains(string(ev.Body), "SIM0000000") ||
		strings.Contains(string(ev.Body), "192.0.2.99") {
		t.Errorf("recorded event %v %v body %s, want it without the person's data", found, err, ev.Body)
	}
	if sim.Calls("decision") != 2 {
		t.Errorf("decision look-ups = %d, want 2", sim.Calls("decision"))
	}
	// A session Veriff does not know: the API's 404, nothing recorded.
	if _, err := o.Refetch(st.ctx, veriff.Provider, "sess-unknown"); !errors.Is(err, veriffapi.ErrNotFound) {
		t.Errorf("Refetch(unknown session) = %v, want veriffapi.ErrNotFound", err)
	}
}

type veriffCreds struct{}

func (veriffCreds) Credentials(context.Context) (veriffapi.Credentials, error) {
	return veriffapi.Credentials{APIKey: "k", SharedSecret: "s"}, nil
}

type veriffProductCreds struct{}

func (veriffProductCreds) Credentials(context.Context) (veriffapi.Credentials, error) {
	return veriffapi.Credentials{APIKey: "k", SharedSecret: "s"}, nil
}

func (veriffProductCreds) ProductCredentials(_ context.Context, p veriff.Product) (veriffapi.Credentials, error) {
	if p == veriff.ProductProofOfAddress {
		return veriffapi.Credentials{APIKey: "k-poa", SharedSecret: "s-poa"}, nil
	}
	return veriffapi.Credentials{APIKey: "k", SharedSecret: "s"}, nil
}

// kycctl refetch of a proof-of-address session: fetched with the PoA integration (the one
// its stored deliveries name) and recorded as that integration's decision, so a declined
// PoA stays the proofOfAddress check and never rejects the approved user.
func TestRefetchVeriffProofOfAddress(t *testing.T) {
	st := newStack(t)
	sim := veriffsim.New(veriffsim.Config{Integrations: []veriff.Integration{
		{Name: "idv", Product: veriff.ProductIdentity, APIKey: "k", SharedSecret: "s"},
		{Name: "poa", Product: veriff.ProductProofOfAddress, APIKey: "k-poa", SharedSecret: "s-poa"}}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	api, err := veriffapi.New(veriffapi.Config{BaseURL: srv.URL}, veriffProductCreds{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := New(Config{Store: dynamo.NewOperator(st.db, st.table, 0), Processor: st.proc.Service, Veriff: api})
	deliver := func(body string, product veriff.Product) {
		t.Helper()
		e, err := veriff.ParseEvent([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		e.Attributes[veriff.AttrProduct], e.Attributes[veriff.AttrIntegration] = string(product), string(product)
		if _, err := st.inbox.Accept(st.ctx, e); err != nil {
			t.Fatal(err)
		}
		stored, _, _ := dynamo.NewInbox(st.db, st.table).Event(st.ctx, e.Provider, e.EventID)
		if err := st.proc.Service.Process(st.ctx, stored); err != nil {
			t.Fatal(err)
		}
	}
	deliver(`{"status":"success","verification":{"id":"sess-idv","attemptId":"a1","code":9001,"status":"approved","vendorData":"ref-rp","decisionTime":"`+
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+`"}}`, veriff.ProductIdentity)
	deliver(`{"id":"sess-poa","attemptId":"p1","code":7002,"action":"submitted","vendorData":"ref-rp"}`, veriff.ProductProofOfAddress)

	d, _ := sim.Decision("sess-poa", "declined", time.Now())
	d = []byte(strings.Replace(string(d), `"vendorData":""`, `"vendorData":"ref-rp"`, 1))
	_ = sim.SetDecision("sess-poa", d)
	got, err := o.Refetch(st.ctx, veriff.Provider, "sess-poa")
	if err != nil {
		t.Fatalf("Refetch() = %v", err)
	}
	if got.Before != kyc.Approved || got.After != kyc.Approved || got.State != "processed" {
		t.Errorf("Refetch(PoA session) = %+v, want APPROVED kept, processed", got)
	}
	checks, err := st.proc.Store.Checks(st.ctx, "ref-rp")
	if err != nil || len(checks) != 1 || checks[0].Decision != "declined" || checks[0].SessionID != "sess-poa" {
		t.Errorf("checks = %+v, %v; want proofOfAddress declined of sess-poa", checks, err)
	}
}
