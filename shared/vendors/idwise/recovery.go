package idwise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Metric names the resolver counts (dimension provider=idwise).
const (
	// MetricVendorNotFound counts the events whose first Get Journey Result (or Get Spot
	// Check Result) answered 404: a journey IDWise does not know yet, or a wrong API path,
	// which would otherwise fail every event quietly.
	MetricVendorNotFound = "VendorNotFound"
	// MetricCustomStepFailed counts custom steps that failed for good (a 4xx that is not
	// about the image, an unknown journey, refused credentials).
	MetricCustomStepFailed = "CustomStepFailed"
)

// DefaultNotFoundRetry is how long after its reception an event whose journey IDWise
// answers 404 for is retried before it fails (IDWISE_NOT_FOUND_RETRY_MINUTES).
const DefaultNotFoundRetry = 30 * time.Minute

// Counter counts notable outcomes (CloudWatch EMF in production).
type Counter interface {
	Count(ctx context.Context, name string, dims map[string]string)
}

// FirstTimes remembers what was seen: First reports true the first time it is asked about
// (kind, id), false afterwards (one conditional write in production).
type FirstTimes interface {
	First(ctx context.Context, kind, id string) (bool, error)
}

// WithMetrics makes the resolver count VendorNotFound (once per event when firsts is not
// nil, else on every 404) and CustomStepFailed. It returns r.
func (r *Resolver) WithMetrics(m Counter, firsts FirstTimes) *Resolver {
	r.metrics, r.firsts = m, firsts
	return r
}

// WithNotFoundRetry sets how long after its reception an event is retried while IDWise
// answers 404 for its journey (default DefaultNotFoundRetry; 0 fails at the first 404).
// It returns r.
func (r *Resolver) WithNotFoundRetry(d time.Duration) *Resolver {
	r.notFoundRetry = max(d, 0)
	return r
}

// SpotCheckFetcher reads a spot check journey's result (Get Spot Check Result).
type SpotCheckFetcher interface {
	SpotCheck(ctx context.Context, spotCheckJourneyID string) (Journey, error)
}

// fetch reads the vendor's result the event is about: Get Spot Check Result for a
// Finished Spot Check (its journey id is the spot check's), Get Journey Result otherwise.
// The result's reference_number decides whose it is, as for every event.
func (r *Resolver) fetch(ctx context.Context, e inbox.Event) (Journey, error) {
	if e.Name != FinishedSpotCheck {
		return r.api.Journey(ctx, e.JourneyID)
	}
	sc, ok := r.api.(SpotCheckFetcher)
	if !ok {
		return Journey{}, fmt.Errorf("%w: the idwise api in use cannot read spot check results", kyc.ErrPermanent)
	}
	return sc.SpotCheck(ctx, e.JourneyID)
}

// fetchError classifies a failed fetch. Refused credentials fail the event. A 404 is
// retried like an outage until the event is older than the not-found bound (IDWise may not
// have the result yet; a wrong path is then loud, not silent: the first 404 of an event
// counts VendorNotFound, which is alarmed), then fails it. Anything else is retried.
func (r *Resolver) fetchError(ctx context.Context, e inbox.Event, err error) error {
	switch {
	case errors.Is(err, ErrUnauthorized):
		return fmt.Errorf("%w: get journey result: %w", kyc.ErrPermanent, err)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("get journey result: %w", err)
	}
	r.countNotFound(ctx, e)
	age := r.now().Sub(e.ReceivedAt)
	if e.ReceivedAt.IsZero() || age >= r.notFoundRetry {
		return fmt.Errorf("%w: get journey result: %w (still after %s)", kyc.ErrPermanent, err, age.Round(time.Second))
	}
	return fmt.Errorf("get journey result: %w (retried until %s after reception)", err, r.notFoundRetry)
}

func (r *Resolver) countNotFound(ctx context.Context, e inbox.Event) {
	if r.metrics == nil {
		return
	}
	if r.firsts != nil {
		first, err := r.firsts.First(ctx, MetricVendorNotFound, Provider+"#"+e.EventID)
		if err != nil {
			// Counting twice beats not counting: the alarm is what matters.
			slog.WarnContext(ctx, "record first not-found", "eventId", e.EventID, "error", err)
		} else if !first {
			return
		}
	}
	r.metrics.Count(ctx, MetricVendorNotFound, map[string]string{"provider": Provider})
}

// customStepError counts a custom step that failed for good and returns err.
func (r *Resolver) customStepError(ctx context.Context, err error) error {
	if r.metrics != nil && errors.Is(err, kyc.ErrPermanent) {
		r.metrics.Count(ctx, MetricCustomStepFailed, map[string]string{"provider": Provider})
	}
	return err
}

// answered reports whether the resubmission e asks for was already made, judging from the
// journey's events so far: for a reviewer's Updated Journey, by Answered; for Verification
// Update Required and KYC Renewal Deadline Exceeded, by a Step Update received after e. A
// Finished Journey received after e is no answer by itself: its result must show a
// decision newer than the request (decide compares the result's end_time).
func answered(history []inbox.Event, e inbox.Event) bool {
	switch e.Name {
	case VerificationUpdateRequired, KYCRenewalDeadlineExceeded:
		return !e.ReceivedAt.IsZero() && slices.ContainsFunc(history, func(x inbox.Event) bool {
			return x.EventID != e.EventID && isStepUpdate(x) && x.ReceivedAt.After(e.ReceivedAt)
		})
	}
	return Answered(history)
}
