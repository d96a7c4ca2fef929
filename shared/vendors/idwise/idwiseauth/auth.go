// Package idwiseauth authenticates IDWise webhook deliveries, which carry no body
// signature: HTTP Basic, a Bearer token or a custom header, plus an optional
// source-IP allow-list. Secrets come from a SecretSource, are cached (secretcache: at most
// MaxAge, so a revoked secret stops working), compared in constant time, and two of them
// are valid at once so they can be rotated.
package idwiseauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/secretcache"
	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// Mode is how the vendor proves who it is.
type Mode string

const (
	ModeBasic  Mode = "basic"
	ModeBearer Mode = "bearer"
	ModeHeader Mode = "header"
	ModeNone   Mode = "none" // only when explicitly configured
)

// Credentials is what the secret holds. Secret is current; PreviousSecret, when set,
// stays valid during a rotation.
type Credentials struct {
	Username       string `json:"username"`
	Secret         string `json:"secret"`
	PreviousSecret string `json:"previousSecret"`
}

// SecretSource loads the current credentials (Secrets Manager in production).
type SecretSource interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// Config is the authenticator's static configuration.
type Config struct {
	Mode         Mode
	HeaderName   string   // ModeHeader only
	AllowedCIDRs []string // empty: any source
	// AllowBroadSources lifts, in ModeNone, the bound on each allowed range's width
	// (MaxIPv4Width, MaxIPv6Width): an explicit operator override.
	AllowBroadSources bool
	// MinRefresh bounds how often a failed comparison may reload the secret, so that a
	// flood of bad requests cannot turn into a flood of Secrets Manager calls (0: one minute).
	MinRefresh time.Duration
	// MaxAge bounds how long a loaded secret is used: a revoked secret stops working
	// within MaxAge in every warm container (0: secretcache.DefaultMaxAge, five minutes).
	MaxAge time.Duration
}

// Authenticator checks requests. It is safe for concurrent use.
type Authenticator struct {
	mode     Mode
	header   string
	prefixes []netip.Prefix
	cache    *secretcache.Cache[Credentials]
	now      func() time.Time
}

