package idwiseauth

import (
	"context"
	"encoding/base64"
	"errors"
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

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestCheckMatrix(t *testing.T) {
	creds := Credentials{Username: "idwise", Secret: "s3cret-current", PreviousSecret: "s3cret-previous"}
	tests := []struct {
		name    string
		cfg     Config
		headers map[string]string
		ip      string
		want    error
	}{
		{"bearer right", Config{Mode: ModeBearer}, map[string]string{"authorization": "Bearer s3cret-current"}, "1.2.3.4", nil},
		{"bearer scheme any case", Config{Mode: ModeBearer}, map[string]string{"authorization": "bearer s3cret-current"}, "1.2.3.4", nil},
		{"bearer previous secret during rotation", Config{Mode: ModeBearer}, map[string]string{"authorization": "Bearer s3cret-previous"}, "1.2.3.4", nil},
		{"bearer wrong", Config{Mode: ModeBearer}, map[string]string{"authorization": "Bearer nope"}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"bearer prefix of secret", Config{Mode: ModeBearer}, map[string]string{"authorization": "Bearer s3cret"}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"bearer missing", Config{Mode: ModeBearer}, map[string]string{}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"bearer empty token", Config{Mode: ModeBearer}, map[string]string{"authorization": "Bearer "}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"bearer sent as basic", Config{Mode: ModeBearer}, map[string]string{"authorization": basic("idwise", "s3cret-current")}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"basic right", Config{Mode: ModeBasic}, map[string]string{"authorization": basic("idwise", "s3cret-current")}, "1.2.3.4", nil},
		{"basic previous secret", Config{Mode: ModeBasic}, map[string]string{"authorization": basic("idwise", "s3cret-previous")}, "1.2.3.4", nil},
		{"basic wrong password", Config{Mode: ModeBasic}, map[string]string{"authorization": basic("idwise", "x")}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"basic wrong user", Config{Mode: ModeBasic}, map[string]string{"authorization": basic("mallory", "s3cret-current")}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"basic not base64", Config{Mode: ModeBasic}, map[string]string{"authorization": "Basic !!!"}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"basic missing", Config{Mode: ModeBasic}, nil, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"basic sent as bearer", Config{Mode: ModeBasic}, map[string]string{"authorization": "Bearer s3cret-current"}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"header right", Config{Mode: ModeHeader, HeaderName: "X-IDWise-Token"}, map[string]string{"x-idwise-token": "s3cret-current"}, "1.2.3.4", nil},
		{"header previous", Config{Mode: ModeHeader, HeaderName: "X-IDWise-Token"}, map[string]string{"x-idwise-token": "s3cret-previous"}, "1.2.3.4", nil},
		{"header wrong", Config{Mode: ModeHeader, HeaderName: "X-IDWise-Token"}, map[string]string{"x-idwise-token": "s3cret-currenT"}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"header missing", Config{Mode: ModeHeader, HeaderName: "X-IDWise-Token"}, map[string]string{"authorization": "Bearer s3cret-current"}, "1.2.3.4", webhookauth.ErrUnauthenticated},
		{"none accepts anything from its range", Config{Mode: ModeNone, AllowedCIDRs: []string{"1.2.3.0/24"}}, nil, "1.2.3.4", nil},
		{"none with an IPv4-mapped range", Config{Mode: ModeNone, AllowedCIDRs: []string{"::ffff:1.2.3.0/120"}}, nil, "1.2.3.4", nil},
		{"none with a broad range overridden", Config{Mode: ModeNone, AllowedCIDRs: []string{"10.0.0.0/8"}, AllowBroadSources: true}, nil, "10.9.9.9", nil},
		{"ip allowed", Config{Mode: ModeBearer, AllowedCIDRs: []string{"10.0.0.0/8", "1.2.3.0/24"}}, map[string]string{"authorization": "Bearer s3cret-current"}, "1.2.3.4", nil},
		{"single address allowed", Config{Mode: ModeBearer, AllowedCIDRs: []string{"1.2.3.4"}}, map[string]string{"authorization": "Bearer s3cret-current"}, "1.2.3.4", nil},
		{"ipv6 allowed", Config{Mode: ModeBearer, AllowedCIDRs: []string{"2001:db8::/32"}}, map[string]string{"authorization": "Bearer s3cret-current"}, "2001:db8::1", nil},
		{"bad ip with right secret", Config{Mode: ModeBearer, AllowedCIDRs: []string{"10.0.0.0/8"}}, map[string]string{"authorization": "Bearer s3cret-current"}, "1.2.3.4", webhookauth.ErrForbiddenSource},
		{"bad ip in none mode", Config{Mode: ModeNone, AllowedCIDRs: []string{"10.0.0.0/24"}}, nil, "1.2.3.4", webhookauth.ErrForbiddenSource},
		{"unparsable ip", Config{Mode: ModeBearer, AllowedCIDRs: []string{"10.0.0.0/8"}}, map[string]string{"authorization": "Bearer s3cret-current"}, "", webhookauth.ErrForbiddenSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{creds: creds}
			a, err := New(tt.cfg, src)
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			got := a.Check(context.Background(), webhookauth.Request{Headers: tt.headers, SourceIP: tt.ip})
			if !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Errorf("Check() = %v, want %v", got, tt.want)
			}
			if tt.want == webhookauth.ErrForbiddenSource && src.loads != 0 {
				t.Errorf("secret loads = %d, want 0 for a forbidden source", src.loads)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		src  SecretSource
	}{
		{"unknown mode", Config{Mode: "hmac"}, &fakeSource{}},
		// issue 20 item 3: none needs source ranges no broader than IDWise's egress needs.
		{"none without an allow-list", Config{Mode: ModeNone}, nil},
		{"none with IPv4 halves", Config{Mode: ModeNone, AllowedCIDRs: []string{"0.0.0.0/1", "128.0.0.0/1"}}, nil},
		{"none with an IPv4 /23", Config{Mode: ModeNone, AllowedCIDRs: []string{"1.2.3.4", "10.0.0.0/23"}}, nil},
		{"none with an IPv6 /47", Config{Mode: ModeNone, AllowedCIDRs: []string{"2001:db8::/47"}}, nil},
		{"none with the IPv4-mapped space", Config{Mode: ModeNone, AllowedCIDRs: []string{"::ffff:0.0.0.0/96"}}, nil},
		{"none with a short IPv4-mapped range", Config{Mode: ModeNone, AllowedCIDRs: []string{"::ffff:0:0/95"}}, nil},
		{"empty mode", Config{}, &fakeSource{}},
		{"header without name", Config{Mode: ModeHeader}, &fakeSource{}},
		{"header on authorization", Config{Mode: ModeHeader, HeaderName: "Authorization"}, &fakeSource{}},
		{"bearer without secret source", Config{Mode: ModeBearer}, nil},
		{"bad cidr", Config{Mode: ModeBearer, AllowedCIDRs: []string{"10.0.0.0/33"}}, &fakeSource{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, tt.src); err == nil {
				t.Errorf("New(%+v) error = nil, want an error", tt.cfg)
			}
		})
	}
}

func TestSecretCachedAndRefreshedOnceAfterRotation(t *testing.T) {
	src := &fakeSource{creds: Credentials{Secret: "old"}}
	a, err := New(Config{Mode: ModeBearer, MinRefresh: time.Minute}, src)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	ctx := context.Background()
	req := func(token string) error {
		return a.Check(ctx, webhookauth.Request{Headers: map[string]string{"authorization": "Bearer " + token}})
	}

	for i := 0; i < 5; i++ {
		if err := req("old"); err != nil {
			t.Fatalf("Check(old) = %v, want nil", err)
		}
	}
	if src.loads != 1 {
		t.Fatalf("loads after 5 good requests = %d, want 1 (cached)", src.loads)
	}

	// Rotated in Secrets Manager: the cache is stale, but within MinRefresh it is not reloaded.
	src.set(Credentials{Secret: "new", PreviousSecret: "old"})
	now = now.Add(10 * time.Second)
	if err := req("new"); !errors.Is(err, webhookauth.ErrUnauthenticated) {
		t.Fatalf("Check(new) within MinRefresh = %v, want webhookauth.ErrUnauthenticated", err)
	}
	if src.loads != 1 {
		t.Fatalf("loads = %d, want 1: a failed comparison within MinRefresh must not reload", src.loads)
	}

	now = now.Add(time.Minute)
	if err := req("new"); err != nil {
		t.Fatalf("Check(new) after MinRefresh = %v, want nil (reloaded once)", err)
	}
	if src.loads != 2 {
		t.Fatalf("loads = %d, want 2", src.loads)
	}
	if err := req("old"); err != nil {
		t.Fatalf("Check(old) during rotation = %v, want nil", err)
	}
	for i := 0; i < 10; i++ {
		_ = req("garbage")
	}
	if src.loads != 2 {
		t.Errorf("loads after a burst of bad tokens = %d, want 2", src.loads)
	}
}

func TestCheckSecretLoadFailureIsAFault(t *testing.T) {
	src := &fakeSource{err: errors.New("secrets manager down")}
	a, _ := New(Config{Mode: ModeBearer}, src)
	err := a.Check(context.Background(), webhookauth.Request{Headers: map[string]string{"authorization": "Bearer x"}})
	if err == nil || errors.Is(err, webhookauth.ErrUnauthenticated) {
		t.Errorf("Check() = %v, want a fault that is not webhookauth.ErrUnauthenticated", err)
	}
	src.err = nil
	src.creds = Credentials{Secret: ""}
	if err := a.Check(context.Background(), webhookauth.Request{Headers: map[string]string{"authorization": "Bearer x"}}); err == nil || errors.Is(err, webhookauth.ErrUnauthenticated) {
		t.Errorf("Check() with an empty secret = %v, want a configuration fault", err)
	}
}

func BenchmarkCheckBearer(b *testing.B) {
	a, _ := New(Config{Mode: ModeBearer, AllowedCIDRs: []string{"0.0.0.0/0"}}, &fakeSource{creds: Credentials{Secret: "s3cret-current", PreviousSecret: "p"}})
	req := webhookauth.Request{Headers: map[string]string{"authorization": "Bearer s3cret-current"}, SourceIP: "1.2.3.4"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Check(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// The attacker holds a leaked token; the operator revokes it (the secret now holds only a
// new one). In a warm container it stops working once the cache's max age is over, even
// though every request the attacker sends succeeds until then (no failed comparison).
func TestRevokedSecretStopsWorkingAfterMaxAge(t *testing.T) {
	src := &fakeSource{creds: Credentials{Secret: "leaked"}}
	a, err := New(Config{Mode: ModeBearer, MaxAge: 5 * time.Minute}, src)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	check := func() error {
		return a.Check(context.Background(), webhookauth.Request{Headers: map[string]string{"authorization": "Bearer leaked"}})
	}
	if err := check(); err != nil {
		t.Fatalf("Check(leaked) before revocation = %v, want nil", err)
	}
	src.set(Credentials{Secret: "fresh"}) // revoked: no previousSecret
	now = now.Add(4 * time.Minute)
	if err := check(); err != nil {
		t.Fatalf("Check(leaked) within max age = %v, want nil (cached)", err)
	}
	now = now.Add(time.Minute)
	if err := check(); !errors.Is(err, webhookauth.ErrUnauthenticated) {
		t.Errorf("Check(leaked) after max age = %v, want webhookauth.ErrUnauthenticated", err)
	}
}
