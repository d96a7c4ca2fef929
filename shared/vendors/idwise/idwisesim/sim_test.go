package idwisesim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
)

const (
	key    = "sim-key"
	secret = "sim-secret"
)

func start(t *testing.T) (*idwisesim.Server, string) {
	t.Helper()
	sim := idwisesim.New(idwisesim.Config{APIKey: key, APISecret: secret})
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	return sim, ts.URL
}

type call struct {
	method, path, body, contentType string
	user, pass                      string
}

func do(t *testing.T, base string, c call) (int, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func stepBody(t *testing.T, fields map[string]string, image []byte) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if image != nil {
		part, _ := w.CreateFormFile("image", "face.jpg")
		_, _ = part.Write(image)
	}
	_ = w.Close()
	return buf.String(), w.FormDataContentType()
}

func TestAPIAuthAndNotFound(t *testing.T) {
	sim, url := start(t)
	sim.SetJourney(idwise.Journey{JourneyID: "J1", FinalDecision: "Complete"})
	body, ctype := stepBody(t, map[string]string{"journey_id": "J1", "step_id": "5"}, []byte("jpeg"))
	tests := []struct {
		name       string
		call       call
		ep         idwisesim.Endpoint
		wantStatus int
	}{
		{"journey without auth", call{method: "GET", path: "/journey/v2/result/J1"}, idwisesim.EndpointJourney, 401},
		{"journey with a wrong secret", call{method: "GET", path: "/journey/v2/result/J1", user: key, pass: "nope"}, idwisesim.EndpointJourney, 401},
		{"journey with a wrong key", call{method: "GET", path: "/journey/v2/result/J1", user: "nope", pass: secret}, idwisesim.EndpointJourney, 401},
		{"journey", call{method: "GET", path: "/journey/v2/result/J1", user: key, pass: secret}, idwisesim.EndpointJourney, 200},
		{"unknown journey", call{method: "GET", path: "/journey/v2/result/J2", user: key, pass: secret}, idwisesim.EndpointJourney, 404},
		{"step without auth", call{method: "POST", path: "/journey/v2/process-custom-journey-step", body: body, contentType: ctype}, idwisesim.EndpointProcessCustomStep, 401},
		{"step", call{method: "POST", path: "/journey/v2/process-custom-journey-step", body: body, contentType: ctype, user: key, pass: secret}, idwisesim.EndpointProcessCustomStep, 200},
		{"step not multipart", call{method: "POST", path: "/journey/v2/process-custom-journey-step", body: `{}`, contentType: "application/json", user: key, pass: secret}, idwisesim.EndpointProcessCustomStep, 400},
		{"complete without auth", call{method: "POST", path: "/journey/v2/complete-custom-step/J1"}, idwisesim.EndpointCompleteCustomStep, 401},
		{"complete unknown", call{method: "POST", path: "/journey/v2/complete-custom-step/J9", user: key, pass: secret}, idwisesim.EndpointCompleteCustomStep, 404},
		{"delete without auth", call{method: "DELETE", path: "/journey/J1"}, idwisesim.EndpointDeletePersonalData, 401},
		{"delete unknown", call{method: "DELETE", path: "/journey/J9", user: key, pass: secret}, idwisesim.EndpointDeletePersonalData, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := sim.Requests(tt.ep)
			status, _ := do(t, url, tt.call)
			if status != tt.wantStatus {
				t.Errorf("%s %s = %d, want %d", tt.call.method, tt.call.path, status, tt.wantStatus)
			}
			if got := sim.Requests(tt.ep) - before; got != 1 {
				t.Errorf("Requests(%s) grew by %d, want 1", tt.ep, got)
			}
		})
	}
}

func TestProcessStepRecordsSubmission(t *testing.T) {
	sim, url := start(t)
	sim.SetJourney(idwise.Journey{JourneyID: "J1"})
	image := []byte{0xff, 0xd8, 0xff, 0x00, 0x10, 0x80}
	tests := []struct {
		name       string
		fields     map[string]string
		image      []byte
		wantStatus int
	}{
		{name: "complete form", fields: map[string]string{"journey_id": "J1", "step_id": "gov"}, image: image, wantStatus: 200},
		{name: "missing image", fields: map[string]string{"journey_id": "J1", "step_id": "gov"}, wantStatus: 400},
		{name: "missing step_id", fields: map[string]string{"journey_id": "J1"}, image: image, wantStatus: 400},
		{name: "unknown journey", fields: map[string]string{"journey_id": "J2", "step_id": "gov"}, image: image, wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ctype := stepBody(t, tt.fields, tt.image)
			status, _ := do(t, url, call{method: "POST", path: "/journey/v2/process-custom-journey-step", body: body, contentType: ctype, user: key, pass: secret})
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
		})
	}
	steps := sim.Steps()
	if len(steps) != 1 {
		t.Fatalf("Steps() = %d submissions, want 1 (only the valid one)", len(steps))
	}
	if s := steps[0]; s.JourneyID != "J1" || s.StepID != "gov" || s.Filename != "face.jpg" || !bytes.Equal(s.Image, image) || s.ContentType != "application/octet-stream" {
		t.Errorf("Steps()[0] = %+v, want J1/gov face.jpg with the image bytes", s)
	}
}

