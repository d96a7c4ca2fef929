// Package appapi is the HTTP edge of the app-facing API behind the JWT authorizer: report
// a journey, read one's own profile status, register and remove push devices. API Gateway
// has already verified the token; the handler reads the user's referenceNo from the
// configured claim and lets a user act only on their own profile.
package appapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/edge/apigw"
)

// Route keys, as in template.yaml and openapi.yaml.
const (
	RoutePostJourney  = "POST /v1/journeys"
	RouteGetProfile   = "GET /v1/profiles/{referenceNo}"
	RoutePostDevice   = "POST /v1/devices"
	RouteDeleteDevice = "DELETE /v1/devices/{deviceId}"
	RoutePostSession  = "POST /v1/veriff/sessions"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 16 << 10

// Providers are the vendors a journey may come from; the first is the default.
var Providers = []string{"idwise", "veriff"}

// Profiles reads profiles.
type Profiles interface {
	Profile(ctx context.Context, referenceNo string) (kyc.Profile, bool, error)
}

// StatusApplier applies status changes with the processor's version and guard logic and
// publishes the status event (processor.Service).
type StatusApplier interface {
	Apply(ctx context.Context, c kyc.Change, g processor.Guard) (*kyc.StatusEvent, error)
}

// Devices registers and removes devices (devices.Service).
type Devices interface {
	Register(ctx context.Context, referenceNo string, r devices.Registration) (devices.Result, error)
	Remove(ctx context.Context, referenceNo, deviceID string) error
}

// Claims records who owns a journey: the first claim wins, unless the vendor contradicted
// it (dynamo.Store).
type Claims interface {
	// PutClaim writes c unless the journey is claimed, and returns the journey's claim
	// (c or the earlier one) and whether c was written.
	PutClaim(ctx context.Context, c kyc.Claim) (kyc.Claim, bool, error)
	// ReplaceClaim hands the journey from old's claimer to c; false when neither holds it.
	ReplaceClaim(ctx context.Context, old, c kyc.Claim) (bool, error)
	// PutContender records c's user as contending for a journey someone else claimed.
	PutContender(ctx context.Context, c kyc.Claim) error
}

// Erasures knows the profiles erased on request.
type Erasures interface {
	Erased(ctx context.Context, referenceNo string) (bool, error)
}

// Limiter counts a user's requests of one kind in a fixed window (dynamo.Store).
type Limiter interface {
	// Allow counts one request and reports whether it is within limit, else how long
	// until the window ends.
	Allow(ctx context.Context, referenceNo, action string, limit int, window time.Duration) (bool, time.Duration, error)
}

// VeriffSessions creates Veriff sessions for a user (the Veriff API's POST /v1/sessions,
// with vendorData = the user's referenceNo).
type VeriffSessions interface {
	CreateSession(ctx context.Context, referenceNo string, r SessionRequest) (Session, error)
}

// SessionRequest is what the app may ask of a new Veriff session; nothing personal.
type SessionRequest struct {
	Lang     string
	Callback string
	// Product is the Veriff integration the session is created with: ProductIdentity
	// (default) or ProductProofOfAddress.
	Product string
}

// Products of POST /v1/veriff/sessions (veriff.Product's values).
const (
	ProductIdentity       = "identity"
	ProductProofOfAddress = "proof_of_address"
)

// Checks reads the checks beside a profile's status (dynamo.Store).
type Checks interface {
	Checks(ctx context.Context, referenceNo string) ([]kyc.Check, error)
}

// Session is a created Veriff session.
type Session struct {
	ID  string
	URL string
}

// Limits are the per-user request limits per hour; 0 means no limit.
type Limits struct {
	JourneysPerHour       int // POST /v1/journeys
	DevicesPerHour        int // POST /v1/devices
	VeriffSessionsPerHour int // POST /v1/veriff/sessions
}

// DefaultLimits are the limits when none are configured.
var DefaultLimits = Limits{JourneysPerHour: 30, DevicesPerHour: 30, VeriffSessionsPerHour: 5}

// Config is the handler's configuration.
type Config struct {
	// ReferenceNoClaim is the JWT claim that carries the user's referenceNo (sub by default).
	ReferenceNoClaim string
	Limits           Limits
	// CallbackHosts are the hosts (host or host:port, lower case) a Veriff session's
	// callback may name (VERIFF_CALLBACK_HOSTS); empty: no callback is accepted, Veriff
	// uses the integration's own.
	CallbackHosts []string
}

// Deps are the handler's ports. Claims, Erasures and Limiter are required; Sessions is
// nil when Veriff is not configured (the sessions route answers 404).
type Deps struct {
	Profiles Profiles
	Statuses StatusApplier
	Devices  Devices
	Claims   Claims
	Erasures Erasures
	Limiter  Limiter
	Sessions VeriffSessions
	Checks   Checks // optional: without it GET /v1/profiles shows no checks
}

// Handler serves the app API routes.
type Handler struct {
	cfg Config
	d   Deps
	now func() time.Time
}

// New returns the handler.
func New(cfg Config, d Deps) *Handler {
	if cfg.ReferenceNoClaim == "" {
		cfg.ReferenceNoClaim = "sub"
	}
	return &Handler{cfg: cfg, d: d, now: time.Now}
}

// ProfileView is the profile as the app sees it: the status and what it is about, no
// personal data.
type ProfileView struct {
	ReferenceNo string     `json:"referenceNo"`
	Status      kyc.Status `json:"status"`
	JourneyID   string     `json:"journeyId"`
	Provider    string     `json:"provider"`
	Reasons     []string   `json:"reasons"`
	UpdatedAt   string     `json:"updatedAt"`
	// RenewalDueBy (RFC 3339) is present while a KYC renewal is due: the user is still
	// APPROVED and must renew before then.
	RenewalDueBy string `json:"renewalDueBy,omitempty"`
	// Checks are the checks beside the status, by name (proofOfAddress); absent when none.
	Checks map[string]CheckView `json:"checks,omitempty"`
}

// CheckView is a check beside the status as the app sees it.
type CheckView struct {
	Decision  string `json:"decision"`
	SessionID string `json:"sessionId"`
	DecidedAt string `json:"decidedAt"`
}

// DeviceView is a registered device as the app sees it.
type DeviceView struct {
	DeviceID  string `json:"deviceId"`
	Platform  string `json:"platform"`
	Locale    string `json:"locale"`
	CreatedAt string `json:"createdAt"`
}

// Handle serves one API Gateway HTTP API (payload v2) request.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	ref, resp, ok := h.caller(req)
	if !ok {
		return resp, nil
	}
	switch routeKey(req) {
	case RoutePostJourney:
		return h.postJourney(ctx, ref, req), nil
	case RouteGetProfile:
		return h.getProfile(ctx, ref, req), nil
	case RoutePostDevice:
		return h.postDevice(ctx, ref, req), nil
	case RouteDeleteDevice:
		return h.deleteDevice(ctx, ref, req), nil
	case RoutePostSession:
		return h.postSession(ctx, ref, req), nil
	}
	return apigw.Error(http.StatusNotFound, "not_found", "no such route"), nil
}

