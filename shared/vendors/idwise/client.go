package idwise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/retry"
)

// Credentials loads the IDWise API key and secret (Secrets Manager in production). The
// client calls it once per API call, so an implementation should cache.
type Credentials interface {
	APICredentials(ctx context.Context) (key, secret string, err error)
}

// StaticCredentials is a fixed key and secret, for tests and the local runner.
type StaticCredentials struct {
	Key    string
	Secret string
}

// APICredentials returns the fixed key and secret.
func (s StaticCredentials) APICredentials(context.Context) (string, string, error) {
	return s.Key, s.Secret, nil
}

// Region selects the IDWise API base URL.
type Region string

const (
	RegionEU  Region = "eu" // the default
	RegionUAE Region = "uae"
	RegionQAT Region = "qat"
)

var regionURLs = map[Region]string{
	RegionEU:  "https://api.idwise.com/",
	RegionUAE: "https://api-uae.idwise.com/",
	RegionQAT: "https://api-qat.idwise.com/",
}

// BaseURL returns the API base URL of region; an empty region is the EU default.
func BaseURL(region Region) (string, error) {
	if region == "" {
		region = RegionEU
	}
	u, ok := regionURLs[Region(strings.ToLower(string(region)))]
	if !ok {
		return "", fmt.Errorf("unknown idwise region %q (want eu, uae or qat)", region)
	}
	return u, nil
}

// Paths are the API paths, relative to the base URL. {journeyId} and {stepId} are
// replaced with the path-escaped ids. The public IDWise pages do not state every path,
// so each one is configurable; see DefaultPaths.
type Paths struct {
	Journey            string // GET: Get Journey Result
	ProcessCustomStep  string // POST multipart: Process Custom Journey Step
	CompleteCustomStep string // POST: Complete Custom Step
	DeletePersonalData string // DELETE: Delete Personal Information
	SpotCheckResult    string // GET: Get Spot Check Result (Finished Spot Check)
}

// DefaultPaths returns the default paths. DeletePersonalData is the documented
// "DELETE https://api.idwise.com/journey/{journey-id}". The others are not stated in the
// public pages we found (only journey/v2/summary/ and journey/v2/start-journey are), so
// they follow that journey/v2 family and the documentation's page names; check them
// against your IDWise account's API reference.
func DefaultPaths() Paths {
	return Paths{
		Journey:            "journey/v2/result/{journeyId}",
		ProcessCustomStep:  "journey/v2/process-custom-journey-step",
		CompleteCustomStep: "journey/v2/complete-custom-step/{journeyId}",
		DeletePersonalData: "journey/{journeyId}",
		// docs.idwise.com/reference/get-spot-check-result documents the response
		// (journey_id, reference_number, system_decision, selfie, spot_checks) but not the
		// path: this one follows the journey/v2 family.
		SpotCheckResult: "journey/v2/spot-check/result/{journeyId}",
	}
}

// withDefaults fills empty paths from DefaultPaths.
func (p Paths) withDefaults() Paths {
	d := DefaultPaths()
	for _, f := range []struct{ v, def *string }{
		{&p.Journey, &d.Journey},
		{&p.ProcessCustomStep, &d.ProcessCustomStep},
		{&p.CompleteCustomStep, &d.CompleteCustomStep},
		{&p.DeletePersonalData, &d.DeletePersonalData},
		{&p.SpotCheckResult, &d.SpotCheckResult},
	} {
		if strings.TrimSpace(*f.v) == "" {
			*f.v = *f.def
		}
	}
	return p
}

// FormFields are the field names of the custom step calls: the multipart form of Process
// Custom Journey Step and the JSON body of Complete Custom Step.
type FormFields struct {
	JourneyID string // form field of the journey id
	StepID    string // form field of the step id
	StepType  string // form field of the step type (sent only when a type is configured)
	Image     string // file part of the image
	// CompleteJourneyID is the JSON field of the journey id in Complete Custom Step's body.
	CompleteJourneyID string
}

