package idwise

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// fakeAPI answers Get Journey Result and Get Spot Check Result from maps; an id in neither
// is a 404, as IDWise answers it.
type fakeAPI struct {
	journeys, spotChecks map[string]Journey
	calls                []string
}

func (f *fakeAPI) Journey(_ context.Context, id string) (Journey, error) {
	f.calls = append(f.calls, "journey:"+id)
	if j, ok := f.journeys[id]; ok {
		return j, nil
	}
	return Journey{}, ErrNotFound
}

func (f *fakeAPI) SpotCheck(_ context.Context, id string) (Journey, error) {
	f.calls = append(f.calls, "spotcheck:"+id)
	if j, ok := f.spotChecks[id]; ok {
		return j, nil
	}
	return Journey{}, ErrNotFound
}

type counts map[string]int

func (c counts) Count(_ context.Context, name string, _ map[string]string) { c[name]++ }

type seen map[string]bool

func (s seen) First(_ context.Context, kind, id string) (bool, error) {
	k := kind + "/" + id
	if s[k] {
		return false, nil
	}
	s[k] = true
	return true, nil
}

// A 404 from Get Journey Result is retried until the event is older than the bound, then
// fails it; the first 404 of an event counts VendorNotFound, later ones do not.
func TestNotFoundIsRetriedForABoundedTime(t *testing.T) {
	received := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		age           time.Duration
		bound         time.Duration
		wantPermanent bool
	}{
		{"just received: retried", 0, 30 * time.Minute, false},
		{"one second inside the bound: retried", 30*time.Minute - time.Second, 30 * time.Minute, false},
		{"at the bound: failed", 30 * time.Minute, 30 * time.Minute, true},
		{"past the bound: failed", 2 * time.Hour, 30 * time.Minute, true},
		{"bound 0: fails at once", 0, 0, true},
		{"configured longer bound", 45 * time.Minute, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := counts{}
			r := NewResolver(&fakeAPI{}, DefaultPolicy, nil).WithMetrics(m, seen{}).WithNotFoundRetry(tt.bound)
			r.now = func() time.Time { return received.Add(tt.age) }
			e := inbox.Event{Provider: Provider, EventID: "e1", Name: FinishedJourney, JourneyID: "j-unknown", ReceivedAt: received}
			_, err := r.Resolve(context.Background(), e, processor.Journey{}, false)
			if err == nil || !errors.Is(err, ErrNotFound) {
				t.Fatalf("Resolve() = %v, want an error wrapping ErrNotFound", err)
			}
			if got := errors.Is(err, kyc.ErrPermanent); got != tt.wantPermanent {
				t.Errorf("Resolve() at age %s with bound %s: permanent = %v, want %v (%v)", tt.age, tt.bound, got, tt.wantPermanent, err)
			}
			if m[MetricVendorNotFound] != 1 {
				t.Errorf("VendorNotFound = %d, want 1", m[MetricVendorNotFound])
			}
		})
	}

	t.Run("counted once per event, every time without a memory", func(t *testing.T) {
		m := counts{}
		firsts := seen{}
		r := NewResolver(&fakeAPI{}, DefaultPolicy, nil).WithMetrics(m, firsts)
		r.now = func() time.Time { return received.Add(time.Minute) }
		for _, id := range []string{"e1", "e1", "e1", "e2"} {
			_, _ = r.Resolve(context.Background(), inbox.Event{Provider: Provider, EventID: id, Name: FinishedJourney, JourneyID: "jx", ReceivedAt: received}, processor.Journey{}, false)
		}
		if m[MetricVendorNotFound] != 2 {
			t.Errorf("VendorNotFound = %d after 3 attempts of e1 and 1 of e2, want 2", m[MetricVendorNotFound])
		}
		r.WithMetrics(m, nil)
		_, _ = r.Resolve(context.Background(), inbox.Event{Provider: Provider, EventID: "e1", Name: FinishedJourney, JourneyID: "jx", ReceivedAt: received}, processor.Journey{}, false)
		if m[MetricVendorNotFound] != 3 {
			t.Errorf("VendorNotFound without FirstTimes = %d, want every 404 counted (3)", m[MetricVendorNotFound])
		}
	})
}

