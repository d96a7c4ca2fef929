package veriff

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/inbox"
	"github.com/kycbackend/kyc/shared/kyc"
	"github.com/kycbackend/kyc/shared/processor"
)

// Resolver is the Veriff processor.Resolver. This version makes no Veriff API call: the
// status comes from the webhook itself (decision webhooks carry the decision).
type Resolver struct {
	policy Policy
}

var _ processor.Resolver = (*Resolver)(nil)

// NewResolver returns the Veriff resolver.
func NewResolver(policy Policy) *Resolver {
	if policy.Decisions == nil {
		policy = DefaultPolicy
	}
	return &Resolver{policy: policy}
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
	at := e.ReceivedAt.UTC()
	if w.Kind == KindDecision {
		if t, err := time.Parse(time.RFC3339Nano, w.DecisionTime); err == nil {
			at = t.UTC()
		}
	}
	version := kyc.Version(at, e.EventID)

	d := r.policy.Derive(w, s)
	note := describe(w)
	if w.Kind == KindDecision && s.Decided() && s.DecisionVersion > version {
		d = Derivation{Note: fmt.Sprintf("older than the stored decision %d, ignored", s.DecisionCode)}
	} else if w.Kind == KindDecision {
		s.DecisionCode, s.DecisionStatus, s.DecisionAttempt = w.Code, w.Status, w.AttemptID
		s.DecisionTime, s.DecisionVersion, s.ReasonCode, s.Reason = w.DecisionTime, version, w.ReasonCode, w.Reason
	}
	if w.Code == CodeSubmitted && w.Kind == KindEvent {
		s.Submitted = true
		if w.AttemptID != "" {
			s.SubmittedAttempt = w.AttemptID
		}
	}
	if d.Note != "" {
		note += ": " + d.Note
	}

	ref := firstNonEmpty(e.ReferenceNo, stored.ReferenceNo)
	out := processor.Outcome{Note: note}
	if d.Status != "" {
		if ref == "" {
			return processor.Outcome{}, fmt.Errorf("%w: veriff session %s has no referenceNo (check VERIFF_REFERENCE_FIELD)", kyc.ErrPermanent, e.JourneyID)
		}
		v := version
		switch {
		case s.ChangeEventID == e.EventID && s.ChangeVersion != 0:
			v = s.ChangeVersion // the same event again: the same change
		case w.Kind == KindDecision && s.ChangeAttempt == w.AttemptID && s.ChangeVersion >= v:
			v = s.ChangeVersion + 1
		}
		if v > s.ChangeVersion {
			s.ChangeAttempt, s.ChangeVersion, s.ChangeEventID = w.AttemptID, v, e.EventID
		}
		out.Change = &kyc.Change{ReferenceNo: ref, JourneyID: e.JourneyID, Provider: Provider,
			Status: d.Status, Reasons: d.Reasons, Version: v, OccurredAt: at}
		out.Guard = d.Guard
	}

	details := map[string]string{}
	for k, v := range stored.Details {
		details[k] = v
	}
	for k, v := range map[string]string{AttrVendorData: w.VendorData, AttrEndUserID: w.EndUserID, AttrFeature: w.Feature} {
		if v != "" {
			details[k] = v
		}
	}
	jv := version
	if found && stored.Version >= jv {
		jv = stored.Version + 1 // the record only grows: it merges every event of the session
	}
	out.Journey = &processor.Journey{Provider: Provider, JourneyID: e.JourneyID, ReferenceNo: ref,
		Decisions: s.Decisions(), Details: details, FetchedAt: e.ReceivedAt.UTC(), Version: jv}
	return out, nil
}

// describe is the timeline note of w: ids, codes and flow context only.
func describe(w Webhook) string {
	parts := []string{w.Name()}
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