// DefaultFormFields are snake_case like the rest of the IDWise API: its request bodies
// (start-journey's flow_id and reference_no) and responses (journey_id, step_id,
// step_type in Get Journey Summary's step_summaries) all are; the Process Custom Journey
// Step reference names the fields "the id of the current journey", "the step id" and
// "the image file". The image part is "image" in that reference.
func DefaultFormFields() FormFields {
	return FormFields{JourneyID: "journey_id", StepID: "step_id", StepType: "step_type", Image: "image", CompleteJourneyID: "journey_id"}
}

func (f FormFields) withDefaults() FormFields {
	d := DefaultFormFields()
	for _, x := range []struct{ v, def *string }{
		{&f.JourneyID, &d.JourneyID}, {&f.StepID, &d.StepID}, {&f.StepType, &d.StepType},
		{&f.Image, &d.Image}, {&f.CompleteJourneyID, &d.CompleteJourneyID},
	} {
		if *x.v = strings.TrimSpace(*x.v); *x.v == "" {
			*x.v = *x.def
		}
	}
	return f
}

// ClientConfig configures a Client. Zero values take the defaults shown.
type ClientConfig struct {
	Region  Region     // eu (default), uae, qat
	BaseURL string     // overrides Region, e.g. the simulator's URL
	Paths   Paths      // empty fields take DefaultPaths
	Fields  FormFields // empty fields take DefaultFormFields

	ConnectTimeout time.Duration // dial and TLS handshake; default 3s
	AttemptTimeout time.Duration // one HTTP attempt, body included; default 10s
	Timeout        time.Duration // one method call, retries included; default 30s

	MaxAttempts int           // attempts per call, first one included; default 4
	BaseBackoff time.Duration // backoff before the first retry, doubled each time; default 200ms
	MaxBackoff  time.Duration // cap on one backoff; default 5s

	MaxResponseBytes int64 // largest response body read; default 16 MiB

	// HTTPClient replaces the client built from ConnectTimeout (tests). Its own
	// Timeout, if any, applies on top of AttemptTimeout.
	HTTPClient *http.Client
	// WrapTransport, when set, wraps the transport of the client built from
	// ConnectTimeout (tracing).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// Client calls the IDWise REST API. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	paths       Paths
	fields      FormFields
	creds       Credentials
	hc          *http.Client
	attempt     time.Duration
	timeout     time.Duration
	maxAttempts int
	baseBackoff time.Duration
	maxBackoff  time.Duration
	maxBody     int64
}

