// Package veriffapi calls the Veriff REST API: it creates verification sessions
// (POST /v1/sessions) and re-fetches a session's decision (GET /v1/sessions/{id}/decision).
// Every request carries X-AUTH-CLIENT (the API key); the decision look-up also carries
// X-HMAC-SIGNATURE, the lower-case hex HMAC-SHA256 of the session id keyed with the shared
// secret (Veriff: "GET / DELETE request: session ID signed with shared secret key").
// Bodies are never logged nor put in errors: they hold the person's data.
package veriffapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/endpoint"
	"github.com/kycbackend/kyc/shared/vendors/retry"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/webhookjson"
)

// DefaultBaseURL is Veriff's public API host (the Customer Portal shows each
// integration's own, which may differ).
const DefaultBaseURL = "https://stationapi.veriff.com"

// Credentials are the integration's API key and shared secret.
type Credentials struct{ APIKey, SharedSecret string }

// CredentialSource loads the credentials (the Veriff secret in Secrets Manager): those of
// the identity integration.
type CredentialSource interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// ProductSource is a CredentialSource that also holds other products' integrations
// (proof of address): sessions of product p are created with ProductCredentials(p).
type ProductSource interface {
	ProductCredentials(ctx context.Context, p veriff.Product) (Credentials, error)
}

// Config configures a Client. Zero values take the defaults shown.
type Config struct {
	// BaseURL is the API's base, DefaultBaseURL when empty. It must be https, except on
	// a loopback host (the local simulator).
	BaseURL string
	// Timeout bounds one method call, retries included; default 20s.
	Timeout time.Duration
}

// Client calls the Veriff API. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	creds       CredentialSource
	hc          *http.Client
	timeout     time.Duration
	attempt     time.Duration
	maxAttempts int
	baseBackoff time.Duration
	maxBackoff  time.Duration
	maxBody     int64
}

// New validates cfg and builds a client; hc nil builds one with connect and TLS timeouts.
// It makes no request.
func New(cfg Config, creds CredentialSource, hc *http.Client) (*Client, error) {
	if creds == nil {
		return nil, errors.New("veriff api client needs credentials")
	}
	raw := strings.TrimSpace(cfg.BaseURL)
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(raw)
	if err != nil || base.Host == "" || base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("veriff base url %q: want an absolute https url", raw)
	}
	// The API key travels with every request: https, or http to a loopback host (the local simulator).
	if err := endpoint.CheckHTTPS("veriff base url", raw); err != nil {
		return nil, err
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = 3 * time.Second
		hc = &http.Client{Transport: tr}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	return &Client{base: base, creds: creds, hc: hc, timeout: timeout, attempt: 10 * time.Second,
		maxAttempts: 4, baseBackoff: 200 * time.Millisecond, maxBackoff: 3 * time.Second, maxBody: 1 << 20}, nil
}

// ErrNotFound means Veriff does not know the session (HTTP 404). It is permanent. It
// matches retry.ErrNotFound.
var ErrNotFound = retry.Tag("veriff", retry.ErrNotFound)

// ErrUnauthorized means Veriff refused the API key or the signature (HTTP 401 or 403).
// It is permanent until the credentials change. It matches retry.ErrUnauthorized.
var ErrUnauthorized = retry.Tag("veriff", retry.ErrUnauthorized)

// ErrMalformedResponse means a 2xx answer the client cannot read. It matches
// retry.ErrMalformedResponse.
var ErrMalformedResponse = retry.Tag("veriff", retry.ErrMalformedResponse)

// APIError is a failed call (retry.Error): a 404 (Kind ErrNotFound), a 401 or 403 (Kind
// ErrUnauthorized), another status, or no response at all (Status 0: network error or
// timeout). Retryable reports whether the same call may succeed later. It never carries
// a response body.
type APIError = retry.Error

// vendor classifies Veriff's answers; a Retry-After is honoured up to a minute.
var vendor = retry.Vendor{Name: "veriff", NotFound: ErrNotFound, Unauthorized: ErrUnauthorized, MaxRetryAfter: time.Minute}

// SessionRequest is what a new session is created with: no personal data. Product picks
// the integration (empty: identity).
type SessionRequest struct {
	VendorData, Lang, Callback string
	Product                    veriff.Product
}

// Session is a created session: its id and the URL the end user's SDK opens.
type Session struct{ ID, URL string }

type createBody struct {
	Verification createVerification `json:"verification"`
}

type createVerification struct {
	Callback   string `json:"callback,omitempty"`
	VendorData string `json:"vendorData,omitempty"`
	Lang       string `json:"lang,omitempty"`
}

