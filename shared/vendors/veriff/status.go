package veriff

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// Policy holds the mapping from Veriff decisions to profile statuses.
type Policy struct {
	// Decisions maps verification.code (and the code a Full Auto decision value stands
	// for) to a status. A code missing here changes nothing (the event stays on the
	// timeline).
	Decisions map[int]kyc.Status
	// ScoreThreshold decides a Full Auto webhook that carries no decision value: a
	// decisionScore at or above it is APPROVED, below it IN_REVIEW. 0 (not configured):
	// such a webhook is IN_REVIEW, a person decides (VERIFF_DECISION_SCORE_THRESHOLD).
	ScoreThreshold float64
	// WatchlistMatch is the status a watchlist possible_match moves an APPROVED profile to
	// (IN_REVIEW by default); empty: timeline only (VERIFF_WATCHLIST_MATCH_STATUS=NONE).
	WatchlistMatch kyc.Status
}

// DefaultPolicy is the design's mapping.
var DefaultPolicy = Policy{Decisions: map[int]kyc.Status{
	CodeApproved:              kyc.Approved,
	CodeDeclined:              kyc.Rejected,
	CodeResubmissionRequested: kyc.ResubmissionRequired,
	CodeExpired:               kyc.Abandoned, // expired or abandoned
	CodeReview:                kyc.InReview,
}, WatchlistMatch: kyc.InReview}

// Reasons the app sees (GET /v1/profiles, the status event): a stable list, never
// Veriff's free text.
const (
	// ReasonCodePrefix + Veriff's numeric reasonCode (its decision and granular reason
	// code tables), for declined and resubmission-requested decisions.
	ReasonCodePrefix = "veriff:"
	// ReasonCodeOther replaces a reasonCode that is not a number.
	ReasonCodeOther = "veriff:other"
	// ReasonWatchlistMatch: a watchlist screening found a possible match.
	ReasonWatchlistMatch = "watchlist:possible_match"
	// ReasonScoreBelow: a Full Auto webhook without a decision scored below the threshold.
	ReasonScoreBelow = "decision_score:below_threshold"
	// ReasonNoDecision: a Full Auto webhook with neither a decision nor a usable score.
	ReasonNoDecision = "decision:missing"
	// Flow events: "reason:<context.reason>" and "state:<context.state>", a plain
	// identifier as Veriff sends them, else "other".
	flowReasonPrefix = "reason:"
	flowStatePrefix  = "state:"
)

// ReasonCode is the stable reason of a Veriff reasonCode ("veriff:102"); empty for none.
func ReasonCode(code string) string {
	code = strings.TrimSpace(code)
	if code == "" {
		return ""
	}
	if _, err := strconv.Atoi(code); err != nil || len(code) > 8 {
		return ReasonCodeOther
	}
	return ReasonCodePrefix + code
}

// ParseWatchlistMatch reads VERIFF_WATCHLIST_MATCH_STATUS: IN_REVIEW (default, also
// when empty), REJECTED, or NONE (timeline only).
func ParseWatchlistMatch(s string) (kyc.Status, error) {
	switch v := strings.ToUpper(strings.TrimSpace(s)); v {
	case "", string(kyc.InReview):
		return kyc.InReview, nil
	case string(kyc.Rejected):
		return kyc.Rejected, nil
	case "NONE":
		return "", nil
	}
	return "", fmt.Errorf("watchlist match status %q: want IN_REVIEW, REJECTED or NONE", s)
}

// ParseScoreThreshold reads VERIFF_DECISION_SCORE_THRESHOLD: empty (not configured), or
// a number in (0, 1], Veriff's decisionScore scale.
func ParseScoreThreshold(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 1 {
		return 0, fmt.Errorf("decision score threshold %q: want a number in (0, 1]", s)
	}
	return f, nil
}

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
	// The newest watchlist screening: match status, check type and the number of hits.
	WatchlistMatch string
	WatchlistCheck string
	WatchlistHits  int
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
	keyWatchlistMatch   = "watchlistMatchStatus"
	keyWatchlistCheck   = "watchlistCheckType"
	keyWatchlistHits    = "watchlistHits"
)

