package veriff_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// mem implements the processor's ports in memory, with the same conditions as the
// DynamoDB stores (journey: only a newer version; profile: compare-and-set on version).
type mem struct {
	mu       sync.Mutex
	journeys map[string]processor.Journey
	profiles map[string]kyc.Profile
	states   map[string]processor.State
	notes    map[string]string
	sent     []kyc.StatusEvent
}

func newMem() *mem {
	return &mem{journeys: map[string]processor.Journey{}, profiles: map[string]kyc.Profile{},
		states: map[string]processor.State{}, notes: map[string]string{}}
}

func (m *mem) Journey(_ context.Context, provider, id string) (processor.Journey, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.journeys[provider+"#"+id]
	return j, ok, nil
}

func (m *mem) PutJourney(_ context.Context, j processor.Journey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.journeys[j.Provider+"#"+j.JourneyID]; ok && old.Version >= j.Version {
		return processor.ErrConflict
	}
	m.journeys[j.Provider+"#"+j.JourneyID] = j
	return nil
}

func (m *mem) Profile(_ context.Context, ref string) (kyc.Profile, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.profiles[ref]
	return p, ok, nil
}

func (m *mem) ApplyStatus(_ context.Context, c kyc.Change, cur kyc.Profile, found bool, _ *kyc.StatusEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.profiles[c.ReferenceNo]
	if ok != found || (ok && p.Version != cur.Version) {
		return processor.ErrConflict
	}
	m.profiles[c.ReferenceNo] = kyc.Profile{ReferenceNo: c.ReferenceNo, Status: c.Status, JourneyID: c.JourneyID,
		Provider: c.Provider, Reasons: c.Reasons, Version: c.Version}
	return nil
}

func (m *mem) MarkSent(context.Context, string, string) error { return nil }

func (m *mem) Publish(_ context.Context, ev kyc.StatusEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, ev)
	return nil
}

func (m *mem) Mark(_ context.Context, e inbox.Event, st processor.State, note string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states[e.EventID], m.notes[e.EventID] = st, note
	return nil
}

func (m *mem) statuses() []string {
	var out []string
	for _, ev := range m.sent {
		out = append(out, string(ev.Status))
	}
	return out
}

// harness runs the real processor with the Veriff resolver on mem.
type harness struct {
	t   *testing.T
	m   *mem
	svc *processor.Service
}

func newHarness(t *testing.T) *harness {
	m := newMem()
	svc := processor.New(map[string]processor.Resolver{veriff.Provider: veriff.NewResolver(veriff.DefaultPolicy)},
		processor.Deps{Journeys: m, Profiles: m, Outbox: m, Publisher: m, Events: m})
	return &harness{t: t, m: m, svc: svc}
}

// deliver parses body as the webhook edge does, stamps it as received at, and processes it.
func (h *harness) deliver(body string, at time.Time) inbox.Event {
	h.t.Helper()
	e, err := veriff.ParseEvent([]byte(body))
	if err != nil {
		h.t.Fatalf("ParseEvent(%s) = %v", body, err)
	}
	e.ReceivedAt = at
	h.process(e)
	return e
}

func (h *harness) process(e inbox.Event) {
	h.t.Helper()
	if err := h.svc.Process(context.Background(), e); err != nil {
		h.t.Fatalf("Process(%s) = %v", e.Name, err)
	}
}

func (h *harness) profile(ref string) kyc.Profile {
	h.t.Helper()
	p, ok := h.m.profiles[ref]
	if !ok {
		h.t.Fatalf("no profile %s", ref)
	}
	return p
}

func ev(session, attempt, ref string, code int, action string, context ...string) string {
	ctx := ""
	if len(context) > 0 {
		ctx = fmt.Sprintf(`,"context":{"reason":%q`, context[0])
		if len(context) > 1 {
			ctx += fmt.Sprintf(`,"state":%q`, context[1])
		}
		ctx += "}"
	}
	return fmt.Sprintf(`{"id":%q,"attemptId":%q,"feature":"selfid","code":%d,"action":%q%s,"vendorData":%q,"endUserId":"eu-%s"}`,
		session, attempt, code, action, ctx, ref, ref)
}

