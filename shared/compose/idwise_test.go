package compose_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
)

// approve runs a Finished Journey that approves ref's journey.
func (p *pipeline) approve(journeyID, ref, eventID string) {
	p.t.Helper()
	e, _ := p.deliver(body(idwise.FinishedJourney, eventID, journeyID, ref, "systemDecision", "Complete"))
	p.journey(journeyID, ref, "Complete", "", "Complete")
	p.mustProcess(e)
	if got := p.profile(ref).Status; got != kyc.Approved {
		p.t.Fatalf("after Finished Journey: %s, want APPROVED", got)
	}
}

// Issue 14: one journey per new IDWise webhook kind, on the emulators, ends in the status
// the policy table says.
func TestNewIDWiseWebhookKinds(t *testing.T) {
	p := newPipeline(t)
	tests := []struct {
		name        string
		ref         string
		spotCheck   string // system decision of the spot check result, for Finished Spot Check
		body        func(ref string) string
		wantStatus  kyc.Status
		wantReasons []string
		wantType    string // the one event's type when the status stays APPROVED (default: no event)
	}{
		{name: "failed spot check puts the approved profile in review", ref: "sc-r1", spotCheck: "Refer",
			body: func(ref string) string {
				return `{"event":"Finished Spot Check","body":{"eventId":"sc-e1","referenceNo":"` + ref + `","systemDecision":"Refer","spotCheckJourneyId":"sc-j1"}}`
			},
			wantStatus: kyc.InReview, wantReasons: []string{"spot_check"}},
		{name: "passed spot check changes nothing", ref: "sc-r2", spotCheck: "Complete",
			body: func(ref string) string {
				return `{"event":"Finished Spot Check","body":{"eventId":"sc-e2","referenceNo":"` + ref + `","systemDecision":"Complete","spotCheckJourneyId":"sc-j2"}}`
			},
			wantStatus: kyc.Approved},
		{name: "KYC renewal due", ref: "vur-r1",
			body: func(ref string) string {
				return body(idwise.VerificationUpdateRequired, "vur-e1", "j-"+ref, ref, "trigger", "KYC Renewal",
					"requiredSteps", `[{"stepId":"0","reasonCode":"DOCUMENT_EXPIRING"}]`)
			},
			// RenewalPolicy grace (issue 19): still approved, due date, a profile.renewal_due event.
			wantStatus: kyc.Approved, wantReasons: []string{"renewal_due", "step:0"}, wantType: kyc.RenewalDueType},
		{name: "renewal deadline exceeded", ref: "krde-r1",
			body: func(ref string) string {
				return body(idwise.KYCRenewalDeadlineExceeded, "krde-e1", "j-"+ref, ref,
					"requiredSteps", `[{"stepId":"0","renewalDeadline":"2025-09-15T00:00:00Z"}]`)
			},
			wantStatus: kyc.ResubmissionRequired, wantReasons: []string{"renewal_deadline_exceeded", "step:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.approve("j-"+tt.ref, tt.ref, "fj-"+tt.ref)
			p.messages()
			e, accepted := p.deliver(tt.body(tt.ref))
			if !accepted || !e.Processable {
				t.Fatalf("delivery accepted=%v processable=%v, want both", accepted, e.Processable)
			}
			before := p.sim.Requests(idwisesim.EndpointSpotCheck)
			if tt.spotCheck != "" {
				p.journey(e.JourneyID, tt.ref, tt.spotCheck, "", "") // the simulator serves spot checks like journeys
			}
			p.mustProcess(e)
			if tt.spotCheck != "" && p.sim.Requests(idwisesim.EndpointSpotCheck)-before != 1 {
				t.Errorf("Get Spot Check Result calls = %d, want 1", p.sim.Requests(idwisesim.EndpointSpotCheck)-before)
			}
			got := p.profile(tt.ref)
			if got.Status != tt.wantStatus || strings.Join(got.Reasons, ",") != strings.Join(tt.wantReasons, ",") {
				t.Errorf("profile = %s %v, want %s %v", got.Status, got.Reasons, tt.wantStatus, tt.wantReasons)
			}
			if state, _ := p.eventState(e); state != "processed" {
				t.Errorf("event state = %q, want processed", state)
			}
			msgs := p.messages()
			if tt.wantType != "" {
				if len(msgs) != 1 || msgs[0].Type != tt.wantType || msgs[0].Status != tt.wantStatus {
					t.Errorf("status events = %+v, want one %s %s", msgs, tt.wantType, tt.wantStatus)
				}
			} else if tt.wantStatus == kyc.Approved && len(msgs) != 0 || tt.wantStatus != kyc.Approved && (len(msgs) != 1 || msgs[0].Status != tt.wantStatus) {
				t.Errorf("status events = %+v, want one %s (none when unchanged)", msgs, tt.wantStatus)
			}
			if tt.spotCheck != "" {
				if _, found, err := p.proc.Store.Journey(context.Background(), "idwise", e.JourneyID); err != nil || !found {
					t.Errorf("spot check journey %s not stored (%v): want it in the profile's timeline", e.JourneyID, err)
				}
			}
		})
	}

	t.Run("a spot check on a profile that is not approved changes nothing", func(t *testing.T) {
		e, _ := p.deliver(body(idwise.FinishedJourney, "fj-sc-r3", "j-sc-r3", "sc-r3", "systemDecision", "Refer"))
		p.journey("j-sc-r3", "sc-r3", "Refer", "", "Refer")
		p.mustProcess(e)
		p.messages()
		sc, _ := p.deliver(`{"event":"Finished Spot Check","body":{"eventId":"sc-e3","referenceNo":"sc-r3","systemDecision":"Rejected","spotCheckJourneyId":"sc-j3"}}`)
		p.journey("sc-j3", "sc-r3", "Rejected", "", "")
		p.mustProcess(sc)
		if got := p.profile("sc-r3"); got.Status != kyc.InReview || got.JourneyID != "j-sc-r3" {
			t.Errorf("profile = %s on %s, want IN_REVIEW kept on j-sc-r3", got.Status, got.JourneyID)
		}
	})
}

