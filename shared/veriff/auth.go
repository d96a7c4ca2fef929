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
	"sync"
	"time"

	"github.com/kycbackend/kyc/shared/webhookauth"
)

// Header names Veriff signs its webhooks with (lower case, as API Gateway passes them).
const (
	HeaderAuthClient    = "x-auth-client"
	HeaderHMACSignature = "x-hmac-signature"
)

// Credentials is what the Veriff secret holds: the integration's API key, which Veriff
// sends as X-AUTH-CLIENT, and its shared secret key, which signs the body.
// PreviousSharedSecret, when set, stays valid during a rotation.
type Credentials struct {
	APIKey               string `json:"apiKey"`
	SharedSecret         string `json:"sharedSecret"`
	PreviousSharedSecret string `json:"previousSharedSecret"`
}

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

// Authenticator checks Veriff deliveries: X-AUTH-CLIENT must be the API key and
// X-HMAC-SIGNATURE the HMAC-SHA256 of the raw body under the shared secret (or the
// previous one). It runs before any parsing, compares in constant time, caches the
// secret, and reloads it at most once per MinRefresh when a comparison fails, so that a
// rotation takes effect at once without letting bad requests flood Secrets Manager.
// It is safe for concurrent use.
type Authenticator struct {
	source  SecretSource
	minWait time.Duration
	now     func() time.Time

	mu       sync.Mutex
	loaded   bool
	creds    Credentials
	invalid  error // the loaded secret is unusable (an operator has not filled it yet)
	loadedAt time.Time
}

var errIncomplete = errors.New("veriff webhook secret: apiKey and sharedSecret must be set")

// NewAuthenticator returns the authenticator; minRefresh 0 means one minute.
func NewAuthenticator(source SecretSource, minRefresh time.Duration) (*Authenticator, error) {
	if source == nil {
		return nil, errors.New("veriff webhook auth needs a secret source")
	}
	if minRefresh == 0 {
		minRefresh = time.Minute
	}
	return &Authenticator{source: source, minWait: minRefresh, now: time.Now}, nil
}

// Check returns nil when r is signed by Veriff, webhookauth.ErrUnauthenticated when a
// header is missing or a value is wrong, and another error when the secret cannot be
// loaded or is not filled in (a fault on our side: the edge answers 500 and Veriff
// retries).
func (a *Authenticator) Check(ctx context.Context, r webhookauth.Request) error {
	client := strings.TrimSpace(header(r.Headers, HeaderAuthClient))
	sig, err := hex.DecodeString(strings.TrimSpace(header(r.Headers, HeaderHMACSignature))) // either letter case
	if client == "" || err != nil || len(sig) != sha256.Size {
		return webhookauth.ErrUnauthenticated
	}
	creds, fresh, err := a.credentials(ctx, false)
	if err == nil && creds.match(client, sig, r.Body) {
		return nil
	}
	if !fresh {
		// The cache may predate a rotation: reload once (rate limited) and compare again.
		creds, fresh, err = a.credentials(ctx, true)
		if err == nil && fresh && creds.match(client, sig, r.Body) {
			return nil
		}
	}
	if err != nil {
		return err
	}
	return webhookauth.ErrUnauthenticated
}

// match compares the API key and the signature under both secrets, all in constant time
// and always all of them.
func (c Credentials) match(client string, sig, body []byte) bool {
	ok := 0
	for _, s := range []string{c.SharedSecret, c.PreviousSharedSecret} {
		if s == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(s))
		m.Write(body)
		ok |= subtle.ConstantTimeCompare(m.Sum(nil), sig)
	}
	return ok&equal(client, c.APIKey) == 1
}

// equal compares in constant time whatever the lengths: both sides are hashed first.
func equal(a, b string) int {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:])
}

// credentials returns the cached credentials, loading them when there are none, or when
// reload is asked and the last load is older than minWait. fresh reports a load now. An
// unusable secret is cached too (and reported), so that it is not re-read per request.
func (a *Authenticator) credentials(ctx context.Context, reload bool) (Credentials, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.loaded && (!reload || a.now().Sub(a.loadedAt) < a.minWait) {
		return a.creds, false, a.invalid
	}
	c, err := a.source.Credentials(ctx)
	if err != nil {
		return Credentials{}, false, fmt.Errorf("load veriff webhook credentials: %w", err)
	}
	a.loaded, a.creds, a.loadedAt, a.invalid = true, c, a.now(), nil
	if c.APIKey == "" || c.SharedSecret == "" {
		a.invalid = errIncomplete
	}
	return c, true, a.invalid
}

func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h { // callers other than API Gateway may not lower-case
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
