package compose_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/aws/metrics"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/compose/composetest"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
)

// pipeline is the processing side against the emulators: the table on DynamoDB Local,
// the topic with a subscribed queue and the API secret on moto, the IDWise simulator.
type pipeline struct {
	t        testing.TB
	proc     *compose.Processing
	inbox    *dynamo.Inbox
	sim      *idwisesim.Server
	sqs      *sqs.Client
	queueURL string
	snsDown  *atomic.Bool // composetest: SNS Publish fails while true
	ddb      *dynamodb.Client
	table    string
	cfg      aws.Config
	ddbCalls *ddbTransport // counts DynamoDB requests of everything built from cfg
	emf      *bytes.Buffer // the EMF lines the processor wrote
}

func newPipeline(t testing.TB, extraEnv ...string) *pipeline {
	t.Helper()
	cfg := dynamotest.AWSConfig(t)
	p := &pipeline{t: t, ddbCalls: &ddbTransport{next: http.DefaultTransport}}
	cfg.HTTPClient = &http.Client{Transport: p.ddbCalls}
	e := composetest.New(t, &cfg)
	p.ddb, p.table, p.sim, p.sqs, p.queueURL, p.snsDown = e.DB, e.Table, e.Sim, e.SQS, e.QueueURL, e.SNSDown
	env := map[string]string{"SWEEP_MIN_AGE_SECONDS": "0"}
	maps.Copy(env, e.Env)
	env = with(env, extraEnv...)
	var err error
	p.emf = &bytes.Buffer{}
	p.proc, err = compose.NewProcessing(compose.Runtime{AWS: cfg, Getenv: getenv(env), Metrics: p.emf}, "processor")
	if err != nil {
		t.Fatalf("NewProcessing() = %v", err)
	}
	p.inbox = dynamo.NewInbox(p.ddb, p.table)
	p.cfg = cfg
	return p
}

// journey scripts the simulator's Get Journey Result.
func (p *pipeline) journey(id, ref, system, manual, final string) {
	p.sim.SetJourney(idwise.Journey{JourneyID: id, ReferenceNumber: ref, SystemDecision: system, ManualDecision: manual, FinalDecision: final,
		Documents: map[string]idwise.Document{"0": {DocumentType: "Passport", IssuingCountry: "ARE",
			ExtractedFields: map[string]idwise.ExtractedField{"Full Name": {Value: "Test Person"}}}}})
}

// deliver stores a webhook body in the inbox as the webhook function does, and returns
// the stored event (as the stream would carry it). ok is false for a duplicate.
func (p *pipeline) deliver(body string) (inbox.Event, bool) {
	p.t.Helper()
	e, err := idwise.ParseEvent([]byte(body))
	if err != nil {
		p.t.Fatalf("parse %s: %v", body, err)
	}
	res, err := inbox.New(p.inbox, nil, time.Hour).Accept(context.Background(), e)
	if err != nil {
		p.t.Fatalf("accept: %v", err)
	}
	stored, found, err := p.inbox.Event(context.Background(), e.Provider, e.EventID)
	if err != nil || !found {
		p.t.Fatalf("read back %s: %v %v", e.EventID, found, err)
	}
	return stored, res.Status == inbox.Accepted
}

func (p *pipeline) process(e inbox.Event) error {
	return p.proc.Service.Process(context.Background(), e)
}

func (p *pipeline) mustProcess(e inbox.Event) {
	p.t.Helper()
	if err := p.process(e); err != nil {
		p.t.Fatalf("Process(%s %s) = %v", e.Name, e.EventID, err)
	}
}

func (p *pipeline) profile(ref string) kyc.Profile {
	p.t.Helper()
	pr, found, err := p.proc.Store.Profile(context.Background(), ref)
	if err != nil || !found {
		p.t.Fatalf("profile %s: found=%v err=%v", ref, found, err)
	}
	return pr
}