// SessionOf reads a Session from a stored journey's decisions.
func SessionOf(decisions map[string]string) Session {
	d := decisions
	code, _ := strconv.Atoi(d[keyDecisionCode])
	dv, _ := strconv.ParseInt(d[keyDecisionVersion], 10, 64)
	cv, _ := strconv.ParseInt(d[keyChangeVersion], 10, 64)
	hits, _ := strconv.Atoi(d[keyWatchlistHits])
	return Session{
		WatchlistMatch: d[keyWatchlistMatch], WatchlistCheck: d[keyWatchlistCheck], WatchlistHits: hits,
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
	if s.WatchlistMatch != "" || s.WatchlistCheck != "" {
		put(keyWatchlistMatch, s.WatchlistMatch)
		put(keyWatchlistCheck, s.WatchlistCheck)
		m[keyWatchlistHits] = strconv.Itoa(s.WatchlistHits)
	}
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
//   - decisions: by code (Policy.Decisions); declined and resubmission requested carry
//     "veriff:<reasonCode>" (ReasonCode), never Veriff's free-text reason;
//   - Full Auto: its decision value, through the same codes; without one, the
//     decisionScore against Policy.ScoreThreshold (IN_REVIEW when none is configured);
//   - watchlist screening: possible_match moves an APPROVED profile to
//     Policy.WatchlistMatch (guard OnlyIfApproved); no_match and others: timeline only;
//   - user-defined status (set in the Veriff portal): timeline only;
//   - 7002 submitted: PENDING_VERIFICATION, unless the session is already decided. After
//     a resubmission request, a submission of another attempt is the resubmission and
//     moves the profile back to PENDING_VERIFICATION;
//   - flow_cancelled (7007-7010): ABANDONED with "reason:<context.reason>" and
//     "state:<context.state>", only while the session has no decision and no submitted
//     attempt (a submitted session is in Veriff's hands: its decision will come); with
//     reason mobile_handover_screen_shown it is the desktop-to-phone handover (the flow
//     goes on on the phone): timeline only;
//   - 7001 started, waiting_complete, flow_finished, unknown actions: timeline only;
//   - anything from a proof-of-address integration: timeline only (its decision is the
//     proofOfAddress check beside the status, Resolver).
//
// Status changes that must never undo a decision carry the UnlessDecided guard, so they
// also hold when this record of the session is behind the profile.
func (p Policy) Derive(w Webhook, s Session) Derivation {
	if w.ProofOfAddress() {
		// The proof-of-address integration's deliveries (its decisions arrive on the same
		// decision webhook with the same codes) never move the identity status: the
		// resolver records its decision as the proofOfAddress check.
		return Derivation{Note: "proof of address, identity status kept"}
	}
	switch w.Kind {
	case KindDecision:
		return p.deriveDecision(w)
	case KindFullAuto:
		return p.deriveFullAuto(w)
	case KindWatchlist:
		return p.deriveWatchlist(w)
	case KindUserDefined:
		return Derivation{Note: "user-defined status set in the Veriff portal, status kept"}
	case KindUnknown:
		return Derivation{Note: "webhook of an unknown kind"}
	}
	return deriveEvent(w, s)
}

// deriveDecision is the status of a decision webhook (its reason for a resubmission request
// or a decline).
func (p Policy) deriveDecision(w Webhook) Derivation {
	st, ok := p.Decisions[w.Code]
	if !ok {
		return Derivation{Note: "decision code without a status mapping"}
	}
	d := Derivation{Status: st}
	if w.Code == CodeResubmissionRequested || w.Code == CodeDeclined {
		if r := ReasonCode(w.ReasonCode); r != "" {
			d.Reasons = []string{r}
		}
	}
	return d
}

// deriveWatchlist is the status of a watchlist screening webhook.
func (p Policy) deriveWatchlist(w Webhook) Derivation {
	switch w.MatchStatus {
	case MatchPossible:
		if p.WatchlistMatch == "" {
			return Derivation{Note: "watchlist possible match, status kept (VERIFF_WATCHLIST_MATCH_STATUS=NONE)"}
		}
		return Derivation{Status: p.WatchlistMatch, Reasons: []string{ReasonWatchlistMatch}, Guard: processor.OnlyIfApproved}
	case MatchNone:
		return Derivation{Note: "watchlist no match"}
	}
	return Derivation{Note: "watchlist screening with an unknown match status"}
}

// deriveEvent is the status of an event webhook (started, submitted, flow events) given the
// session.
func deriveEvent(w Webhook, s Session) Derivation {
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
			case w.Reason == ReasonMobileHandoverScreenShown:
				return Derivation{Note: "desktop-to-phone handover, status kept"}
			case s.Decided():
				return Derivation{Note: "flow cancelled after the decision, status kept"}
			case s.Submitted:
				return Derivation{Note: "flow cancelled after the submission, status kept"}
			}
			return Derivation{Status: kyc.Abandoned, Reasons: prefixed(flowReasonPrefix, label(w.Reason), flowStatePrefix, label(w.State)), Guard: processor.UnlessDecided}
		case ActionWaitingComplete, ActionFlowFinished:
			return Derivation{Note: "flow event"}
		}
		return Derivation{Note: "flow event with an unknown action"}
	}
	return Derivation{Note: "event code without a rule"}
}

// deriveFullAuto maps a Full Auto webhook: its decision value when it has one we know,
// else its score.
func (p Policy) deriveFullAuto(w Webhook) Derivation {
	if w.Code != 0 {
		if st, ok := p.Decisions[w.Code]; ok {
			return Derivation{Status: st}
		}
		return Derivation{Note: "full auto decision without a status mapping"}
	}
	score, err := strconv.ParseFloat(w.DecisionScore, 64)
	switch {
	case w.Status != "":
		return Derivation{Note: "full auto decision " + label(w.Status) + " unknown, status kept"}
	case err != nil:
		return Derivation{Status: kyc.InReview, Reasons: []string{ReasonNoDecision}, Note: "full auto without a decision or a score"}
	case p.ScoreThreshold <= 0:
		return Derivation{Status: kyc.InReview, Reasons: []string{ReasonNoDecision}, Note: "full auto without a decision, no score threshold configured"}
	case score >= p.ScoreThreshold:
		return Derivation{Status: kyc.Approved, Note: "decision score at or above the threshold"}
	}
	return Derivation{Status: kyc.InReview, Reasons: []string{ReasonScoreBelow}, Note: "decision score below the threshold"}
}

// label is s when it is a plain identifier (the flow reasons and states Veriff
// documents), "other" otherwise, "" for none: what reaches the app is bounded.
func label(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return ""
	case plainLabel(s):
		return s
	}
	return "other"
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
