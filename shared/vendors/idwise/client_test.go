package idwise_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
)

const (
	apiKey    = "key-3c1f9a"
	apiSecret = "secret-77b2e0"
	journeyID = "J-1001"
)

// setup starts a simulator holding journeyID and a client pointed at it. Backoffs are
// tiny unless cfg says otherwise, so retry tests run fast.
func setup(t *testing.T, cfg idwise.ClientConfig) (*idwisesim.Server, *idwise.Client, string) {
	t.Helper()
	sim := idwisesim.New(idwisesim.Config{APIKey: apiKey, APISecret: apiSecret, Paths: cfg.Paths})
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	sim.SetJourney(idwise.Journey{JourneyID: journeyID, ReferenceNumber: "ref-1", SystemDecision: "Complete", FinalDecision: "Complete"})
	cfg.BaseURL = ts.URL
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 5 * time.Millisecond
	}
	c, err := idwise.NewClient(cfg, idwise.StaticCredentials{Key: apiKey, Secret: apiSecret})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, ts.URL
}

func wantAPIError(t *testing.T, err error, status int, retryable bool) {
	t.Helper()
	var ae *idwise.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want *idwise.APIError", err)
	}
	if ae.Status != status || ae.Retryable != retryable {
		t.Errorf("APIError = {Status: %d, Retryable: %v}, want {Status: %d, Retryable: %v}", ae.Status, ae.Retryable, status, retryable)
	}
}

func TestClientRetries(t *testing.T) {
	httpDate := func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name         string
		cfg          idwise.ClientConfig
		faults       func() []idwisesim.Fault
		wantRequests int
		wantStatus   int // 0: success
		wantRetry    bool
		wantIs       error
		minElapsed   time.Duration
	}{
		{
			name:         "500 then 200",
			faults:       func() []idwisesim.Fault { return []idwisesim.Fault{{Status: 500}} },
			wantRequests: 2,
		},
		{
			name: "502, 503, 504 then 200 within the default 4 attempts",
			faults: func() []idwisesim.Fault {
				return []idwisesim.Fault{{Status: 502}, {Status: 503}, {Status: 504}}
			},
			wantRequests: 4,
		},
		{
			name:         "429 with Retry-After seconds is honoured",
			faults:       func() []idwisesim.Fault { return []idwisesim.Fault{{Status: 429, RetryAfter: "1"}} },
			wantRequests: 2,
			minElapsed:   time.Second,
		},
		{
			name:         "503 with Retry-After HTTP-date is honoured",
			faults:       func() []idwisesim.Fault { return []idwisesim.Fault{{Status: 503, RetryAfter: httpDate()}} },
			wantRequests: 2,
			minElapsed:   time.Second,
		},
		{
			name:         "hung request times out and is retried",
			cfg:          idwise.ClientConfig{AttemptTimeout: 150 * time.Millisecond},
			faults:       func() []idwisesim.Fault { return []idwisesim.Fault{{Hang: true}} },
			wantRequests: 2,
			minElapsed:   150 * time.Millisecond,
		},
		{
			name:         "dropped connection is retried",
			faults:       func() []idwisesim.Fault { return []idwisesim.Fault{{Hang: true, Delay: time.Millisecond}} },
			wantRequests: 2,
		},
		{
			name:         "slow answer within the attempt timeout is not retried",
			faults:       func() []idwisesim.Fault { return []idwisesim.Fault{{Delay: 50 * time.Millisecond}} },
			wantRequests: 1,
			minElapsed:   50 * time.Millisecond,
		},
		{
			name: "500 every time gives up after MaxAttempts with the last error",
			cfg:  idwise.ClientConfig{MaxAttempts: 3},
			faults: func() []idwisesim.Fault {
				return []idwisesim.Fault{{Status: 500}, {Status: 500}, {Status: 502}, {Status: 500}}
			},
			wantRequests: 3,
			wantStatus:   502,
			wantRetry:    true,
		},
		{
			name:         "400 is not retried",
			faults:       func() []idwisesim.Fault { return []idwisesim.Fault{{Status: 400}} },
			wantRequests: 1,
			wantStatus:   400,
		},
		{
			name:         "403 is unauthorized and permanent",
			faults:       func() []idwisesim.Fault { return []idwisesim.Fault{{Status: 403}} },
			wantRequests: 1,
			wantIs:       idwise.ErrUnauthorized,
		},
		{
			name:         "404 is not found and permanent",
			faults:       func() []idwisesim.Fault { return []idwisesim.Fault{{Status: 404}, {Status: 500}} },
			wantRequests: 1,
			wantIs:       idwise.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, _ := setup(t, tt.cfg)
			for _, f := range tt.faults() {
				sim.Fail(idwisesim.EndpointJourney, 1, f)
			}
			start := time.Now()
			j, err := c.Journey(context.Background(), journeyID)
			elapsed := time.Since(start)
			if got := sim.Requests(idwisesim.EndpointJourney); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
			if elapsed < tt.minElapsed {
				t.Errorf("elapsed = %v, want at least %v", elapsed, tt.minElapsed)
			}
			switch {
			case tt.wantIs != nil:
				if !errors.Is(err, tt.wantIs) {
					t.Errorf("Journey() error = %v, want %v", err, tt.wantIs)
				}
			case tt.wantStatus != 0:
				wantAPIError(t, err, tt.wantStatus, tt.wantRetry)
			case err != nil:
				t.Fatalf("Journey() error = %v, want nil", err)
			case j.JourneyID != journeyID || j.FinalDecision != "Complete":
				t.Errorf("Journey() = %+v, want journey %s with final decision Complete", j, journeyID)
			}
		})
	}
}