func (p *pipeline) eventState(e inbox.Event) (state, pending string) {
	p.t.Helper()
	pk, sk := dynamo.EventKey(e.Provider, e.EventID)
	out, err := p.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(p.table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		p.t.Fatal(err)
	}
	get := func(name string) string {
		if v, ok := out.Item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return get("state"), get("pendingKey")
}

// messages drains the subscribed queue: every status event published so far.
func (p *pipeline) messages() []kyc.StatusEvent {
	p.t.Helper()
	var out []kyc.StatusEvent
	for {
		r, err := p.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(p.queueURL),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: []string{"All"}})
		if err != nil {
			p.t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			var ev kyc.StatusEvent
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				p.t.Fatalf("message %q is not a status event: %v", aws.ToString(m.Body), err)
			}
			if got := aws.ToString(m.MessageAttributes["status"].StringValue); got != string(ev.Status) {
				p.t.Errorf("message attribute status = %q, want %q", got, ev.Status)
			}
			out = append(out, ev)
			_, _ = p.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(p.queueURL), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

func body(name, eventID, journeyID, ref string, extra ...string) string {
	fields := fmt.Sprintf(`"eventId":%q,"journeyId":%q,"referenceNo":%q`, eventID, journeyID, ref)
	for i := 0; i < len(extra); i += 2 {
		if strings.HasPrefix(extra[i+1], "{") || strings.HasPrefix(extra[i+1], "[") || extra[i+1] == "null" {
			fields += fmt.Sprintf(",%q:%s", extra[i], extra[i+1])
		} else {
			fields += fmt.Sprintf(",%q:%q", extra[i], extra[i+1])
		}
	}
	return fmt.Sprintf(`{"event":%q,"body":{%s}}`, name, fields)
}

func TestProcessEachEventType(t *testing.T) {
	p := newPipeline(t)
	tests := []struct {
		name        string
		journey     [3]string // system, manual, final decisions the API reports
		body        string
		wantStatus  kyc.Status
		wantReasons []string
		wantState   string
	}{
		{"finished user steps", [3]string{"Complete", "", ""}, body(idwise.FinishedUserSteps, "e1", "j1", "r1", "systemDecision", "Complete"), kyc.PendingVerification, nil, "processed"},
		{"finished journey complete", [3]string{"Complete", "", "Complete"}, body(idwise.FinishedJourney, "e2", "j2", "r2", "systemDecision", "Complete"), kyc.Approved, nil, "processed"},
		{"finished journey refer", [3]string{"Refer", "", "Refer"}, body(idwise.FinishedJourney, "e3", "j3", "r3", "systemDecision", "Refer"), kyc.InReview, nil, "processed"},
		{"manually reviewed rejected", [3]string{"Refer", "Rejected", "Rejected"}, body(idwise.ManuallyReviewed, "e4", "j4", "r4", "manualDecision", "Rejected"), kyc.Rejected, nil, "processed"},
		{"updated journey resubmission", [3]string{"Refer", "", "Refer"}, body(idwise.UpdatedJourney, "e5", "j5", "r5", "action", "Manual Review",
			"manualReviewDetails", `{"journeyReviewDecision":"Resubmission Requested","journeyReviewReasonCode":"BLUR","reviewedSteps":[{"stepId":"0","decision":"Resubmit"}]}`),
			kyc.ResubmissionRequired, []string{"step:0", "reason:BLUR"}, "processed"},
		{"finished journey incomplete", [3]string{"Incomplete", "", "Incomplete"}, body(idwise.FinishedJourney, "e6", "j6", "r6"), kyc.Incomplete, nil, "processed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := p.deliver(tt.body)
			p.journey(e.JourneyID, e.ReferenceNo, tt.journey[0], tt.journey[1], tt.journey[2])
			p.mustProcess(e)
			got := p.profile(e.ReferenceNo)
			if got.Status != tt.wantStatus || got.JourneyID != e.JourneyID || got.Provider != "idwise" || strings.Join(got.Reasons, ",") != strings.Join(tt.wantReasons, ",") {
				t.Errorf("profile = %+v, want %s for %s with reasons %v", got, tt.wantStatus, e.JourneyID, tt.wantReasons)
			}
			j, found, err := p.proc.Store.Journey(context.Background(), "idwise", e.JourneyID)
			if err != nil || !found {
				t.Fatalf("journey not stored: %v", err)
			}
			if j.Decisions["systemDecision"] != tt.journey[0] || j.Details["documents.0.document_type"] != "Passport" || j.ReferenceNo != e.ReferenceNo {
				t.Errorf("journey = %+v, want decisions and allow-listed details", j)
			}
			if state, pending := p.eventState(e); state != tt.wantState || pending != "" {
				t.Errorf("event state = %q pending=%q, want %q and out of the unprocessed index", state, pending, tt.wantState)
			}
			msgs := p.messages()
			if len(msgs) != 1 || msgs[0].Status != tt.wantStatus || msgs[0].ReferenceNo != e.ReferenceNo || msgs[0].Type != kyc.EventType || msgs[0].Version != 1 {
				t.Errorf("status events = %+v, want one %s", msgs, tt.wantStatus)
			}
		})
	}

	t.Run("timeline-only and unknown events", func(t *testing.T) {
		for _, b := range []string{
			body(idwise.FinishedStep, "e7", "j2", "r2", "stepId", "0"),
			body(idwise.FinishedOngoingCheck, "e8", "j2", "r2", "ongoingCheckId", "oc1"),
			body("Journey Archived", "e9", "j2", "r2"),
		} {
			e, _ := p.deliver(b)
			before := p.sim.Requests(idwisesim.EndpointJourney)
			p.mustProcess(e)
			if n := p.sim.Requests(idwisesim.EndpointJourney) - before; n != 0 {
				t.Errorf("%s: %d journey fetches, want 0", e.Name, n)
			}
			want := "processed"
			if !e.Processable {
				want = "skipped"
			}
			if state, _ := p.eventState(e); state != want {
				t.Errorf("%s: state = %q, want %q", e.Name, state, want)
			}
		}
		if msgs := p.messages(); len(msgs) != 0 {
			t.Errorf("status events = %d, want 0", len(msgs))
		}
	})
}

