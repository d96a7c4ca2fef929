package veriff

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// fakeSource hands out credentials and counts loads; set creds to rotate.
type fakeSource struct {
	mu    sync.Mutex
	creds Credentials
	err   error
	loads int
}

func (f *fakeSource) Credentials(context.Context) (Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	return f.creds, f.err
}

func (f *fakeSource) set(c Credentials) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creds = c
}

func (f *fakeSource) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads
}

const (
	apiKey   = "veriff-api-key"
	current  = "shared-secret-current"
	previous = "shared-secret-previous"
)

var body = []byte(`{"id":"f04bdb47-d3be-4b28-b028-a652feb060b5","code":7002,"action":"submitted"}`)

func signed(key, sig string, b []byte) webhookauth.Request {
	h := map[string]string{"content-type": "application/json"}
	if key != "" {
		h[HeaderAuthClient] = key
	}
	if sig != "" {
		h[HeaderHMACSignature] = sig
	}
	return webhookauth.Request{Headers: h, SourceIP: "192.0.2.1", Body: b}
}

func TestSign(t *testing.T) {
	// Reference value: printf '%s' 'hello' | openssl dgst -sha256 -hmac 'secret'
	if got, want := Sign("secret", []byte("hello")), "88aab3ede8d3adf94d26ab90d3bafd4a2083070c3bcce9c014ee04a443847c0b"; got != want {
		t.Errorf("Sign() = %s, want %s", got, want)
	}
}

func TestCheckSignatureMatrix(t *testing.T) {
	changed := append([]byte(nil), body...)
	changed[len(changed)-3] ^= 0x01 // one byte of the body changed after signing
	tests := []struct {
		name  string
		creds Credentials
		req   webhookauth.Request
		want  error
	}{
		{"valid", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, Sign(current, body), body), nil},
		{"valid, upper-case hex", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, strings.ToUpper(Sign(current, body)), body), nil},
		// Header names arrive lower case (the webhook edge's apigw.LowerHeaders; the edge's
		// TestHandleHeaderNamesInAnyCase proves a Veriff delivery in any case gets here).
		{"header names are read lower case only", Credentials{APIKey: apiKey, SharedSecret: current},
			webhookauth.Request{Headers: map[string]string{"X-Auth-Client": apiKey, "X-HMAC-Signature": Sign(current, body)}, Body: body}, webhookauth.ErrUnauthenticated},
		{"wrong secret", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, Sign("not-the-secret", body), body), webhookauth.ErrUnauthenticated},
		{"one byte of the body changed", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, Sign(current, body), changed), webhookauth.ErrUnauthenticated},
		{"empty body signed for another", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, Sign(current, body), nil), webhookauth.ErrUnauthenticated},
		{"missing signature", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, "", body), webhookauth.ErrUnauthenticated},
		{"missing api key", Credentials{APIKey: apiKey, SharedSecret: current}, signed("", Sign(current, body), body), webhookauth.ErrUnauthenticated},
		{"missing both headers", Credentials{APIKey: apiKey, SharedSecret: current}, signed("", "", body), webhookauth.ErrUnauthenticated},
		{"wrong api key, right signature", Credentials{APIKey: apiKey, SharedSecret: current}, signed("other-key", Sign(current, body), body), webhookauth.ErrUnauthenticated},
		{"signature not hex", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, "z"+Sign(current, body)[1:], body), webhookauth.ErrUnauthenticated},
		{"signature truncated", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, Sign(current, body)[:62], body), webhookauth.ErrUnauthenticated},
		{"signature is the secret", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, current, body), webhookauth.ErrUnauthenticated},
		{"rotated: previous secret still valid", Credentials{APIKey: apiKey, SharedSecret: current, PreviousSharedSecret: previous}, signed(apiKey, Sign(previous, body), body), nil},
		{"rotated: current secret valid", Credentials{APIKey: apiKey, SharedSecret: current, PreviousSharedSecret: previous}, signed(apiKey, Sign(current, body), body), nil},
		{"rotation over: previous secret refused", Credentials{APIKey: apiKey, SharedSecret: current}, signed(apiKey, Sign(previous, body), body), webhookauth.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAuthenticator(&fakeSource{creds: tt.creds}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Check(context.Background(), tt.req); !errors.Is(got, tt.want) && got != tt.want {
				t.Errorf("Check() = %v, want %v", got, tt.want)
			}
		})
	}
}

