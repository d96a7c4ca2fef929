package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// Event states as stored on inbox items (processor.State plus the inbox's own).
const (
	statePending       = "pending"
	stateUnprocessable = "unprocessable"
)

// ReplayResult is what a replay did to one event.
type ReplayResult struct {
	Provider  string `json:"provider"`
	EventID   string `json:"eventId"`
	JourneyID string `json:"journeyId"`
	Event     string `json:"event"`
	Before    string `json:"before"`          // state before the replay
	After     string `json:"after"`           // state after it
	Note      string `json:"note"`            // the processor's note (ids and decisions)
	Replayed  bool   `json:"replayed"`        // false: nothing to do (already processed, skipped ...)
	Error     string `json:"error,omitempty"` // the processor's error; the event stays pending for the sweeper
}

// Replay runs one failed or pending event through the processor again, exactly as the
// stream would. Any other event (processed, skipped, unprocessable) is left alone, so
// replaying is idempotent: a processed event is never processed twice by this tool.
// A failed event is first put back to pending (in the Unprocessed index), so that if this
// run fails midway, the sweeper finishes it.
func (o *Ops) Replay(ctx context.Context, provider, eventID string) (ReplayResult, error) {
	if o.proc == nil {
		return ReplayResult{}, fmt.Errorf("replay: processor %w", ErrNotConfigured)
	}
	item, found, err := o.tbl.StoredEvent(ctx, provider, eventID)
	if err != nil {
		return ReplayResult{}, err
	}
	if !found {
		return ReplayResult{}, fmt.Errorf("event %s/%s: %w", provider, eventID, ErrNotFound)
	}
	res := ReplayResult{Provider: provider, EventID: eventID, JourneyID: item.Event.JourneyID, Event: item.Event.Name,
		Before: item.State, After: item.State, Note: item.Note}
	switch res.Before {
	case string(processor.Failed):
		if err := o.tbl.ResetToPending(ctx, provider, eventID); errors.Is(err, processor.ErrConflict) {
			return o.Replay(ctx, provider, eventID) // it changed meanwhile: decide again
		} else if err != nil {
			return res, err
		}
	case statePending:
	default:
		return res, nil
	}
	if item.Err != nil {
		return res, item.Err
	}
	e := item.Event
	res.Replayed = true
	perr := o.proc.Process(ctx, e)
	if perr != nil {
		res.Error = perr.Error()
	}
	if item, _, err = o.tbl.StoredEvent(ctx, provider, eventID); err != nil {
		return res, err
	}
	res.After, res.Note = item.State, item.Note
	if perr != nil {
		return res, fmt.Errorf("replay %s: %w (left pending for the sweeper)", eventID, perr)
	}
	return res, nil
}

// ReplayFailed replays every failed event received in [from, to], oldest first, at most
// limit (default 1000). It goes on after an event fails and returns every result, with
// an error that counts the failures.
func (o *Ops) ReplayFailed(ctx context.Context, from, to time.Time, limit int) ([]ReplayResult, error) {
	if o.proc == nil {
		return nil, fmt.Errorf("replay: processor %w", ErrNotConfigured)
	}
	if limit <= 0 {
		limit = 1000
	}
	items, err := o.tbl.Unprocessed(ctx, opstore.Failed, from, to, limit)
	if err != nil {
		return nil, err
	}
	out := []ReplayResult{}
	failed := 0
	for _, it := range items {
		res, err := o.Replay(ctx, it.Event.Provider, it.Event.EventID)
		if err != nil {
			failed++
			if res.EventID == "" {
				res = ReplayResult{Provider: it.Event.Provider, EventID: it.Event.EventID, Error: err.Error()}
			}
		}
		out = append(out, res)
	}
	if failed > 0 {
		return out, fmt.Errorf("%d of %d replays failed", failed, len(items))
	}
	return out, nil
}

// RefetchResult is what a re-fetch found and did.
type RefetchResult struct {
	Provider    string            `json:"provider"`
	JourneyID   string            `json:"journeyId"`
	ReferenceNo string            `json:"referenceNo"`
	EventID     string            `json:"eventId"` // the operator event recorded in the journey's timeline
	State       string            `json:"state"`   // where that event ended: processed, skipped, failed
	Note        string            `json:"note"`
	Decisions   map[string]string `json:"decisions"` // of the stored snapshot afterwards
	Before      kyc.Status        `json:"before"`    // the profile's status before
	After       kyc.Status        `json:"after"`     // and after
}

// RefetchEventPrefix starts the id of every event kycctl records for a re-fetch.
const RefetchEventPrefix = "kycctl-refetch-"

