package veriff

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// Resolver is the Veriff processor.Resolver. It makes no Veriff API call: the status
// comes from the webhook itself (decision and Full Auto webhooks carry the decision;
// kycctl refetch records a decision fetched from the API as a decision webhook).
type Resolver struct {
	policy   Policy
	profiles ProfileReader
}

// ProfileReader reads a profile (dynamo.Store).
type ProfileReader interface {
	Profile(ctx context.Context, referenceNo string) (kyc.Profile, bool, error)
}

var _ processor.Resolver = (*Resolver)(nil)

// NewResolver returns the Veriff resolver.
func NewResolver(policy Policy) *Resolver {
	if policy.Decisions == nil {
		policy.Decisions = DefaultPolicy.Decisions
	}
	return &Resolver{policy: policy}
}

// WithProfiles lets the resolver see the profile's current journey, so that a late
// decision of an older session (its decisionTime before the profile's current journey
// started) never overrides the newer journey. Without it, only the processor's version
// check stands between them.
func (r *Resolver) WithProfiles(p ProfileReader) *Resolver {
	r.profiles = p
	return r
}

// Resolve implements processor.Resolver.
//
// Versions order the status writes (the processor applies a change only over an older
// one): a decision's version is its decisionTime (the inbox receivedAt when that is
// missing or invalid), so that a late older decision never overwrites a newer one; any
// other event's version is its receivedAt. Two clocks meet here (Veriff's decisionTime,
// our receivedAt): a submission received late, after Veriff had already decided (our
// endpoint was down and both deliveries were retried), would otherwise outrank the
// decision forever. So a decision that is the newest of its session and follows a change
// of the same attempt is versioned just above that change.
func (r *Resolver) Resolve(ctx context.Context, e inbox.Event, stored processor.Journey, found bool) (processor.Outcome, error) {
	w := FromEvent(e)
	s := SessionOf(stored.Decisions)
	at, timed := decisionTime(w, e)
	version := kyc.Version(at, e.EventID)

	d := r.policy.Derive(w, s)
	note := describe(w)
	var check *kyc.Check
	older := w.IsDecision() && s.Decided() && s.DecisionVersion > version
	if w.ProofOfAddress() {
		// A proof-of-address integration's deliveries never move the identity status: its
		// decision is the proofOfAddress check beside it.
		d = Derivation{Note: "proof of address, identity status kept"}
		if dec := poaDecision(w); w.IsDecision() && !older && dec != "" {
			check = &kyc.Check{Name: kyc.CheckProofOfAddress, Decision: dec, SessionID: e.JourneyID, DecidedAt: at, Version: version}
		} else if w.IsDecision() && dec == "" {
			d.Note = "proof-of-address decision code without a mapping, nothing recorded"
		}
	}
	d = s.record(w, d, older, version)

	ref := firstNonEmpty(e.ReferenceNo, stored.ReferenceNo)
	if d.Status != "" && w.IsDecision() && timed && ref != "" {
		older, journey, err := r.olderThanJourney(ctx, ref, e.JourneyID, version)
		if err != nil {
			return processor.Outcome{}, err
		}
		if older {
			d = Derivation{Note: "decided before the profile's current journey " + journey + " started, status kept"}
		}
	}
	if d.Note != "" {
		note += ": " + d.Note
	}
	out := processor.Outcome{Note: note}
	if check != nil {
		if ref == "" {
			return processor.Outcome{}, fmt.Errorf("%w: veriff session %s has no referenceNo (check VERIFF_REFERENCE_FIELD)", kyc.ErrPermanent, e.JourneyID)
		}
		check.ReferenceNo = ref
		out.Check = check
	}
	if d.Status != "" {
		if ref == "" {
			return processor.Outcome{}, fmt.Errorf("%w: veriff session %s has no referenceNo (check VERIFF_REFERENCE_FIELD)", kyc.ErrPermanent, e.JourneyID)
		}
		v := s.changeVersion(w, e.EventID, version)
		out.Change = &kyc.Change{ReferenceNo: ref, JourneyID: e.JourneyID, Provider: Provider,
			Status: d.Status, Reasons: d.Reasons, Version: v, OccurredAt: at}
		out.Guard = d.Guard
	}

	details := mergeDetails(stored.Details, w)
	jv := version
	if found && stored.Version >= jv {
		jv = stored.Version + 1 // the record only grows: it merges every event of the session
	}
	out.Journey = &processor.Journey{Provider: Provider, JourneyID: e.JourneyID, ReferenceNo: ref,
		Decisions: s.Decisions(), Details: details, FetchedAt: e.ReceivedAt.UTC(), Version: jv}
	return out, nil
}

// poaDecision is the proof-of-address check's decision for w: the decision value its code
// stands for (9104 keeps expired or abandoned as sent), or for Full Auto its decision
// value; "" for a code without one.
func poaDecision(w Webhook) string {
	switch w.Code {
	case CodeApproved:
		return StatusApproved
	case CodeDeclined:
		return StatusDeclined
	case CodeResubmissionRequested:
		return StatusResubmissionRequested
	case CodeExpired:
		if strings.EqualFold(w.Status, StatusAbandoned) {
			return StatusAbandoned
		}
		return StatusExpired
	case CodeReview:
		return StatusReview
	}
	return ""
}