func decision(session, attempt, ref string, code int, status string, at time.Time, reason ...string) string {
	r, rc := "null", "null"
	if len(reason) == 2 {
		r, rc = fmt.Sprintf("%q", reason[0]), reason[1]
	}
	return fmt.Sprintf(`{"status":"success","verification":{"id":%q,"attemptId":%q,"vendorData":%q,"endUserId":"eu-%s","status":%q,"code":%d,`+
		`"reason":%s,"reasonCode":%s,"decisionTime":%q,"person":{"firstName":"TEST","lastName":"PERSON"}}}`,
		session, attempt, ref, ref, status, code, r, rc, at.UTC().Format(time.RFC3339Nano))
}

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

func TestInOrderJourneys(t *testing.T) {
	tests := []struct {
		name         string
		deliveries   []string // bodies, received one minute apart
		wantStatus   kyc.Status
		wantReasons  []string
		wantStatuses []string // every status event published, in order
	}{
		{"approved", []string{
			ev("s1", "a1", "r1", 7001, "started"),
			ev("s1", "a1", "r1", 7002, "submitted"),
			decision("s1", "a1", "r1", 9001, "approved", at(3)),
			ev("s1", "a1", "r1", 7007, "waiting_complete", veriff.ReasonFinalDecisionReceived),
			ev("s1", "a1", "r1", 7008, "flow_finished", veriff.ReasonFinishedScreenConfirmedClicked, "finished"),
		}, kyc.Approved, nil, []string{"PENDING_VERIFICATION", "APPROVED"}},
		{"declined", []string{
			ev("s2", "a1", "r2", 7002, "submitted"),
			decision("s2", "a1", "r2", 9102, "declined", at(2), "Suspected document tampering", "102"),
		}, kyc.Rejected, []string{"veriff:102"}, []string{"PENDING_VERIFICATION", "REJECTED"}},
		{"review then approved", []string{
			ev("s3", "a1", "r3", 7002, "submitted"),
			decision("s3", "a1", "r3", 9121, "review", at(2)),
			decision("s3", "a1", "r3", 9001, "approved", at(3)),
		}, kyc.Approved, nil, []string{"PENDING_VERIFICATION", "IN_REVIEW", "APPROVED"}},
		{"expired", []string{
			ev("s4", "a1", "r4", 7001, "started"),
			decision("s4", "a1", "r4", 9104, "expired", at(2)),
		}, kyc.Abandoned, nil, []string{"ABANDONED"}},
		{"resubmission requested, resubmitted, approved", []string{
			ev("s5", "a1", "r5", 7002, "submitted"),
			decision("s5", "a1", "r5", 9103, "resubmission_requested", at(2), "Poor image quality", "204"),
			ev("s5", "a2", "r5", 7001, "started"),
			ev("s5", "a2", "r5", 7002, "submitted"),
			decision("s5", "a2", "r5", 9001, "approved", at(5)),
		}, kyc.Approved, nil, []string{"PENDING_VERIFICATION", "RESUBMISSION_REQUIRED", "PENDING_VERIFICATION", "APPROVED"}},
		{"resubmission requested, then the user leaves", []string{
			ev("s6", "a1", "r6", 7002, "submitted"),
			decision("s6", "a1", "r6", 9103, "resubmission_requested", at(2), "Poor image quality", "204"),
			ev("s6", "a2", "r6", 7009, "flow_cancelled", veriff.ReasonQuitSessionConfirmed, "resubmission_feedback"),
		}, kyc.ResubmissionRequired, []string{"veriff:204"}, []string{"PENDING_VERIFICATION", "RESUBMISSION_REQUIRED"}},
		{"cancelled on the consent screen", []string{
			ev("s7", "a1", "r7", 7001, "started"),
			ev("s7", "a1", "r7", 7009, "flow_cancelled", veriff.ReasonConsentScreenCancelPressed, "consent_screen"),
		}, kyc.Abandoned, []string{"reason:consent_screen_cancel_pressed", "state:consent_screen"}, []string{"ABANDONED"}},
		{"cancelled after submitting: Veriff still decides", []string{
			ev("s8", "a1", "r8", 7002, "submitted"),
			ev("s8", "a1", "r8", 7010, "flow_cancelled", veriff.ReasonQuitSessionConfirmed, "waiting_decision"),
		}, kyc.PendingVerification, nil, []string{"PENDING_VERIFICATION"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			for i, b := range tt.deliveries {
				h.deliver(b, at(i))
			}
			ref := h.m.sent[0].ReferenceNo
			p := h.profile(ref)
			if p.Status != tt.wantStatus || !reflect.DeepEqual(p.Reasons, tt.wantReasons) || p.Provider != veriff.Provider {
				t.Errorf("profile = %+v, want %s with reasons %q", p, tt.wantStatus, tt.wantReasons)
			}
			if got := h.m.statuses(); !reflect.DeepEqual(got, tt.wantStatuses) {
				t.Errorf("status events = %v, want %v", got, tt.wantStatuses)
			}
		})
	}
}

