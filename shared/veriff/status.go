package veriff

import (
	"strconv"
	"strings"

	"github.com/kycbackend/kyc/shared/kyc"
	"github.com/kycbackend/kyc/shared/processor"
)

// Policy holds the mapping from Veriff decision codes to profile statuses.
type Policy struct {
	// Decisions maps verification.code to a status. A code missing here changes nothing
	// (the event stays on the timeline).
	Decisions map[int]kyc.Status
}

// DefaultPolicy is the design's mapping.
var DefaultPolicy = Policy{Decisions: map[int]kyc.Status{
	CodeApproved:              kyc.Approved,
	CodeDeclined:              kyc.Rejected,
	CodeResubmissionRequested: kyc.ResubmissionRequired,
	CodeExpired:               kyc.Abandoned, // expired or abandoned
	CodeReview:                kyc.InReview,
}}

// Session is what the product has recorded of one Veriff session (in the journey's
// Decisions): its newest decision, whether an attempt was submitted, and the newest status
// change asked for. Ids only, no personal data.
type Session struct {
	DecisionCode     int
	DecisionStatus   string
	DecisionAttempt  string
	DecisionTime     string
	DecisionVersion  int64 // kyc.Version of the decision (its decisionTime)
	ReasonCode       string
	Reason           string
	Submitted        bool
	SubmittedAttempt string
	// The newest status change asked for: its attempt, version and event id.
	ChangeAttempt string
	ChangeVersion int64
	ChangeEventID string
}

// Decided reports whether Veriff decided the session (any decision code).
func (s Session) Decided() bool { return s.DecisionCode != 0 }

// Keys of Session in processor.Journey.Decisions.
const (
	keyDecisionCode     = "decisionCode"
	keyDecisionStatus   = "decisionStatus"
	keyDecisionAttempt  = "decisionAttemptId"
	keyDecisionTime     = "decisionTime"
	keyDecisionVersion  = "decisionVersion"
	keyReasonCode       = "reasonCode"
	keyReason           = "reason"
	keySubmitted        = "submitted"
	keySubmittedAttempt = "submittedAttemptId"
	keyChangeAttempt    = "changeAttemptId"
	keyChangeVersion    = "changeVersion"
	keyChangeEventID    = "changeEventId"
)

// SessionOf reads a Session from a stored journey's decisions.
func SessionOf(decisions map[string]string) Session {
	d := decisions
	code, _ := strconv.Atoi(d[keyDecisionCode])
	dv, _ := strconv.ParseInt(d[keyDecisionVersion], 10, 64)
	cv, _ := strconv.ParseInt(d[keyChangeVersion], 10, 64)
	return Session{
		DecisionCode: code, DecisionStatus: d[keyDecisionStatus], DecisionAttempt: d[keyDecisionAttempt],
		DecisionTime: d[keyDecisionTime], DecisionVersion: dv, ReasonCode: d[keyReasonCode], Reason: d[keyReason],
		Submitted: d[keySubmitted] == "true", SubmittedAttempt: d[keySubmittedAttempt],
		ChangeAttempt: d[keyChangeAttempt], ChangeVersion: cv, ChangeEventID: d[keyChangeEventID],
	}
}

// Decisions is s as journey decisions (empty values left out).
func (s Session) Decisions() map[string]string {
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	if s.DecisionCode != 0 {
		put(keyDecisionCode, strconv.Itoa(s.DecisionCode))
		put(keyDecisionVersion, strconv.FormatInt(s.DecisionVersion, 10))
	}
	put(keyDecisionStatus, s.DecisionStatus)
	put(keyDecisionAttempt, s.DecisionAttempt)
	put(keyDecisionTime, s.DecisionTime)
	put(keyReasonCode, s.ReasonCode)
	put(keyReason, s.Reason)
	if s.Submitted {
		m[keySubmitted] = "true"
	}
	put(keySubmittedAttempt, s.SubmittedAttempt)
	if s.ChangeVersion != 0 {
		put(keyChangeAttempt, s.ChangeAttempt)
		put(keyChangeVersion, strconv.FormatInt(s.ChangeVersion, 10))
		put(keyChangeEventID, s.ChangeEventID)
	}
	return m
}

// Derivation is the status a webhook leads to; Status is empty when it changes nothing
// (the event only goes to the timeline, with Note).
type Derivation struct {
	Status  kyc.Status
	Reasons []string
	Guard   processor.Guard
	Note    string
}

// Derive is THE mapping from a Veriff webhook, given what is recorded of its session, to
// a profile status:
//
//   - decisions: by code (Policy.Decisions); resubmission requested carries
//     "reason:<reason>" and "reasonCode:<code>";
//   - 7002 submitted: PENDING_VERIFICATION, unless the session is already decided. After
//     a resubmission request, a submission of another attempt is the resubmission and
//     moves the profile back to PENDING_VERIFICATION;
//   - flow_cancelled (7007-7010): ABANDONED with "reason:<context.reason>" and
//     "state:<context.state>", only while the session has no decision and no submitted
//     attempt (a submitted session is in Veriff's hands: its decision will come);
//   - 7001 started, waiting_complete, flow_finished, unknown actions: timeline only.
//
// Status changes that must never undo a decision carry the UnlessDecided guard, so they
// also hold when this record of the session is behind the profile.
func (p Policy) Derive(w Webhook, s Session) Derivation {
	if w.Kind == KindDecision {
		st, ok := p.Decisions[w.Code]
		if !ok {
			return Derivation{Note: "decision code without a status mapping"}
		}
		d := Derivation{Status: st}
		if w.Code == CodeResubmissionRequested {
			d.Reasons = prefixed("reason:", w.Reason, "reasonCode:", w.ReasonCode)
		}
		return d
	}
	switch {
	case w.Code == CodeStarted:
		return Derivation{Note: "session started"}
	case w.Code == CodeSubmitted:
		if !s.Decided() {
			return Derivation{Status: kyc.PendingVerification, Guard: processor.UnlessDecided}
		}
		if s.DecisionCode == CodeResubmissionRequested && w.AttemptID != "" && s.DecisionAttempt != "" && w.AttemptID != s.DecisionAttempt {
			// The resubmission asked for: it must replace RESUBMISSION_REQUIRED, which
			// UnlessDecided would keep.
			return Derivation{Status: kyc.PendingVerification, Guard: processor.Always, Note: "resubmitted"}
		}
		return Derivation{Note: "submission of a decided attempt, status kept"}
	case IsFlowEvent(w.Code):
		switch w.Action {
		case ActionFlowCancelled:
			switch {
			case s.Decided():
				return Derivation{Note: "flow cancelled after the decision, status kept"}
			case s.Submitted:
				return Derivation{Note: "flow cancelled after the submission, status kept"}
			}
			return Derivation{Status: kyc.Abandoned, Reasons: prefixed("reason:", w.Reason, "state:", w.State), Guard: processor.UnlessDecided}
		case ActionWaitingComplete, ActionFlowFinished:
			return Derivation{Note: "flow event"}
		}
		return Derivation{Note: "flow event with an unknown action"}
	}
	return Derivation{Note: "event code without a rule"}
}

// prefixed returns prefix+value for each non-empty value, in order.
func prefixed(pairs ...string) []string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := strings.TrimSpace(pairs[i+1]); v != "" {
			out = append(out, pairs[i]+v)
		}
	}
	return out
}