func TestAllOrderingsEndTheSame(t *testing.T) {
	p := newPipeline(t)
	orders := permutations([]int{0, 1, 2, 3})
	for n, order := range orders {
		jid, ref := fmt.Sprintf("jo-%d", n), fmt.Sprintf("ro-%d", n)
		// The journey as IDWise reports it once all four events happened: referred, then
		// approved by a reviewer.
		p.journey(jid, ref, "Refer", "Approved", "Approved")
		evs := []string{
			body(idwise.FinishedUserSteps, jid+"-1", jid, ref, "systemDecision", "Refer"),
			body(idwise.FinishedJourney, jid+"-2", jid, ref, "systemDecision", "Refer"),
			body(idwise.ManuallyReviewed, jid+"-3", jid, ref, "manualDecision", "Approved", "finalDecision", "Approved"),
			body(idwise.UpdatedJourney, jid+"-4", jid, ref, "action", "Manual Review", "manualReviewDetails", `{"journeyReviewDecision":"Approved"}`),
		}
		for _, i := range order {
			e, _ := p.deliver(evs[i])
			p.mustProcess(e)
		}
		if got := p.profile(ref).Status; got != kyc.Approved {
			t.Errorf("order %v: final status %s, want APPROVED", order, got)
		}
	}
	t.Logf("%d orderings checked", len(orders))
}

func TestRacingProcessorsNeverRegress(t *testing.T) {
	p := newPipeline(t)
	p.journey("jr", "rr", "Complete", "", "Complete")
	fus, _ := p.deliver(body(idwise.FinishedUserSteps, "r-1", "jr", "rr"))
	fj, _ := p.deliver(body(idwise.FinishedJourney, "r-2", "jr", "rr"))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); _ = p.process(fus) }()
		go func() { defer wg.Done(); _ = p.process(fj) }()
	}
	wg.Wait()
	if got := p.profile("rr").Status; got != kyc.Approved {
		t.Errorf("status after racing processors = %s, want APPROVED", got)
	}
	// A late redelivery of "submission received" never undoes the decision.
	p.mustProcess(fus)
	if got := p.profile("rr").Status; got != kyc.Approved {
		t.Errorf("status after a late Finished User Steps = %s, want APPROVED", got)
	}
	msgs := p.messages()
	if len(msgs) == 0 || msgs[len(msgs)-1].Status != kyc.Approved {
		t.Errorf("status events = %+v, want the last one APPROVED", msgs)
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		if ids[m.ID] {
			t.Errorf("status event %s published twice", m.ID)
		}
		ids[m.ID] = true
	}
}