// The user of the issue: cancels on the consent screen, comes back, completes and is
// approved. The app sees ABANDONED with the reason and state, then PENDING, then APPROVED.
func TestCancelledThenCompletedThenApproved(t *testing.T) {
	h := newHarness(t)
	h.deliver(ev("sc", "a1", "rc", 7001, "started"), at(0))
	h.deliver(ev("sc", "a1", "rc", 7009, "flow_cancelled", veriff.ReasonConsentScreenCancelPressed, "consent_screen"), at(1))
	p := h.profile("rc")
	if p.Status != kyc.Abandoned || strings.Join(p.Reasons, ",") != "reason:consent_screen_cancel_pressed,state:consent_screen" {
		t.Fatalf("after the cancellation: %+v, want ABANDONED with reason and state", p)
	}
	h.deliver(ev("sc", "a1", "rc", 7001, "started"), at(60).Add(time.Second)) // the same body again would be a duplicate
	h.deliver(ev("sc", "a1", "rc", 7002, "submitted"), at(65))
	if p := h.profile("rc"); p.Status != kyc.PendingVerification || len(p.Reasons) != 0 {
		t.Fatalf("after the submission: %+v, want PENDING_VERIFICATION without reasons", p)
	}
	h.deliver(decision("sc", "a1", "rc", 9001, "approved", at(67)), at(67))
	h.deliver(ev("sc", "a1", "rc", 7007, "waiting_complete", veriff.ReasonWaitingDecisionContinueClicked), at(68))
	if p := h.profile("rc"); p.Status != kyc.Approved {
		t.Errorf("final status %s, want APPROVED", p.Status)
	}
	if got, want := h.m.statuses(), []string{"ABANDONED", "PENDING_VERIFICATION", "APPROVED"}; !reflect.DeepEqual(got, want) {
		t.Errorf("status events = %v, want %v", got, want)
	}
}

