// Package retry is the retry loop and the error vocabulary of every vendor API client: Do
// retries a call (full-jitter exponential backoff, a server's Retry-After, never past the
// context's deadline), Error is a failed call, and ErrNotFound, ErrUnauthorized,
// ErrMalformedResponse and ErrTransient are the kinds callers match with errors.Is.
package retry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is the full-jitter wait before retry n (1-based): uniform in
// [0, min(max, base*2^(n-1))].
func Backoff(n int, base, max time.Duration) time.Duration {
	ceiling := max
	if n-1 < 30 {
		if d := base << (n - 1); d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return rand.N(ceiling + 1)
}

// Sleep waits d unless ctx ends first. It does not start a wait that would end past ctx's
// deadline: it reports false at once instead.
func Sleep(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// After reads a Retry-After value, delay seconds or an HTTP-date, capped at max; false
// when there is none or it cannot be read.
func After(v string, now time.Time, max time.Duration) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(max/time.Second) {
			return max, true
		}
		d = time.Duration(n) * time.Second
	} else {
		t, err := http.ParseTime(v)
		if err != nil {
			return 0, false
		}
		if d = t.Sub(now); d < 0 {
			d = 0
		}
	}
	return min(d, max), true
}
