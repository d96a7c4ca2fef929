package veriffapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffapi"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffsim"
)

type static veriffapi.Credentials

func (s static) Credentials(context.Context) (veriffapi.Credentials, error) {
	return veriffapi.Credentials(s), nil
}

const (
	key    = "test-api-key"
	secret = "test-shared-secret"
)

func newSim(t *testing.T) (*veriffsim.Sim, string) {
	t.Helper()
	sim := veriffsim.New(veriffsim.Config{APIKey: key, SharedSecret: secret})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func client(t *testing.T, base string, creds veriffapi.Credentials) *veriffapi.Client {
	t.Helper()
	c, err := veriffapi.New(veriffapi.Config{BaseURL: base, Timeout: 5 * time.Second}, static(creds), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Create a session, decide it on the simulator, fetch the decision: the answer parses
// as the decision webhook does.
func TestCreateSessionThenDecision(t *testing.T) {
	sim, base := newSim(t)
	c := client(t, base, veriffapi.Credentials{APIKey: key, SharedSecret: secret})
	ctx := context.Background()
	s, err := c.CreateSession(ctx, veriffapi.SessionRequest{VendorData: "ref-1", Lang: "et", Callback: "https://app.example/done"})
	if err != nil || s.ID == "" || !strings.Contains(s.URL, s.ID) {
		t.Fatalf("CreateSession() = %+v, %v, want an id and its url", s, err)
	}
	got := sim.Sessions()
	if len(got) != 1 || got[0].ID != s.ID || got[0].VendorData != "ref-1" || got[0].Lang != "et" || got[0].Callback != "https://app.example/done" {
		t.Errorf("sim sessions = %+v, want the session with vendorData, lang and callback", got)
	}

	raw, err := c.Decision(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := veriff.Parse(raw); w.Kind == veriff.KindDecision {
		t.Errorf("Decision() before a decision = %s, want verification null", raw)
	}
	d, _ := sim.Decision(s.ID, "approved", time.Now())
	if err := sim.SetDecision(s.ID, d); err != nil {
		t.Fatal(err)
	}
	raw, err = c.Decision(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := veriff.Parse(raw)
	if err != nil || w.Kind != veriff.KindDecision || w.Code != veriff.CodeApproved || w.SessionID != s.ID || w.VendorData != "ref-1" {
		t.Errorf("Parse(Decision()) = %+v, %v, want the approved decision of %s for ref-1", w, err, s.ID)
	}
}

// The attacker without the credentials: the simulator refuses, as Veriff does, and the
// client says so with a typed, permanent error.
func TestTypedErrors(t *testing.T) {
	sim, base := newSim(t)
	ctx := context.Background()
	good := client(t, base, veriffapi.Credentials{APIKey: key, SharedSecret: secret})
	s, _ := good.CreateSession(ctx, veriffapi.SessionRequest{VendorData: "r"})
	tests := []struct {
		name  string
		creds veriffapi.Credentials
		call  func(c *veriffapi.Client) error
		want  error
	}{
		{"create with a wrong API key", veriffapi.Credentials{APIKey: "nope", SharedSecret: secret},
			func(c *veriffapi.Client) error {
				_, err := c.CreateSession(ctx, veriffapi.SessionRequest{})
				return err
			}, veriffapi.ErrUnauthorized},
		{"decision signed with another secret", veriffapi.Credentials{APIKey: key, SharedSecret: "other"},
			func(c *veriffapi.Client) error { _, err := c.Decision(ctx, s.ID); return err }, veriffapi.ErrUnauthorized},
		{"decision of an unknown session", veriffapi.Credentials{APIKey: key, SharedSecret: secret},
			func(c *veriffapi.Client) error { _, err := c.Decision(ctx, "no-such-session"); return err }, veriffapi.ErrNotFound},
		{"credentials not filled in", veriffapi.Credentials{},
			func(c *veriffapi.Client) error { _, err := c.Decision(ctx, s.ID); return err }, veriffapi.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := sim.Calls("decision") + sim.Calls("create")
			err := tt.call(client(t, base, tt.creds))
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
			if n := sim.Calls("decision") + sim.Calls("create") - before; n > 1 {
				t.Errorf("%d requests, want at most one (a permanent error is not retried)", n)
			}
		})
	}
	if _, err := good.Decision(ctx, "../sessions"); err == nil {
		t.Errorf("Decision(../sessions) = nil error, want the id refused before any request")
	}
}

// Bounded retries: 5xx and 429 are retried for a look-up; a creation is retried only on
// answers where Veriff cannot have created it; no error carries a body.
func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		create    bool
		wantCalls int32
		wantOK    bool
	}{
		{"decision: 500 then 200", []int{500, 200}, false, 2, true},
		{"decision: 429 twice then 200", []int{429, 429, 200}, false, 3, true},
		{"decision: 503 forever, bounded", []int{503, 503, 503, 503, 503, 503}, false, 4, false},
		{"decision: 400 not retried", []int{400, 200}, false, 1, false},
		{"create: 503 then 201", []int{503, 201}, true, 2, true},
		{"create: 500 not retried (it may have been created)", []int{500, 201}, true, 1, false},
		{"create: 429 then 201", []int{429, 201}, true, 2, true},
		{"create: 502 and 504 then 201", []int{502, 504, 201}, true, 3, true},
		{"decision: 404 not retried", []int{404, 200}, false, 1, false},
		{"decision: 401 not retried", []int{401, 200}, false, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if r.Header.Get("X-AUTH-CLIENT") != key {
					t.Errorf("X-AUTH-CLIENT = %q", r.Header.Get("X-AUTH-CLIENT"))
				}
				st := tt.statuses[min(i, len(tt.statuses)-1)]
				w.WriteHeader(st)
				if st < 300 {
					_, _ = io.WriteString(w, `{"status":"success","verification":{"id":"s1","url":"https://x/v/s1"}}`)
				} else {
					_, _ = io.WriteString(w, `{"secret-body":"TEST PERSON"}`)
				}
			}))
			defer srv.Close()
			c := client(t, srv.URL, veriffapi.Credentials{APIKey: key, SharedSecret: secret})
			var err error
			if tt.create {
				_, err = c.CreateSession(context.Background(), veriffapi.SessionRequest{VendorData: "r"})
			} else {
				_, err = c.Decision(context.Background(), "s1")
			}
			if (err == nil) != tt.wantOK || n.Load() != tt.wantCalls {
				t.Errorf("error %v after %d calls, want ok=%v after %d", err, n.Load(), tt.wantOK, tt.wantCalls)
			}
			if err != nil && strings.Contains(err.Error(), "TEST PERSON") {
				t.Errorf("error %q carries the response body", err)
			}
		})
	}
}

