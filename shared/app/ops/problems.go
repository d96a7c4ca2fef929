package ops

import (
	"context"
	"fmt"
	"time"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
)

// Kinds of Problem.
const (
	KindFailed      = "failed"         // an event failed permanently (unknown journey, credentials refused ...)
	KindStuck       = "stuck"          // an event still pending after StuckAfter
	KindUnsent      = "unsent"         // a status event still not published after StuckAfter
	KindQuarantined = "quarantined"    // an authenticated body that could not be understood
	KindAwaiting    = "awaiting_claim" // an outcome waiting for its journey's claim (JourneyOwnership claimed)
)

// Problem is an item that needs an operator, with why. It holds ids only.
type Problem struct {
	Kind       string    `json:"kind"`
	Provider   string    `json:"provider,omitempty"`
	ID         string    `json:"id"` // event id; status event id (unsent); body hash (quarantined)
	JourneyID  string    `json:"journeyId,omitempty"`
	Event      string    `json:"event,omitempty"` // vendor event name, or the status (unsent)
	ReceivedAt time.Time `json:"receivedAt"`
	Why        string    `json:"why"`
}

// ListOptions selects problems. With none of Failed, Stuck and Quarantined set, all are listed.
type ListOptions struct {
	Failed      bool
	Stuck       bool // pending events and unsent status events older than StuckAfter
	Quarantined bool
	Awaiting    bool          // events waiting for their journey's claim
	StuckAfter  time.Duration // default 10 minutes (the sweeper's default minimum age)
	Limit       int           // per kind; default 100
}

// Problems lists failed events, stuck events and status events, and quarantined bodies,
// oldest first within each kind. Failed and stuck items come from the sparse Unprocessed
// index (a Query); quarantined bodies from a Scan of the table filtered on
// kind=quarantine (quarantine is rare and expires, so no index is kept for it).
func (o *Ops) Problems(ctx context.Context, opt ListOptions) ([]Problem, error) {
	if !opt.Failed && !opt.Stuck && !opt.Quarantined && !opt.Awaiting {
		opt.Failed, opt.Stuck, opt.Quarantined, opt.Awaiting = true, true, true, true
	}
	if opt.StuckAfter <= 0 {
		opt.StuckAfter = 10 * time.Minute
	}
	if opt.Limit <= 0 {
		opt.Limit = 100
	}
	now := o.now()
	out := []Problem{}
	if opt.Failed {
		items, err := o.tbl.Unprocessed(ctx, opstore.Failed, time.Time{}, now.Add(time.Minute), opt.Limit)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			out = append(out, eventProblem(KindFailed, it, it.Note))
		}
	}
	if opt.Stuck {
		cutoff := now.Add(-opt.StuckAfter)
		items, err := o.tbl.Unprocessed(ctx, opstore.Pending, time.Time{}, cutoff, opt.Limit)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			age := now.Sub(it.Event.ReceivedAt).Round(time.Second)
			out = append(out, eventProblem(KindStuck, it, fmt.Sprintf("pending for %s: not processed yet (the sweeper re-drives it; replay does it now)", age)))
		}
		unsent, err := o.tbl.Unsent(ctx, time.Time{}, cutoff, opt.Limit)
		if err != nil {
			return nil, err
		}
		for _, r := range unsent {
			ev, received := r.Event, r.RecordedAt
			out = append(out, Problem{Kind: KindUnsent, Provider: ev.Provider, ID: ev.ID, JourneyID: ev.JourneyID, Event: string(ev.Status),
				ReceivedAt: received, Why: fmt.Sprintf("status change not published for %s (SNS failing? the sweeper retries it)", now.Sub(received).Round(time.Second))})
		}
	}
	if opt.Awaiting {
		items, err := o.tbl.Unprocessed(ctx, opstore.Awaiting, time.Time{}, now.Add(time.Minute), opt.Limit)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			age := now.Sub(it.Event.ReceivedAt).Round(time.Second)
			out = append(out, eventProblem(KindAwaiting, it, fmt.Sprintf("waiting %s for the app to claim the journey (POST /v1/journeys); applied when it does, failed after ClaimWaitDays", age)))
		}
	}
	if opt.Quarantined {
		q, err := o.quarantined(ctx, opt.Limit)
		if err != nil {
			return nil, err
		}
		out = append(out, q...)
	}
	return out, nil
}

func eventProblem(kind string, it opstore.Event, why string) Problem {
	return Problem{Kind: kind, Provider: it.Event.Provider, ID: it.Event.EventID, JourneyID: it.Event.JourneyID,
		Event: it.Event.Name, ReceivedAt: it.Event.ReceivedAt, Why: why}
}

// quarantined lists quarantine records (their reason, never their body).
func (o *Ops) quarantined(ctx context.Context, limit int) ([]Problem, error) {
	out := []Problem{}
	err := o.tbl.ScanQuarantine(ctx, false, func(q opstore.Quarantined) bool {
		out = append(out, Problem{Kind: KindQuarantined, Provider: q.Provider, ID: q.BodyHash,
			ReceivedAt: q.ReceivedAt, Why: "body not understood: " + q.Reason})
		return len(out) < limit
	})
	return out, err
}
