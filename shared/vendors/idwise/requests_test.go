package idwise

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

type fakeHistory []inbox.Event

func (h fakeHistory) JourneyEvents(context.Context, string, string) ([]inbox.Event, error) {
	return h, nil
}

// Issue 19: a Finished Journey after a Verification Update Required answers it only when the
// journey result shows a decision newer than the request (its end_time after the request's
// reception) or the user sent a Step Update after it; anything else keeps the request's status.
// Delivery order is not guaranteed (https://docs.idwise.com/docs/webhooks-overview).
func TestDecideAnswersOnlyWithANewerResult(t *testing.T) {
	requested := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	fj := inbox.Event{Provider: Provider, EventID: "fj", Name: FinishedJourney, JourneyID: "j", ReceivedAt: requested.Add(time.Hour)}
	stepUpdate := inbox.Event{EventID: "su", Name: UpdatedJourney, Attributes: map[string]string{"action": ActionStepUpdate}, ReceivedAt: requested.Add(time.Minute)}
	tests := []struct {
		name       string
		endTime    string
		history    fakeHistory
		wantChange kyc.Status // "" = no change
	}{
		{"result decided before the request: no answer", "2026-02-01T11:00:00", nil, ""},
		{"result without end_time: no answer", "", nil, ""},
		{"result decided after the request (no zone: UTC)", "2026-02-01T12:30:00", nil, kyc.Approved},
		{"result decided after the request (RFC 3339)", "2026-02-01T12:30:00Z", nil, kyc.Approved},
		{"a step update after the request answers it", "", fakeHistory{stepUpdate}, kyc.Approved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{journeys: map[string]Journey{"j": {JourneyID: "j", ReferenceNumber: "r", SystemDecision: "Complete", FinalDecision: "Complete", EndTime: tt.endTime}}}
			r := NewResolver(api, DefaultPolicy, nil).WithHistory(tt.history)
			stored := processor.Journey{Provider: Provider, JourneyID: "j", ReferenceNo: "r", Version: 1, RequestedAt: requested}
			out, err := r.Resolve(context.Background(), fj, stored, true)
			if err != nil {
				t.Fatalf("Resolve() = %v", err)
			}
			switch {
			case tt.wantChange == "" && out.Change != nil:
				t.Errorf("Change = %s, want none (the request's status kept); note %q", out.Change.Status, out.Note)
			case tt.wantChange != "" && (out.Change == nil || out.Change.Status != tt.wantChange):
				t.Errorf("Change = %+v, want %s", out.Change, tt.wantChange)
			}
			if out.Journey == nil || !out.Journey.RequestedAt.Equal(requested) {
				t.Errorf("stored RequestedAt = %+v, want %v carried forward", out.Journey, requested)
			}
		})
	}
}

// A reviewer's Approved or Rejected received after the request is a newer decision by itself
// (a review does not finish the journey again, so end_time stays); a re-sent Finished
// Journey is not.
func TestDecideTakesAReviewAfterTheRequest(t *testing.T) {
	requested := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	after, before := requested.Add(time.Minute), requested.Add(-time.Minute)
	for _, tt := range []struct {
		name       string
		e          inbox.Event
		wantChange kyc.Status
	}{
		{"Manually Reviewed Rejected after the request", inbox.Event{Name: ManuallyReviewed, ReceivedAt: after, Attributes: map[string]string{"manualDecision": "Rejected"}}, kyc.Rejected},
		{"Manual Review Rejected after the request", inbox.Event{Name: UpdatedJourney, ReceivedAt: after, Attributes: map[string]string{"action": ActionManualReview, "reviewDecision": "Rejected"}}, kyc.Rejected},
		{"Manually Reviewed received before the request", inbox.Event{Name: ManuallyReviewed, ReceivedAt: before, Attributes: map[string]string{"manualDecision": "Rejected"}}, ""},
		{"Finished Journey after the request", inbox.Event{Name: FinishedJourney, ReceivedAt: after}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.Provider, e.EventID, e.JourneyID = Provider, "e", "j"
			api := &fakeAPI{journeys: map[string]Journey{"j": {JourneyID: "j", ReferenceNumber: "r", SystemDecision: "Refer", ManualDecision: "Rejected", FinalDecision: "Rejected", EndTime: "2026-02-01T11:00:00"}}}
			out, err := NewResolver(api, DefaultPolicy, nil).Resolve(context.Background(), e,
				processor.Journey{Provider: Provider, JourneyID: "j", ReferenceNo: "r", Version: 1, RequestedAt: requested}, true)
			if err != nil {
				t.Fatalf("Resolve() = %v", err)
			}
			if got := out.Change; (tt.wantChange == "") != (got == nil) || (got != nil && got.Status != tt.wantChange) {
				t.Errorf("Change = %+v, want %q", got, tt.wantChange)
			}
		})
	}
}

// A request records its reception on the journey; an answered one (the result decided after
// it) does not move the user back.
func TestDecideRecordsTheRequest(t *testing.T) {
	received := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	vur := inbox.Event{Provider: Provider, EventID: "vur", Name: VerificationUpdateRequired, JourneyID: "j", ReceivedAt: received,
		Attributes: map[string]string{"trigger": "Manual Review", "requiredSteps": `[{"stepId":"0","reasonCode":"DOC_BLURRY"}]`}}
	for _, tt := range []struct {
		name          string
		endTime       string
		wantStatus    kyc.Status
		wantRequested time.Time
	}{
		{"open request", "2026-02-01T10:00:00Z", kyc.ResubmissionRequired, received},
		{"already answered by a newer result", "2026-02-01T13:00:00Z", kyc.Approved, time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{journeys: map[string]Journey{"j": {JourneyID: "j", ReferenceNumber: "r", SystemDecision: "Complete", FinalDecision: "Complete", EndTime: tt.endTime}}}
			out, err := NewResolver(api, DefaultPolicy, nil).Resolve(context.Background(), vur, processor.Journey{}, false)
			if err != nil {
				t.Fatalf("Resolve() = %v", err)
			}
			if out.Change == nil || out.Change.Status != tt.wantStatus || !out.Journey.RequestedAt.Equal(tt.wantRequested) {
				t.Errorf("Change = %+v, RequestedAt = %v; want %s, %v", out.Change, out.Journey.RequestedAt, tt.wantStatus, tt.wantRequested)
			}
		})
	}
}