// Every method retries the same way; and a 401 or 404 costs exactly one request.
func TestClientMethods(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n-not-really-a-png")
	calls := []struct {
		name string
		ep   idwisesim.Endpoint
		call func(ctx context.Context, c *idwise.Client, id string) error
	}{
		{"Journey", idwisesim.EndpointJourney, func(ctx context.Context, c *idwise.Client, id string) error {
			_, err := c.Journey(ctx, id)
			return err
		}},
		{"ProcessCustomStep", idwisesim.EndpointProcessCustomStep, func(ctx context.Context, c *idwise.Client, id string) error {
			return c.ProcessCustomStep(ctx, id, "7", png, "image/png")
		}},
		{"CompleteCustomStep", idwisesim.EndpointCompleteCustomStep, func(ctx context.Context, c *idwise.Client, id string) error {
			return c.CompleteCustomStep(ctx, id)
		}},
		{"DeletePersonalData", idwisesim.EndpointDeletePersonalData, func(ctx context.Context, c *idwise.Client, id string) error {
			return c.DeletePersonalData(ctx, id)
		}},
	}
	for _, m := range calls {
		t.Run(m.name+"/500 then 200", func(t *testing.T) {
			sim, c, _ := setup(t, idwise.ClientConfig{})
			sim.Fail(m.ep, 1, idwisesim.Fault{Status: 500})
			if err := m.call(context.Background(), c, journeyID); err != nil {
				t.Fatalf("%s() error = %v, want nil", m.name, err)
			}
			if got := sim.Requests(m.ep); got != 2 {
				t.Errorf("requests = %d, want 2", got)
			}
		})
		t.Run(m.name+"/unknown journey", func(t *testing.T) {
			sim, c, _ := setup(t, idwise.ClientConfig{})
			err := m.call(context.Background(), c, "no-such-journey")
			if !errors.Is(err, idwise.ErrNotFound) {
				t.Errorf("%s() error = %v, want ErrNotFound", m.name, err)
			}
			if got := sim.Requests(m.ep); got != 1 {
				t.Errorf("requests = %d, want 1", got)
			}
		})
		t.Run(m.name+"/wrong credentials", func(t *testing.T) {
			sim, _, url := setup(t, idwise.ClientConfig{})
			c, err := idwise.NewClient(idwise.ClientConfig{BaseURL: url, BaseBackoff: time.Millisecond},
				idwise.StaticCredentials{Key: apiKey, Secret: "wrong"})
			if err != nil {
				t.Fatal(err)
			}
			err = m.call(context.Background(), c, journeyID)
			if !errors.Is(err, idwise.ErrUnauthorized) {
				t.Errorf("%s() error = %v, want ErrUnauthorized", m.name, err)
			}
			if got := sim.Requests(m.ep); got != 1 {
				t.Errorf("requests = %d, want 1", got)
			}
		})
	}
}

