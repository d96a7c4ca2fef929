package retry_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/retry"
)

var (
	errAcmeNotFound     = retry.Tag("acme", retry.ErrNotFound)
	errAcmeUnauthorized = retry.Tag("acme", retry.ErrUnauthorized)
	acme                = retry.Vendor{Name: "acme", NotFound: errAcmeNotFound, Unauthorized: errAcmeUnauthorized, MaxRetryAfter: time.Minute}
)

// fast retries at once (a backoff ceiling of a millisecond).
var fast = retry.Policy{Attempts: 4, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond}

// scripted answers each request with the next status of script (200 once it runs out); a
// status of -1 closes the connection without an answer.
func scripted(t *testing.T, script ...int) (url string, calls *atomic.Int32) {
	t.Helper()
	calls = &atomic.Int32{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		status := http.StatusOK
		if n <= len(script) {
			status = script[n-1]
		}
		if status == -1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(ts.Close)
	return ts.URL, calls
}

// get is an attempt as the vendor clients make one: a GET classified by acme.
func get(url string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", acme.Network(err, true)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return "ok", nil
		}
		return "", acme.Status(resp)
	}
}

func TestDoRetriesOnlyWhatMaySucceedLater(t *testing.T) {
	tests := []struct {
		name       string
		script     []int
		attempts   int
		wantCalls  int32
		wantStatus int   // of the *retry.Error returned; 0 with wantIs nil: success
		wantIs     error // what the error must match
	}{
		{"500 then success", []int{500}, 4, 2, 0, nil},
		{"429 then success", []int{429}, 4, 2, 0, nil},
		{"503, 502, 504 then success", []int{503, 502, 504}, 4, 4, 0, nil},
		{"network error then success", []int{-1}, 4, 2, 0, nil},
		{"400 is not retried", []int{400}, 4, 1, 400, nil},
		{"422 is not retried", []int{422}, 4, 1, 422, nil},
		{"404 is not retried", []int{404}, 4, 1, 404, errAcmeNotFound},
		{"401 is not retried", []int{401}, 4, 1, 401, errAcmeUnauthorized},
		{"403 is not retried", []int{403}, 4, 1, 403, retry.ErrUnauthorized},
		{"attempts cap: the last 500 is returned", []int{500, 500, 500, 503, 500}, 4, 4, 503, retry.ErrTransient},
		{"one attempt only", []int{500}, 1, 1, 500, retry.ErrTransient},
		{"a permanent answer after a retryable one ends it", []int{503, 400}, 4, 2, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, calls := scripted(t, tt.script...)
			p := fast
			p.Attempts = tt.attempts
			got, err := retry.Do(context.Background(), p, get(url))
			if n := calls.Load(); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			if tt.wantStatus == 0 {
				if err != nil || got != "ok" {
					t.Errorf("Do() = %q, %v, want ok, nil", got, err)
				}
				return
			}
			var e *retry.Error
			if !errors.As(err, &e) || e.Status != tt.wantStatus {
				t.Fatalf("Do() error = %v, want a *retry.Error of status %d", err, tt.wantStatus)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Do() error = %v, want one matching %v", err, tt.wantIs)
			}
		})
	}
}

// An error that is not a *retry.Error (a request that cannot be built, a body too large)
// is never retried.
func TestDoDoesNotRetryOtherErrors(t *testing.T) {
	calls := 0
	boom := errors.New("boom")
	_, err := retry.Do(context.Background(), fast, func(context.Context) (int, error) { calls++; return 0, boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("Do() = %v after %d calls, want boom after 1", err, calls)
	}
}

// The server's Retry-After replaces the backoff.
func TestDoWaitsRetryAfter(t *testing.T) {
	p := retry.Policy{Attempts: 2, BaseBackoff: time.Hour, MaxBackoff: time.Hour} // a backoff would never end
	calls := 0
	start := time.Now()
	_, err := retry.Do(context.Background(), p, func(context.Context) (int, error) {
		if calls++; calls == 1 {
			return 0, &retry.Error{Vendor: "acme", Status: 503, Retryable: true, RetryAfter: 200 * time.Millisecond}
		}
		return 1, nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("Do() = %v after %d calls, want nil after 2", err, calls)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("Do() took %v, want the Retry-After of 200ms", d)
	}
}

// Do never starts a wait that would end past the deadline, and an attempt cut short by the
// deadline does not hide the answer before it.
func TestDoRespectsTheDeadline(t *testing.T) {
	t.Run("a wait past the deadline is not started", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		calls := 0
		start := time.Now()
		_, err := retry.Do(ctx, fast, func(context.Context) (int, error) {
			calls++
			return 0, &retry.Error{Vendor: "acme", Status: 429, Retryable: true, RetryAfter: time.Minute}
		})
		var e *retry.Error
		if !errors.As(err, &e) || e.Status != 429 || calls != 1 {
			t.Errorf("Do() = %v after %d calls, want the 429 after 1", err, calls)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Do() took %v, want it to give up at once", d)
		}
	})
	t.Run("the answer before a cut-short attempt is returned", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		calls := 0
		_, err := retry.Do(ctx, fast, func(ctx context.Context) (int, error) {
			if calls++; calls == 1 {
				return 0, &retry.Error{Vendor: "acme", Status: 503, Retryable: true}
			}
			<-ctx.Done()
			return 0, acme.Network(ctx.Err(), true)
		})
		var e *retry.Error
		if !errors.As(err, &e) || e.Status != 503 || calls != 2 {
			t.Errorf("Do() = %v after %d calls, want the 503 after 2", err, calls)
		}
	})
	t.Run("each attempt has its own timeout", func(t *testing.T) {
		p := fast
		p.Attempts, p.AttemptTimeout = 2, 50*time.Millisecond
		calls := 0
		start := time.Now()
		_, err := retry.Do(context.Background(), p, func(ctx context.Context) (int, error) {
			calls++
			<-ctx.Done()
			return 0, acme.Network(ctx.Err(), true)
		})
		if !errors.Is(err, context.DeadlineExceeded) || calls != 2 {
			t.Errorf("Do() = %v after %d calls, want a deadline after 2", err, calls)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Do() took %v, want about 2x50ms", d)
		}
	})
}