// NewClient validates cfg and builds a client. It makes no request.
func NewClient(cfg ClientConfig, creds Credentials) (*Client, error) {
	if creds == nil {
		return nil, errors.New("idwise client needs credentials")
	}
	raw := strings.TrimSpace(cfg.BaseURL)
	if raw == "" {
		var err error
		if raw, err = BaseURL(cfg.Region); err != nil {
			return nil, err
		}
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("idwise base url %q: want an absolute http(s) url", raw)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	c := &Client{
		base:        base,
		paths:       cfg.Paths.withDefaults(),
		fields:      cfg.Fields.withDefaults(),
		creds:       creds,
		hc:          cfg.HTTPClient,
		attempt:     orDuration(cfg.AttemptTimeout, 10*time.Second),
		timeout:     orDuration(cfg.Timeout, 30*time.Second),
		maxAttempts: cfg.MaxAttempts,
		baseBackoff: orDuration(cfg.BaseBackoff, 200*time.Millisecond),
		maxBackoff:  orDuration(cfg.MaxBackoff, 5*time.Second),
		maxBody:     cfg.MaxResponseBytes,
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = 4
	}
	if c.maxBody <= 0 {
		c.maxBody = 16 << 20
	}
	if c.hc == nil {
		connect := orDuration(cfg.ConnectTimeout, 3*time.Second)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = connect
		var rt http.RoundTripper = tr
		if cfg.WrapTransport != nil {
			rt = cfg.WrapTransport(rt)
		}
		c.hc = &http.Client{Transport: rt}
	}
	return c, nil
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ErrNotFound means IDWise does not know the journey (HTTP 404). It is permanent. It
// matches retry.ErrNotFound.
var ErrNotFound = retry.Tag("idwise", retry.ErrNotFound)

// ErrUnauthorized means IDWise refused the API credentials (HTTP 401 or 403). It is
// permanent until the credentials change. It matches retry.ErrUnauthorized.
var ErrUnauthorized = retry.Tag("idwise", retry.ErrUnauthorized)

// ErrMalformedResponse means a 2xx answer whose body is not a journey JSON object. It
// matches retry.ErrMalformedResponse.
var ErrMalformedResponse = retry.Tag("idwise", retry.ErrMalformedResponse)

// ErrImageRefused is the Kind of an APIError whose answer says the submitted image itself
// was refused (413, 415, or a 400/422 whose error code or message names the image or the
// face). Only Process Custom Journey Step reports it.
var ErrImageRefused = errors.New("idwise: image refused")

// APIError is a failed call (retry.Error): a 404 (Kind ErrNotFound), a 401 or 403 (Kind
// ErrUnauthorized), an image refusal (Kind ErrImageRefused), another status, or no
// response at all (Status 0: network error or timeout). Retryable reports whether the
// same call may succeed later (network errors, 429 and 5xx). It never carries a response
// body.
type APIError = retry.Error

// vendor classifies IDWise's answers; a Retry-After is honoured up to a day.
var vendor = retry.Vendor{Name: "idwise", NotFound: ErrNotFound, Unauthorized: ErrUnauthorized, MaxRetryAfter: 24 * time.Hour}

// Journey gets the journey's result (Get Journey Result).
func (c *Client) Journey(ctx context.Context, journeyID string) (Journey, error) {
	path, err := c.path(c.paths.Journey, journeyID, "")
	if err != nil {
		return Journey{}, fmt.Errorf("get journey: %w", err)
	}
	body, err := c.call(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		return Journey{}, fmt.Errorf("get journey %s: %w", journeyID, err)
	}
	var j Journey
	if err := json.Unmarshal(body, &j); err != nil {
		// Not the decoder's message: it may quote the body.
		return Journey{}, fmt.Errorf("decode journey %s: %w", journeyID, ErrMalformedResponse)
	}
	return j, nil
}

// SpotCheck gets a spot check journey's result (Get Spot Check Result). Its shape is the
// journey result's (journey_id, reference_number, system_decision, selfie, applicant,
// rule_results) plus spot_checks.
func (c *Client) SpotCheck(ctx context.Context, spotCheckJourneyID string) (Journey, error) {
	path, err := c.path(c.paths.SpotCheckResult, spotCheckJourneyID, "")
	if err != nil {
		return Journey{}, fmt.Errorf("get spot check: %w", err)
	}
	body, err := c.call(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		return Journey{}, fmt.Errorf("get spot check %s: %w", spotCheckJourneyID, err)
	}
	var j Journey
	if err := json.Unmarshal(body, &j); err != nil {
		return Journey{}, fmt.Errorf("decode spot check %s: %w", spotCheckJourneyID, ErrMalformedResponse)
	}
	return j, nil
}

// CustomStepImage is what Process Custom Journey Step sends.
type CustomStepImage struct {
	JourneyID   string
	StepID      string
	StepType    string // sent as the form field stepType when set
	Image       []byte
	ContentType string // of the image; empty: detected from its content
}

// ProcessCustomStep submits an image for a custom step (Process Custom Journey Step),
// as multipart/form-data with the journey id, step id and image fields (FormFields).
func (c *Client) ProcessCustomStep(ctx context.Context, journeyID, stepID string, image []byte, contentType string) error {
	return c.SubmitCustomStep(ctx, CustomStepImage{JourneyID: journeyID, StepID: stepID, Image: image, ContentType: contentType})
}

// SubmitCustomStep is ProcessCustomStep with every field of the form: journey id, step
// id, step type (when set) and the image part, named by FormFields.
func (c *Client) SubmitCustomStep(ctx context.Context, s CustomStepImage) error {
	journeyID, stepID := s.JourneyID, s.StepID
	if len(s.Image) == 0 {
		return fmt.Errorf("process custom step %s/%s: empty image", journeyID, stepID)
	}
	if err := checkID("step id", stepID); err != nil {
		return fmt.Errorf("process custom step: %w", err)
	}
	path, err := c.path(c.paths.ProcessCustomStep, journeyID, stepID)
	if err != nil {
		return fmt.Errorf("process custom step: %w", err)
	}
	body, ctype, err := stepForm(s, c.fields)
	if err != nil {
		return fmt.Errorf("process custom step %s/%s: %w", journeyID, stepID, err)
	}
	_, err = c.call(ctx, request{
		method:      http.MethodPost,
		path:        path,
		body:        body,
		contentType: ctype,
		imageCall:   true,
	})
	if err != nil {
		return fmt.Errorf("process custom step %s/%s: %w", journeyID, stepID, err)
	}
	return nil
}

// CompleteCustomStep closes the journey's custom steps (Complete Custom Step). The
// journey id goes in the path when the path has {journeyId}, and always in a JSON body
// under FormFields.CompleteJourneyID ({"journey_id": ...} by default).
func (c *Client) CompleteCustomStep(ctx context.Context, journeyID string) error {
	path, err := c.path(c.paths.CompleteCustomStep, journeyID, "")
	if err != nil {
		return fmt.Errorf("complete custom step: %w", err)
	}
	body, _ := json.Marshal(map[string]string{c.fields.CompleteJourneyID: journeyID})
	_, err = c.call(ctx, request{
		method:      http.MethodPost,
		path:        path,
		body:        body,
		contentType: "application/json",
	})
	if err != nil {
		return fmt.Errorf("complete custom step %s: %w", journeyID, err)
	}
	return nil
}

// DeletePersonalData removes the journey's personal data at IDWise.
func (c *Client) DeletePersonalData(ctx context.Context, journeyID string) error {
	path, err := c.path(c.paths.DeletePersonalData, journeyID, "")
	if err != nil {
		return fmt.Errorf("delete personal data: %w", err)
	}
	if _, err := c.call(ctx, request{method: http.MethodDelete, path: path}); err != nil {
		return fmt.Errorf("delete personal data %s: %w", journeyID, err)
	}
	return nil
}

// path fills tmpl with the path-escaped ids. An id that would change the path's
// meaning ("", ".", "..") or carries control characters is refused.
func (c *Client) path(tmpl, journeyID, stepID string) (string, error) {
	if err := checkID("journey id", journeyID); err != nil {
		return "", err
	}
	if strings.Contains(tmpl, "{stepId}") {
		if err := checkID("step id", stepID); err != nil {
			return "", err
		}
	}
	return strings.NewReplacer("{journeyId}", url.PathEscape(journeyID), "{stepId}", url.PathEscape(stepID)).Replace(tmpl), nil
}

func checkID(what, id string) error {
	if id == "" || id == "." || id == ".." {
		return fmt.Errorf("invalid %s %q", what, id)
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("invalid %s: control character", what)
		}
	}
	return nil
}

// stepForm builds the multipart body of Process Custom Journey Step.
func stepForm(s CustomStepImage, f FormFields) ([]byte, string, error) {
	contentType := s.ContentType
	if contentType == "" {
		contentType = http.DetectContentType(s.Image)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField(f.JourneyID, s.JourneyID); err != nil {
		return nil, "", err
	}
	if err := w.WriteField(f.StepID, s.StepID); err != nil {
		return nil, "", err
	}
	if s.StepType != "" {
		if err := w.WriteField(f.StepType, s.StepType); err != nil {
			return nil, "", err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+escapeQuotes(f.Image)+`"; filename="`+imageFilename(contentType)+`"`)
	h.Set("Content-Type", contentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(s.Image); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// escapeQuotes escapes a form field name as mime/multipart does for its own fields.
func escapeQuotes(s string) string { return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) }

func imageFilename(contentType string) string {
	switch strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])) {
	case "image/jpeg":
		return "image.jpg"
	case "image/png":
		return "image.png"
	}
	return "image"
}

type request struct {
	method      string
	path        string
	body        []byte
	contentType string
	imageCall   bool // Process Custom Journey Step: a 4xx answer is read for an image refusal
}

// call sends r with retries (retry.Do): network errors, 429 and 5xx are retried with
// exponential backoff and full jitter (or after Retry-After), never past ctx's deadline.
func (c *Client) call(ctx context.Context, r request) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	key, secret, err := c.creds.APICredentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("load idwise api credentials: %w", err)
	}
	p := retry.Policy{Attempts: c.maxAttempts, AttemptTimeout: c.attempt, BaseBackoff: c.baseBackoff, MaxBackoff: c.maxBackoff}
	return retry.Do(ctx, p, func(ctx context.Context) ([]byte, error) { return c.do(ctx, r, key, secret) })
}