func TestClientDeadline(t *testing.T) {
	tests := []struct {
		name         string
		cfg          idwise.ClientConfig
		ctxTimeout   time.Duration
		faults       []idwisesim.Fault
		wantStatus   int
		wantRequests func(n int) bool
		maxElapsed   time.Duration
	}{
		{
			name:         "Retry-After past the deadline: no wait, one request, the 429",
			ctxTimeout:   400 * time.Millisecond,
			faults:       []idwisesim.Fault{{Status: 429, RetryAfter: "5"}},
			wantStatus:   429,
			wantRequests: func(n int) bool { return n == 1 },
			maxElapsed:   300 * time.Millisecond,
		},
		{
			name:         "500 every time: retries until the deadline, then the last 500",
			cfg:          idwise.ClientConfig{MaxAttempts: 1000, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond},
			ctxTimeout:   300 * time.Millisecond,
			faults:       repeat(idwisesim.Fault{Status: 500}, 1000),
			wantStatus:   500,
			wantRequests: func(n int) bool { return n >= 3 },
			maxElapsed:   300*time.Millisecond + 150*time.Millisecond,
		},
		{
			name:         "client Timeout bounds the call like a context deadline",
			cfg:          idwise.ClientConfig{Timeout: 250 * time.Millisecond, MaxAttempts: 1000, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond},
			faults:       repeat(idwisesim.Fault{Status: 503}, 1000),
			wantStatus:   503,
			wantRequests: func(n int) bool { return n >= 3 },
			maxElapsed:   250*time.Millisecond + 150*time.Millisecond,
		},
		{
			name:         "attempt cut short by the deadline keeps the earlier 500",
			ctxTimeout:   300 * time.Millisecond,
			faults:       []idwisesim.Fault{{Status: 500}, {Hang: true}},
			wantStatus:   500,
			wantRequests: func(n int) bool { return n == 2 },
			maxElapsed:   time.Second,
		},
		{
			name:         "hang past the deadline: a timeout error, one request",
			ctxTimeout:   200 * time.Millisecond,
			faults:       []idwisesim.Fault{{Hang: true}},
			wantStatus:   0,
			wantRequests: func(n int) bool { return n == 1 },
			maxElapsed:   time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, _ := setup(t, tt.cfg)
			for _, f := range tt.faults {
				sim.Fail(idwisesim.EndpointJourney, 1, f)
			}
			ctx := context.Background()
			var deadline time.Time
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
				deadline, _ = ctx.Deadline()
			}
			start := time.Now()
			_, err := c.Journey(ctx, journeyID)
			elapsed := time.Since(start)
			wantAPIError(t, err, tt.wantStatus, true)
			if tt.wantStatus == 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want it to wrap context.DeadlineExceeded", err)
			}
			if elapsed > tt.maxElapsed {
				t.Errorf("elapsed = %v, want at most %v", elapsed, tt.maxElapsed)
			}
			if !deadline.IsZero() && time.Now().After(deadline.Add(150*time.Millisecond)) {
				t.Errorf("returned %v after the deadline", time.Since(deadline))
			}
			if n := sim.Requests(idwisesim.EndpointJourney); !tt.wantRequests(n) {
				t.Errorf("requests = %d, unexpected", n)
			}
		})
	}
}

func repeat(f idwisesim.Fault, n int) []idwisesim.Fault {
	out := make([]idwisesim.Fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// Errors name the status, never the response body or the credentials.
func TestClientErrorsHideBodyAndCredentials(t *testing.T) {
	const marker = "BODY-MARKER-Sami-Adam-1960"
	basic := base64.StdEncoding.EncodeToString([]byte(apiKey + ":" + apiSecret))
	tests := []struct {
		name  string
		fault idwisesim.Fault
	}{
		{"500", idwisesim.Fault{Status: 500, Body: marker}},
		{"400", idwisesim.Fault{Status: 400, Body: marker}},
		{"429", idwisesim.Fault{Status: 429, Body: marker}},
		{"401", idwisesim.Fault{Status: 401, Body: marker}},
		{"404", idwisesim.Fault{Status: 404, Body: marker}},
		{"hang", idwisesim.Fault{Hang: true, Delay: time.Millisecond}},
		{"200 that is not a journey", idwisesim.Fault{Status: 200, Body: "<html>" + marker + "</html>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, _ := setup(t, idwise.ClientConfig{MaxAttempts: 2})
			sim.Fail(idwisesim.EndpointJourney, 2, tt.fault)
			_, err := c.Journey(context.Background(), journeyID)
			if err == nil {
				t.Fatal("Journey() error = nil, want an error")
			}
			for _, secret := range []string{marker, "injected", apiKey, apiSecret, basic} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains %q", err, secret)
				}
			}
		})
	}
}

