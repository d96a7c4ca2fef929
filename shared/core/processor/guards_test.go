package processor_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/core/processor/processortest"
)

// The guards of issue 20, over a stored profile: a claim starts only a profile with nothing
// to lose; AML-style monitoring moves only a profile approved on the same journey; a passed
// re-check ends only the review a failed re-check started.
func TestIssue20Guards(t *testing.T) {
	type profile struct {
		status  kyc.Status
		journey string
		reasons []string
	}
	tests := []struct {
		name    string
		start   *profile
		status  kyc.Status
		guard   processor.Guard
		undo    []string
		want    kyc.Status
		changed bool
	}{
		{"claim starts a new profile", nil, kyc.PendingVerification, processor.OnlyIfUnstarted, nil, kyc.PendingVerification, true},
		{"claim over INCOMPLETE of another journey", &profile{kyc.Incomplete, "j0", nil}, kyc.PendingVerification, processor.OnlyIfUnstarted, nil, kyc.PendingVerification, true},
		{"claim over ABANDONED", &profile{kyc.Abandoned, "j0", nil}, kyc.PendingVerification, processor.OnlyIfUnstarted, nil, kyc.PendingVerification, true},
		{"claim over REJECTED kept", &profile{kyc.Rejected, "j0", nil}, kyc.PendingVerification, processor.OnlyIfUnstarted, nil, kyc.Rejected, false},
		{"claim over AML IN_REVIEW kept", &profile{kyc.InReview, "j0", []string{"aml_monitor_update"}}, kyc.PendingVerification, processor.OnlyIfUnstarted, nil, kyc.InReview, false},
		{"claim over APPROVED kept", &profile{kyc.Approved, "j0", nil}, kyc.PendingVerification, processor.OnlyIfUnstarted, nil, kyc.Approved, false},
		{"claim over RESUBMISSION_REQUIRED kept", &profile{kyc.ResubmissionRequired, "j0", []string{"step:0"}}, kyc.PendingVerification, processor.OnlyIfUnstarted, nil, kyc.ResubmissionRequired, false},
		{"monitoring of the current journey", &profile{kyc.Approved, "j1", nil}, kyc.InReview, processor.OnlyIfApproved, nil, kyc.InReview, true},
		{"monitoring of another journey kept", &profile{kyc.Approved, "j0", nil}, kyc.InReview, processor.OnlyIfApproved, nil, kyc.Approved, false},
		{"pass ends a spot check review", &profile{kyc.InReview, "j1", []string{"spot_check"}}, kyc.Approved, processor.OnlyIfInReviewFor, []string{"spot_check", "ongoing_check"}, kyc.Approved, true},
		{"pass leaves an AML review", &profile{kyc.InReview, "j1", []string{"aml_monitor_update"}}, kyc.Approved, processor.OnlyIfInReviewFor, []string{"spot_check"}, kyc.InReview, false},
		{"pass never approves a rejection", &profile{kyc.Rejected, "j1", nil}, kyc.Approved, processor.OnlyIfInReviewFor, []string{"spot_check"}, kyc.Rejected, false},
		{"pass of another journey's review kept", &profile{kyc.InReview, "j0", []string{"spot_check"}}, kyc.Approved, processor.OnlyIfInReviewFor, []string{"spot_check"}, kyc.InReview, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := processortest.NewMemStore()
			if tt.start != nil {
				c := kyc.Change{ReferenceNo: "r1", JourneyID: tt.start.journey, Provider: "v", Status: tt.start.status, Reasons: tt.start.reasons, Version: 1}
				if err := m.ApplyStatus(ctx, c, kyc.Profile{}, false, nil); err != nil {
					t.Fatal(err)
				}
			}
			c := change(tt.status, 10)
			res := resolverFunc(func(context.Context, inbox.Event) (processor.Outcome, error) {
				return processor.Outcome{Change: c, Guard: tt.guard, Undo: tt.undo}, nil
			})
			p := &pub{}
			svc := processor.New(map[string]processor.Resolver{"v": res}, processor.Deps{Journeys: m, Profiles: m, Outbox: m, Publisher: p, Events: m})
			e := event("e")
			e.ReceivedAt = time.Now()
			put(t, m, e)
			if err := svc.Process(ctx, e); err != nil {
				t.Fatalf("Process() = %v", err)
			}
			got, _, _ := m.Profile(ctx, "r1")
			if got.Status != tt.want {
				t.Errorf("status = %s, want %s", got.Status, tt.want)
			}
			if !tt.changed && tt.start != nil && (got.JourneyID != tt.start.journey || !slices.Equal(got.Reasons, tt.start.reasons)) {
				t.Errorf("profile = %+v, want journey %s and reasons %v kept", got, tt.start.journey, tt.start.reasons)
			}
			if n := len(p.sent); n != map[bool]int{true: 1, false: 0}[tt.changed] {
				t.Errorf("status events published = %d, want %d", n, map[bool]int{true: 1, false: 0}[tt.changed])
			}
		})
	}
}