func TestIDWiseOutageThenRecovery(t *testing.T) {
	p := newPipeline(t)
	p.journey("jx", "rx", "Complete", "", "Complete")
	e, _ := p.deliver(body(idwise.FinishedJourney, "x-1", "jx", "rx"))
	p.sim.Fail(idwisesim.EndpointJourney, 10, idwisesim.Fault{Status: 500})
	attempts := 0
	for ; attempts < 20; attempts++ {
		if err := p.process(e); err == nil {
			break
		}
		if state, pending := p.eventState(e); state != "pending" || pending != dynamo.PendingValue {
			t.Fatalf("after a failed attempt: state=%q pending=%q, want untouched and pending", state, pending)
		}
	}
	if attempts == 0 || attempts >= 20 {
		t.Fatalf("attempts = %d, want a few failures then success", attempts)
	}
	// Redelivery of the processed event (at-least-once stream) changes nothing.
	p.mustProcess(e)
	if msgs := p.messages(); len(msgs) != 1 || msgs[0].Status != kyc.Approved {
		t.Errorf("status events = %+v, want exactly one APPROVED", msgs)
	}
}

func TestPermanentIDWiseErrorsMarkFailed(t *testing.T) {
	p := newPipeline(t)
	tests := []struct {
		name  string
		fault idwisesim.Fault
		setup bool
	}{
		{"unknown journey (404) past the not-found bound", idwisesim.Fault{}, false}, // young: idwise_test.go
		{"credentials refused (401)", idwisesim.Fault{Status: 401}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jid := fmt.Sprintf("jf-%d", i)
			if tt.setup {
				p.journey(jid, "rf", "Complete", "", "Complete")
				p.sim.Fail(idwisesim.EndpointJourney, 1, tt.fault)
			}
			e, _ := p.deliver(body(idwise.FinishedJourney, jid+"-e", jid, "rf"))
			e.ReceivedAt = e.ReceivedAt.Add(-idwise.DefaultNotFoundRetry) // issue 14: a 404 fails only past the bound
			before := p.sim.Requests(idwisesim.EndpointJourney)
			if err := p.process(e); err != nil {
				t.Fatalf("Process() = %v, want nil: a permanent failure must not be retried forever", err)
			}
			if n := p.sim.Requests(idwisesim.EndpointJourney) - before; n != 1 {
				t.Errorf("journey requests = %d, want 1 (no retries of a permanent error)", n)
			}
			state, pending := p.eventState(e)
			if state != "failed" || pending != dynamo.FailedValue {
				t.Errorf("state=%q pending=%q, want failed and listed under %s for operators", state, pending, dynamo.FailedValue)
			}
			failed, err := p.proc.Store.Pending(context.Background(), dynamo.FailedValue, time.Now().Add(time.Minute), 10)
			if err != nil || len(failed) == 0 {
				t.Errorf("FAILED index lists %d items (%v), want the event", len(failed), err)
			}
		})
	}
	if msgs := p.messages(); len(msgs) != 0 {
		t.Errorf("status events = %d, want 0", len(msgs))
	}
}

func TestSNSOutageIsHealedByTheSweeperWithTheSameID(t *testing.T) {
	p := newPipeline(t)
	p.journey("js", "rs", "Complete", "", "Complete")
	e, _ := p.deliver(body(idwise.FinishedJourney, "s-1", "js", "rs"))
	p.snsDown.Store(true)
	// The publish fails after the status and its outbox record were committed: the same
	// state a crash between the two leaves.
	p.mustProcess(e)
	if got := p.profile("rs").Status; got != kyc.Approved {
		t.Fatalf("status = %s, want APPROVED even with SNS down", got)
	}
	unsent, err := p.proc.Store.Pending(context.Background(), dynamo.OutboxValue, time.Now().Add(time.Minute), 10)
	if err != nil || len(unsent) != 1 {
		t.Fatalf("outbox holds %d unsent (%v), want 1", len(unsent), err)
	}
	want, _ := dynamo.DecodeOutbox(unsent[0])

	sw, err := compose.Sweeper(p.runtime())
	if err != nil {
		t.Fatal(err)
	}
	// Still down: the sweeper counts the error and keeps the record.
	res, err := sw.Run(context.Background())
	if err != nil || res.UnsentStatusEvents != 1 || res.Published != 0 || res.Errors != 1 {
		t.Errorf("sweep while SNS down = %+v, %v; want 1 unsent, 0 published, 1 error", res, err)
	}
	// Redelivery of the event while the record waits: no second status event.
	p.mustProcess(e)
	p.snsDown.Store(false)
	if res, err = sw.Run(context.Background()); err != nil || res.Published != 1 {
		t.Errorf("sweep after recovery = %+v, %v; want 1 published", res, err)
	}
	if res, err = sw.Run(context.Background()); err != nil || res.UnsentStatusEvents != 0 {
		t.Errorf("second sweep = %+v, %v; want nothing left", res, err)
	}
	msgs := p.messages()
	if len(msgs) != 1 || msgs[0].ID != want.ID || msgs[0].Status != kyc.Approved {
		t.Errorf("status events = %+v, want exactly one with id %s", msgs, want.ID)
	}
}