func TestClientMalformedResponse(t *testing.T) {
	sim, c, _ := setup(t, idwise.ClientConfig{})
	sim.Fail(idwisesim.EndpointJourney, 1, idwisesim.Fault{Status: 200, Body: `[{"journey_id":"x"}]`})
	if _, err := c.Journey(context.Background(), journeyID); !errors.Is(err, idwise.ErrMalformedResponse) {
		t.Errorf("Journey() error = %v, want ErrMalformedResponse", err)
	}
	if n := sim.Requests(idwisesim.EndpointJourney); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

// Ids that would change the request path are refused before any request.
func TestClientInvalidIDs(t *testing.T) {
	sim, c, _ := setup(t, idwise.ClientConfig{})
	ctx := context.Background()
	for _, id := range []string{"", ".", "..", "J\n1"} {
		if _, err := c.Journey(ctx, id); err == nil {
			t.Errorf("Journey(%q) error = nil, want an error", id)
		}
		if err := c.DeletePersonalData(ctx, id); err == nil {
			t.Errorf("DeletePersonalData(%q) error = nil, want an error", id)
		}
		if err := c.CompleteCustomStep(ctx, id); err == nil {
			t.Errorf("CompleteCustomStep(%q) error = nil, want an error", id)
		}
		if err := c.ProcessCustomStep(ctx, journeyID, id, []byte("img"), "image/jpeg"); err == nil {
			t.Errorf("ProcessCustomStep(step %q) error = nil, want an error", id)
		}
	}
	for _, ep := range []idwisesim.Endpoint{idwisesim.EndpointJourney, idwisesim.EndpointDeletePersonalData, idwisesim.EndpointCompleteCustomStep, idwisesim.EndpointProcessCustomStep} {
		if n := sim.Requests(ep); n != 0 {
			t.Errorf("Requests(%s) = %d, want 0", ep, n)
		}
	}
}

func TestProcessCustomStepMultipart(t *testing.T) {
	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{0, 1, 2, 0xfe}, 3000)...)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name, stepID, contentType string
		image                     []byte
		wantType                  string
	}{
		{name: "jpeg", stepID: "20", contentType: "image/jpeg", image: jpeg, wantType: "image/jpeg"},
		{name: "content type detected when empty", stepID: "gov-face", image: png, wantType: "image/png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, _ := setup(t, idwise.ClientConfig{})
			if err := c.ProcessCustomStep(context.Background(), journeyID, tt.stepID, tt.image, tt.contentType); err != nil {
				t.Fatalf("ProcessCustomStep() error = %v, want nil", err)
			}
			steps := sim.Steps()
			if len(steps) != 1 {
				t.Fatalf("simulator received %d steps, want 1", len(steps))
			}
			got := steps[0]
			if got.JourneyID != journeyID || got.StepID != tt.stepID || got.ContentType != tt.wantType {
				t.Errorf("step = {%q, %q, %q}, want {%q, %q, %q}", got.JourneyID, got.StepID, got.ContentType, journeyID, tt.stepID, tt.wantType)
			}
			if !bytes.Equal(got.Image, tt.image) {
				t.Errorf("image = %d bytes, want the %d bytes sent", len(got.Image), len(tt.image))
			}
		})
	}
	t.Run("step type and face match outcome", func(t *testing.T) {
		sim, c, _ := setup(t, idwise.ClientConfig{})
		err := c.SubmitCustomStep(context.Background(), idwise.CustomStepImage{JourneyID: journeyID, StepID: "gov-face", StepType: "face", Image: jpeg, ContentType: "image/jpeg"})
		if err != nil {
			t.Fatalf("SubmitCustomStep() error = %v", err)
		}
		if steps := sim.Steps(); len(steps) != 1 || steps[0].StepType != "face" || steps[0].Filename != "image.jpg" {
			t.Errorf("steps = %+v, want one with stepType face and filename image.jpg", steps)
		}
		j, _ := sim.Journey(journeyID)
		if got := j.Fields()["screening_checks.additional_face_db.result"]; got != "Passed" {
			t.Errorf("journey screening_checks.additional_face_db.result = %q, want Passed", got)
		}
	})
	t.Run("empty image is refused without a request", func(t *testing.T) {
		sim, c, _ := setup(t, idwise.ClientConfig{})
		if err := c.ProcessCustomStep(context.Background(), journeyID, "1", nil, "image/png"); err == nil {
			t.Error("ProcessCustomStep(empty image) error = nil, want an error")
		}
		if n := sim.Requests(idwisesim.EndpointProcessCustomStep); n != 0 {
			t.Errorf("requests = %d, want 0", n)
		}
	})
}

