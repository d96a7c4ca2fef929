package idwise

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

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

	// TriggerKYCRenewal is Verification Update Required's trigger when a KYC renewal is due
	// (https://docs.idwise.com/docs/verification-update-required-webhook).
	TriggerKYCRenewal = "KYC Renewal"
)

// KYC renewal policies (template RenewalPolicy, env RENEWAL_POLICY).
const (
	// RenewalGrace (default, the vendor's intent): the first stage keeps an approved user
	// APPROVED with renewalDueBy; only KYC Renewal Deadline Exceeded asks for resubmission.
	RenewalGrace = "grace"
	// RenewalStrict: the first stage already moves the user to RESUBMISSION_REQUIRED.
	RenewalStrict = "strict"
)

// DefaultRenewalGrace is when a renewal is due, after its Verification Update Required,
// when none of its steps gives a deadline (RENEWAL_GRACE_DAYS). IDWise's own grace period
// is configured per step in its console (https://docs.idwise.com/docs/kyc-renewal).
const DefaultRenewalGrace = 14 * 24 * time.Hour

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

	// Renewal is the KYC renewal policy: RenewalGrace ("" means it) or RenewalStrict.
	Renewal string
	// RenewalGracePeriod is the due date of a renewal whose steps give no deadline, counted
	// from the request's reception; 0 means DefaultRenewalGrace.
	RenewalGracePeriod time.Duration
	// AMLKeepReview keeps a profile an AML update put in review there when a later AML
	// update is clear again; false (default) restores APPROVED.
	AMLKeepReview bool
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
	ReasonRenewalDue              = "renewal_due"               // a KYC renewal is due; the user stays approved
	ReasonAMLMonitorUpdate        = "aml_monitor_update"        // an AML update put an approved profile in review
)

// Derivation is the status an event leads to; Status is empty when it changes nothing.
type Derivation struct {
	Status  kyc.Status
	Reasons []string
	Guard   processor.Guard
	Undo    []string // the review reasons an OnlyIfInReviewFor change ends

	// RenewalDueBy is the due date of a KYC renewal in grace (status APPROVED).
	RenewalDueBy time.Time
	// Request marks an event asking the user to redo steps: the resolver records its
	// reception on the journey, and a later result answers it only when it is newer.
	Request bool
	// Merge: the reasons are those of every open resubmission request of the journey
	// (the resolver gathers them from the journey's events, in whatever order they came).
	Merge bool
	// Unknown is a decision value this version does not know: the event fails (metric
	// UnknownDecision, alarmed) and no status changes.
	Unknown string
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
			return Derivation{Status: kyc.ResubmissionRequired, Reasons: resubmitReasons(e), Request: true, Merge: true}
		}
	case AMLMonitorUpdate:
		switch firstNonEmpty(e.Attributes["systemDecision"], j.SystemDecision) {
		case DecisionRefer:
			return Derivation{Status: kyc.InReview, Reasons: []string{ReasonAMLMonitorUpdate}, Guard: processor.OnlyIfApproved}
		case DecisionComplete, DecisionApproved:
			if !p.AMLKeepReview {
				// Back to clear: undo what an earlier AML update did, and only that.
				return Derivation{Status: kyc.Approved, Guard: processor.OnlyIfInReviewFor, Undo: []string{ReasonAMLMonitorUpdate}}
			}
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
		if e.Attributes["trigger"] == TriggerKYCRenewal {
			return p.renewal(e)
		}
		// A reviewer's request (or a trigger this version does not know): the user must act.
		return Derivation{Status: kyc.ResubmissionRequired, Reasons: requiredStepReasons(e), Request: true, Merge: true}
	case KYCRenewalDeadlineExceeded:
		return Derivation{Status: kyc.ResubmissionRequired,
			Reasons: append([]string{ReasonRenewalDeadlineExceeded}, requiredStepReasons(e)...), Request: true}
	}
	return p.ResultDerivation(j)
}

// ResultDerivation maps the three decisions of a journey result alone.
func (p Policy) ResultDerivation(j Journey) Derivation {
	st, ok := p.decisionStatus(j.SystemDecision, j.ManualDecision, j.FinalDecision)
	if !ok {
		return Derivation{Unknown: firstNonEmpty(j.FinalDecision, j.SystemDecision)}
	}
	return Derivation{Status: st, Merge: st == kyc.ResubmissionRequired}
}

// renewal maps Verification Update Required with trigger KYC Renewal: in grace (the
// default) an approved user stays APPROVED with the due date, the earliest deadline of the
// steps or the grace end; strict asks for the resubmission at once.
func (p Policy) renewal(e inbox.Event) Derivation {
	if p.Renewal == RenewalStrict {
		return Derivation{Status: kyc.ResubmissionRequired, Reasons: requiredStepReasons(e), Request: true}
	}
	reasons := []string{ReasonRenewalDue}
	var due time.Time
	for _, st := range RequiredSteps(e) {
		reasons = append(reasons, "step:"+st.StepID)
		if t, ok := parseTime(st.RenewalDeadline); ok && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	if due.IsZero() {
		grace := p.RenewalGracePeriod
		if grace <= 0 {
			grace = DefaultRenewalGrace
		}
		due = e.ReceivedAt.Add(grace)
	}
	return Derivation{Status: kyc.Approved, Reasons: reasons, RenewalDueBy: due.UTC().Truncate(time.Second),
		Guard: processor.OnlyIfApproved, Request: true}
}

// parseTime reads an IDWise time: RFC 3339, or ISO 8601 without a zone (UTC), or a date.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
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

// decisionStatus maps the three decisions of a journey result; ok is false for a decision
// this version does not know (the event then fails loudly instead of guessing a status).
// The manual values are those of IDWise's Manual Review (new_decision: Approved, Rejected,
// Resubmission Requested).
func (p Policy) decisionStatus(system, manual, final string) (kyc.Status, bool) {
	switch manual { // a manual review, when there was one, is final
	case DecisionApproved:
		return kyc.Approved, true
	case DecisionRejected:
		return kyc.Rejected, true
	case ReviewResubmissionRequest:
		return kyc.ResubmissionRequired, true
	}
	switch firstNonEmpty(final, system) {
	case DecisionApproved:
		return kyc.Approved, true
	case DecisionRejected:
		return kyc.Rejected, true
	case ReviewResubmissionRequest:
		return kyc.ResubmissionRequired, true
	case DecisionComplete:
		if p.Complete == "" {
			return kyc.Approved, true
		}
		return p.Complete, true
	case DecisionRefer:
		return kyc.InReview, true
	case DecisionIncomplete:
		return kyc.Incomplete, true
	case "":
		return kyc.PendingVerification, true
	}
	return "", false
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
// "reason:<code>" for the review's reason code and each step's.
func resubmitReasons(e inbox.Event) []string {
	var out, codes []string
	for _, s := range strings.Split(e.Attributes["resubmitSteps"], ",") {
		if s != "" {
			out = append(out, "step:"+s)
		}
	}
	for _, c := range append([]string{e.Attributes["reviewReasonCode"]}, strings.Split(e.Attributes["resubmitReasonCodes"], ",")...) {
		if c != "" && !slices.Contains(codes, "reason:"+c) {
			codes = append(codes, "reason:"+c)
		}
	}
	return append(out, codes...)
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