func TestScriptingRoutes(t *testing.T) {
	sim, url := start(t)
	raw := `{"journey_id":"other","system_decision":"Refer","manual_decision":null,"final_decision":"Refer","vendor_extra":{"a":1}}`
	steps := []struct {
		name       string
		call       call
		wantStatus int
		wantBody   []string
	}{
		{"put", call{method: "PUT", path: "/_sim/journeys/J7", body: raw}, 204, nil},
		{"put not an object", call{method: "PUT", path: "/_sim/journeys/J8", body: `[1]`}, 400, nil},
		{"get keeps unknown fields, sets the id", call{method: "GET", path: "/_sim/journeys/J7"}, 200, []string{`"journey_id":"J7"`, `"vendor_extra":{"a":1}`}},
		{"get unknown", call{method: "GET", path: "/_sim/journeys/J8"}, 404, nil},
		{"review bad decision", call{method: "POST", path: "/_sim/journeys/J7/review", body: `{"decision":"Maybe"}`}, 400, nil},
		{"review bad json", call{method: "POST", path: "/_sim/journeys/J7/review", body: `{`}, 400, nil},
		{"review unknown journey", call{method: "POST", path: "/_sim/journeys/J8/review", body: `{"decision":"Approved"}`}, 404, nil},
		{"review", call{method: "POST", path: "/_sim/journeys/J7/review", body: `{"decision":"Rejected"}`}, 204, nil},
		{"api serves the review", call{method: "GET", path: "/journey/v2/result/J7", user: key, pass: secret}, 200, []string{`"manual_decision":"Rejected"`, `"final_decision":"Rejected"`, `"system_decision":"Refer"`}},
	}
	for _, st := range steps {
		status, body := do(t, url, st.call)
		if status != st.wantStatus {
			t.Errorf("%s: status = %d, want %d (body %s)", st.name, status, st.wantStatus, body)
		}
		for _, w := range st.wantBody {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body = %s, want it to contain %s", st.name, body, w)
			}
		}
	}
	j, ok := sim.Journey("J7")
	if !ok || j.ManualDecision != "Rejected" || j.FinalDecision != "Rejected" || j.SystemDecision != "Refer" {
		t.Errorf("Journey(J7) = %+v, %v, want manual and final Rejected, system Refer", j, ok)
	}
	if n := sim.Requests(idwisesim.EndpointJourney); n != 1 {
		t.Errorf("Requests(journey) = %d, want 1 (/_sim routes are not counted)", n)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name           string
		fault          idwisesim.Fault
		wantStatus     int
		wantRetryAfter string
		wantDropped    bool
		minElapsed     time.Duration
	}{
		{name: "500", fault: idwisesim.Fault{Status: 500}, wantStatus: 500},
		{name: "429 with Retry-After", fault: idwisesim.Fault{Status: 429, RetryAfter: "3"}, wantStatus: 429, wantRetryAfter: "3"},
		{name: "slow answer", fault: idwisesim.Fault{Delay: 80 * time.Millisecond}, wantStatus: 200, minElapsed: 80 * time.Millisecond},
		{name: "slow 503", fault: idwisesim.Fault{Status: 503, Delay: 50 * time.Millisecond}, wantStatus: 503, minElapsed: 50 * time.Millisecond},
		{name: "hang then drop", fault: idwisesim.Fault{Hang: true, Delay: 60 * time.Millisecond}, wantDropped: true, minElapsed: 60 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, url := start(t)
			sim.SetJourney(idwise.Journey{JourneyID: "J1"})
			sim.Fail(idwisesim.EndpointJourney, 1, tt.fault)
			req, _ := http.NewRequest("GET", url+"/journey/v2/result/J1", nil)
			req.SetBasicAuth(key, secret)
			begin := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if elapsed := time.Since(begin); elapsed < tt.minElapsed {
				t.Errorf("answered after %v, want at least %v", elapsed, tt.minElapsed)
			}
			if tt.wantDropped {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got status %d, want the connection dropped", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus || resp.Header.Get("Retry-After") != tt.wantRetryAfter {
					t.Errorf("answer = %d Retry-After %q, want %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"), tt.wantStatus, tt.wantRetryAfter)
				}
			}
			// The fault is used up: the next request is answered normally.
			if status, _ := do(t, url, call{method: "GET", path: "/journey/v2/result/J1", user: key, pass: secret}); status != 200 {
				t.Errorf("next request status = %d, want 200", status)
			}
		})
	}
}

