// Package sweeper is the safety net behind the stream (application logic over ports; its
// Lambda edge is edge/schedule, its store aws/dynamo): it re-drives inbox events left
// unprocessed longer than a given age and publishes status events left in the outbox.
package sweeper

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Lister lists what the stream left behind, received before cutoff, at most limit of each
// kind, oldest first (dynamo.Store, over the table's Unprocessed index). An item it cannot
// decode comes back with Err set: the sweeper counts it as an error and leaves it.
//
// Events awaiting a claim come in pages: a re-drive leaves an unclaimed event where it is,
// so the same first page would come back on every run. AwaitingClaimSince returns the page
// after the cursor ("" for the first) and the cursor of the next ("" after the last).
type Lister interface {
	StuckEvents(ctx context.Context, cutoff time.Time, limit int32) ([]Pending[inbox.Event], error)
	AwaitingClaimSince(ctx context.Context, cutoff time.Time, limit int32, cursor string) ([]Pending[inbox.Event], string, error)
	UnsentStatusEvents(ctx context.Context, cutoff time.Time, limit int32) ([]Pending[kyc.StatusEvent], error)
}

// Pending is one item the stream left behind, or why it could not be read.
type Pending[T any] struct {
	Value T
	Err   error
}

// Processor processes one inbox event and publishes one status event.
type Processor interface {
	Process(ctx context.Context, e inbox.Event) error
	// Redrive processes an event waiting for its journey's claim if the claim came or the
	// wait is over, and otherwise leaves it alone.
	Redrive(ctx context.Context, e inbox.Event) error
	Publish(ctx context.Context, ev kyc.StatusEvent) error
}

// Metrics records what the sweeper found.
type Metrics interface {
	Put(ctx context.Context, name string, value float64, unit string, dims map[string]string)
}

// Config bounds one run.
type Config struct {
	MinAge time.Duration // only items older than this (the stream is still on them before)
	Limit  int32         // at most this many stuck and unsent items per run; the page size of awaiting ones
}

// Result says what one run found and did.
type Result struct {
	StuckEvents, Redriven, AwaitingClaim, UnsentStatusEvents, Published, Errors int
}

// Sweeper runs the sweep.
type Sweeper struct {
	list    Lister
	proc    Processor
	metrics Metrics
	cfg     Config
	now     func() time.Time
}

// New returns a Sweeper.
func New(list Lister, proc Processor, m Metrics, cfg Config) *Sweeper {
	if cfg.Limit <= 0 {
		cfg.Limit = 100
	}
	return &Sweeper{list: list, proc: proc, metrics: m, cfg: cfg, now: time.Now}
}

// Run does one bounded sweep. Failures of single items are counted and left for the
// next run; only a failure to list is returned.
func (s *Sweeper) Run(ctx context.Context) (Result, error) {
	var res Result
	cutoff := s.now().Add(-s.cfg.MinAge)
	events, err := s.list.StuckEvents(ctx, cutoff, s.cfg.Limit)
	if err != nil {
		return res, fmt.Errorf("list stuck events: %w", err)
	}
	res.StuckEvents = len(events)
	for _, item := range events {
		e, err := item.Value, item.Err
		if err == nil {
			err = s.proc.Process(ctx, e)
		}
		if err != nil {
			res.Errors++
			slog.WarnContext(ctx, "re-drive stuck event", "eventId", e.EventID, "journeyId", e.JourneyID, "error", err)
			continue
		}
		res.Redriven++
	}
	// Events waiting for their journey's claim: the claim triggers them through the
	// stream; this catches a claim that raced with the event's "awaiting" mark. Every page:
	// most of them stay where they are (no claim yet), so a bounded run would only ever
	// see the oldest.
	if err := s.redriveAwaiting(ctx, cutoff, &res); err != nil {
		return res, err
	}
	unsent, err := s.list.UnsentStatusEvents(ctx, cutoff, s.cfg.Limit)
	if err != nil {
		return res, fmt.Errorf("list unsent status events: %w", err)
	}
	res.UnsentStatusEvents = len(unsent)
	for _, item := range unsent {
		ev, err := item.Value, item.Err
		if err == nil {
			err = s.proc.Publish(ctx, ev)
		}
		if err != nil {
			res.Errors++
			slog.WarnContext(ctx, "publish unsent status event", "statusEventId", ev.ID, "error", err)
			continue
		}
		res.Published++
	}
	s.count(ctx, "StuckEvents", res.StuckEvents)
	s.count(ctx, "UnsentStatusEvents", res.UnsentStatusEvents)
	s.count(ctx, "AwaitingClaimEvents", res.AwaitingClaim)
	s.count(ctx, "SweepErrors", res.Errors)
	slog.InfoContext(ctx, "sweep done", "stuckEvents", res.StuckEvents, "redriven", res.Redriven, "awaitingClaim", res.AwaitingClaim,
		"unsentStatusEvents", res.UnsentStatusEvents, "published", res.Published, "errors", res.Errors)
	return res, nil
}

func (s *Sweeper) count(ctx context.Context, name string, n int) {
	if s.metrics != nil {
		s.metrics.Put(ctx, name, float64(n), "Count", nil)
	}
}

// redriveAwaiting re-drives every page of the events awaiting their journey's claim since
// cutoff, counting them and the errors in res.
func (s *Sweeper) redriveAwaiting(ctx context.Context, cutoff time.Time, res *Result) error {
	for cursor := ""; ; {
		awaiting, next, err := s.list.AwaitingClaimSince(ctx, cutoff, s.cfg.Limit, cursor)
		if err != nil {
			return fmt.Errorf("list events awaiting a claim: %w", err)
		}
		res.AwaitingClaim += len(awaiting)
		for _, item := range awaiting {
			e, err := item.Value, item.Err
			if err == nil {
				err = s.proc.Redrive(ctx, e)
			}
			if err != nil {
				res.Errors++
				slog.WarnContext(ctx, "re-drive event awaiting a claim", "eventId", e.EventID, "journeyId", e.JourneyID, "error", err)
			}
		}
		if next == "" || next == cursor {
			break
		}
		cursor = next
	}
	return nil
}
