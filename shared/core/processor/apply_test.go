package processor_test

import (
	"context"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/core/processor/processortest"
)

// TestApplyUnlessJourneyKnown: the app's journey report (Apply with UnlessJourneyKnown)
// starts a journey, never moves a known one, and is version-checked and published like
// the processor's own changes.
func TestApplyUnlessJourneyKnown(t *testing.T) {
	pending := func(journey string, version int64) kyc.Change {
		return kyc.Change{ReferenceNo: "r1", JourneyID: journey, Provider: "idwise", Status: kyc.PendingVerification,
			Version: version, OccurredAt: time.Unix(version, 0)}
	}
	tests := []struct {
		name        string
		stored      *kyc.Profile
		change      kyc.Change
		snsDown     bool
		wantStatus  kyc.Status
		wantJourney string
		wantEvent   bool
	}{
		{name: "no profile yet", change: pending("j1", 10), wantStatus: kyc.PendingVerification, wantJourney: "j1", wantEvent: true},
		{name: "same journey pending: nothing", stored: &kyc.Profile{ReferenceNo: "r1", Status: kyc.PendingVerification, JourneyID: "j1", Version: 5},
			change: pending("j1", 10), wantStatus: kyc.PendingVerification, wantJourney: "j1"},
		{name: "same journey approved: kept", stored: &kyc.Profile{ReferenceNo: "r1", Status: kyc.Approved, JourneyID: "j1", Version: 5},
			change: pending("j1", 10), wantStatus: kyc.Approved, wantJourney: "j1"},
		{name: "same journey incomplete: kept", stored: &kyc.Profile{ReferenceNo: "r1", Status: kyc.Incomplete, JourneyID: "j1", Version: 5},
			change: pending("j1", 10), wantStatus: kyc.Incomplete, wantJourney: "j1"},
		{name: "new journey after a rejection", stored: &kyc.Profile{ReferenceNo: "r1", Status: kyc.Rejected, JourneyID: "j1", Version: 5},
			change: pending("j2", 10), wantStatus: kyc.PendingVerification, wantJourney: "j2", wantEvent: true},
		{name: "older than the stored status", stored: &kyc.Profile{ReferenceNo: "r1", Status: kyc.Approved, JourneyID: "j1", Version: 50},
			change: pending("j2", 10), wantStatus: kyc.Approved, wantJourney: "j1"},
		{name: "SNS down: applied, left in the outbox", change: pending("j1", 10), snsDown: true,
			wantStatus: kyc.PendingVerification, wantJourney: "j1", wantEvent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := processortest.NewMemStore()
			if tt.stored != nil {
				m.SetProfile(*tt.stored)
			}
			p := &pub{fail: tt.snsDown}
			svc := processor.New(nil, processor.Deps{Journeys: m, Profiles: m, Outbox: m, Publisher: p, Events: m})
			ev, err := svc.Apply(context.Background(), tt.change, processor.UnlessJourneyKnown)
			if err != nil {
				t.Fatalf("Apply() = %v", err)
			}
			got, _, _ := m.Profile(context.Background(), "r1")
			if got.Status != tt.wantStatus || got.JourneyID != tt.wantJourney {
				t.Errorf("profile = %s %s, want %s %s", got.Status, got.JourneyID, tt.wantStatus, tt.wantJourney)
			}
			if (ev != nil) != tt.wantEvent {
				t.Fatalf("Apply() event = %+v, want one: %v", ev, tt.wantEvent)
			}
			if ev == nil {
				if out, _ := m.Outbox(context.Background(), "r1"); len(p.sent) != 0 || len(out) != 0 {
					t.Errorf("published %d, outbox %d; want nothing", len(p.sent), len(out))
				}
				return
			}
			out, _ := m.Outbox(context.Background(), "r1")
			if len(out) != 1 || out[0].Event.ID != ev.ID || out[0].Sent == tt.snsDown {
				t.Errorf("outbox = %+v, want %s with sent=%v", out, ev.ID, !tt.snsDown)
			}
			if !tt.snsDown && (len(p.sent) != 1 || p.sent[0].ID != ev.ID) {
				t.Errorf("published %+v, want the event once", p.sent)
			}
		})
	}
}