// A wrong Get Journey Result path (or a journey IDWise does not know yet) answers 404: the
// event is retried, not failed, while it is young, and VendorNotFound is emitted for it.
func TestNotFoundIsRetriedThenFails(t *testing.T) {
	t.Run("young event: retried and counted", func(t *testing.T) {
		p := newPipeline(t)
		e, _ := p.deliver(body(idwise.FinishedJourney, "nf-e1", "nf-j1", "nf-r1", "systemDecision", "Complete"))
		err := p.process(e) // no journey in the simulator: 404
		if err == nil || errors.Is(err, kyc.ErrPermanent) {
			t.Fatalf("Process() = %v, want a retryable error", err)
		}
		if state, pending := p.eventState(e); state == "failed" || pending == "" {
			t.Errorf("event state = %q pending=%q, want still pending (the sweeper re-drives it)", state, pending)
		}
		_ = p.process(e)
		if n := strings.Count(p.emf.String(), `"VendorNotFound":1`); n != 1 {
			t.Errorf("VendorNotFound emitted %d times after two attempts, want once per event", n)
		}
		p.journey("nf-j1", "nf-r1", "Complete", "", "Complete") // IDWise has it now
		p.mustProcess(e)
		if got := p.profile("nf-r1").Status; got != kyc.Approved {
			t.Errorf("after the journey appeared: %s, want APPROVED", got)
		}
	})
	t.Run("past the bound: failed", func(t *testing.T) {
		p := newPipeline(t, "IDWISE_NOT_FOUND_RETRY_MINUTES", "1")
		e, _ := p.deliver(body(idwise.FinishedJourney, "nf-e2", "nf-j2", "nf-r2", "systemDecision", "Complete"))
		e.ReceivedAt = time.Now().Add(-2 * time.Minute) // as the sweeper re-drives an old event
		if err := p.process(e); err != nil {
			t.Fatalf("Process() = %v, want the event marked failed", err)
		}
		if state, _ := p.eventState(e); state != "failed" {
			t.Errorf("event state = %q, want failed", state)
		}
	})
}
