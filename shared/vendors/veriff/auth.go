package veriff

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/secretcache"
	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// Header names Veriff signs its webhooks with (lower case, as API Gateway passes them).
// Veriff's HMAC page (devdocs.veriff.com/docs/hmac-authentication-and-endpoint-security)
// names the signature "x-hmac-signature or VRF-HMAC-SIGNATURE"; the vrf- name of the API
// key header (VRF-AUTH-CLIENT) is what Veriff's responses carry as seen by public client
// code, not named on that page: it is accepted too, since the signature is the guard.
const (
	HeaderAuthClient       = "x-auth-client"
	HeaderHMACSignature    = "x-hmac-signature"
	HeaderVRFAuthClient    = "vrf-auth-client"
	HeaderVRFHMACSignature = "vrf-hmac-signature"
)

// SecretSource loads the current credentials (Secrets Manager in production).
type SecretSource interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// Sign is the lower-case hex HMAC-SHA256 of body under secret: the X-HMAC-SIGNATURE
// Veriff sends.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Authenticator checks Veriff deliveries: X-AUTH-CLIENT (or VRF-AUTH-CLIENT) must be the
// API key and X-HMAC-SIGNATURE (or VRF-HMAC-SIGNATURE) the HMAC-SHA256 of the raw body
// under the shared secret (or the previous one). It runs before any parsing, compares in
// constant time, and keeps the secret in a secretcache.Cache: at most MaxAge (a revoked
// secret stops working), reloaded at most once per MinReload when a comparison fails, so
// that a rotation takes effect at once without letting bad requests flood Secrets Manager.
// It is safe for concurrent use.
type Authenticator struct {
	cache *secretcache.Cache[Credentials]
	now   func() time.Time
}

// AuthConfig tunes the authenticator's secret cache; zero values take secretcache's
// defaults (five minutes, one minute).
type AuthConfig struct {
	MaxAge     time.Duration
	MinRefresh time.Duration
}

// NewAuthenticator returns the authenticator; minRefresh 0 means one minute.
func NewAuthenticator(source SecretSource, minRefresh time.Duration) (*Authenticator, error) {
	return NewAuthenticatorConfig(source, AuthConfig{MinRefresh: minRefresh})
}

// NewAuthenticatorConfig returns the authenticator with its cache configured by cfg.
func NewAuthenticatorConfig(source SecretSource, cfg AuthConfig) (*Authenticator, error) {
	if source == nil {
		return nil, errors.New("veriff webhook auth needs a secret source")
	}
	a := &Authenticator{now: time.Now}
	a.cache = secretcache.New(func(ctx context.Context) (Credentials, error) {
		c, err := source.Credentials(ctx)
		if err != nil {
			return c, fmt.Errorf("load veriff webhook credentials: %w", err)
		}
		return c, nil
	}, secretcache.Options[Credentials]{
		MaxAge: cfg.MaxAge, MinReload: cfg.MinRefresh,
		Validate: func(c Credentials) error {
			if err := c.Validate(true); err != nil {
				return fmt.Errorf("veriff webhook secret: %w", err)
			}
			return nil
		},
		Now: func() time.Time { return a.now() },
	})
	return a, nil
}

// Check returns nil when r is signed by Veriff, webhookauth.ErrUnauthenticated when a
// header is missing or a value is wrong, and another error when the secret cannot be
// loaded or is not filled in (a fault on our side: the edge answers 500 and Veriff
// retries).
func (a *Authenticator) Check(ctx context.Context, r webhookauth.Request) error {
	_, err := a.Integration(ctx, r)
	return err
}

// Integration authenticates r as Check does and returns the integration that signed it:
// the one whose API key X-AUTH-CLIENT (or VRF-AUTH-CLIENT) names, its signature checked
// with that integration's shared secret (or its previous one). An API key no integration
// has is ErrUnauthenticated.
func (a *Authenticator) Integration(ctx context.Context, r webhookauth.Request) (Integration, error) {
	client, ok := either(r.Headers, HeaderAuthClient, HeaderVRFAuthClient)
	if !ok {
		return Integration{}, webhookauth.ErrUnauthenticated
	}
	rawSig, ok := either(r.Headers, HeaderHMACSignature, HeaderVRFHMACSignature)
	if !ok {
		return Integration{}, webhookauth.ErrUnauthenticated
	}
	sig, err := hex.DecodeString(rawSig) // either letter case
	if client == "" || err != nil || len(sig) != sha256.Size {
		return Integration{}, webhookauth.ErrUnauthenticated
	}
	creds, fresh, err := a.cache.Get(ctx)
	if err == nil {
		if in, ok := creds.match(client, sig, r.Body); ok {
			return in, nil
		}
	}
	if !fresh {
		// The cache may predate a rotation: reload once (rate limited) and compare again.
		creds, fresh, err = a.cache.Reload(ctx)
		if err == nil && fresh {
			if in, ok := creds.match(client, sig, r.Body); ok {
				return in, nil
			}
		}
	}
	if err != nil {
		return Integration{}, err
	}
	return Integration{}, webhookauth.ErrUnauthenticated
}

// Attributes authenticates r and names the integration that signed it as inbox event
// attributes (AttrIntegration, AttrProduct): the webhook edge adds them to the event, so
// that the processor knows a proof-of-address decision from an identity one.
func (a *Authenticator) Attributes(ctx context.Context, r webhookauth.Request) (map[string]string, error) {
	in, err := a.Integration(ctx, r)
	if err != nil {
		return nil, err
	}
	return map[string]string{AttrIntegration: in.Name, AttrProduct: string(in.Product)}, nil
}

// either reads a header sent under its x- or its vrf- name. Both present with different
// values is refused (ok false): a proxy or an attacker added one, and which one Veriff
// signed cannot be told.
func either(h map[string]string, x, vrf string) (string, bool) {
	a, b := strings.TrimSpace(h[x]), strings.TrimSpace(h[vrf])
	switch {
	case a != "" && b != "" && a != b:
		return "", false
	case a != "":
		return a, true
	default:
		return b, b != ""
	}
}

// match finds the integration whose API key is client and checks the signature under its
// shared secrets. Every integration's key and secrets are compared, in constant time,
// whichever matches, so the timing tells nothing of which key is known.
func (c Credentials) match(client string, sig, body []byte) (Integration, bool) {
	var found Integration
	hit := 0
	for _, in := range c.List() {
		ok := 0
		for _, s := range []string{in.SharedSecret, in.PreviousSharedSecret} {
			if s == "" {
				continue
			}
			m := hmac.New(sha256.New, []byte(s))
			m.Write(body)
			ok |= subtle.ConstantTimeCompare(m.Sum(nil), sig)
		}
		if ok&equal(client, in.APIKey) == 1 && in.APIKey != "" {
			found, hit = in, 1
		}
	}
	return found, hit == 1
}

// equal compares in constant time whatever the lengths: both sides are hashed first.
func equal(a, b string) int {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:])
}