// New validates cfg. The secret is loaded lazily on the first request and cached.
func New(cfg Config, source SecretSource) (*Authenticator, error) {
	a := &Authenticator{mode: cfg.Mode, now: time.Now}
	switch cfg.Mode {
	case ModeBasic, ModeBearer:
	case ModeHeader:
		a.header = strings.ToLower(strings.TrimSpace(cfg.HeaderName))
		if a.header == "" {
			return nil, errors.New("auth mode header needs a header name")
		}
		if a.header == "authorization" {
			return nil, errors.New("auth mode header: use bearer or basic for the authorization header")
		}
	case ModeNone:
	default:
		return nil, fmt.Errorf("unknown auth mode %q (want basic, bearer, header or none)", cfg.Mode)
	}
	if cfg.Mode != ModeNone && source == nil {
		return nil, fmt.Errorf("auth mode %s needs a secret source", cfg.Mode)
	}
	if source != nil {
		a.cache = secretcache.New(func(ctx context.Context) (Credentials, error) {
			c, err := source.Credentials(ctx)
			if err != nil {
				return c, fmt.Errorf("load webhook credentials: %w", err)
			}
			return c, nil
		}, secretcache.Options[Credentials]{
			MaxAge: cfg.MaxAge, MinReload: cfg.MinRefresh, Validate: a.usable,
			Now: func() time.Time { return a.now() },
		})
	}
	prefixes, err := ParseSources(cfg.AllowedCIDRs)
	if err != nil {
		return nil, err
	}
	a.prefixes = prefixes
	if cfg.Mode == ModeNone {
		if len(prefixes) == 0 {
			return nil, errors.New("auth mode none needs an allow-list of source ranges: without credentials it is the webhook's only guard")
		}
		if !cfg.AllowBroadSources {
			if err := NarrowSources(prefixes); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

// The widest source range auth mode none accepts without an override: IDWise calls from a
// handful of published egress addresses (their IP allow-list), so a /24 of IPv4 or a /48 of
// IPv6 (one site's allocation) already holds far more than it needs. Broader ranges, and
// catch-all pairs such as 0.0.0.0/1,128.0.0.0/1, are refused.
const (
	MaxIPv4Width = 24
	MaxIPv6Width = 48
)

// ParseSources parses comma-free CIDRs or bare addresses (a bare address is its own /32
// or /128), masked; IPv4-mapped IPv6 ranges become the IPv4 ranges they are, as the
// source address is compared unmapped.
func ParseSources(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			addr, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("allowed cidr %q: %w", c, err)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("allowed cidr %q: an IPv4-mapped range must be /96 or narrower", c)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// NarrowSources refuses a range broader than MaxIPv4Width / MaxIPv6Width.
func NarrowSources(prefixes []netip.Prefix) error {
	for _, p := range prefixes {
		if p.Addr().Is4() && p.Bits() < MaxIPv4Width {
			return fmt.Errorf("allowed cidr %s is broader than /%d: auth mode none allows only IDWise's egress ranges", p, MaxIPv4Width)
		}
		if p.Addr().Is6() && p.Bits() < MaxIPv6Width {
			return fmt.Errorf("allowed cidr %s is broader than /%d: auth mode none allows only IDWise's egress ranges", p, MaxIPv6Width)
		}
	}
	return nil
}

// Mode reports the configured mode.
func (a *Authenticator) Mode() Mode { return a.mode }

// Check returns nil when r is allowed, webhookauth.ErrForbiddenSource when its source IP is not on
// the allow-list, webhookauth.ErrUnauthenticated when its credentials are missing or wrong, and a
// wrapped error when the secret cannot be loaded (a fault, not the caller's problem).
func (a *Authenticator) Check(ctx context.Context, r webhookauth.Request) error {
	if !a.sourceAllowed(r.SourceIP) {
		return webhookauth.ErrForbiddenSource
	}
	if a.mode == ModeNone {
		return nil
	}
	presented, ok := a.presented(r.Headers)
	if !ok {
		return webhookauth.ErrUnauthenticated
	}
	creds, fresh, err := a.credentials(ctx, false)
	if err == nil && a.matches(creds, presented) {
		return nil
	}
	if !fresh {
		// The cache may predate a rotation (or an operator filling the secret in): reload
		// once (rate limited) and compare again.
		creds, fresh, err = a.credentials(ctx, true)
		if err == nil && fresh && a.matches(creds, presented) {
			return nil
		}
	}
	if err != nil {
		return err
	}
	return webhookauth.ErrUnauthenticated
}

func (a *Authenticator) sourceAllowed(ip string) bool {
	if len(a.prefixes) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range a.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// presented is what the caller sent: "user:password" for basic, the token for bearer,
// the header value for header mode.
type presented struct{ user, secret string }

func (a *Authenticator) presented(h map[string]string) (presented, bool) {
	switch a.mode {
	case ModeBasic:
		v, ok := scheme(h["authorization"], "basic")
		if !ok {
			return presented{}, false
		}
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return presented{}, false
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		return presented{user: user, secret: pass}, ok
	case ModeBearer:
		v, ok := scheme(h["authorization"], "bearer")
		return presented{secret: v}, ok && v != ""
	case ModeHeader:
		v := strings.TrimSpace(h[a.header])
		return presented{secret: v}, v != ""
	}
	return presented{}, false
}

func (a *Authenticator) matches(c Credentials, p presented) bool {
	ok := 0
	for _, s := range []string{c.Secret, c.PreviousSecret} {
		if s == "" {
			continue
		}
		ok |= equal(p.secret, s)
	}
	if a.mode == ModeBasic {
		ok &= equal(p.user, c.Username)
	}
	return ok == 1
}

// equal compares in constant time whatever the lengths: both sides are hashed first.
func equal(a, b string) int {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:])
}

// credentials returns the cached credentials (reloaded when reload is asked, rate
// limited by the cache). fresh reports a load now.
func (a *Authenticator) credentials(ctx context.Context, reload bool) (Credentials, bool, error) {
	if reload {
		return a.cache.Reload(ctx)
	}
	return a.cache.Get(ctx)
}

// usable refuses a secret that cannot authenticate anyone (not filled in yet).
func (a *Authenticator) usable(c Credentials) error {
	if c.Secret == "" {
		return errors.New("load webhook credentials: secret is empty")
	}
	if a.mode == ModeBasic && c.Username == "" {
		return errors.New("load webhook credentials: basic auth needs a username")
	}
	return nil
}

func scheme(v, want string) (string, bool) {
	s, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(s, want) {
		return "", false
	}
	return strings.TrimSpace(rest), true
}
