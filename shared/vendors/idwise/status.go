package idwise

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// Decision values IDWise uses in system, manual and final decisions.
const (
	DecisionComplete   = "Complete"
	DecisionIncomplete = "Incomplete"
	DecisionRefer      = "Refer"
	DecisionApproved   = "Approved"
	DecisionRejected   = "Rejected"

	ActionManualReview        = "Manual Review"
	ActionStepUpdate          = "Step Update"
	ReviewResubmissionRequest = "Resubmission Requested"
)

// Policy holds the customer's choices in the mapping from IDWise decisions to statuses.
type Policy struct {
	// Complete is the status for a system decision of Complete with no manual review:
	// APPROVED (default) or IN_REVIEW for customers who want a person to look first.
	Complete kyc.Status
	// SpotCheckReview lists the spot check decisions that send an APPROVED profile to
	// IN_REVIEW (a selfie that did not match the onboarding journey's). nil means the
	// default, Refer and Rejected; an empty non-nil list means spot checks never move a
	// profile (timeline only).
	SpotCheckReview []string
}

// DefaultPolicy is the design's default mapping.
var DefaultPolicy = Policy{Complete: kyc.Approved}

// DefaultSpotCheckReview are the spot check decisions that put an approved profile in review.
var DefaultSpotCheckReview = []string{DecisionRefer, DecisionRejected}

// Reasons of the statuses this package derives besides the review's own.
const (
	ReasonSpotCheck               = "spot_check"                // a failed spot check put an approved profile in review
	ReasonOngoingCheck            = "ongoing_check"             // a failed ongoing check (Finished Ongoing Check) did
	ReasonRenewalDeadlineExceeded = "renewal_deadline_exceeded" // KYC Renewal Deadline Exceeded
)

// Derivation is the status an event leads to; Status is empty when it changes nothing.
type Derivation struct {
	Status  kyc.Status
	Reasons []string
	Guard   processor.Guard
	Undo    []string // the review reasons an OnlyIfInReviewFor change ends
}

// Derive is THE mapping from an IDWise event and the journey result fetched for it to a
// profile status. The decisions come from the journey result (the webhook is only a
// trigger); the review details of Updated Journey come from the event.
func (p Policy) Derive(e inbox.Event, j Journey) Derivation {
	switch e.Name {
	case FinishedUserSteps:
		// The system decision is not final yet: the submission was received.
		return Derivation{Status: kyc.PendingVerification, Guard: processor.UnlessDecided}
	case UpdatedJourney:
		if isResubmissionRequest(e) {
			return Derivation{Status: kyc.ResubmissionRequired, Reasons: resubmitReasons(e)}
		}
	case AMLMonitorUpdate:
		if firstNonEmpty(e.Attributes["systemDecision"], j.SystemDecision) == DecisionRefer {
			return Derivation{Status: kyc.InReview, Reasons: []string{"aml_monitor_update"}, Guard: processor.OnlyIfApproved}
		}
		return Derivation{}
	case FinishedSpotCheck:
		return p.spotCheck(firstNonEmpty(j.FinalDecision, j.SystemDecision, e.Attributes["finalDecision"], e.Attributes["systemDecision"]), ReasonSpotCheck)
	case FinishedOngoingCheck:
		// The ongoing check's own decision is only in the webhook (no result endpoint is
		// documented for it); Get Journey Result of its journeyId, the onboarding journey,
		// says whose it is. docs.idwise.com/docs/ongoing-verification-webhook-specification
		return p.spotCheck(firstNonEmpty(e.Attributes["finalDecision"], e.Attributes["systemDecision"]), ReasonOngoingCheck)
	case VerificationUpdateRequired:
		// Whatever the trigger (a reviewer's request, a KYC renewal): the user must act.
		return Derivation{Status: kyc.ResubmissionRequired, Reasons: requiredStepReasons(e)}
	case KYCRenewalDeadlineExceeded:
		return Derivation{Status: kyc.ResubmissionRequired,
			Reasons: append([]string{ReasonRenewalDeadlineExceeded}, requiredStepReasons(e)...)}
	}
	return Derivation{Status: p.decisionStatus(j.SystemDecision, j.ManualDecision, j.FinalDecision)}
}