func TestOutOfOrderNeverRegresses(t *testing.T) {
	tests := []struct {
		name       string
		deliveries []struct {
			body string
			at   time.Time
		}
		want kyc.Status
	}{
		{"late 7002 after approval", deliveries(
			decision("o1", "a1", "r1", 9001, "approved", at(3)), at(4),
			ev("o1", "a1", "r1", 7002, "submitted"), at(70)), kyc.Approved},
		{"late 7009 flow_cancelled after approval", deliveries(
			ev("o2", "a1", "r2", 7002, "submitted"), at(1),
			decision("o2", "a1", "r2", 9001, "approved", at(3)), at(4),
			ev("o2", "a1", "r2", 7009, "flow_cancelled", veriff.ReasonQuitSessionConfirmed, "waiting_decision"), at(70)), kyc.Approved},
		{"late 7009 after approval, submission never seen", deliveries(
			decision("o3", "a1", "r3", 9001, "approved", at(3)), at(4),
			ev("o3", "a1", "r3", 7009, "flow_cancelled", veriff.ReasonErrorScreenExitClicked), at(70)), kyc.Approved},
		{"late 7002 after expiry", deliveries(
			decision("o4", "a1", "r4", 9104, "expired", at(3)), at(4),
			ev("o4", "a1", "r4", 7002, "submitted"), at(70)), kyc.Abandoned},
		{"late older decision of the first attempt", deliveries(
			ev("o5", "a2", "r5", 7002, "submitted"), at(10),
			decision("o5", "a2", "r5", 9001, "approved", at(12)), at(13),
			decision("o5", "a1", "r5", 9103, "resubmission_requested", at(2), "Poor image quality", "204"), at(80)), kyc.Approved},
		{"review delivered after approval", deliveries(
			decision("o6", "a1", "r6", 9001, "approved", at(12)), at(13),
			decision("o6", "a1", "r6", 9121, "review", at(5)), at(14)), kyc.Approved},
		// Our endpoint was down: Veriff retries both, the submission first; the decision
		// (decided long before the submission reached us) must still win.
		{"decision after a submission received late", deliveries(
			ev("o7", "a1", "r7", 7002, "submitted"), at(60),
			decision("o7", "a1", "r7", 9001, "approved", at(2)), at(61)), kyc.Approved},
		{"decision after a cancellation received late", deliveries(
			ev("o8", "a1", "r8", 7009, "flow_cancelled", veriff.ReasonMobileHandoverScreenShown), at(60),
			decision("o8", "a1", "r8", 9102, "declined", at(2)), at(61)), kyc.Rejected},
		{"late resubmission request after the resubmission was submitted", deliveries(
			ev("o9", "a2", "r9", 7002, "submitted"), at(60),
			decision("o9", "a1", "r9", 9103, "resubmission_requested", at(2), "Poor image quality", "204"), at(61)), kyc.PendingVerification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var ref string
			for _, d := range tt.deliveries {
				e := h.deliver(d.body, d.at)
				ref = e.ReferenceNo
			}
			if p := h.profile(ref); p.Status != tt.want {
				t.Errorf("final status %s (%+v), want %s", p.Status, p, tt.want)
			}
		})
	}
}

func deliveries(kv ...any) []struct {
	body string
	at   time.Time
} {
	var out []struct {
		body string
		at   time.Time
	}
	for i := 0; i < len(kv); i += 2 {
		out = append(out, struct {
			body string
			at   time.Time
		}{kv[i].(string), kv[i+1].(time.Time)})
	}
	return out
}