// A secret the operator has not filled in yet is our fault, not the caller's: Check
// reports an error (500, Veriff retries) rather than ErrUnauthenticated, and the edge
// stores nothing either way.
func TestCheckIncompleteSecretIsAFault(t *testing.T) {
	for _, c := range []Credentials{{SharedSecret: current}, {APIKey: apiKey}} {
		src := &fakeSource{creds: c}
		a, _ := NewAuthenticator(src, time.Minute)
		err := a.Check(context.Background(), signed(apiKey, Sign(current, body), body))
		if err == nil || errors.Is(err, webhookauth.ErrUnauthenticated) {
			t.Errorf("Check() with secret %+v = %v, want a fault", c, err)
		}
		for i := 0; i < 5; i++ {
			_ = a.Check(context.Background(), signed(apiKey, Sign(current, body), body))
		}
		if n := src.count(); n != 1 {
			t.Errorf("secret loads = %d, want 1: an unusable secret is cached like a good one", n)
		}
	}
}

func TestCheckSourceFailure(t *testing.T) {
	a, _ := NewAuthenticator(&fakeSource{err: errors.New("secrets manager down")}, time.Minute)
	err := a.Check(context.Background(), signed(apiKey, Sign(current, body), body))
	if err == nil || errors.Is(err, webhookauth.ErrUnauthenticated) {
		t.Errorf("Check() = %v, want a wrapped load error", err)
	}
	// No secret is loaded for a request without the headers.
	src := &fakeSource{creds: Credentials{APIKey: apiKey, SharedSecret: current}}
	a, _ = NewAuthenticator(src, time.Minute)
	_ = a.Check(context.Background(), signed("", "", body))
	if src.count() != 0 {
		t.Errorf("secret loads = %d for a request without credentials, want 0", src.count())
	}
}

// A rotation done in Secrets Manager takes effect at the next request signed with the new
// secret (one reload), while a flood of bad requests reloads at most once per MinRefresh.
func TestCheckReloadsAfterRotationRateLimited(t *testing.T) {
	src := &fakeSource{creds: Credentials{APIKey: apiKey, SharedSecret: previous}}
	a, _ := NewAuthenticator(src, time.Minute)
	now := time.Unix(1_800_000_000, 0)
	a.now = func() time.Time { return now }
	ctx := context.Background()
	if err := a.Check(ctx, signed(apiKey, Sign(previous, body), body)); err != nil {
		t.Fatalf("Check() before rotation = %v", err)
	}
	now = now.Add(2 * time.Minute)
	src.set(Credentials{APIKey: apiKey, SharedSecret: current, PreviousSharedSecret: previous})
	if err := a.Check(ctx, signed(apiKey, Sign(current, body), body)); err != nil {
		t.Errorf("Check() with the new secret = %v, want a reload and success", err)
	}
	loads := src.count()
	for i := 0; i < 20; i++ {
		if err := a.Check(ctx, signed(apiKey, Sign("attacker", body), body)); !errors.Is(err, webhookauth.ErrUnauthenticated) {
			t.Fatalf("Check() with a bad signature = %v", err)
		}
	}
	if n := src.count() - loads; n != 0 {
		t.Errorf("secret reloads during a flood of bad requests = %d, want 0 within MinRefresh", n)
	}
}

func TestNewAuthenticatorNeedsASource(t *testing.T) {
	if _, err := NewAuthenticator(nil, 0); err == nil {
		t.Error("NewAuthenticator(nil) = nil error, want one")
	}
}

func BenchmarkCheck(b *testing.B) {
	a, _ := NewAuthenticator(&fakeSource{creds: Credentials{APIKey: apiKey, SharedSecret: current, PreviousSharedSecret: previous}}, time.Minute)
	req := signed(apiKey, Sign(current, body), body)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Check(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