func TestCompleteAndDelete(t *testing.T) {
	sim, c, _ := setup(t, idwise.ClientConfig{})
	ctx := context.Background()
	if err := c.CompleteCustomStep(ctx, journeyID); err != nil {
		t.Fatalf("CompleteCustomStep() error = %v", err)
	}
	if n := sim.Completed(journeyID); n != 1 {
		t.Errorf("Completed(%s) = %d, want 1", journeyID, n)
	}
	if err := c.DeletePersonalData(ctx, journeyID); err != nil {
		t.Fatalf("DeletePersonalData() error = %v", err)
	}
	if got := sim.Deleted(); len(got) != 1 || got[0] != journeyID {
		t.Errorf("Deleted() = %v, want [%s]", got, journeyID)
	}
	if _, err := c.Journey(ctx, journeyID); !errors.Is(err, idwise.ErrNotFound) {
		t.Errorf("Journey() after delete error = %v, want ErrNotFound", err)
	}
}

// Custom path templates, shared by client and simulator; ids are path-escaped.
func TestClientCustomPaths(t *testing.T) {
	paths := idwise.Paths{
		Journey:            "/api/v9/journeys/{journeyId}",
		ProcessCustomStep:  "api/v9/journeys/{journeyId}/steps/{stepId}",
		CompleteCustomStep: "api/v9/complete-custom-step",
		DeletePersonalData: "api/v9/journeys/{journeyId}/pii",
	}
	sim, c, _ := setup(t, idwise.ClientConfig{Paths: paths})
	id := "odd id/with?chars"
	sim.SetJourney(idwise.Journey{JourneyID: id, FinalDecision: "Refer"})
	ctx := context.Background()
	j, err := c.Journey(ctx, id)
	if err != nil || j.FinalDecision != "Refer" {
		t.Fatalf("Journey(%q) = %+v, %v, want final decision Refer", id, j, err)
	}
	if err := c.ProcessCustomStep(ctx, id, "step/2", []byte("img"), "image/jpeg"); err != nil {
		t.Fatalf("ProcessCustomStep() error = %v", err)
	}
	if st := sim.Steps(); len(st) != 1 || st[0].JourneyID != id || st[0].StepID != "step/2" {
		t.Errorf("Steps() = %+v, want one step of %q / step/2", st, id)
	}
	if err := c.CompleteCustomStep(ctx, id); err != nil || sim.Completed(id) != 1 {
		t.Errorf("CompleteCustomStep() error = %v, completed = %d, want nil, 1", err, sim.Completed(id))
	}
	if err := c.DeletePersonalData(ctx, id); err != nil {
		t.Errorf("DeletePersonalData() error = %v", err)
	}
}

