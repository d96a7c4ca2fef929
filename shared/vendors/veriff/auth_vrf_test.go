package veriff

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// Veriff's HMAC documentation names the signature header "x-hmac-signature or
// VRF-HMAC-SIGNATURE" (devdocs.veriff.com/docs/hmac-authentication-and-endpoint-security,
// updated 2026-05-22). The API key's vrf- name, VRF-AUTH-CLIENT, is not on that page; public
// Veriff client code reads "X-AUTH-CLIENT ?? VRF-AUTH-CLIENT" (the names Veriff's responses
// carry), so both are accepted: the HMAC, not the key header, is what proves the sender.
func TestCheckVRFHeaderNames(t *testing.T) {
	sig := Sign(current, body)
	req := func(h map[string]string) webhookauth.Request {
		return webhookauth.Request{Headers: h, Body: body}
	}
	tests := []struct {
		name string
		req  webhookauth.Request
		want error
	}{
		{"x- names", req(map[string]string{"x-auth-client": apiKey, "x-hmac-signature": sig}), nil},
		{"vrf- signature", req(map[string]string{"x-auth-client": apiKey, "vrf-hmac-signature": sig}), nil},
		{"vrf- names (sent upper case, lower-cased by the edge)", req(map[string]string{"vrf-auth-client": apiKey, "vrf-hmac-signature": sig}), nil},
		{"both signature names, same value", req(map[string]string{"x-auth-client": apiKey, "x-hmac-signature": sig, "vrf-hmac-signature": sig}), nil},
		{"vrf- signature forged", req(map[string]string{"x-auth-client": apiKey, "vrf-hmac-signature": Sign("attacker", body)}), webhookauth.ErrUnauthenticated},
		{"both signature names, one forged", req(map[string]string{"x-auth-client": apiKey, "x-hmac-signature": Sign("attacker", body), "vrf-hmac-signature": sig}), webhookauth.ErrUnauthenticated},
		{"both key names, different", req(map[string]string{"x-auth-client": "other", "vrf-auth-client": apiKey, "x-hmac-signature": sig}), webhookauth.ErrUnauthenticated},
		{"no signature under either name", req(map[string]string{"vrf-auth-client": apiKey}), webhookauth.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAuthenticator(&fakeSource{creds: Credentials{APIKey: apiKey, SharedSecret: current}}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Check(context.Background(), tt.req); !errors.Is(got, tt.want) && got != tt.want {
				t.Errorf("Check() = %v, want %v", got, tt.want)
			}
		})
	}
}

// A leaked shared secret is replaced in Secrets Manager (no previousSharedSecret): warm
// containers stop accepting it once the cache's max age is over.
func TestRevokedSharedSecretStopsWorkingAfterMaxAge(t *testing.T) {
	src := &fakeSource{creds: Credentials{APIKey: apiKey, SharedSecret: "leaked"}}
	a, err := NewAuthenticatorConfig(src, AuthConfig{MaxAge: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	a.now = func() time.Time { return now }
	forged := signed(apiKey, Sign("leaked", body), body)
	if err := a.Check(context.Background(), forged); err != nil {
		t.Fatalf("Check() before revocation = %v, want nil", err)
	}
	src.set(Credentials{APIKey: apiKey, SharedSecret: current})
	now = now.Add(5 * time.Minute)
	if err := a.Check(context.Background(), forged); !errors.Is(err, webhookauth.ErrUnauthenticated) {
		t.Errorf("Check() with the revoked secret after max age = %v, want ErrUnauthenticated", err)
	}
}