// An unknown decision fails the event (ErrPermanent), counts UnknownDecision with the event
// dimension, and changes no status.
func TestUnknownDecisionFailsLoudly(t *testing.T) {
	api := &fakeAPI{journeys: map[string]Journey{"j": {JourneyID: "j", ReferenceNumber: "r", SystemDecision: "Refer", FinalDecision: "Escalated"}}}
	m := &dimCounts{}
	r := NewResolver(api, DefaultPolicy, nil).WithMetrics(m, nil)
	out, err := r.Resolve(context.Background(), inbox.Event{Provider: Provider, EventID: "e", Name: FinishedJourney, JourneyID: "j"}, processor.Journey{}, false)
	if !errors.Is(err, kyc.ErrPermanent) || out.Change != nil {
		t.Fatalf("Resolve() = change %+v, %v; want no change and ErrPermanent", out.Change, err)
	}
	want := []string{MetricUnknownDecision + " provider=idwise event=Finished Journey"}
	if !reflect.DeepEqual(m.got, want) {
		t.Errorf("metrics = %v, want %v", m.got, want)
	}
}

type dimCounts struct{ got []string }

func (c *dimCounts) Count(_ context.Context, name string, dims map[string]string) {
	c.got = append(c.got, name+" provider="+dims["provider"]+" event="+dims["event"])
}

// The reasons of a resubmission are the union of the journey's open requests, sorted, so
// the three deliveries of one review end the same in any order; requests answered by a
// Step Update are left out.
func TestOpenRequestReasons(t *testing.T) {
	t0 := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	uj := inbox.Event{EventID: "uj", Name: UpdatedJourney, ReceivedAt: t0.Add(2 * time.Minute), Attributes: map[string]string{"action": ActionManualReview,
		"reviewDecision": ReviewResubmissionRequest, "resubmitSteps": "2,0", "reviewReasonCode": "DOC_BLURRY"}}
	vur := inbox.Event{EventID: "vur", Name: VerificationUpdateRequired, ReceivedAt: t0.Add(3 * time.Minute), Attributes: map[string]string{"trigger": "Manual Review",
		"requiredSteps": `[{"stepId":"0","reasonCode":"DOC_BLURRY"},{"stepId":"2","reasonCode":"GLARE"}]`}}
	old := inbox.Event{EventID: "old", Name: VerificationUpdateRequired, ReceivedAt: t0, Attributes: map[string]string{"requiredSteps": `[{"stepId":"9"}]`}}
	su := inbox.Event{EventID: "su", Name: UpdatedJourney, ReceivedAt: t0.Add(time.Minute), Attributes: map[string]string{"action": ActionStepUpdate}}
	renewal := inbox.Event{EventID: "kr", Name: VerificationUpdateRequired, ReceivedAt: t0.Add(4 * time.Minute), Attributes: map[string]string{"trigger": TriggerKYCRenewal, "requiredSteps": `[{"stepId":"5"}]`}}
	want := []string{"step:0", "step:2", "reason:DOC_BLURRY", "reason:GLARE"}
	for _, tt := range []struct {
		name   string
		events []inbox.Event
		own    []string
	}{
		{"review first", []inbox.Event{uj, vur}, resubmitReasons(uj)},
		{"update required first", []inbox.Event{vur, uj}, requiredStepReasons(vur)},
		{"finished journey: none of its own", []inbox.Event{old, su, vur, uj, renewal}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := openRequestReasons(tt.events, tt.own); !reflect.DeepEqual(got, want) {
				t.Errorf("openRequestReasons() = %v, want %v", got, want)
			}
		})
	}
}

// An AML Monitor Update without updatedAMLVersionNumber is ordered by its reception time
// (not dropped once a journey is stored); one with a version by the version.
func TestStaleAMLUpdate(t *testing.T) {
	t0 := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	aml := func(version string, at time.Time) inbox.Event {
		e := inbox.Event{Name: AMLMonitorUpdate, ReceivedAt: at, Attributes: map[string]string{}}
		if version != "" {
			e.Attributes["amlVersion"] = version
		}
		return e
	}
	stored := processor.Journey{AMLVersion: 3, AMLReceivedAt: t0}
	for _, tt := range []struct {
		name   string
		e      inbox.Event
		stored processor.Journey
		found  bool
		want   bool
	}{
		{"no journey yet", aml("", t0), processor.Journey{}, false, false},
		{"no version, journey stored, no AML update before", aml("", t0), processor.Journey{Version: 1}, true, false},
		{"no version, received after the last AML update", aml("", t0.Add(time.Second)), stored, true, false},
		{"no version, received before the last AML update", aml("", t0.Add(-time.Second)), stored, true, true},
		{"version not newer", aml("3", t0.Add(time.Hour)), stored, true, true},
		{"version newer", aml("4", t0.Add(-time.Hour)), stored, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := staleAMLUpdate(tt.e, tt.stored, tt.found); got != tt.want {
				t.Errorf("staleAMLUpdate() = %v, want %v", got, tt.want)
			}
		})
	}
}