// Faults and counters hold under concurrent requests: n faults fail exactly n requests.
func TestFaultsConcurrent(t *testing.T) {
	sim, url := start(t)
	sim.SetJourney(idwise.Journey{JourneyID: "J1"})
	sim.Fail(idwisesim.EndpointJourney, 10, idwisesim.Fault{Status: 500})
	sim.Fail(idwisesim.EndpointDeletePersonalData, 3, idwisesim.Fault{Status: 503})
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", url+"/journey/v2/result/J1", nil)
			req.SetBasicAuth(key, secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[500] != 10 || statuses[200] != 30 {
		t.Errorf("statuses = %v, want 10 x 500 and 30 x 200", statuses)
	}
	if n := sim.Requests(idwisesim.EndpointJourney); n != 40 {
		t.Errorf("Requests(journey) = %d, want 40", n)
	}
	if n := sim.Requests(idwisesim.EndpointDeletePersonalData); n != 0 {
		t.Errorf("Requests(delete) = %d, want 0", n)
	}
}

// SetJourney and the API agree: what the simulator serves decodes to what was set.
func TestSetJourneyServesSnakeCase(t *testing.T) {
	sim, url := start(t)
	sim.SetJourney(idwise.Journey{
		JourneyID: "J1", ReferenceNumber: "ref-9", SystemDecision: "Complete",
		Selfie: &idwise.Selfie{Status: "Complete", IsLive: idwise.NullBool{Bool: true, Valid: true}},
	})
	status, body := do(t, url, call{method: "GET", path: "/journey/v2/result/J1", user: key, pass: secret})
	if status != 200 {
		t.Fatalf("status = %d, want 200", status)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &obj); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"reference_number": `"ref-9"`, "system_decision": `"Complete"`, "selfie": `{"status":"Complete","is_live":true,"liveness_status_code":""}`} {
		if got := string(obj[k]); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
}

func TestFaultsOverHTTP(t *testing.T) {
	s := idwisesim.New(idwisesim.Config{APIKey: "k", APISecret: "s"})
	s.SetJourney(idwise.Journey{JourneyID: "j1"})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/_sim/faults", "application/json", strings.NewReader(`{"endpoint":"journey","count":2,"status":503}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_sim/faults = %v %v, want 204", resp, err)
	}
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/journey/v2/result/j1", nil)
		req.SetBasicAuth("k", "s")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	for i, want := range []int{503, 503, 200} {
		if got := get(); got != want {
			t.Errorf("request %d = %d, want %d", i, got, want)
		}
	}
	resp, _ = http.Post(srv.URL+"/_sim/faults", "application/json", strings.NewReader(`{"endpoint":"nope","count":1}`))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown endpoint = %d, want 400", resp.StatusCode)
	}
}

func TestOnCallReportsIDsAndStatus(t *testing.T) {
	var mu sync.Mutex
	var calls []idwisesim.Call
	sim := idwisesim.New(idwisesim.Config{APIKey: key, APISecret: secret, OnCall: func(c idwisesim.Call) {
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
	}})
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	sim.SetJourney(idwise.Journey{JourneyID: "J1"})
	sim.Fail(idwisesim.EndpointCompleteCustomStep, 1, idwisesim.Fault{Status: 503})
	body, ctype := stepBody(t, map[string]string{"journey_id": "J1", "step_id": "gov", "step_type": "face"}, []byte{0xff, 0xd8, 0xff, 1})
	do(t, ts.URL, call{method: "POST", path: "/journey/v2/process-custom-journey-step", body: body, contentType: ctype, user: key, pass: secret})
	do(t, ts.URL, call{method: "POST", path: "/journey/v2/complete-custom-step/J1", user: key, pass: secret})
	do(t, ts.URL, call{method: "POST", path: "/journey/v2/complete-custom-step/J1", user: key, pass: secret})
	do(t, ts.URL, call{method: "GET", path: "/_sim/journeys/J1"}) // scripting routes are not API calls
	want := []idwisesim.Call{
		{Endpoint: idwisesim.EndpointProcessCustomStep, Method: "POST", Path: "/journey/v2/process-custom-journey-step", JourneyID: "J1", StepID: "gov", Status: 200},
		{Endpoint: idwisesim.EndpointCompleteCustomStep, Method: "POST", Path: "/journey/v2/complete-custom-step/J1", JourneyID: "J1", Status: 503},
		{Endpoint: idwisesim.EndpointCompleteCustomStep, Method: "POST", Path: "/journey/v2/complete-custom-step/J1", JourneyID: "J1", Status: 200},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != len(want) {
		t.Fatalf("OnCall got %d calls %+v, want %d", len(calls), calls, len(want))
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, calls[i], want[i])
		}
	}
	if steps := sim.Steps(); len(steps) != 1 || steps[0].StepType != "face" {
		t.Errorf("steps = %+v, want one with stepType face", steps)
	}
}