// roundTripper records requests and answers 200 with a journey, without any network.
type roundTripper struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rt *roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, r)
	rt.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"journey_id":"x"}`)), Request: r}, nil
}

func TestClientRegions(t *testing.T) {
	tests := []struct {
		name    string
		cfg     idwise.ClientConfig
		wantURL string
		wantErr bool
	}{
		{name: "default is eu", wantURL: "https://api.idwise.com/journey/v2/result/J%2F1"},
		{name: "eu", cfg: idwise.ClientConfig{Region: idwise.RegionEU}, wantURL: "https://api.idwise.com/journey/v2/result/J%2F1"},
		{name: "uae", cfg: idwise.ClientConfig{Region: idwise.RegionUAE}, wantURL: "https://api-uae.idwise.com/journey/v2/result/J%2F1"},
		{name: "qat", cfg: idwise.ClientConfig{Region: "QAT"}, wantURL: "https://api-qat.idwise.com/journey/v2/result/J%2F1"},
		{name: "base url overrides region", cfg: idwise.ClientConfig{Region: idwise.RegionUAE, BaseURL: "http://127.0.0.1:4010/sim"}, wantURL: "http://127.0.0.1:4010/sim/journey/v2/result/J%2F1"},
		{name: "unknown region", cfg: idwise.ClientConfig{Region: "us"}, wantErr: true},
		{name: "relative base url", cfg: idwise.ClientConfig{BaseURL: "api.idwise.com"}, wantErr: true},
		{name: "base url with a query", cfg: idwise.ClientConfig{BaseURL: "https://api.idwise.com/?x=1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &roundTripper{}
			tt.cfg.HTTPClient = &http.Client{Transport: rt}
			c, err := idwise.NewClient(tt.cfg, idwise.StaticCredentials{Key: apiKey, Secret: apiSecret})
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewClient() error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if _, err := c.Journey(context.Background(), "J/1"); err != nil {
				t.Fatalf("Journey() error = %v", err)
			}
			if len(rt.reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(rt.reqs))
			}
			r := rt.reqs[0]
			if got := r.URL.String(); got != tt.wantURL {
				t.Errorf("URL = %s, want %s", got, tt.wantURL)
			}
			if user, pass, ok := r.BasicAuth(); !ok || user != apiKey || pass != apiSecret || r.Method != http.MethodGet {
				t.Errorf("request = %s with basic auth %q:%q (%v), want GET with the API key and secret", r.Method, user, pass, ok)
			}
		})
	}
}

// A Get Journey Result scripted over the simulator's HTTP API, with unknown fields, nulls
// and odd types, decodes through the client.
func TestClientJourneyTolerance(t *testing.T) {
	_, c, url := setup(t, idwise.ClientConfig{})
	raw, err := os.ReadFile(filepath.Join("testdata", "journey", "tolerant.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, url+"/_sim/journeys/j-tolerant", bytes.NewReader(raw))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT /_sim/journeys status = %d, want 204", resp.StatusCode)
	}
	j, err := c.Journey(context.Background(), "j-tolerant")
	if err != nil {
		t.Fatalf("Journey() error = %v, want nil", err)
	}
	if j.SystemDecision != "Complete" || j.Documents["20"].ExtractedFields["Full Name"].Value != "Willeke De Bruijn" || j.Selfie.Status != "Refer" {
		t.Errorf("Journey() = %+v, want the tolerant fixture's values", j)
	}
}

// The custom step's form field names are configuration: a client and a simulator with the
// same names agree; a client with other names than IDWise expects gets a 400 that is a
// failure of the call, not "IDWise refused the image" (not ErrImageRefused).
func TestCustomStepFieldNames(t *testing.T) {
	camel := idwise.FormFields{JourneyID: "journeyId", StepID: "stepId", StepType: "stepType", Image: "file", CompleteJourneyID: "journeyId"}
	tests := []struct {
		name       string
		client     idwise.FormFields
		sim        idwise.FormFields
		wantStatus int // 0: accepted
	}{
		{"defaults on both sides (snake_case)", idwise.FormFields{}, idwise.FormFields{}, 0},
		{"configured names on both sides", camel, camel, 0},
		{"client camelCase, IDWise snake_case", camel, idwise.FormFields{}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := idwisesim.New(idwisesim.Config{APIKey: apiKey, APISecret: apiSecret, Fields: tt.sim})
			ts := httptest.NewServer(sim.Handler())
			t.Cleanup(ts.Close)
			sim.SetJourney(idwise.Journey{JourneyID: journeyID, ReferenceNumber: "ref-1"})
			c, err := idwise.NewClient(idwise.ClientConfig{BaseURL: ts.URL, Fields: tt.client, MaxAttempts: 1},
				idwise.StaticCredentials{Key: apiKey, Secret: apiSecret})
			if err != nil {
				t.Fatal(err)
			}
			err = c.SubmitCustomStep(context.Background(), idwise.CustomStepImage{JourneyID: journeyID, StepID: "gov", StepType: "face",
				Image: []byte{0xff, 0xd8, 0xff, 1}})
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("SubmitCustomStep() = %v, want nil", err)
				}
				if st := sim.Steps(); len(st) != 1 || st[0].JourneyID != journeyID || st[0].StepID != "gov" || st[0].StepType != "face" {
					t.Errorf("steps = %+v, want one for %s/gov of type face", st, journeyID)
				}
				if err := c.CompleteCustomStep(context.Background(), journeyID); err != nil || sim.Completed(journeyID) != 1 {
					t.Errorf("CompleteCustomStep() = %v, completed %d, want nil, 1", err, sim.Completed(journeyID))
				}
				return
			}
			wantAPIError(t, err, tt.wantStatus, false)
			if errors.Is(err, idwise.ErrImageRefused) {
				t.Errorf("error = %v, is ErrImageRefused for a request IDWise could not read, want not", err)
			}
		})
	}
}

// ErrImageRefused is the Kind only when IDWise's answer is about the image itself.
func TestImageRefusedAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"413 too large", http.StatusRequestEntityTooLarge, "", true},
		{"415 unsupported media", http.StatusUnsupportedMediaType, "", true},
		{"400 no face found", http.StatusBadRequest, `{"error_code":"FACE_NOT_FOUND","message":"No face detected in the image"}`, true},
		{"422 bad image", http.StatusUnprocessableEntity, `{"error":"invalid image format"}`, true},
		{"400 field missing", http.StatusBadRequest, `{"error":"image is required"}`, false},
		{"400 unknown step", http.StatusBadRequest, `{"message":"step_id not found in the flow"}`, false},
		{"400 no JSON", http.StatusBadRequest, `Bad Request`, false},
		{"409 journey completed", http.StatusConflict, `{"message":"journey completed, image refused"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := idwisesim.New(idwisesim.Config{APIKey: apiKey, APISecret: apiSecret})
			ts := httptest.NewServer(sim.Handler())
			t.Cleanup(ts.Close)
			sim.SetJourney(idwise.Journey{JourneyID: journeyID})
			sim.Fail(idwisesim.EndpointProcessCustomStep, 1, idwisesim.Fault{Status: tt.status, Body: tt.body})
			c, err := idwise.NewClient(idwise.ClientConfig{BaseURL: ts.URL, MaxAttempts: 1}, idwise.StaticCredentials{Key: apiKey, Secret: apiSecret})
			if err != nil {
				t.Fatal(err)
			}
			err = c.ProcessCustomStep(context.Background(), journeyID, "gov", []byte{0xff, 0xd8, 0xff, 1}, "")
			var ae *idwise.APIError
			if got := errors.Is(err, idwise.ErrImageRefused); !errors.As(err, &ae) || got != tt.want {
				t.Errorf("ProcessCustomStep() after %d %s = %v (ErrImageRefused %v), want ErrImageRefused %v", tt.status, tt.body, err, got, tt.want)
			}
		})
	}
}

// Get Spot Check Result has its own configurable path.
func TestSpotCheckPath(t *testing.T) {
	sim, c, _ := setup(t, idwise.ClientConfig{Paths: idwise.Paths{SpotCheckResult: "custom/spot/{journeyId}"}})
	sim.SetJourney(idwise.Journey{JourneyID: "SC-1", ReferenceNumber: "ref-1", SystemDecision: "Refer"})
	j, err := c.SpotCheck(context.Background(), "SC-1")
	if err != nil || j.SystemDecision != "Refer" || j.ReferenceNumber != "ref-1" {
		t.Fatalf("SpotCheck(SC-1) = %+v, %v, want the Refer result of ref-1", j, err)
	}
	if n := sim.Requests(idwisesim.EndpointSpotCheck); n != 1 {
		t.Errorf("spot check requests = %d, want 1", n)
	}
	if _, err := c.SpotCheck(context.Background(), "SC-unknown"); !errors.Is(err, idwise.ErrNotFound) {
		t.Errorf("SpotCheck(unknown) = %v, want ErrNotFound", err)
	}
}
