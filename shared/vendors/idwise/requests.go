package idwise

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// MetricUnknownDecision counts events whose journey result holds a decision value this
// version does not know (dimensions provider, event): the event fails and no status
// changes, rather than a guess. The template alarms on it.
const MetricUnknownDecision = "UnknownDecision"

// decide derives the status of e from the fetched result j, with what the journey's
// stored snapshot and events say about requests to redo steps:
//   - a request (a reviewer's Resubmission Requested, Verification Update Required, KYC
//     Renewal Deadline Exceeded) already answered (a Step Update received after it, or a
//     result decided after it) lets the result decide; otherwise its reception is recorded
//     on the journey (journey.RequestedAt);
//   - a result delivered after a request (Finished Journey, Manually Reviewed, another
//     Updated Journey) answers it only when it shows a decision newer than the request
//     (end_time after it), a Step Update came after it, or the event is a reviewer's
//     Approved/Rejected received after it; otherwise nothing changes;
//   - a resubmission's reasons are those of every open request of the journey, so the
//     three deliveries of one review end the same in any order;
//   - an unknown decision fails the event (ErrPermanent), counted as UnknownDecision.
//
// It returns a note for the timeline (empty or starting with "; ").
func (r *Resolver) decide(ctx context.Context, e inbox.Event, j Journey, stored processor.Journey, journey *processor.Journey) (Derivation, string, error) {
	at := e.ReceivedAt
	if at.IsZero() {
		at = journey.FetchedAt
	}
	de := e
	de.ReceivedAt = at
	d := r.policy.Derive(de, j)
	var events []inbox.Event
	if d.Request || d.Merge || (!stored.RequestedAt.IsZero() && answersRequests(e)) {
		var err error
		if events, err = r.journeyEvents(ctx, e); err != nil {
			return Derivation{}, "", err
		}
	}
	d, note, kept := r.settleRequests(d, e, j, stored, journey, events, at)
	if kept != "" {
		return Derivation{}, kept, nil
	}
	if d.Unknown != "" {
		if r.metrics != nil {
			r.metrics.Count(ctx, MetricUnknownDecision, map[string]string{"provider": Provider, "event": eventDimension(e.Name)})
		}
		return Derivation{}, "", fmt.Errorf("%w: journey %s: unknown IDWise decision %q, status unchanged", kyc.ErrPermanent, e.JourneyID, clip(d.Unknown, 64))
	}
	if d.Status == kyc.ResubmissionRequired && d.Merge {
		d.Reasons = openRequestReasons(events, d.Reasons)
	}
	return d, note, nil
}

// journeyEvents lists the journey's events received so far, e included (it is not in the
// timeline until processed). Without a History, only e.
func (r *Resolver) journeyEvents(ctx context.Context, e inbox.Event) ([]inbox.Event, error) {
	if r.history == nil {
		return []inbox.Event{e}, nil
	}
	events, err := r.history.JourneyEvents(ctx, Provider, e.JourneyID)
	if err != nil {
		return nil, fmt.Errorf("read journey events: %w", err)
	}
	if !slices.ContainsFunc(events, func(x inbox.Event) bool { return x.EventID == e.EventID }) {
		events = append(events, e)
	}
	return events, nil
}

// answersRequests reports whether e carries a journey result that may answer a request to
// redo steps.
func answersRequests(e inbox.Event) bool {
	switch e.Name {
	case FinishedJourney, ManuallyReviewed:
		return true
	case UpdatedJourney:
		return !isResubmissionRequest(e)
	}
	return false
}

// stepUpdatedSince reports whether a Step Update was received after t.
func stepUpdatedSince(events []inbox.Event, t time.Time) bool {
	return slices.ContainsFunc(events, func(x inbox.Event) bool { return isStepUpdate(x) && x.ReceivedAt.After(t) })
}