// decidedCode is the decision code w records for its session: its own, or for a Full
// Auto webhook decided by its score, the code of the status the score led to.
func decidedCode(w Webhook, d Derivation) int {
	switch {
	case !w.IsDecision():
		return 0
	case w.Code != 0:
		return w.Code
	case d.Status == kyc.Approved:
		return CodeApproved
	case d.Status == kyc.InReview:
		return CodeReview
	}
	return 0
}

// olderThanJourney reports whether a decision of version (its decisionTime) predates the
// profile's current status on another journey: the profile moved on to a newer journey
// (a new session), and a late decision of the old session must not bring it back.
func (r *Resolver) olderThanJourney(ctx context.Context, ref, sessionID string, version int64) (bool, string, error) {
	if r.profiles == nil {
		return false, "", nil
	}
	p, found, err := r.profiles.Profile(ctx, ref)
	if err != nil {
		return false, "", fmt.Errorf("read profile of veriff session %s: %w", sessionID, err)
	}
	if !found || p.JourneyID == "" || p.JourneyID == sessionID {
		return false, "", nil
	}
	return version < p.Version, p.JourneyID, nil
}

// describe is the timeline note of w: ids, codes and flow context only.
func describe(w Webhook) string {
	parts := []string{w.Name()}
	switch w.Kind {
	case KindFullAuto:
		if w.DecisionScore != "" {
			parts = append(parts, "decisionScore "+w.DecisionScore)
		}
	case KindWatchlist:
		if w.CheckType != "" {
			parts = append(parts, "checkType "+label(w.CheckType))
		}
		parts = append(parts, fmt.Sprintf("%d hits", w.Hits))
	case KindUserDefined, KindUnknown:
		if w.EventType != "" {
			parts = append(parts, "eventType "+label(w.EventType))
		}
	}
	if w.AttemptID != "" {
		parts = append(parts, "attempt "+w.AttemptID)
	}
	if w.Reason != "" && w.Kind == KindEvent {
		r := "reason " + w.Reason
		if _, ok := Reason(w.Reason); !ok {
			r += " (unrecognised)"
		}
		parts = append(parts, r)
	}
	if w.State != "" {
		parts = append(parts, "state "+w.State)
	}
	if w.ReasonCode != "" {
		parts = append(parts, "reasonCode "+w.ReasonCode)
	}
	return strings.Join(parts, ", ")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// decisionTime is when w happened: its decision time when it is a decision that has one
// (timed), else its reception.
func decisionTime(w Webhook, e inbox.Event) (time.Time, bool) {
	if w.IsDecision() {
		if t, err := time.Parse(time.RFC3339Nano, w.DecisionTime); err == nil {
			return t.UTC(), true
		}
	}
	return e.ReceivedAt.UTC(), false
}

// record merges w into the session: its decision (unless older than the stored one: then
// the derivation becomes that note), watchlist screening and submission. It returns the
// derivation.
func (s *Session) record(w Webhook, d Derivation, older bool, version int64) Derivation {
	if older {
		d = Derivation{Note: fmt.Sprintf("older than the stored decision %d, ignored", s.DecisionCode)}
	} else if code := decidedCode(w, d); code != 0 {
		s.DecisionCode, s.DecisionStatus, s.DecisionAttempt = code, w.Status, w.AttemptID
		s.DecisionTime, s.DecisionVersion, s.ReasonCode, s.Reason = w.DecisionTime, version, w.ReasonCode, w.Reason
	}
	if w.Kind == KindWatchlist {
		s.WatchlistMatch, s.WatchlistCheck, s.WatchlistHits = w.MatchStatus, w.CheckType, w.Hits
	}
	if w.Code == CodeSubmitted && w.Kind == KindEvent {
		s.Submitted = true
		if w.AttemptID != "" {
			s.SubmittedAttempt = w.AttemptID
		}
	}
	return d
}

// changeVersion is the version of the status change of event eventID (the same event
// again: the same change; a later decision of the same attempt: above the last), recorded
// in the session.
func (s *Session) changeVersion(w Webhook, eventID string, version int64) int64 {
	v := version
	switch {
	case s.ChangeEventID == eventID && s.ChangeVersion != 0:
		v = s.ChangeVersion // the same event again: the same change
	case w.IsDecision() && s.ChangeAttempt == w.AttemptID && s.ChangeVersion >= v:
		v = s.ChangeVersion + 1
	}
	if v > s.ChangeVersion {
		s.ChangeAttempt, s.ChangeVersion, s.ChangeEventID = w.AttemptID, v, eventID
	}
	return v
}

// mergeDetails is the stored details with w's vendor data, end user id and feature.
func mergeDetails(stored map[string]string, w Webhook) map[string]string {
	details := map[string]string{}
	for k, v := range stored {
		details[k] = v
	}
	for k, v := range map[string]string{AttrVendorData: w.VendorData, AttrEndUserID: w.EndUserID, AttrFeature: w.Feature} {
		if v != "" {
			details[k] = v
		}
	}
	return details
}