// CreateSession creates a session (POST /v1/sessions {"verification": {callback,
// vendorData, lang}}, X-AUTH-CLIENT only, as Veriff documents for this one call) and
// returns verification.id and verification.url of the answer. A creation is not
// idempotent: it is retried only when Veriff cannot have acted on it (429, 502, 503,
// 504, or a connection that was never made).
func (c *Client) CreateSession(ctx context.Context, r SessionRequest) (Session, error) {
	body, err := json.Marshal(createBody{Verification: createVerification{Callback: r.Callback, VendorData: r.VendorData, Lang: r.Lang}})
	if err != nil {
		return Session{}, fmt.Errorf("create veriff session: %w", err)
	}
	out, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/sessions", body: body, create: true, product: r.Product})
	if err != nil {
		return Session{}, fmt.Errorf("create veriff session: %w", err)
	}
	var resp struct {
		Verification struct {
			ID  *json.RawMessage  `json:"id"`
			URL webhookjson.Loose `json:"url"`
		} `json:"verification"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return Session{}, fmt.Errorf("create veriff session: %w", ErrMalformedResponse)
	}
	id, reason := webhookjson.ID(resp.Verification.ID)
	if reason != "" || resp.Verification.URL == "" {
		return Session{}, fmt.Errorf("create veriff session: verification.id or url missing: %w", ErrMalformedResponse)
	}
	return Session{ID: id, URL: string(resp.Verification.URL)}, nil
}

// Decision fetches the session's decision (GET /v1/sessions/{id}/decision) and returns
// the answer as sent: {"status", "verification": {...}}, the decision webhook's shape,
// which veriff.Parse reads ("verification": null while Veriff has not decided).
func (c *Client) Decision(ctx context.Context, sessionID string) ([]byte, error) {
	return c.DecisionOf(ctx, veriff.ProductIdentity, sessionID)
}

// DecisionOf is Decision with the credentials of product's integration.
func (c *Client) DecisionOf(ctx context.Context, product veriff.Product, sessionID string) ([]byte, error) {
	if _, reason := webhookjson.ID(rawString(sessionID)); reason != "" || strings.ContainsAny(sessionID, "/?#%") {
		return nil, fmt.Errorf("veriff session id %q: not a usable id", sessionID)
	}
	out, err := c.call(ctx, request{method: http.MethodGet, path: "/v1/sessions/" + url.PathEscape(sessionID) + "/decision", signed: sessionID, product: product})
	if err != nil {
		return nil, fmt.Errorf("get veriff decision %s: %w", sessionID, err)
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("get veriff decision %s: %w", sessionID, ErrMalformedResponse)
	}
	return out, nil
}

func rawString(s string) *json.RawMessage {
	b, _ := json.Marshal(s)
	r := json.RawMessage(b)
	return &r
}

type request struct {
	method string
	path   string
	body   []byte
	signed string // the value X-HMAC-SIGNATURE signs; empty: no signature header
	create bool   // not idempotent: retried only when Veriff cannot have acted on it
	// product is the integration whose credentials the call uses (empty: identity).
	product veriff.Product
}

// call sends r with bounded retries (retry.Do) with full jitter (or after Retry-After),
// never past the deadline.
func (c *Client) call(ctx context.Context, r request) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	creds, err := c.credentials(ctx, r.product)
	if err != nil {
		return nil, fmt.Errorf("load veriff api credentials: %w", err)
	}
	if creds.APIKey == "" || (r.signed != "" && creds.SharedSecret == "") {
		return nil, fmt.Errorf("veriff api credentials not filled in: %w", ErrUnauthorized)
	}
	p := retry.Policy{Attempts: c.maxAttempts, AttemptTimeout: c.attempt, BaseBackoff: c.baseBackoff, MaxBackoff: c.maxBackoff}
	return retry.Do(ctx, p, func(ctx context.Context) ([]byte, error) { return c.do(ctx, r, creds) })
}

// credentials are those of product's integration.
func (c *Client) credentials(ctx context.Context, p veriff.Product) (Credentials, error) {
	if p == "" || p == veriff.ProductIdentity {
		return c.creds.Credentials(ctx)
	}
	ps, ok := c.creds.(ProductSource)
	if !ok {
		return Credentials{}, fmt.Errorf("no %s integration configured", p)
	}
	return ps.ProductCredentials(ctx, p)
}

// do makes one attempt. A creation (not idempotent) is retried only when Veriff cannot
// have acted on it: 429, 502, 503, 504, or a connection that was never made.
func (c *Client) do(ctx context.Context, r request, creds Credentials) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, c.base.String()+r.path, bytes.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("X-AUTH-CLIENT", creds.APIKey)
	if r.signed != "" {
		req.Header.Set("X-HMAC-SIGNATURE", veriff.Sign(creds.SharedSecret, []byte(r.signed)))
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, vendor.Network(err, !r.create || retry.NeverConnected(err))
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if s := resp.StatusCode; s >= 200 && s < 300 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
		if err != nil {
			return nil, vendor.Network(err, !r.create)
		}
		if int64(len(body)) > c.maxBody {
			return nil, fmt.Errorf("response body larger than %d bytes: %w", c.maxBody, ErrMalformedResponse)
		}
		return body, nil
	}
	ae := vendor.Status(resp)
	if r.create && ae.Retryable && !createRetryable[ae.Status] {
		ae.Retryable, ae.RetryAfter = false, 0
	}
	return nil, ae
}

// createRetryable are the statuses after which Veriff cannot have created the session.
var createRetryable = map[int]bool{http.StatusTooManyRequests: true, http.StatusBadGateway: true,
	http.StatusServiceUnavailable: true, http.StatusGatewayTimeout: true}