// Every delivery order of one session's events ends APPROVED; receivedAt follows the
// delivery order, and the decision was taken at minute 3, before some deliveries.
func TestEveryOrderEndsApproved(t *testing.T) {
	bodies := []string{
		ev("p", "a1", "rp", 7009, "flow_cancelled", veriff.ReasonConsentScreenCancelPressed, "consent_screen"),
		ev("p", "a1", "rp", 7002, "submitted"),
		decision("p", "a1", "rp", 9001, "approved", at(3)),
		ev("p", "a1", "rp", 7007, "waiting_complete", veriff.ReasonFinalDecisionReceived),
		ev("p", "a1", "rp", 7008, "flow_finished", veriff.ReasonFinishedScreenConfirmedClicked),
	}
	for _, order := range permutations([]int{0, 1, 2, 3, 4}) {
		for _, start := range []int{0, 10} { // deliveries around the decision time, or all after it
			h := newHarness(t)
			for i, k := range order {
				h.deliver(bodies[k], at(start+i))
			}
			if p := h.profile("rp"); p.Status != kyc.Approved {
				t.Errorf("order %v from minute %d: final status %s, want APPROVED", order, start, p.Status)
			}
		}
	}
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

// The stream delivers at least once: processing an event again changes nothing.
func TestReprocessingIsIdempotent(t *testing.T) {
	h := newHarness(t)
	sub := h.deliver(ev("i", "a1", "ri", 7002, "submitted"), at(60))
	dec := h.deliver(decision("i", "a1", "ri", 9001, "approved", at(2)), at(61)) // versioned above the submission
	before := h.profile("ri")
	j := h.m.journeys["veriff#i"]
	for i := 0; i < 3; i++ {
		h.process(dec)
		h.process(sub)
	}
	if after := h.profile("ri"); !reflect.DeepEqual(after, before) {
		t.Errorf("profile after reprocessing = %+v, want unchanged %+v", after, before)
	}
	if got := h.m.statuses(); !reflect.DeepEqual(got, []string{"PENDING_VERIFICATION", "APPROVED"}) {
		t.Errorf("status events = %v, want one per change", got)
	}
	if after := h.m.journeys["veriff#i"]; !reflect.DeepEqual(after.Decisions, j.Decisions) {
		t.Errorf("journey decisions changed on reprocessing: %v, want %v", after.Decisions, j.Decisions)
	}
}

func TestJourneyRecord(t *testing.T) {
	h := newHarness(t)
	h.deliver(ev("j", "a1", "rj", 7002, "submitted"), at(1))
	h.deliver(decision("j", "a1", "rj", 9103, "resubmission_requested", at(2), "Poor image quality", "204"), at(3))
	j, ok := h.m.journeys["veriff#j"]
	if !ok {
		t.Fatal("no journey stored")
	}
	s := veriff.SessionOf(j.Decisions)
	if s.DecisionCode != 9103 || s.DecisionStatus != "resubmission_requested" || s.ReasonCode != "204" || !s.Submitted || s.SubmittedAttempt != "a1" {
		t.Errorf("session = %+v, want the decision and the submission", s)
	}
	if j.ReferenceNo != "rj" || j.Details["vendorData"] != "rj" || j.Details["endUserId"] != "eu-rj" || j.Details["feature"] != "selfid" {
		t.Errorf("journey = %+v, want the ids", j)
	}
	for k, v := range j.Details {
		if strings.Contains(v, "TEST") || strings.Contains(v, "PERSON") {
			t.Errorf("journey detail %s = %q: personal data from the decision", k, v)
		}
	}
	for id, note := range h.m.notes {
		if strings.Contains(note, "PERSON") {
			t.Errorf("timeline note of %s = %q carries personal data", id, note)
		}
	}
}

func TestFailuresAndSkips(t *testing.T) {
	h := newHarness(t)
	// No vendorData: the status cannot be attached to a profile; an operator must look.
	noRef := h.deliver(`{"id":"n","attemptId":"a1","code":7002,"action":"submitted"}`, at(1))
	if h.m.states[noRef.EventID] != processor.Failed {
		t.Errorf("event without referenceNo: state %s, want failed", h.m.states[noRef.EventID])
	}
	// Timeline-only events need no referenceNo.
	started := h.deliver(`{"id":"n","attemptId":"a1","code":7001,"action":"started"}`, at(2))
	if h.m.states[started.EventID] != processor.Processed {
		t.Errorf("started without referenceNo: state %s, want processed", h.m.states[started.EventID])
	}
	unknown := h.deliver(`{"id":"n","code":7003,"action":"something_new","vendorData":"rn"}`, at(3))
	if h.m.states[unknown.EventID] != processor.Skipped {
		t.Errorf("unknown code: state %s, want skipped", h.m.states[unknown.EventID])
	}
	if len(h.m.sent) != 0 {
		t.Errorf("status events = %v, want none", h.m.statuses())
	}
	// An unknown reason is no failure: stored and passed on as it came.
	odd := h.deliver(ev("u", "a1", "ru", 7009, "flow_cancelled", "brand_new_reason", "brand_new_state"), at(4))
	if h.m.states[odd.EventID] != processor.Processed || !strings.Contains(h.m.notes[odd.EventID], "unrecognised") {
		t.Errorf("unknown reason: state %s note %q, want processed and noted", h.m.states[odd.EventID], h.m.notes[odd.EventID])
	}
	if p := h.profile("ru"); strings.Join(p.Reasons, ",") != "reason:brand_new_reason,state:brand_new_state" {
		t.Errorf("reasons = %q, want them as they came", p.Reasons)
	}
}

func TestEndUserIDAsReference(t *testing.T) {
	h := newHarness(t)
	e, err := veriff.Parser{Reference: veriff.ReferenceEndUserID}.ParseEvent([]byte(ev("e", "a1", "re", 7002, "submitted")))
	if err != nil {
		t.Fatal(err)
	}
	e.ReceivedAt = at(1)
	h.process(e)
	if p := h.profile("eu-re"); p.Status != kyc.PendingVerification {
		t.Errorf("profile eu-re = %+v, want PENDING_VERIFICATION", p)
	}
}

// profileOn is a ProfileReader that holds one profile.
type profileOn struct{ p kyc.Profile }

func (f profileOn) Profile(_ context.Context, ref string) (kyc.Profile, bool, error) {
	return f.p, f.p.ReferenceNo == ref, nil
}

// Issue 13 item 11: a decision whose decisionTime is older than the profile's current
// journey (the user started a new session since) does not override it, even when the
// old session's own record would rank it above (its submission reached us late).
func TestDecisionOlderThanCurrentJourney(t *testing.T) {
	newJourney := kyc.Profile{ReferenceNo: "r11", Status: kyc.PendingVerification, JourneyID: "s-new", Provider: veriff.Provider,
		Version: kyc.Version(at(30), "claim")}
	// The old session's submission was received at 40, after the new journey started.
	stored := processor.Journey{Provider: veriff.Provider, JourneyID: "s-old", ReferenceNo: "r11",
		Decisions: veriff.Session{Submitted: true, SubmittedAttempt: "a1", ChangeAttempt: "a1",
			ChangeVersion: kyc.Version(at(40), "sub"), ChangeEventID: "sub"}.Decisions()}
	parse := func(body string) inbox.Event {
		e, err := veriff.ParseEvent([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		e.ReceivedAt = at(41)
		return e
	}
	tests := []struct {
		name       string
		body       string
		withGuard  bool
		wantChange bool
	}{
		{"decided before the new journey started", decision("s-old", "a1", "r11", 9001, "approved", at(10)), true, false},
		{"same, without the profile reader: only the version check", decision("s-old", "a1", "r11", 9001, "approved", at(10)), false, true},
		{"full auto decided before the new journey started", fmt.Sprintf(`{"eventType":"fullauto","sessionId":"s-old","attemptId":"a1","vendorData":"r11","time":%q,"data":{"verification":{"decision":"declined"}}}`,
			at(10).Format(time.RFC3339Nano)), true, false},
		{"decided after the new journey started: the newest outcome wins", decision("s-old", "a1", "r11", 9001, "approved", at(35)), true, true},
		{"a decision of the current journey", decision("s-new", "a1", "r11", 9001, "approved", at(10)), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := veriff.NewResolver(veriff.DefaultPolicy)
			if tt.withGuard {
				r = r.WithProfiles(profileOn{newJourney})
			}
			e := parse(tt.body)
			st := stored
			if e.JourneyID != "s-old" {
				st = processor.Journey{}
			}
			out, err := r.Resolve(context.Background(), e, st, e.JourneyID == "s-old")
			if err != nil {
				t.Fatal(err)
			}
			if (out.Change != nil) != tt.wantChange {
				t.Errorf("Resolve() change = %+v (note %q), want a change: %v", out.Change, out.Note, tt.wantChange)
			}
			if !tt.wantChange && !strings.Contains(out.Note, "s-new") {
				t.Errorf("note = %q, want it to name the current journey", out.Note)
			}
		})
	}
}

// Through the processor: the profile on its new journey stays where it is when the old
// session's decision comes late; the old session's record still learns the decision.
func TestLateDecisionOfAnOldSessionKeepsTheNewJourney(t *testing.T) {
	m := newMem()
	svc := processor.New(map[string]processor.Resolver{veriff.Provider: veriff.NewResolver(veriff.DefaultPolicy).WithProfiles(m)},
		processor.Deps{Journeys: m, Profiles: m, Outbox: m, Publisher: m, Events: m})
	h := &harness{t: t, m: m, svc: svc}
	h.deliver(ev("s-old", "a1", "r12", 7002, "submitted"), at(1))
	if _, err := svc.Apply(context.Background(), kyc.Change{ReferenceNo: "r12", JourneyID: "s-new", Provider: veriff.Provider,
		Status: kyc.PendingVerification, Version: kyc.Version(at(30), "claim"), OccurredAt: at(30)}, processor.UnlessJourneyKnown); err != nil {
		t.Fatal(err)
	}
	e := h.deliver(decision("s-old", "a1", "r12", 9102, "declined", at(20), "Suspected document tampering", "102"), at(40))
	if p := h.profile("r12"); p.JourneyID != "s-new" || p.Status != kyc.PendingVerification {
		t.Errorf("profile = %+v, want PENDING_VERIFICATION on s-new", p)
	}
	if j := m.journeys[veriff.Provider+"#s-old"]; veriff.SessionOf(j.Decisions).DecisionCode != veriff.CodeDeclined {
		t.Errorf("old session record = %v, want its decision recorded", j.Decisions)
	}
	if m.states[e.EventID] != processor.Processed {
		t.Errorf("state = %s, want processed (timeline)", m.states[e.EventID])
	}
}

// The new kinds through the processor: Full Auto decides; a watchlist possible match
// moves an approved profile to review, a no-match and a user-defined status only go to
// the timeline.
func TestNewKindsJourneys(t *testing.T) {
	fullAuto := func(session, ref, decision string, decided time.Time) string {
		return fmt.Sprintf(`{"status":"success","eventType":"fullauto","sessionId":%q,"attemptId":"a1","vendorData":%q,"time":%q,`+
			`"data":{"verification":{"decision":%q,"decisionScore":0.9,"person":{"firstName":{"value":"TEST"}}}}}`, session, ref, decided.Format(time.RFC3339Nano), decision)
	}
	watch := func(session, ref, match string, hits int) string {
		h := make([]string, hits)
		for i := range h {
			h[i] = `{"matchedName":"TEST PERSON"}`
		}
		return fmt.Sprintf(`{"checkType":"updated_result","sessionId":%q,"attemptId":"a1","vendorData":%q,"matchStatus":%q,"totalHits":%d,"hits":[%s]}`,
			session, ref, match, hits, strings.Join(h, ","))
	}
	userDefined := func(session string) string {
		return fmt.Sprintf(`{"data":{"verification":{"id":%q,"userDefinedData":{"status":"x"}}},"eventType":"user_defined_status","attemptId":"a1","time":"2026-05-01T12:00:00Z"}`, session)
	}
	tests := []struct {
		name     string
		bodies   []string
		want     kyc.Status
		reasons  []string
		statuses []string
	}{
		{"full auto approved", []string{fullAuto("f1", "rf1", "approved", at(2))}, kyc.Approved, nil, []string{"APPROVED"}},
		{"full auto declined", []string{fullAuto("f2", "rf2", "declined", at(2))}, kyc.Rejected, nil, []string{"REJECTED"}},
		{"approved, then a watchlist possible match", []string{fullAuto("w1", "rw1", "approved", at(2)), watch("w1", "rw1", "possible_match", 2)},
			kyc.InReview, []string{"watchlist:possible_match"}, []string{"APPROVED", "IN_REVIEW"}},
		{"approved, then no match", []string{decision("w2", "a1", "rw2", 9001, "approved", at(2)), watch("w2", "rw2", "no_match", 0)},
			kyc.Approved, nil, []string{"APPROVED"}},
		{"possible match before any approval: kept pending", []string{ev("w3", "a1", "rw3", 7002, "submitted"), watch("w3", "rw3", "possible_match", 1)},
			kyc.PendingVerification, nil, []string{"PENDING_VERIFICATION"}},
		{"approved, then a user-defined status", []string{decision("u1", "a1", "ru1", 9001, "approved", at(2)), userDefined("u1")},
			kyc.Approved, nil, []string{"APPROVED"}},
		{"desktop-to-phone handover, then approved", []string{ev("h1", "a1", "rh1", 7010, "flow_cancelled", veriff.ReasonMobileHandoverScreenShown),
			ev("h1", "a1", "rh1", 7002, "submitted"), decision("h1", "a1", "rh1", 9001, "approved", at(5))}, kyc.Approved, nil, []string{"PENDING_VERIFICATION", "APPROVED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			for i, b := range tt.bodies {
				h.deliver(b, at(10+i))
			}
			p := h.profile(h.m.sent[0].ReferenceNo)
			if p.Status != tt.want || !reflect.DeepEqual(p.Reasons, tt.reasons) {
				t.Errorf("profile = %+v, want %s %q", p, tt.want, tt.reasons)
			}
			if got := h.m.statuses(); !reflect.DeepEqual(got, tt.statuses) {
				t.Errorf("status events = %v, want %v", got, tt.statuses)
			}
		})
	}
}