// routeKey is the request's route key, or one rebuilt from method and path when the
// event has none (a hand-written test event).
func routeKey(req events.APIGatewayV2HTTPRequest) string {
	if req.RouteKey != "" && req.RouteKey != "$default" {
		return req.RouteKey
	}
	m, p := req.RequestContext.HTTP.Method, strings.TrimSuffix(req.RawPath, "/")
	switch {
	case p == "/v1/journeys":
		return m + " /v1/journeys"
	case p == "/v1/devices":
		return m + " /v1/devices"
	case p == "/v1/veriff/sessions":
		return m + " /v1/veriff/sessions"
	case strings.HasPrefix(p, "/v1/profiles/"):
		return m + " /v1/profiles/{referenceNo}"
	case strings.HasPrefix(p, "/v1/devices/"):
		return m + " /v1/devices/{deviceId}"
	}
	return m + " " + p
}

// caller returns the referenceNo of the token's user. API Gateway's authorizer has
// verified the token; without its claims the request did not pass one (401), and a token
// without a usable referenceNo claim is not allowed to use the API (403).
func (h *Handler) caller(req events.APIGatewayV2HTTPRequest) (string, events.APIGatewayV2HTTPResponse, bool) {
	a := req.RequestContext.Authorizer
	if a == nil || a.JWT == nil || len(a.JWT.Claims) == 0 {
		return "", apigw.Error(http.StatusUnauthorized, "unauthorized", "missing or invalid token"), false
	}
	ref := a.JWT.Claims[h.cfg.ReferenceNoClaim]
	if ref == "" {
		return "", apigw.Error(http.StatusForbidden, "forbidden", "the token has no "+h.cfg.ReferenceNoClaim+" claim"), false
	}
	if err := kyc.CheckReference("referenceNo", ref); err != nil {
		return "", apigw.Error(http.StatusForbidden, "forbidden", "the token's "+h.cfg.ReferenceNoClaim+" claim is not a valid referenceNo"), false
	}
	return ref, events.APIGatewayV2HTTPResponse{}, true
}