func TestSweeperRedrivesStuckEvents(t *testing.T) {
	p := newPipeline(t)
	p.journey("jk", "rk", "Refer", "", "Refer")
	p.deliver(body(idwise.FinishedJourney, "k-1", "jk", "rk")) // never reached the processor
	sw, err := compose.Sweeper(p.runtime())
	if err != nil {
		t.Fatal(err)
	}
	res, err := sw.Run(context.Background())
	if err != nil || res.StuckEvents != 1 || res.Redriven != 1 {
		t.Fatalf("sweep = %+v, %v; want 1 stuck event re-driven", res, err)
	}
	if got := p.profile("rk").Status; got != kyc.InReview {
		t.Errorf("status = %s, want IN_REVIEW", got)
	}
	if res, _ := sw.Run(context.Background()); res.StuckEvents != 0 {
		t.Errorf("second sweep found %d stuck events, want 0", res.StuckEvents)
	}
}

func TestThousandDeliveriesRandomOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	p := newPipeline(t)
	rng := rand.New(rand.NewSource(42))
	const journeys = 200
	type plan struct {
		ref    string
		want   kyc.Status
		bodies []string
	}
	var plans []plan
	finals := []struct {
		d    [3]string
		want kyc.Status
	}{
		{[3]string{"Complete", "", "Complete"}, kyc.Approved},
		{[3]string{"Refer", "Approved", "Approved"}, kyc.Approved},
		{[3]string{"Refer", "Rejected", "Rejected"}, kyc.Rejected},
		{[3]string{"Refer", "", "Refer"}, kyc.InReview},
	}
	var all []string
	for i := 0; i < journeys; i++ {
		f := finals[i%len(finals)]
		jid, ref := fmt.Sprintf("jt-%03d", i), fmt.Sprintf("rt-%03d", i)
		p.journey(jid, ref, f.d[0], f.d[1], f.d[2])
		bs := []string{
			body(idwise.FinishedUserSteps, jid+"-1", jid, ref),
			body(idwise.FinishedJourney, jid+"-2", jid, ref),
			body(idwise.FinishedStep, jid+"-3", jid, ref, "stepId", "0"),
			body(idwise.ManuallyReviewed, jid+"-4", jid, ref),
		}
		plans = append(plans, plan{ref: ref, want: f.want, bodies: bs})
		all = append(all, bs...)
	}
	// 20% duplicates, then a random order.
	for _, i := range rng.Perm(len(all))[:len(all)/5] {
		all = append(all, all[i])
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if len(all) != 960 {
		t.Fatalf("deliveries = %d", len(all))
	}
	// Extra duplicates to reach 1,000 deliveries.
	all = append(all, all[:40]...)

	accepted := 0
	for _, b := range all {
		e, isNew := p.deliver(b)
		if !isNew {
			continue // the webhook answered duplicate: nothing reaches the stream
		}
		accepted++
		p.mustProcess(e)
	}
	if accepted != journeys*4 {
		t.Errorf("accepted %d events, want %d", accepted, journeys*4)
	}
	for _, pl := range plans {
		if got := p.profile(pl.ref).Status; got != pl.want {
			t.Errorf("%s: status %s, want %s", pl.ref, got, pl.want)
		}
	}
	msgs := p.messages()
	seen := map[string]bool{}
	perRef := map[string][]kyc.StatusEvent{}
	for _, m := range msgs {
		if seen[m.ID] {
			t.Errorf("status event %s published twice", m.ID)
		}
		seen[m.ID] = true
		perRef[m.ReferenceNo] = append(perRef[m.ReferenceNo], m)
	}
	for _, pl := range plans {
		evs := perRef[pl.ref]
		// every message is a real change: previous differs from status, and they chain
		prev := kyc.Status("")
		for _, m := range evs {
			if m.PreviousStatus != prev || m.Status == m.PreviousStatus {
				t.Errorf("%s: status events %+v are not one per real change", pl.ref, evs)
				break
			}
			prev = m.Status
		}
		if prev != pl.want {
			t.Errorf("%s: last status event %s, want %s", pl.ref, prev, pl.want)
		}
	}
	t.Logf("1000 deliveries, %d accepted, %d status events", accepted, len(msgs))
}