// Refetch fetches the journey from the vendor again and re-derives the profile's status
// from its decisions, through the processor: it records an operator event (as a Finished
// Journey, which derives the status from the journey result's decisions only) in the
// journey's timeline and processes it, so the version check, the outbox and the status
// event are exactly the processor's. A status derived from an event alone (resubmission
// requested by a review) is not in the journey result: re-fetching replaces it by the
// result's decisions. A Veriff session's decision is fetched (GET
// /v1/sessions/{id}/decision) and recorded as the decision webhook it stands for, so the
// same policy and version rules apply (see refetchVeriffEvent).
func (o *Ops) Refetch(ctx context.Context, provider, journeyID string) (RefetchResult, error) {
	if o.proc == nil {
		return RefetchResult{}, fmt.Errorf("refetch: processor %w", ErrNotConfigured)
	}
	if provider != idwise.Provider && provider != veriff.Provider {
		return RefetchResult{}, fmt.Errorf("refetch: provider %q not supported (idwise or veriff)", provider)
	}
	if provider == veriff.Provider && o.veriff == nil {
		return RefetchResult{}, fmt.Errorf("refetch: veriff api %w (VERIFF_SECRET_ARN)", ErrNotConfigured)
	}
	res := RefetchResult{Provider: provider, JourneyID: journeyID}
	stored, found, err := o.tbl.Journey(ctx, provider, journeyID)
	if err != nil {
		return res, err
	}
	res.ReferenceNo = stored.ReferenceNo
	if !found {
		events, err := o.tbl.JourneyTimeline(ctx, provider, journeyID)
		if err != nil {
			return res, err
		}
		if len(events) == 0 && provider != veriff.Provider { // a Veriff session whose webhooks never came: its decision names the user
			return res, fmt.Errorf("journey %s/%s: %w (no snapshot, no event)", provider, journeyID, ErrNotFound)
		}
		for _, it := range events {
			if ref := it.Event.ReferenceNo; ref != "" {
				res.ReferenceNo = ref
			}
		}
	}
	if res.ReferenceNo != "" {
		p, _, err := o.tbl.Profile(ctx, res.ReferenceNo)
		if err != nil {
			return res, err
		}
		res.Before = p.Status
	}
	now := o.now().UTC()
	e := inbox.Event{Provider: provider, EventID: RefetchEventPrefix + now.Format("20060102T150405.000000000Z"),
		Name: idwise.FinishedJourney, JourneyID: journeyID, ReferenceNo: res.ReferenceNo,
		Attributes: map[string]string{"operator": "refetch"}, Processable: true, ReceivedAt: now, ExpiresAt: now.Add(o.retention)}
	if provider == veriff.Provider {
		if e, err = o.refetchVeriffEvent(ctx, e); err != nil {
			return res, err
		}
		res.ReferenceNo = e.ReferenceNo
	}
	res.EventID = e.EventID
	if err := o.tbl.PutOperatorEvent(ctx, e); err != nil {
		return res, fmt.Errorf("record refetch event: %w", err)
	}
	perr := o.proc.Process(ctx, e)
	item, _, err := o.tbl.StoredEvent(ctx, provider, e.EventID)
	if err != nil {
		return res, err
	}
	res.State, res.Note = item.State, item.Note
	if perr != nil {
		return res, fmt.Errorf("refetch %s: %w (left pending for the sweeper)", journeyID, perr)
	}
	j, found, err := o.tbl.Journey(ctx, provider, journeyID)
	if err != nil {
		return res, err
	}
	if found {
		res.Decisions = j.Decisions
		res.ReferenceNo = j.ReferenceNo
	}
	if res.ReferenceNo != "" {
		p, _, err := o.tbl.Profile(ctx, res.ReferenceNo)
		if err != nil {
			return res, err
		}
		res.After = p.Status
	}
	return res, nil
}

// refetchVeriffEvent fetches the Veriff session's decision and turns it into the operator
// event: the decision webhook it stands for (attributes, processable), under the refetch
// event id, without the person's data (veriff.Parser strips the body), naming the
// referenceNo already recorded for the session, else the decision's vendorData.
func (o *Ops) refetchVeriffEvent(ctx context.Context, base inbox.Event) (inbox.Event, error) {
	// The session's integration, as its stored deliveries name it: a proof-of-address
	// session is fetched with that integration and stays a check, never the status.
	signer, err := o.veriffSigner(ctx, base.JourneyID)
	if err != nil {
		return base, err
	}
	var raw []byte
	if p := veriff.Product(signer[veriff.AttrProduct]); p == veriff.ProductProofOfAddress {
		pd, ok := o.veriff.(VeriffProductDecisions)
		if !ok {
			return base, fmt.Errorf("refetch veriff session %s: a %s session and no client for that integration", base.JourneyID, p)
		}
		raw, err = pd.DecisionOf(ctx, p, base.JourneyID)
	} else {
		raw, err = o.veriff.Decision(ctx, base.JourneyID)
	}
	if err != nil {
		return base, fmt.Errorf("refetch veriff session %s: %w", base.JourneyID, err)
	}
	w, err := veriff.Parse(raw)
	if err != nil {
		return base, fmt.Errorf("refetch veriff session %s: decision: %w", base.JourneyID, err)
	}
	if w.Kind != veriff.KindDecision {
		return base, fmt.Errorf("refetch veriff session %s: Veriff has no decision yet: %w", base.JourneyID, ErrNotFound)
	}
	if w.SessionID != base.JourneyID {
		return base, fmt.Errorf("refetch veriff session %s: the answer is of session %s", base.JourneyID, w.SessionID)
	}
	e, err := veriff.Parser{}.ParseEvent(raw)
	if err != nil {
		return base, fmt.Errorf("refetch veriff session %s: %w", base.JourneyID, err)
	}
	e.EventID, e.ReceivedAt, e.ExpiresAt = base.EventID, base.ReceivedAt, base.ExpiresAt
	e.Attributes["operator"] = "refetch"
	for k, v := range signer {
		e.Attributes[k] = v
	}
	if base.ReferenceNo != "" {
		e.ReferenceNo = base.ReferenceNo
	}
	return e, nil
}

// veriffSigner is the integration and product the session's stored deliveries carry
// (veriff.AttrIntegration, veriff.AttrProduct); none for a session without any.
func (o *Ops) veriffSigner(ctx context.Context, sessionID string) (map[string]string, error) {
	events, err := o.tbl.JourneyTimeline(ctx, veriff.Provider, sessionID)
	if err != nil {
		return nil, fmt.Errorf("refetch veriff session %s: %w", sessionID, err)
	}
	for _, it := range events {
		if p := it.Event.Attributes[veriff.AttrProduct]; p != "" {
			return map[string]string{veriff.AttrProduct: p, veriff.AttrIntegration: it.Event.Attributes[veriff.AttrIntegration]}, nil
		}
	}
	return nil, nil
}