func forbidden() events.APIGatewayV2HTTPResponse {
	return apigw.Error(http.StatusForbidden, "forbidden", "a user may only use their own profile")
}

func internalError() events.APIGatewayV2HTTPResponse {
	return apigw.Error(http.StatusInternalServerError, "internal", "internal error, retry later")
}

type journeyRequest struct {
	JourneyID   *string `json:"journeyId"`
	ReferenceNo *string `json:"referenceNo"`
	Provider    *string `json:"provider"`
}

// postJourney records that the caller owns a journey (the first claim wins: 409 for
// anyone else) and moves the caller's profile to PENDING_VERIFICATION when it has no
// status yet or its last journey ended undecided (INCOMPLETE, ABANDONED): a claim is not
// the vendor's word, so it never moves a decided, reviewed or resubmission profile (the
// journey's first outcome does). Repeating it changes nothing.
func (h *Handler) postJourney(ctx context.Context, ref string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	var body journeyRequest
	if resp, ok := decodeBody(req, &body); !ok {
		return resp
	}
	journeyID, err := requiredID("journeyId", body.JourneyID)
	if err != nil {
		return fieldError(err)
	}
	refNo, err := requiredReference("referenceNo", body.ReferenceNo)
	if err != nil {
		return fieldError(err)
	}
	provider, ok := journeyProvider(body.Provider)
	if !ok {
		return apigw.FieldError("provider", "must be one of "+strings.Join(Providers, ", "))
	}
	if refNo != ref {
		return forbidden()
	}
	if resp, ok := h.allow(ctx, ref, "journeys", h.cfg.Limits.JourneysPerHour); !ok {
		return resp
	}
	if resp, ok := h.notErased(ctx, ref); !ok {
		return resp
	}
	now := h.now().UTC()
	mine := kyc.Claim{Provider: provider, JourneyID: journeyID, ReferenceNo: ref, Source: kyc.ClaimByApp, ClaimedAt: now}
	claim, created, err := h.d.Claims.PutClaim(ctx, mine)
	if err != nil {
		slog.ErrorContext(ctx, "claim journey", "journeyId", journeyID, "error", err)
		return internalError()
	}
	if claim.ReferenceNo != ref {
		if resp, ok := h.contendFor(ctx, claim, mine); !ok {
			return resp
		}
		claim, created = mine, true
	}
	if created {
		if resp, ok := h.startJourney(ctx, ref, journeyID, provider, now); !ok {
			return resp
		}
	}
	p, found, err := h.d.Profiles.Profile(ctx, ref)
	if err != nil {
		slog.ErrorContext(ctx, "read profile after journey claim", "journeyId", journeyID, "error", err)
		return internalError()
	}
	if !found { // claimed before, and the status write of that claim failed
		p = kyc.Profile{ReferenceNo: ref, Status: kyc.PendingVerification, JourneyID: journeyID, Provider: provider, UpdatedAt: claim.ClaimedAt}
	}
	return apigw.JSON(http.StatusOK, view(p))
}

// contend settles mine against another user's earlier claim of the journey. A claim the
// vendor contradicted (rejected: the vendor named mine's user) gives way, and mine replaces
// it (true: the stream then processes the journey's waiting outcome). Otherwise the earlier
// claim stands (409); an unconfirmed one may still be wrong, so mine is kept as a contender:
// if the vendor names this user, the processor hands the journey over.
func (h *Handler) contend(ctx context.Context, theirs, mine kyc.Claim) (bool, error) {
	if theirs.State == kyc.ClaimRejected && theirs.VendorReferenceNo == mine.ReferenceNo {
		ok, err := h.d.Claims.ReplaceClaim(ctx, theirs, mine)
		if err != nil {
			return false, fmt.Errorf("replace rejected claim: %w", err)
		}
		if ok {
			slog.InfoContext(ctx, "rejected claim replaced by the vendor's reference", "journeyId", mine.JourneyID)
		}
		return ok, nil
	}
	if theirs.State != kyc.ClaimConfirmed && theirs.Source != kyc.ClaimBySession {
		if err := h.d.Claims.PutContender(ctx, mine); err != nil {
			return false, fmt.Errorf("record contender: %w", err)
		}
	}
	return false, nil
}