func (p *pipeline) runtime() compose.Runtime {
	// The sweeper shares the pipeline's configuration; rebuild its env from the service.
	c := p.proc.Config
	env := map[string]string{"TABLE_NAME": c.Table, "STATUS_TOPIC_ARN": c.TopicARN, "IDWISE_API_SECRET_ARN": c.IDWiseSecretID,
		"IDWISE_API_BASE_URL": c.IDWiseBaseURL, "SWEEP_MIN_AGE_SECONDS": "0", "JOURNEY_OWNERSHIP": string(c.Ownership)}
	return compose.Runtime{AWS: p.cfg, Getenv: getenv(env), Metrics: io.Discard}
}

func permutations(xs []int) [][]int {
	if len(xs) <= 1 {
		return [][]int{append([]int(nil), xs...)}
	}
	var out [][]int
	for i := range xs {
		rest := append(append([]int(nil), xs[:i]...), xs[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]int{xs[i]}, p...))
		}
	}
	return out
}

// TestSampleStreamAndScheduleEvents runs events/processor-inbox-insert.json through the
// processor's Lambda handler and events/sweeper-schedule.json through the sweeper's.
func TestSampleStreamAndScheduleEvents(t *testing.T) {
	p := newPipeline(t)
	raw, err := os.ReadFile("../../events/processor-inbox-insert.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("not a DynamoDB stream event: %v", err)
	}
	p.journey("6720a1b2c3d4e5f6a7b8c22e", "customer-0001", "Complete", "", "Complete")
	// The item the record is about, as the webhook wrote it.
	item, err := dynamo.FromStreamImage(ev.Records[0].Change.NewImage)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(p.table), Item: item}); err != nil {
		t.Fatal(err)
	}
	h, err := compose.Processor(p.runtime())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle() = %+v, %v; want no failures", resp, err)
	}
	if got := p.profile("customer-0001").Status; got != kyc.Approved {
		t.Errorf("status = %s, want APPROVED", got)
	}
	if msgs := p.messages(); len(msgs) != 1 {
		t.Errorf("status events = %d, want 1", len(msgs))
	}
	if state, pending := p.eventState(inbox.Event{Provider: "idwise", EventID: "evt-stream-0001"}); state != "processed" || pending != "" {
		t.Errorf("event state = %q pending %q, want processed", state, pending)
	}

	// A record whose processing fails is reported by its sequence number.
	p.sim.Fail(idwisesim.EndpointJourney, 100, idwisesim.Fault{Status: 503})
	ev.Records[0].Change.NewImage["eventName"] = events.NewStringAttribute(idwise.FinishedJourney)
	ev.Records[0].Change.NewImage["eventId"] = events.NewStringAttribute("evt-stream-0002")
	resp, err = h.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[0].Change.SequenceNumber {
		t.Errorf("Handle() with IDWise down = %+v, %v; want the record reported as failed", resp, err)
	}

	raw, err = os.ReadFile("../../events/sweeper-schedule.json")
	if err != nil {
		t.Fatal(err)
	}
	var sched events.EventBridgeEvent
	if err := json.Unmarshal(raw, &sched); err != nil || sched.DetailType != "Scheduled Event" {
		t.Fatalf("not a schedule event: %v", err)
	}
	sw, err := compose.Schedule(p.runtime())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Handle(context.Background(), sched); err != nil {
		t.Errorf("sweeper Handle() = %v", err)
	}
}