// backoff is the full-jitter wait before retry n (1-based).
func (c *Client) backoff(n int) time.Duration { return retry.Backoff(n, c.baseBackoff, c.maxBackoff) }

// do makes one attempt.
func (c *Client) do(ctx context.Context, r request, key, secret string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, c.base.String()+strings.TrimPrefix(r.path, "/"), bytes.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.SetBasicAuth(key, secret)
	req.Header.Set("Accept", "application/json")
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, vendor.Network(err, true)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if s := resp.StatusCode; s >= 200 && s < 300 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
		if err != nil {
			return nil, vendor.Network(err, true)
		}
		if int64(len(body)) > c.maxBody {
			return nil, fmt.Errorf("response body larger than %d bytes", c.maxBody)
		}
		return body, nil
	}
	ae := vendor.Status(resp)
	if r.imageCall && ae.Kind == nil && !ae.Retryable && imageRefused(ae.Status, resp.Body) {
		ae.Kind = ErrImageRefused
	}
	return nil, ae
}

// imageRefusalWords are the words (lower case) of an error code or message that say the
// image itself was refused: no face found, unreadable or unsupported format, too large.
var imageRefusalWords = []string{"image", "face", "photo"}

// callFailureWords mark an answer about the request's shape (a field missing, as a wrong
// field name gives), not about the image's content.
var callFailureWords = []string{"required", "missing", "not found", "unknown field"}

// imageRefused reads a 4xx answer of Process Custom Journey Step: 413 and 415 are about the
// image by definition; a 400 or 422 is when one of its error fields (code, message, title:
// never logged, never kept) names the image or the face. Anything else (a wrong path or
// field name, a closed journey; "image is required" included) is a failure of the call,
// not of the image.
func imageRefused(status int, body io.Reader) bool {
	switch status {
	case http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return true
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
	default:
		return false
	}
	var answer map[string]any
	if json.NewDecoder(io.LimitReader(body, 16<<10)).Decode(&answer) != nil {
		return false
	}
	refused := false
	for _, k := range []string{"error_code", "error_user_feedback_code", "error_user_feedback_title", "code", "error", "message", "detail", "title"} {
		v, _ := answer[k].(string)
		if v = strings.ToLower(v); containsAny(v, callFailureWords) {
			return false
		}
		if containsAny(v, imageRefusalWords) {
			refused = true
		}
	}
	return refused
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP-date, at most a day.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	return retry.After(v, now, vendor.MaxRetryAfter)
}
