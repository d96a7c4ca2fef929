package retry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// The kinds of failure every vendor API client reports. A vendor package exports its own
// copy of each (Tag), so that errors.Is matches both the vendor's sentinel and the kind.
var (
	// ErrNotFound: the vendor does not know the object (HTTP 404). Permanent.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the vendor refused the credentials (HTTP 401 or 403). Permanent
	// until the credentials change.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrMalformedResponse: a 2xx answer the client cannot read.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrTransient matches every *Error whose Retryable is set (errors.Is).
	ErrTransient = errors.New("transient")
)

// Tag is vendor's own sentinel of kind: its message is "vendor: kind" and errors.Is
// matches it and kind.
func Tag(vendor string, kind error) error { return fmt.Errorf("%s: %w", vendor, kind) }

// Error is a failed call to a vendor API. It never carries a response body.
type Error struct {
	Vendor string // the message's prefix: "idwise", "veriff"
	// Status is the HTTP status of the answer; 0 when there was none (network error,
	// timeout, a body cut short).
	Status int
	// Retryable reports whether the same call may succeed later (Do retries it).
	Retryable bool
	// RetryAfter is the server's Retry-After, already capped; 0 when it sent none.
	RetryAfter time.Duration
	// Kind is what the answer means, when the vendor has a sentinel for it (a Tag of
	// ErrNotFound or ErrUnauthorized, or a vendor's own); nil: an unexpected status.
	Kind error
	// Cause is the underlying error, if any (a network error, context.DeadlineExceeded).
	Cause error
}

// Error is Kind's message when set, else "vendor: request failed: cause" without an
// answer, else "vendor: http status N".
func (e *Error) Error() string {
	switch {
	case e.Kind != nil:
		return e.Kind.Error()
	case e.Status == 0:
		return fmt.Sprintf("%s: request failed: %v", e.Vendor, e.Cause)
	}
	return fmt.Sprintf("%s: http status %d", e.Vendor, e.Status)
}

// Unwrap returns Kind and Cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	var out []error
	for _, err := range []error{e.Kind, e.Cause} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Is matches ErrTransient when the failure is retryable.
func (e *Error) Is(target error) bool { return target == ErrTransient && e.Retryable }

// Vendor classifies a vendor's answers into Errors carrying its sentinels.
type Vendor struct {
	Name         string
	NotFound     error // a Tag of ErrNotFound
	Unauthorized error // a Tag of ErrUnauthorized
	// MaxRetryAfter caps the server's Retry-After.
	MaxRetryAfter time.Duration
}

// Status is the Error of a non-2xx answer: 404 NotFound, 401 and 403 Unauthorized (both
// permanent), 429 and 5xx retryable after the answer's Retry-After, any other status
// permanent.
func (v Vendor) Status(resp *http.Response) *Error {
	e := &Error{Vendor: v.Name, Status: resp.StatusCode}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		e.Kind = v.NotFound
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind = v.Unauthorized
	case s == http.StatusTooManyRequests || s >= 500:
		e.Retryable = true
		e.RetryAfter, _ = After(resp.Header.Get("Retry-After"), time.Now(), v.MaxRetryAfter)
	}
	return e
}

// Network is the Error of a request that got no answer (or whose body was cut short).
func (v Vendor) Network(cause error, retryable bool) *Error {
	return &Error{Vendor: v.Name, Retryable: retryable, Cause: cause}
}

// NeverConnected reports whether err happened before any byte reached the server (the
// dial failed), so that even a call that is not idempotent may be sent again.
func NeverConnected(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Policy bounds the retries of one call.
type Policy struct {
	Attempts       int           // attempts per call, the first one included; at least 1
	AttemptTimeout time.Duration // one attempt; 0: only ctx's deadline
	BaseBackoff    time.Duration // the ceiling of the first backoff, doubled each retry
	MaxBackoff     time.Duration // the cap on one backoff's ceiling
}

// Do runs attempt until it succeeds or fails for good. Only an *Error with Retryable set
// is retried: after its RetryAfter, else after a full-jitter backoff. Do gives up when
// Attempts are spent or the next wait would end past ctx's deadline, and returns the last
// error; an attempt cut short by the deadline (no answer) does not replace an earlier
// answer. Each attempt runs under AttemptTimeout, released when attempt returns.
func Do[T any](ctx context.Context, p Policy, attempt func(context.Context) (T, error)) (T, error) {
	var zero T
	var last error
	for n := 1; ; n++ {
		v, err := run(ctx, p.AttemptTimeout, attempt)
		if err == nil {
			return v, nil
		}
		var e *Error
		isE := errors.As(err, &e)
		if isE && e.Status == 0 && ctx.Err() != nil && last != nil {
			return zero, last // the deadline cut this attempt short: the previous answer says more
		}
		last = err
		if !isE || !e.Retryable || n >= p.Attempts {
			return zero, err
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait = Backoff(n, p.BaseBackoff, p.MaxBackoff)
		}
		if !Sleep(ctx, wait) {
			return zero, err
		}
	}
}

func run[T any](ctx context.Context, timeout time.Duration, attempt func(context.Context) (T, error)) (T, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return attempt(ctx)
}
