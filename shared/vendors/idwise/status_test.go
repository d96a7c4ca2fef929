package idwise

import (
	"reflect"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

func TestDerive(t *testing.T) {
	ev := func(name string, attrs ...string) inbox.Event {
		m := map[string]string{}
		for i := 0; i < len(attrs); i += 2 {
			m[attrs[i]] = attrs[i+1]
		}
		return inbox.Event{Name: name, Attributes: m}
	}
	received := time.Date(2026, 3, 1, 9, 30, 15, 500, time.UTC)
	evAt := func(at time.Time, name string, attrs ...string) inbox.Event {
		e := ev(name, attrs...)
		e.ReceivedAt = at
		return e
	}
	j := func(system, manual, final string) Journey {
		return Journey{SystemDecision: system, ManualDecision: manual, FinalDecision: final}
	}
	waitForReview := Policy{Complete: kyc.InReview}
	tests := []struct {
		name   string
		policy Policy
		event  inbox.Event
		j      Journey
		want   Derivation
	}{
		{"user steps: submission received", DefaultPolicy, ev(FinishedUserSteps), j("Complete", "", ""), Derivation{Status: kyc.PendingVerification, Guard: processor.UnlessDecided}},
		{"complete approves by default", DefaultPolicy, ev(FinishedJourney), j("Complete", "", "Complete"), Derivation{Status: kyc.Approved}},
		{"complete waits for review when configured", waitForReview, ev(FinishedJourney), j("Complete", "", "Complete"), Derivation{Status: kyc.InReview}},
		{"final Approved", DefaultPolicy, ev(FinishedJourney), j("Refer", "", "Approved"), Derivation{Status: kyc.Approved}},
		{"refer goes to review", DefaultPolicy, ev(FinishedJourney), j("Refer", "", "Refer"), Derivation{Status: kyc.InReview}},
		{"rejected", DefaultPolicy, ev(FinishedJourney), j("Rejected", "", "Rejected"), Derivation{Status: kyc.Rejected}},
		{"incomplete after finished journey", DefaultPolicy, ev(FinishedJourney), j("Incomplete", "", "Incomplete"), Derivation{Status: kyc.Incomplete}},
		{"no decision yet", DefaultPolicy, ev(FinishedJourney), j("", "", ""), Derivation{Status: kyc.PendingVerification}},
		{"system only, no final", DefaultPolicy, ev(FinishedJourney), j("Refer", "", ""), Derivation{Status: kyc.InReview}},
		{"manual approval wins over refer", DefaultPolicy, ev(ManuallyReviewed), j("Refer", "Approved", "Approved"), Derivation{Status: kyc.Approved}},
		{"manual rejection wins over complete", DefaultPolicy, ev(ManuallyReviewed), j("Complete", "Rejected", "Rejected"), Derivation{Status: kyc.Rejected}},
		{"manual approval even if policy waits", waitForReview, ev(ManuallyReviewed), j("Complete", "Approved", "Approved"), Derivation{Status: kyc.Approved}},
		// An unknown decision fails loudly (the resolver counts UnknownDecision and fails the
		// event, status unchanged) instead of becoming IN_REVIEW silently.
		{"unknown decision is not guessed", DefaultPolicy, ev(FinishedJourney), j("Pending Review", "", "Pending Review"), Derivation{Unknown: "Pending Review"}},
		{"unknown system decision without a final one", DefaultPolicy, ev(FinishedJourney), j("Escalated", "", ""), Derivation{Unknown: "Escalated"}},
		{"unknown manual value: the final decision decides", DefaultPolicy, ev(ManuallyReviewed), j("Refer", "Pending", "Refer"), Derivation{Status: kyc.InReview}},
		// Manual Review's new_decision takes Approved | Rejected | Resubmission Requested
		// (https://docs.idwise.com/docs/verification-update-required-webhook: "a reviewer
		// requested resubmission during manual review"); each of the three decisions may carry it.
		{"manual decision Resubmission Requested", DefaultPolicy, ev(ManuallyReviewed), j("Refer", "Resubmission Requested", "Resubmission Requested"),
			Derivation{Status: kyc.ResubmissionRequired, Merge: true}},
		{"final decision Resubmission Requested", DefaultPolicy, ev(FinishedJourney), j("Refer", "", "Resubmission Requested"),
			Derivation{Status: kyc.ResubmissionRequired, Merge: true}},
		{"manual Resubmission Requested wins over a complete system decision", DefaultPolicy, ev(FinishedJourney), j("Complete", "Resubmission Requested", "Complete"),
			Derivation{Status: kyc.ResubmissionRequired, Merge: true}},
		{"updated journey step update uses the result", DefaultPolicy, ev(UpdatedJourney, "action", "Step Update"), j("Complete", "", "Complete"), Derivation{Status: kyc.Approved}},
		{"updated journey manual review approved", DefaultPolicy, ev(UpdatedJourney, "action", "Manual Review", "reviewDecision", "Approved"), j("Refer", "Approved", "Approved"), Derivation{Status: kyc.Approved}},
		{"resubmission requested", DefaultPolicy,
			ev(UpdatedJourney, "action", "Manual Review", "reviewDecision", "Resubmission Requested", "resubmitSteps", "0,2", "reviewReasonCode", "DOC_BLURRY"),
			j("Refer", "", "Refer"),
			Derivation{Status: kyc.ResubmissionRequired, Reasons: []string{"step:0", "step:2", "reason:DOC_BLURRY"}, Request: true, Merge: true}},
		{"resubmission requested with per-step reason codes", DefaultPolicy,
			ev(UpdatedJourney, "action", "Manual Review", "reviewDecision", "Resubmission Requested", "resubmitSteps", "1", "resubmitReasonCodes", "SELFIE_DARK"),
			j("Refer", "", "Refer"),
			Derivation{Status: kyc.ResubmissionRequired, Reasons: []string{"step:1", "reason:SELFIE_DARK"}, Request: true, Merge: true}},
		{"resubmission on another action is not one", DefaultPolicy, ev(UpdatedJourney, "action", "AML Amend", "reviewDecision", "Resubmission Requested"), j("Refer", "", "Refer"), Derivation{Status: kyc.InReview}},
		{"aml now refers: review an approved profile", DefaultPolicy, ev(AMLMonitorUpdate, "systemDecision", "Refer", "amlVersion", "2"), j("Refer", "", "Refer"), Derivation{Status: kyc.InReview, Reasons: []string{"aml_monitor_update"}, Guard: processor.OnlyIfApproved}},
		// Back to clear: APPROVED again, but only for a profile an AML update put in review.
		{"aml back to complete restores what an AML update held", DefaultPolicy, ev(AMLMonitorUpdate, "systemDecision", "Complete", "previousSystemDecision", "Refer"), j("Complete", "", "Complete"),
			Derivation{Status: kyc.Approved, Guard: processor.OnlyIfInReviewFor, Undo: []string{"aml_monitor_update"}}},
		{"aml back to complete, configured to keep the review", Policy{AMLKeepReview: true}, ev(AMLMonitorUpdate, "systemDecision", "Complete", "previousSystemDecision", "Refer"), j("Complete", "", "Complete"), Derivation{}},
		{"aml incomplete: nothing", DefaultPolicy, ev(AMLMonitorUpdate, "systemDecision", "Incomplete"), j("Incomplete", "", "Incomplete"), Derivation{}},

		// Finished Spot Check: the fetched spot check result decides; only an approved profile moves.
		{"spot check refer: review an approved profile", DefaultPolicy, ev(FinishedSpotCheck, "systemDecision", "Complete"), j("Refer", "", ""),
			Derivation{Status: kyc.InReview, Reasons: []string{"spot_check"}, Guard: processor.OnlyIfApproved}},
		{"spot check rejected: review", DefaultPolicy, ev(FinishedSpotCheck), j("Rejected", "", ""),
			Derivation{Status: kyc.InReview, Reasons: []string{"spot_check"}, Guard: processor.OnlyIfApproved}},
		// Issue 20: a pass ends the review a failed re-check started (and nothing else).
		{"spot check complete: ends a spot check review", DefaultPolicy, ev(FinishedSpotCheck, "systemDecision", "Refer"), j("Complete", "", ""),
			Derivation{Status: kyc.Approved, Guard: processor.OnlyIfInReviewFor, Undo: []string{"spot_check", "ongoing_check"}}},
		{"ongoing check failed: in review", DefaultPolicy, ev(FinishedOngoingCheck, "systemDecision", "Refer"), j("Complete", "", "Complete"),
			Derivation{Status: kyc.InReview, Reasons: []string{"ongoing_check"}, Guard: processor.OnlyIfApproved}},
		{"ongoing check passed: ends a re-check review", DefaultPolicy, ev(FinishedOngoingCheck, "systemDecision", "Complete"), j("Complete", "", "Complete"),
			Derivation{Status: kyc.Approved, Guard: processor.OnlyIfInReviewFor, Undo: []string{"spot_check", "ongoing_check"}}},
		{"ongoing check without a decision: nothing", DefaultPolicy, ev(FinishedOngoingCheck), j("Complete", "", "Complete"), Derivation{}},
		{"spot check incomplete: nothing", DefaultPolicy, ev(FinishedSpotCheck), j("Incomplete", "", ""), Derivation{}},
		{"spot check without a result decision: the webhook's", DefaultPolicy, ev(FinishedSpotCheck, "systemDecision", "Refer"), j("", "", ""),
			Derivation{Status: kyc.InReview, Reasons: []string{"spot_check"}, Guard: processor.OnlyIfApproved}},
		{"spot checks configured off", Policy{SpotCheckReview: []string{}}, ev(FinishedSpotCheck), j("Refer", "", ""), Derivation{}},
		{"spot check: only Rejected configured", Policy{SpotCheckReview: []string{"Rejected"}}, ev(FinishedSpotCheck), j("Refer", "", ""), Derivation{}},

		// Verification Update Required: whatever the trigger.
		{"update required after review", DefaultPolicy,
			ev(VerificationUpdateRequired, "trigger", "Manual Review", "requiredSteps", `[{"stepId":"0","reasonCode":"DOC_BLURRY"},{"stepId":"2","reasonCode":"DOC_BLURRY"}]`),
			j("Refer", "", "Refer"), Derivation{Status: kyc.ResubmissionRequired, Reasons: []string{"step:0", "step:2", "reason:DOC_BLURRY"}, Request: true, Merge: true}},
		// KYC renewal, two stages (https://docs.idwise.com/docs/kyc-renewal: the Verification
		// Update Required is sent a grace period before the deadline;
		// https://docs.idwise.com/docs/kyc-renewal-deadline-exceeded-webhook at it).
		{"KYC renewal in grace: stays approved, due at the grace end", DefaultPolicy,
			evAt(received, VerificationUpdateRequired, "trigger", "KYC Renewal", "requiredSteps", `[{"stepId":"0","reasonCode":"DOCUMENT_EXPIRING"}]`),
			j("Complete", "", "Complete"), Derivation{Status: kyc.Approved, Reasons: []string{"renewal_due", "step:0"},
				RenewalDueBy: received.Add(14 * 24 * time.Hour).Truncate(time.Second), Guard: processor.OnlyIfApproved, Request: true}},
		{"KYC renewal in grace: the earliest step deadline", DefaultPolicy,
			evAt(received, VerificationUpdateRequired, "trigger", "KYC Renewal", "requiredSteps",
				`[{"stepId":"0","renewalDeadline":"2025-10-01T00:00:00Z"},{"stepId":"1","renewalDeadline":"2025-09-15T00:00:00Z"}]`),
			j("Complete", "", "Complete"), Derivation{Status: kyc.Approved, Reasons: []string{"renewal_due", "step:0", "step:1"},
				RenewalDueBy: time.Date(2025, 9, 15, 0, 0, 0, 0, time.UTC), Guard: processor.OnlyIfApproved, Request: true}},
		{"KYC renewal in grace: configured grace days", Policy{RenewalGracePeriod: 3 * 24 * time.Hour},
			evAt(received, VerificationUpdateRequired, "trigger", "KYC Renewal", "requiredSteps", `[{"stepId":"0"}]`),
			j("Complete", "", "Complete"), Derivation{Status: kyc.Approved, Reasons: []string{"renewal_due", "step:0"},
				RenewalDueBy: received.Add(3 * 24 * time.Hour).Truncate(time.Second), Guard: processor.OnlyIfApproved, Request: true}},
		{"KYC renewal, strict policy: resubmission at once", Policy{Renewal: RenewalStrict},
			ev(VerificationUpdateRequired, "trigger", "KYC Renewal", "requiredSteps", `[{"stepId":"0","reasonCode":"DOCUMENT_EXPIRING"}]`),
			j("Complete", "", "Complete"), Derivation{Status: kyc.ResubmissionRequired, Reasons: []string{"step:0", "reason:DOCUMENT_EXPIRING"}, Request: true}},
		{"update required, unknown trigger, no steps", DefaultPolicy, ev(VerificationUpdateRequired, "trigger", "Something New"),
			j("Complete", "", "Complete"), Derivation{Status: kyc.ResubmissionRequired, Request: true, Merge: true}},
		{"renewal deadline exceeded", DefaultPolicy,
			ev(KYCRenewalDeadlineExceeded, "requiredSteps", `[{"stepId":"0","renewalDeadline":"2025-09-15T00:00:00Z"},{"stepId":"1","renewalDeadline":"2025-09-15T00:00:00Z"}]`),
			j("Complete", "", "Complete"), Derivation{Status: kyc.ResubmissionRequired, Reasons: []string{"renewal_deadline_exceeded", "step:0", "step:1"}, Request: true}},
		{"renewal deadline exceeded, strict policy alike", Policy{Renewal: RenewalStrict},
			ev(KYCRenewalDeadlineExceeded, "requiredSteps", `[{"stepId":"0"}]`),
			j("Complete", "", "Complete"), Derivation{Status: kyc.ResubmissionRequired, Reasons: []string{"renewal_deadline_exceeded", "step:0"}, Request: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.policy.Derive(tt.event, tt.j)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Derive() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAllowList(t *testing.T) {
	fields := map[string]string{
		"documents.0.document_type":                            "Passport",
		"documents.0.extracted_fields.Full Name.value":         "A B",
		"documents.0.extracted_fields.Full Name.read_accuracy": "High",
		"selfie.is_live":       "true",
		"applicant.birth_date": "1990-01-01",
	}
	got := allow(fields, DefaultDetailFields)
	want := map[string]string{
		"documents.0.document_type":                    "Passport",
		"documents.0.extracted_fields.Full Name.value": "A B",
		"selfie.is_live":                               "true",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("allow() = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"a.*.c", "a.b.c", true}, {"a.*.c", "a.b.d", false}, {"*", "x", true}, {"a.b", "a.b", true},
		{"a.b", "a.bc", false}, {"*.value", "x.y.value", true}, {"a*", "b", false},
	} {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestAnswered(t *testing.T) {
	req := inbox.Event{Name: UpdatedJourney, Attributes: map[string]string{"action": "Manual Review", "reviewDecision": "Resubmission Requested"}}
	upd := inbox.Event{Name: UpdatedJourney, Attributes: map[string]string{"action": "Step Update"}}
	fj := inbox.Event{Name: FinishedJourney}
	tests := []struct {
		name    string
		history []inbox.Event
		want    bool
	}{
		{"no request", []inbox.Event{fj, upd}, false},
		{"request not answered", []inbox.Event{fj, req}, false},
		{"request answered, any order", []inbox.Event{upd, fj, req}, true},
		{"second request after one update", []inbox.Event{req, upd, req}, false},
		{"two rounds answered", []inbox.Event{req, upd, req, upd}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Answered(tt.history); got != tt.want {
				t.Errorf("Answered() = %v, want %v", got, tt.want)
			}
		})
	}
}