type sessionRequest struct {
	Lang     *string `json:"lang"`
	Callback *string `json:"callback"`
	Product  *string `json:"product"`
}

// SessionView is a created Veriff session as the app sees it.
type SessionView struct {
	SessionID string `json:"sessionId"`
	URL       string `json:"url"`
	Provider  string `json:"provider"`
}

// postSession creates a Veriff session for the caller (vendorData = the caller's
// referenceNo) and records the caller's claim of it: 201 with the session's id and URL.
func (h *Handler) postSession(ctx context.Context, ref string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if h.d.Sessions == nil {
		return apigw.Error(http.StatusNotFound, "not_found", "Veriff is not configured for this deployment")
	}
	r, resp, ok := h.sessionRequest(req)
	if !ok {
		return resp
	}
	if resp, ok := h.notErased(ctx, ref); !ok {
		return resp
	}
	if resp, ok := h.allow(ctx, ref, "veriffSessions", h.cfg.Limits.VeriffSessionsPerHour); !ok {
		return resp
	}
	sess, err := h.d.Sessions.CreateSession(ctx, ref, r)
	if err != nil {
		slog.ErrorContext(ctx, "create veriff session", "error", err)
		return apigw.Error(http.StatusBadGateway, "vendor_unavailable", "could not create a Veriff session, retry later")
	}
	if kyc.CheckID("sessionId", sess.ID) != nil || sess.URL == "" {
		slog.ErrorContext(ctx, "veriff answered a session without a usable id or url")
		return apigw.Error(http.StatusBadGateway, "vendor_unavailable", "could not create a Veriff session, retry later")
	}
	if resp, ok := h.claimSession(ctx, ref, sess.ID); !ok {
		return resp
	}
	slog.InfoContext(ctx, "veriff session created", "journeyId", sess.ID)
	return apigw.JSON(http.StatusCreated, SessionView{SessionID: sess.ID, URL: sess.URL, Provider: "veriff"})
}

// allow applies the caller's hourly limit of action (0: none): 429 with Retry-After past it.
func (h *Handler) allow(ctx context.Context, ref, action string, limit int) (events.APIGatewayV2HTTPResponse, bool) {
	if limit <= 0 || h.d.Limiter == nil {
		return events.APIGatewayV2HTTPResponse{}, true
	}
	ok, wait, err := h.d.Limiter.Allow(ctx, ref, action, limit, time.Hour)
	if err != nil {
		slog.ErrorContext(ctx, "count request", "action", action, "error", err)
		return internalError(), false
	}
	if !ok {
		resp := apigw.Error(http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("at most %d requests of this kind per hour", limit))
		resp.Headers["retry-after"] = strconv.Itoa(int(wait.Seconds()) + 1)
		return resp, false
	}
	return events.APIGatewayV2HTTPResponse{}, true
}

// notErased answers 410 for a profile erased on request.
func (h *Handler) notErased(ctx context.Context, ref string) (events.APIGatewayV2HTTPResponse, bool) {
	gone, err := h.d.Erasures.Erased(ctx, ref)
	if err != nil {
		slog.ErrorContext(ctx, "check erasure", "error", err)
		return internalError(), false
	}
	if gone {
		return erased(), false
	}
	return events.APIGatewayV2HTTPResponse{}, true
}

func erased() events.APIGatewayV2HTTPResponse {
	return apigw.Error(http.StatusGone, "erased", "this profile was erased on request")
}

// validLang accepts a BCP 47-like language code: 2 or 3 letters, optionally a region.
func validLang(s string) bool {
	lang, region, _ := strings.Cut(s, "-")
	letters := func(v string, lo, hi int) bool {
		if len(v) < lo || len(v) > hi {
			return false
		}
		for i := 0; i < len(v); i++ {
			if c := v[i] | 0x20; c < 'a' || c > 'z' {
				return false
			}
		}
		return true
	}
	return letters(lang, 2, 3) && (region == "" && !strings.Contains(s, "-") || letters(region, 2, 4))
}

