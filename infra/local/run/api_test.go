package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRunServesTheAppAPI starts the runner as `make run` does and follows the README's app
// API sequence: a token from GET /_local/token, a journey reported, a device registered,
// the IDWise webhook, then the status read (and polled with its ETag) until the processor,
// fed from the stream, has decided. The local authorizer refuses what API Gateway would.
func TestRunServesTheAppAPI(t *testing.T) {
	s := settings{Port: "0", SimPort: "0", Template: "../../../template.yaml", AuthMode: "bearer", Secret: "run-api-secret",
		Username: "idwise", Header: "X-IDWise-Token", APIKey: "k", APISecret: "s", SweepInterval: time.Hour}
	r := startRunner(t, s)
	base, simURL, banner := r.base, r.simURL, r.banner
	if !strings.Contains(banner, tokenPath+"?referenceNo=") {
		t.Errorf("banner does not show the token route:\n%s", banner)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path, token, body string, headers ...string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}

	// Unique ids: the runner's table outlives this test (it is make run's).
	n := time.Now().UnixNano()
	ref, journey := fmt.Sprintf("app-api-%d", n), fmt.Sprintf("67%022x", n)

	status, hdr, token := call("GET", tokenPath+"?referenceNo="+ref, "", "")
	if status != 200 || hdr.Get("Content-Type") != "application/jwt" || strings.Count(token, ".") != 2 {
		t.Fatalf("GET %s = %d %s %q, want a JWT", tokenPath, status, hdr.Get("Content-Type"), token)
	}
	_, _, other := call("GET", tokenPath+"?referenceNo=someone-else", "", "")
	for _, bad := range []string{"a%0Ab", "%20a", strings.Repeat("r", 1001)} {
		if status, _, body := call("GET", tokenPath+"?referenceNo="+bad, "", ""); status != 400 || !strings.Contains(body, `"field":"referenceNo"`) {
			t.Errorf("GET %s with referenceNo %.20q = %d %s, want 400 naming referenceNo", tokenPath, bad, status, body)
		}
	}
	// A reference as IDWise allows it (docs.idwise.com/docs/journey-builder-api): a token
	// for it, and its profile path percent-encoded reaches the handler decoded.
	slashRef := fmt.Sprintf(`cust/%d,A.b+x@y\z`, n)
	status, _, slashToken := call("GET", tokenPath+"?referenceNo="+url.QueryEscape(slashRef), "", "")
	if status != 200 {
		t.Fatalf("GET %s for %q = %d %s, want a JWT", tokenPath, slashRef, status, slashToken)
	}
	if status, _, body := call("GET", "/v1/profiles/"+url.PathEscape(slashRef), slashToken, ""); status != 404 || !strings.Contains(body, `"not_found"`) {
		t.Errorf("GET /v1/profiles/%s = %d %s, want 404 not_found (the caller's own, no profile yet)", url.PathEscape(slashRef), status, body)
	}

	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		body       string
		wantStatus int
		wantIn     string
	}{
		{"no token", "GET", "/v1/profiles/" + ref, "", "", 401, `{"message":"Unauthorized"}`},
		{"webhook secret is not a JWT", "GET", "/v1/profiles/" + ref, "run-api-secret", "", 401, `{"message":"Unauthorized"}`},
		{"another user's profile", "GET", "/v1/profiles/" + ref, other, "", 403, `"forbidden"`},
		{"report the journey", "POST", "/v1/journeys", token, fmt.Sprintf(`{"journeyId":%q,"referenceNo":%q}`, journey, ref), 200, `"status":"PENDING_VERIFICATION"`},
		{"register a device", "POST", "/v1/devices", token, `{"platform":"FCM","token":"local-fcm-token:APA91bH_0123456789abcdefghijklmnop"}`, 201, `"deviceId"`},
		{"APNs works too", "POST", "/v1/devices", token, `{"platform":"APNS","token":"` + strings.Repeat("0a", 32) + `","locale":"ar"}`, 201, `"locale":"ar"`},
		{"read the status", "GET", "/v1/profiles/" + ref, token, "", 200, `"status":"PENDING_VERIFICATION"`},
	}
	for _, tt := range tests {
		status, _, body := call(tt.method, tt.path, tt.token, tt.body)
		if status != tt.wantStatus || !strings.Contains(body, tt.wantIn) {
			t.Errorf("%s: %s %s = %d %s, want %d with %s", tt.name, tt.method, tt.path, status, body, tt.wantStatus, tt.wantIn)
		}
	}

	// IDWise decides: the journey result on the simulator, then the webhook.
	raw, err := os.ReadFile("../../../shared/vendors/idwise/testdata/journey-result.json")
	if err != nil {
		t.Fatal(err)
	}
	var result map[string]any
	if err := json.Unmarshal(raw, &result); err != nil {
		t.Fatal(err)
	}
	result["journey_id"], result["reference_number"] = journey, ref
	jr, _ := json.Marshal(result)
	put, _ := http.NewRequest(http.MethodPut, simURL+"/_sim/journeys/"+journey, strings.NewReader(string(jr)))
	if resp, err := client.Do(put); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("PUT journey on the simulator: %v %v", resp, err)
	}
	hook := fmt.Sprintf(`{"event":"Finished Journey","body":{"eventId":"evt-%d","journeyId":%q,"referenceNo":%q,"systemDecision":"Complete","finalDecision":"Complete"}}`, n, journey, ref)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/idwise", strings.NewReader(hook))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer run-api-secret")
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /webhooks/idwise = %v %v, want 200 (the webhook needs no JWT)", resp, err)
	}

	// Poll as the app would: 304 while nothing changed, then the decision with a new ETag.
	_, hdr, _ = call("GET", "/v1/profiles/"+ref, token, "")
	etag := hdr.Get("ETag")
	deadline := time.Now().Add(30 * time.Second) // a bound, not a timing assertion
	for {
		status, h, body := call("GET", "/v1/profiles/"+ref, token, "", "If-None-Match", etag)
		if status == 200 && strings.Contains(body, `"status":"APPROVED"`) {
			if h.Get("ETag") == etag {
				t.Errorf("ETag %s unchanged after the status changed", etag)
			}
			return
		}
		if status != 304 {
			t.Fatalf("poll = %d %s, want 304 until the decision", status, body)
		}
		if time.Now().After(deadline) {
			t.Fatal("profile not APPROVED within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