func TestVendorStatus(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		wantKind   error
		wantRetry  bool
		wantAfter  time.Duration
		wantMsg    string
	}{
		{404, "", errAcmeNotFound, false, 0, "acme: not found"},
		{401, "", errAcmeUnauthorized, false, 0, "acme: unauthorized"},
		{403, "", errAcmeUnauthorized, false, 0, "acme: unauthorized"},
		{400, "", nil, false, 0, "acme: http status 400"},
		{409, "", nil, false, 0, "acme: http status 409"},
		{429, "2", nil, true, 2 * time.Second, "acme: http status 429"},
		{429, "86400", nil, true, time.Minute, "acme: http status 429"}, // capped at MaxRetryAfter
		{500, "", nil, true, 0, "acme: http status 500"},
		{503, "soon", nil, true, 0, "acme: http status 503"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.retryAfter), func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.retryAfter != "" {
				resp.Header.Set("Retry-After", tt.retryAfter)
			}
			e := acme.Status(resp)
			if e.Kind != tt.wantKind || e.Retryable != tt.wantRetry || e.RetryAfter != tt.wantAfter || e.Error() != tt.wantMsg {
				t.Errorf("Status(%d) = {Kind %v, Retryable %v, RetryAfter %v, %q}, want {%v, %v, %v, %q}",
					tt.status, e.Kind, e.Retryable, e.RetryAfter, e.Error(), tt.wantKind, tt.wantRetry, tt.wantAfter, tt.wantMsg)
			}
		})
	}
}

// Callers match one vocabulary: the vendor's sentinel, the shared kind, ErrTransient, and
// the cause, through any wrapping.
func TestErrorVocabulary(t *testing.T) {
	notFound := fmt.Errorf("get thing: %w", acme.Status(&http.Response{StatusCode: 404}))
	busy := fmt.Errorf("get thing: %w", acme.Status(&http.Response{StatusCode: 503}))
	network := fmt.Errorf("get thing: %w", acme.Network(context.DeadlineExceeded, true))
	tests := []struct {
		name string
		err  error
		is   []error
		not  []error
		msg  string
	}{
		{"404", notFound, []error{errAcmeNotFound, retry.ErrNotFound}, []error{retry.ErrTransient, retry.ErrUnauthorized}, "get thing: acme: not found"},
		{"503", busy, []error{retry.ErrTransient}, []error{retry.ErrNotFound}, "get thing: acme: http status 503"},
		{"network", network, []error{retry.ErrTransient, context.DeadlineExceeded}, []error{retry.ErrNotFound}, "get thing: acme: request failed: context deadline exceeded"},
		{"another vendor's sentinel", notFound, []error{retry.ErrNotFound}, []error{retry.Tag("other", retry.ErrNotFound)}, "get thing: acme: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range tt.is {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = false, want true", tt.err, target)
				}
			}
			for _, target := range tt.not {
				if errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = true, want false", tt.err, target)
				}
			}
			if got := tt.err.Error(); got != tt.msg {
				t.Errorf("Error() = %q, want %q", got, tt.msg)
			}
		})
	}
}

// A refused dial never reached the server; a connection closed after the request was sent
// may have.
func TestNeverConnected(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	_, dialErr := http.Get(closed)
	url, _ := scripted(t, -1)
	_, dropErr := http.Get(url)
	if dialErr == nil || dropErr == nil {
		t.Fatalf("errors = %v, %v, want two failures", dialErr, dropErr)
	}
	if !retry.NeverConnected(dialErr) {
		t.Errorf("NeverConnected(%v) = false, want true", dialErr)
	}
	if retry.NeverConnected(dropErr) {
		t.Errorf("NeverConnected(%v) = true, want false", dropErr)
	}
}