// callbackPattern is openapi.yaml's rule for a callback: https, a host name or IPv4 address
// and an optional port, then path, query and fragment of printable ASCII with valid
// %-escapes. url.Parse alone also takes hosts that are no host names (https://a*b) and
// spaces or raw non-ASCII in the path, which a redirect would carry as they are.
var callbackPattern = regexp.MustCompile(`^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#]([!-$&-~]|%[0-9A-Fa-f]{2})*)?$`)

// validCallback accepts an absolute https URL (where Veriff sends the user at the end).
func validCallback(s string) bool {
	if len(s) > 1024 || !callbackPattern.MatchString(s) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// allowedCallbackHost reports whether the callback's host (with its port, if any) is
// exactly one of hosts, compared in lower case: no suffix or prefix match (evil-app.example.com,
// app.example.com.evil.net), no other port, no trailing dot. s has passed validCallback
// (https, no userinfo, an ASCII host name).
func allowedCallbackHost(s string, hosts []string) bool {
	u, err := url.Parse(s)
	if err != nil || u.User != nil || u.Scheme != "https" {
		return false
	}
	host := strings.ToLower(u.Host)
	for _, h := range hosts {
		if host == h {
			return true
		}
	}
	return false
}

// callbackHostPattern is one VERIFF_CALLBACK_HOSTS entry: a lower-case host name and an
// optional port.
var callbackHostPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$`)

// ParseCallbackHosts reads VERIFF_CALLBACK_HOSTS: comma-separated host names (host or
// host:port); empty: none. An entry that is not a plain host name (a URL, a wildcard, a
// path, upper case) is an error naming it.
func ParseCallbackHosts(s string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(s, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if len(h) > 253 || !callbackHostPattern.MatchString(h) {
			return nil, fmt.Errorf("callback host %q: want a lower-case host name, optionally :port (no scheme, path or wildcard)", h)
		}
		out = append(out, h)
	}
	return out, nil
}

// getProfile answers the caller's profile, with an ETag so that polling with
// If-None-Match costs a 304 and no body.
func (h *Handler) getProfile(ctx context.Context, ref string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	// API Gateway's HTTP API passes path parameters percent-decoded (cust%2F001 arrives as
	// cust/001), as infra/local/httpapi does.
	want := req.PathParameters["referenceNo"]
	if err := kyc.CheckReference("referenceNo", want); err != nil {
		return fieldError(err)
	}
	if want != ref {
		return forbidden()
	}
	p, found, err := h.d.Profiles.Profile(ctx, ref)
	if err != nil {
		slog.ErrorContext(ctx, "read profile", "error", err)
		return internalError()
	}
	if !found {
		return apigw.Error(http.StatusNotFound, "not_found", "no profile yet: report a journey first")
	}
	v := view(p)
	if h.d.Checks != nil {
		checks, err := h.d.Checks.Checks(ctx, ref)
		if err != nil {
			slog.ErrorContext(ctx, "read checks", "error", err)
			return internalError()
		}
		for _, c := range checks {
			if v.Checks == nil {
				v.Checks = map[string]CheckView{}
			}
			v.Checks[c.Name] = CheckView{Decision: c.Decision, SessionID: c.SessionID, DecidedAt: c.DecidedAt.UTC().Format(time.RFC3339Nano)}
		}
	}
	resp := apigw.JSON(http.StatusOK, v)
	sum := sha256.Sum256([]byte(resp.Body))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	// The app revalidates on every poll; nothing shared may keep a user's status.
	resp.Headers["cache-control"] = "private, no-cache"
	resp.Headers["etag"] = etag
	if etagMatches(apigw.Header(req.Headers, "if-none-match"), etag) {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotModified,
			Headers: map[string]string{"etag": etag, "cache-control": "private, no-cache"}}
	}
	return resp
}

// etagMatches implements If-None-Match's weak comparison: "*", or any listed tag equal
// to etag with or without W/.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

type deviceRequest struct {
	Platform *string `json:"platform"`
	Token    *string `json:"token"`
	Locale   *string `json:"locale"`
}

// postDevice registers a push device of the caller: 201 the first time, 200 after.
func (h *Handler) postDevice(ctx context.Context, ref string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	var body deviceRequest
	if resp, ok := decodeBody(req, &body); !ok {
		return resp
	}
	if resp, ok := h.allow(ctx, ref, "devices", h.cfg.Limits.DevicesPerHour); !ok {
		return resp
	}
	r := devices.Registration{Platform: deref(body.Platform), Token: deref(body.Token), Locale: deref(body.Locale)}
	res, err := h.d.Devices.Register(ctx, ref, r)
	var fe *kyc.FieldError
	switch {
	case errors.As(err, &fe):
		return apigw.FieldError(fe.Field, fe.Message)
	case errors.Is(err, devices.ErrPlatformNotConfigured):
		return apigw.FieldError("platform", r.Platform+" is not configured for this deployment (no platform application)")
	case errors.Is(err, devices.ErrErased):
		return erased()
	case err != nil:
		slog.ErrorContext(ctx, "register device", "platform", r.Platform, "error", err)
		return internalError()
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	slog.InfoContext(ctx, "device registered", "deviceId", res.Device.DeviceID, "platform", string(res.Device.Platform), "created", res.Created)
	d := res.Device
	return apigw.JSON(status, DeviceView{DeviceID: d.DeviceID, Platform: string(d.Platform), Locale: d.Locale,
		CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339Nano)})
}

// deleteDevice removes a device of the caller: 204, also when it was already gone (a
// device id is scoped to the caller's profile, so another user's device is never touched).
func (h *Handler) deleteDevice(ctx context.Context, ref string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	id := req.PathParameters["deviceId"]
	err := h.d.Devices.Remove(ctx, ref, id)
	var fe *kyc.FieldError
	switch {
	case errors.As(err, &fe):
		return apigw.FieldError(fe.Field, fe.Message)
	case err != nil:
		slog.ErrorContext(ctx, "remove device", "deviceId", id, "error", err)
		return internalError()
	}
	slog.InfoContext(ctx, "device removed", "deviceId", id)
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{"cache-control": "no-store"}}
}

func view(p kyc.Profile) ProfileView {
	reasons := p.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	v := ProfileView{ReferenceNo: p.ReferenceNo, Status: p.Status, JourneyID: p.JourneyID, Provider: p.Provider,
		Reasons: reasons, UpdatedAt: p.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	if !p.RenewalDueBy.IsZero() {
		v.RenewalDueBy = p.RenewalDueBy.UTC().Format(time.RFC3339)
	}
	return v
}

// decodeBody checks the content type and size and decodes one JSON object.
func decodeBody(req events.APIGatewayV2HTTPRequest, v any) (events.APIGatewayV2HTTPResponse, bool) {
	raw := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return apigw.Error(http.StatusBadRequest, "invalid_body", "body is not valid base64"), false
		}
		raw = b
	}
	if len(raw) > MaxBodyBytes {
		return apigw.Error(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body exceeds %d bytes", MaxBodyBytes)), false
	}
	if !apigw.JSONContentType(apigw.Header(req.Headers, "content-type")) {
		return apigw.Error(http.StatusUnsupportedMediaType, "unsupported_media_type", "content type must be application/json"), false
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return apigw.FieldError("body", "a JSON object is required"), false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return apigw.FieldError(te.Field, "must be a string"), false
		}
		return apigw.FieldError("body", "body must be a JSON object"), false
	}
	return events.APIGatewayV2HTTPResponse{}, true
}

func fieldError(err error) events.APIGatewayV2HTTPResponse {
	var fe *kyc.FieldError
	if errors.As(err, &fe) {
		return apigw.FieldError(fe.Field, fe.Message)
	}
	return apigw.FieldError("body", "invalid request")
}

func requiredID(field string, v *string) (string, error) {
	if v == nil {
		return "", &kyc.FieldError{Field: field, Message: "is required"}
	}
	return *v, kyc.CheckID(field, *v)
}

// requiredReference reads a referenceNo under kyc's reference rule.
func requiredReference(field string, v *string) (string, error) {
	if v == nil {
		return "", &kyc.FieldError{Field: field, Message: "is required"}
	}
	return *v, kyc.CheckReference(field, *v)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// sessionRequest reads and checks the body of a session request (all fields optional;
// the product is identity by default); ok false carries the error response.
func (h *Handler) sessionRequest(req events.APIGatewayV2HTTPRequest) (SessionRequest, events.APIGatewayV2HTTPResponse, bool) {
	var body sessionRequest
	if strings.TrimSpace(req.Body) != "" {
		if resp, ok := decodeBody(req, &body); !ok {
			return SessionRequest{}, resp, false
		}
	}
	r := SessionRequest{Lang: deref(body.Lang), Callback: deref(body.Callback), Product: deref(body.Product)}
	if r.Product == "" {
		r.Product = ProductIdentity
	}
	if r.Product != ProductIdentity && r.Product != ProductProofOfAddress {
		return SessionRequest{}, apigw.FieldError("product", "must be identity or proof_of_address"), false
	}
	if r.Lang != "" && !validLang(r.Lang) {
		return SessionRequest{}, apigw.FieldError("lang", "must be a language code such as en or pt-BR"), false
	}
	if r.Callback != "" && !validCallback(r.Callback) {
		return SessionRequest{}, apigw.FieldError("callback", "must be an https URL of at most 1024 characters"), false
	}
	if r.Callback != "" && !allowedCallbackHost(r.Callback, h.cfg.CallbackHosts) {
		return SessionRequest{}, apigw.FieldError("callback", "host is not one of the deployment's allowed callback hosts (VeriffCallbackHosts)"), false
	}
	return r, events.APIGatewayV2HTTPResponse{}, true
}

// claimSession claims a session the backend created for ref; ok false carries the error
// response.
func (h *Handler) claimSession(ctx context.Context, ref, sessionID string) (events.APIGatewayV2HTTPResponse, bool) {
	claim, _, err := h.d.Claims.PutClaim(ctx, kyc.Claim{Provider: "veriff", JourneyID: sessionID, ReferenceNo: ref,
		Source: kyc.ClaimBySession, ClaimedAt: h.now().UTC()})
	if err != nil {
		slog.ErrorContext(ctx, "claim veriff session", "journeyId", sessionID, "error", err)
		return internalError(), false
	}
	if claim.ReferenceNo != ref { // a fresh session id Veriff gave someone else: never expected
		slog.ErrorContext(ctx, "new veriff session already claimed by another user", "journeyId", sessionID)
		return apigw.Error(http.StatusConflict, "journey_claimed", "this session belongs to another user"), false
	}
	return events.APIGatewayV2HTTPResponse{}, true
}

// startJourney moves the profile to PENDING_VERIFICATION on the app's new claim of a
// journey, when the profile has nothing to lose; ok false carries the error response.
func (h *Handler) startJourney(ctx context.Context, ref, journeyID, provider string, now time.Time) (events.APIGatewayV2HTTPResponse, bool) {
	change := kyc.Change{ReferenceNo: ref, JourneyID: journeyID, Provider: provider, Status: kyc.PendingVerification,
		Version: kyc.Version(now, journeyID), OccurredAt: now}
	// Only a profile with nothing to lose starts on a claim; any other waits for the
	// vendor to confirm the journey for this user (its first outcome moves it).
	ev, err := h.d.Statuses.Apply(ctx, change, processor.OnlyIfUnstarted)
	if errors.Is(err, processor.ErrErased) {
		return erased(), false
	}
	if err != nil {
		// The claim stands; the app's retry finds it and answers from the profile.
		slog.ErrorContext(ctx, "apply journey start", "journeyId", journeyID, "error", err)
		return internalError(), false
	}
	slog.InfoContext(ctx, "journey claimed", "journeyId", journeyID, "provider", provider, "statusChanged", ev != nil)
	return events.APIGatewayV2HTTPResponse{}, true
}

// contendFor claims a journey another user claimed first (contend); ok false carries the
// error response (the journey stays the other user's).
func (h *Handler) contendFor(ctx context.Context, claim, mine kyc.Claim) (events.APIGatewayV2HTTPResponse, bool) {
	created, err := h.contend(ctx, claim, mine)
	if err != nil {
		slog.ErrorContext(ctx, "contend for journey", "journeyId", mine.JourneyID, "error", err)
		return internalError(), false
	}
	if !created {
		slog.WarnContext(ctx, "journey claimed by another user", "journeyId", mine.JourneyID, "provider", mine.Provider)
		return apigw.Error(http.StatusConflict, "journey_claimed", "this journey belongs to another user"), false
	}
	return events.APIGatewayV2HTTPResponse{}, true
}

// journeyProvider is the provider a journey request names (the first of Providers when it
// names none); false when it names an unknown one.
func journeyProvider(p *string) (string, bool) {
	if p == nil {
		return Providers[0], true
	}
	return *p, contains(Providers, *p)
}