func TestBaseURLMustBeHTTPS(t *testing.T) {
	for base, ok := range map[string]bool{
		"": true, "https://stationapi.veriff.com": true, "http://127.0.0.1:3002": true, "http://localhost:3002": true,
		"http://[::1]:3002": true, "http://stationapi.veriff.com": false, "ftp://x": false, "https://user:pw@x": false, "not a url": false,
	} {
		_, err := veriffapi.New(veriffapi.Config{BaseURL: base}, static{}, nil)
		if (err == nil) != ok {
			t.Errorf("New(%q) error = %v, want ok=%v", base, err, ok)
		}
	}
}

// The request is what Veriff documents: POST /v1/sessions {"verification": {...}} with
// X-AUTH-CLIENT and no signature; GET /v1/sessions/{id}/decision with the HMAC of the id.
func TestRequestShape(t *testing.T) {
	var seen []*http.Request
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen, bodies = append(seen, r), append(bodies, string(b))
		_, _ = io.WriteString(w, `{"status":"success","verification":{"id":"s1","url":"https://x/v/s1"}}`)
	}))
	defer srv.Close()
	c := client(t, srv.URL, veriffapi.Credentials{APIKey: key, SharedSecret: secret})
	if _, err := c.CreateSession(context.Background(), veriffapi.SessionRequest{VendorData: "ref-9"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decision(context.Background(), "s1"); err != nil {
		t.Fatal(err)
	}
	var body map[string]map[string]string
	_ = json.Unmarshal([]byte(bodies[0]), &body)
	if seen[0].Method != "POST" || seen[0].URL.Path != "/v1/sessions" || body["verification"]["vendorData"] != "ref-9" ||
		seen[0].Header.Get("X-HMAC-SIGNATURE") != "" || seen[0].Header.Get("Content-Type") != "application/json" {
		t.Errorf("create = %s %s %s headers %v, want POST /v1/sessions {verification: {vendorData}}", seen[0].Method, seen[0].URL.Path, bodies[0], seen[0].Header)
	}
	if seen[1].Method != "GET" || seen[1].URL.Path != "/v1/sessions/s1/decision" || seen[1].Header.Get("X-HMAC-SIGNATURE") != veriff.Sign(secret, []byte("s1")) {
		t.Errorf("decision = %s %s sig %q, want GET /v1/sessions/s1/decision signed", seen[1].Method, seen[1].URL.Path, seen[1].Header.Get("X-HMAC-SIGNATURE"))
	}
}

// A creation whose connection dropped after the request was sent may have created the
// session: it is not sent again; a look-up is. A creation that never connected (dial
// refused) is retried.
func TestCreateRetriedOnlyWhenNeverSent(t *testing.T) {
	var requests atomic.Int32
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}))
	defer drop.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	tests := []struct {
		name      string
		base      string
		create    bool
		wantDials int32 // connections attempted
	}{
		{"create, connection dropped: once", drop.URL, true, 1},
		{"decision, connection dropped: retried", drop.URL, false, 4},
		{"create, dial refused: retried", refused, true, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dials atomic.Int32
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.DisableKeepAlives = true
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}
			c, err := veriffapi.New(veriffapi.Config{BaseURL: tt.base, Timeout: 5 * time.Second}, static(veriffapi.Credentials{APIKey: key, SharedSecret: secret}), &http.Client{Transport: tr})
			if err != nil {
				t.Fatal(err)
			}
			if tt.create {
				_, err = c.CreateSession(context.Background(), veriffapi.SessionRequest{VendorData: "r"})
			} else {
				_, err = c.Decision(context.Background(), "s1")
			}
			var ae *veriffapi.APIError
			if !errors.As(err, &ae) || ae.Status != 0 {
				t.Errorf("error = %v, want an APIError without a status", err)
			}
			if n := dials.Load(); n != tt.wantDials {
				t.Errorf("dials = %d, want %d", n, tt.wantDials)
			}
		})
	}
}