// spotCheck maps a finished re-check (spot check, ongoing check) of an onboarded user by
// its decision (the fetched spot check result's, the webhook's when the result has none):
// one in SpotCheckReview puts a profile approved on its journey in review with reason;
// a pass (Complete, Approved) ends such a review (APPROVED again, OnlyIfInReviewFor) and
// otherwise changes nothing; anything else changes nothing. A re-check never approves anyone who was not approved before it failed.
func (p Policy) spotCheck(decision, reason string) Derivation {
	review := p.SpotCheckReview
	if review == nil {
		review = DefaultSpotCheckReview
	}
	for _, d := range review {
		if d != "" && strings.EqualFold(d, decision) {
			return Derivation{Status: kyc.InReview, Reasons: []string{reason}, Guard: processor.OnlyIfApproved}
		}
	}
	if len(review) == 0 || !strings.EqualFold(decision, DecisionComplete) && !strings.EqualFold(decision, DecisionApproved) {
		return Derivation{} // re-checks configured off, or not a pass (Incomplete, none)
	}
	return Derivation{Status: kyc.Approved, Guard: processor.OnlyIfInReviewFor, Undo: []string{ReasonSpotCheck, ReasonOngoingCheck}}
}

// RequiredSteps decodes the steps a Verification Update Required or KYC Renewal Deadline
// Exceeded event names (InboxEvent keeps them as JSON in the requiredSteps attribute).
func RequiredSteps(e inbox.Event) []RequiredStep {
	var out []RequiredStep
	if raw := e.Attributes["requiredSteps"]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &out)
	}
	return out
}

// requiredStepReasons lists what the user must redo, in resubmitReasons' format:
// "step:<id>" per step, then "reason:<code>" per distinct reason code.
func requiredStepReasons(e inbox.Event) []string {
	var steps, codes []string
	for _, st := range RequiredSteps(e) {
		steps = append(steps, "step:"+st.StepID)
		if c := "reason:" + st.ReasonCode; st.ReasonCode != "" && !slices.Contains(codes, c) {
			codes = append(codes, c)
		}
	}
	return append(steps, codes...)
}

// decisionStatus maps the three decisions of a journey result.
func (p Policy) decisionStatus(system, manual, final string) kyc.Status {
	switch manual { // a manual review, when there was one, is final
	case DecisionApproved:
		return kyc.Approved
	case DecisionRejected:
		return kyc.Rejected
	}
	switch firstNonEmpty(final, system) {
	case DecisionApproved:
		return kyc.Approved
	case DecisionRejected:
		return kyc.Rejected
	case DecisionComplete:
		if p.Complete == "" {
			return kyc.Approved
		}
		return p.Complete
	case DecisionRefer:
		return kyc.InReview
	case DecisionIncomplete:
		return kyc.Incomplete
	case "":
		return kyc.PendingVerification
	default:
		return kyc.InReview // a decision this version does not know: let a person look
	}
}

// isResubmissionRequest reports whether e is a reviewer asking the user to redo steps.
func isResubmissionRequest(e inbox.Event) bool {
	return e.Name == UpdatedJourney && e.Attributes["action"] == ActionManualReview &&
		e.Attributes["reviewDecision"] == ReviewResubmissionRequest
}

// isStepUpdate reports whether e says the user redid a step after the journey finished.
func isStepUpdate(e inbox.Event) bool {
	return e.Name == UpdatedJourney && e.Attributes["action"] == ActionStepUpdate
}

// Answered reports whether every resubmission request of a journey has been answered by
// a step update, judging from all the journey's events received so far (in any order).
// A late resubmission request must then not send the user back to redo steps already
// redone: the journey result decides instead.
func Answered(history []inbox.Event) bool {
	requests, updates := 0, 0
	for _, e := range history {
		switch {
		case isResubmissionRequest(e):
			requests++
		case isStepUpdate(e):
			updates++
		}
	}
	return requests > 0 && updates >= requests
}

// resubmitReasons lists what the user must redo: "step:<id>" per step to resubmit, then
// "reason:<code>" for the review's reason code.
func resubmitReasons(e inbox.Event) []string {
	var out []string
	for _, s := range strings.Split(e.Attributes["resubmitSteps"], ",") {
		if s != "" {
			out = append(out, "step:"+s)
		}
	}
	if c := e.Attributes["reviewReasonCode"]; c != "" {
		out = append(out, "reason:"+c)
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func amlVersion(e inbox.Event) int64 {
	v, _ := strconv.ParseInt(e.Attributes["amlVersion"], 10, 64)
	return v
}