// reviewedSince reports whether e is a reviewer's decision (Approved or Rejected, in
// Manually Reviewed or an Updated Journey's Manual Review) received after t: a decision newer
// than the request by itself, whatever the result's end_time (a review does not finish the
// journey again).
func reviewedSince(e inbox.Event, t time.Time) bool {
	var decision string
	switch {
	case e.Name == ManuallyReviewed:
		decision = firstNonEmpty(e.Attributes["manualDecision"], e.Attributes["finalDecision"])
	case e.Name == UpdatedJourney && e.Attributes["action"] == ActionManualReview:
		decision = e.Attributes["reviewDecision"]
	}
	return (decision == DecisionApproved || decision == DecisionRejected) && e.ReceivedAt.After(t)
}

// isOpenRequest reports whether x is a reviewer's resubmission request (Updated Journey or
// Verification Update Required other than a KYC renewal).
func isRequestToResubmit(x inbox.Event) bool {
	return isResubmissionRequest(x) || (x.Name == VerificationUpdateRequired && x.Attributes["trigger"] != TriggerKYCRenewal)
}

// openRequestReasons merges own with the reasons of the journey's resubmission requests
// received after its last Step Update: steps first, then reason codes, each sorted and
// distinct, so the result does not depend on the order the deliveries came in.
func openRequestReasons(events []inbox.Event, own []string) []string {
	var last time.Time
	for _, x := range events {
		if isStepUpdate(x) && x.ReceivedAt.After(last) {
			last = x.ReceivedAt
		}
	}
	all := slices.Clone(own)
	for _, x := range events {
		if !isRequestToResubmit(x) || (!last.IsZero() && !x.ReceivedAt.After(last)) {
			continue
		}
		if isResubmissionRequest(x) {
			all = append(all, resubmitReasons(x)...)
		} else {
			all = append(all, requiredStepReasons(x)...)
		}
	}
	var steps, codes []string
	for _, s := range all {
		switch {
		case strings.HasPrefix(s, "step:"):
			steps = append(steps, s)
		case strings.HasPrefix(s, "reason:"):
			codes = append(codes, s)
		}
	}
	slices.Sort(steps)
	slices.Sort(codes)
	return append(slices.Compact(steps), slices.Compact(codes)...)
}

// staleAMLUpdate reports whether an AML Monitor Update is older than what the stored
// journey already reflects: by updatedAMLVersionNumber when the update has one, else by
// its reception time against the newest AML update applied.
func staleAMLUpdate(e inbox.Event, stored processor.Journey, found bool) (string, bool) {
	if !found {
		return "", false
	}
	if v := amlVersion(e); v != 0 {
		if v <= stored.AMLVersion {
			return fmt.Sprintf("AML version %d not newer than %d, ignored", v, stored.AMLVersion), true
		}
		return "", false
	}
	if !stored.AMLReceivedAt.IsZero() && !e.ReceivedAt.After(stored.AMLReceivedAt) {
		return "AML update without a version received before the last one applied, ignored", true
	}
	return "", false
}

// eventDimension is the event name as a metric dimension: a known name, else "other".
func eventDimension(name string) string {
	if Known(name) {
		return name
	}
	return "other"
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// settleRequests weighs d against the requests to redo steps: a late resubmission request
// (already answered) gives way to the journey result, a new one is remembered on journey;
// a journey result not newer than the stored request keeps the status (kept is the note).
func (r *Resolver) settleRequests(d Derivation, e inbox.Event, j Journey, stored processor.Journey, journey *processor.Journey,
	events []inbox.Event, at time.Time) (Derivation, string, string) {
	decided, _ := parseTime(j.EndTime)
	var note string
	switch {
	case d.Request:
		if answered(events, e) || (!e.ReceivedAt.IsZero() && decided.After(e.ReceivedAt)) {
			// Late: the user already redid the steps; the journey result decides.
			d = r.policy.ResultDerivation(j)
			note = "; resubmission request already answered"
		} else if at.After(journey.RequestedAt) {
			journey.RequestedAt = at
		}
	case !stored.RequestedAt.IsZero() && answersRequests(e) && d.Unknown == "":
		if !decided.After(stored.RequestedAt) && !stepUpdatedSince(events, stored.RequestedAt) && !reviewedSince(e, stored.RequestedAt) {
			return d, "", "; journey result not newer than the update request of " +
				stored.RequestedAt.UTC().Format(time.RFC3339) + ", status kept"
		}
	}
	return d, note, ""
}