// Finished Spot Check fetches the spot check journey's result, under its own id; the
// result's decision and reference_number are what count, not the webhook's.
func TestResolveSpotCheck(t *testing.T) {
	api := &fakeAPI{spotChecks: map[string]Journey{
		"sc-refer":    {JourneyID: "sc-refer", ReferenceNumber: "r1", SystemDecision: DecisionRefer},
		"sc-complete": {JourneyID: "sc-complete", ReferenceNumber: "r1", SystemDecision: DecisionComplete},
	}}
	r := NewResolver(api, DefaultPolicy, nil)
	tests := []struct {
		name       string
		journeyID  string
		webhook    string // the webhook body's systemDecision
		wantChange kyc.Status
	}{
		{"refer: review if approved", "sc-refer", DecisionComplete, kyc.InReview},
		{"complete: ends a spot check review only, even if the body says Refer", "sc-complete", DecisionRefer, kyc.Approved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api.calls = nil
			e := inbox.Event{Provider: Provider, EventID: "e-" + tt.journeyID, Name: FinishedSpotCheck, JourneyID: tt.journeyID,
				ReferenceNo: "r1", Attributes: map[string]string{"systemDecision": tt.webhook, "spotCheckJourneyId": tt.journeyID}}
			out, err := r.Resolve(context.Background(), e, processor.Journey{}, false)
			if err != nil {
				t.Fatalf("Resolve() = %v", err)
			}
			if len(api.calls) != 1 || api.calls[0] != "spotcheck:"+tt.journeyID {
				t.Errorf("API calls = %v, want one Get Spot Check Result of %s", api.calls, tt.journeyID)
			}
			if out.Journey == nil || out.Journey.JourneyID != tt.journeyID || out.Journey.ReferenceNo != "r1" {
				t.Errorf("journey snapshot = %+v, want the spot check journey of r1", out.Journey)
			}
			switch {
			case tt.wantChange == "" && out.Change != nil:
				t.Errorf("Change = %+v, want none", out.Change)
			case tt.wantChange == kyc.InReview && (out.Change == nil || out.Change.Status != tt.wantChange || out.Guard != processor.OnlyIfApproved):
				t.Errorf("Change = %+v guard %v, want %s only if approved", out.Change, out.Guard, tt.wantChange)
			case tt.wantChange == kyc.Approved && (out.Change == nil || out.Change.Status != tt.wantChange || out.Guard != processor.OnlyIfInReviewFor):
				t.Errorf("Change = %+v guard %v, want %s only if in review for a re-check", out.Change, out.Guard, tt.wantChange)
			}
		})
	}
}

// A late renewal request (received before the user's Step Update) does not send the user
// back; one received after it does.
func TestLateVerificationUpdateRequired(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	vur := inbox.Event{EventID: "vur", Name: VerificationUpdateRequired, ReceivedAt: t0}
	tests := []struct {
		name    string
		history []inbox.Event
		want    bool
	}{
		{"nothing after it", []inbox.Event{{EventID: "fj0", Name: FinishedJourney, ReceivedAt: t0.Add(-time.Hour)}}, false},
		// Issue 19: a Finished Journey after the request is no answer by itself (its result must
		// be decided after the request: TestDecideAnswersOnlyWithANewerResult).
		{"finished journey after it is no answer by itself", []inbox.Event{{EventID: "fj1", Name: FinishedJourney, ReceivedAt: t0.Add(time.Minute)}}, false},
		{"step update after it", []inbox.Event{{EventID: "su", Name: UpdatedJourney, Attributes: map[string]string{"action": ActionStepUpdate}, ReceivedAt: t0.Add(time.Minute)}}, true},
		{"an AML update after it is no answer", []inbox.Event{{EventID: "aml", Name: AMLMonitorUpdate, ReceivedAt: t0.Add(time.Minute)}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := answered(tt.history, vur); got != tt.want {
				t.Errorf("answered(%v) = %v, want %v", tt.history, got, tt.want)
			}
		})
	}
}

// A custom step that fails for good counts CustomStepFailed; a retryable failure does not.
func TestCustomStepFailureIsCounted(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"permanent", &APIError{Status: 400}, 1},
		{"retryable", &APIError{Status: 503, Retryable: true}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := counts{}
			r := NewResolver(&fakeAPI{}, DefaultPolicy, nil).WithMetrics(m, nil)
			_ = r.customStepError(context.Background(), classify(tt.err))
			if m[MetricCustomStepFailed] != tt.want {
				t.Errorf("CustomStepFailed = %d, want %d", m[MetricCustomStepFailed], tt.want)
			}
		})
	}
}