// BenchmarkProcessEvent is the processor's work for one Finished Journey that changes
// the status: IDWise fetch (simulator), journey write, status transaction with outbox,
// SNS publish (moto), outbox and event marks. It reports DynamoDB and IDWise requests per
// event, counted at the HTTP layer and by the simulator.
func BenchmarkProcessEvent(b *testing.B) {
	p := newPipeline(b)
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	b.Cleanup(func() { slog.SetDefault(prev) })
	var ddbCalls, apiCalls int64
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		jid, ref := fmt.Sprintf("jb-%d", i), fmt.Sprintf("rb-%d", i)
		p.journey(jid, ref, "Complete", "", "Complete")
		e, _ := p.deliver(body(idwise.FinishedJourney, jid+"-e", jid, ref))
		d0, a0 := p.ddbCalls.requests.Load(), p.sim.Requests(idwisesim.EndpointJourney)
		b.StartTimer()
		if err := p.process(e); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		ddbCalls += p.ddbCalls.requests.Load() - d0
		apiCalls += int64(p.sim.Requests(idwisesim.EndpointJourney) - a0)
		b.StartTimer()
	}
	b.ReportMetric(float64(ddbCalls)/float64(i), "ddb-requests/op")
	b.ReportMetric(float64(apiCalls)/float64(i), "idwise-requests/op")
}

// TestProcessedEventEmitsValidEMF: the metrics of a processed event are Embedded Metric
// Format documents CloudWatch accepts, with the ones the dashboard and alarms use.
func TestProcessedEventEmitsValidEMF(t *testing.T) {
	p := newPipeline(t)
	p.journey("jm", "rm", "Complete", "", "Complete")
	e, _ := p.deliver(body(idwise.FinishedJourney, "m-1", "jm", "rm"))
	p.mustProcess(e)
	want := map[string]bool{"EventsProcessed": false, "StatusChanges": false, "EventAge": false, "VendorAPILatency": false}
	lines := bytes.Split(bytes.TrimSpace(p.emf.Bytes()), []byte("\n"))
	for _, line := range lines {
		names, err := metrics.Validate(line)
		if err != nil {
			t.Errorf("invalid EMF %s: %v", line, err)
		}
		for _, n := range names {
			if _, ok := want[n]; ok {
				want[n] = true
			}
		}
		if bytes.Contains(line, []byte(`"rm"`)) {
			t.Errorf("EMF line carries the referenceNo: %s", line)
		}
	}
	for n, seen := range want {
		if !seen {
			t.Errorf("metric %s not emitted (%d lines)", n, len(lines))
		}
	}
}

// TestLateResubmissionRequestDoesNotUndoTheResubmission: the reviewer's "resubmit" is
// delivered only after the user redid the step and the journey was approved; processing it
// late must not send the user back to redo it.
func TestLateResubmissionRequestDoesNotUndoTheResubmission(t *testing.T) {
	p := newPipeline(t)
	p.journey("jl", "rl", "Refer", "", "Refer")
	fj1, _ := p.deliver(body(idwise.FinishedJourney, "l-1", "jl", "rl"))
	p.mustProcess(fj1)
	resub, _ := p.deliver(body(idwise.UpdatedJourney, "l-2", "jl", "rl", "action", "Manual Review",
		"manualReviewDetails", `{"journeyReviewDecision":"Resubmission Requested","reviewedSteps":[{"stepId":"0","decision":"Resubmit"}]}`))
	// In time, the request moves the profile:
	p.mustProcess(resub)
	if got := p.profile("rl").Status; got != kyc.ResubmissionRequired {
		t.Fatalf("status after the request = %s, want RESUBMISSION_REQUIRED", got)
	}
	p.journey("jl", "rl", "Complete", "", "Complete")
	upd, _ := p.deliver(body(idwise.UpdatedJourney, "l-3", "jl", "rl", "action", "Step Update"))
	fj2, _ := p.deliver(body(idwise.FinishedJourney, "l-4", "jl", "rl"))
	p.mustProcess(upd)
	p.mustProcess(fj2)
	if got := p.profile("rl").Status; got != kyc.Approved {
		t.Fatalf("status after the resubmission = %s, want APPROVED", got)
	}
	// The same request processed again, late (a redelivery, or a slow processor):
	p.mustProcess(resub)
	if got := p.profile("rl").Status; got != kyc.Approved {
		t.Errorf("status after a late resubmission request = %s, want APPROVED", got)
	}
}
