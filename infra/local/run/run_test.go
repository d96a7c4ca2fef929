package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRunServesTheReadmeCurl starts the runner as `make run` does, scripts the journey on
// the simulator and sends the curl the README shows, twice: accepted, then duplicate; the
// processor, fed from the stream, ends it as a status event on the topic.
func TestRunServesTheReadmeCurl(t *testing.T) {
	s := settings{Port: "0", SimPort: "0", Template: "../../../template.yaml", AuthMode: "bearer", Secret: "run-test-secret",
		Username: "idwise", Header: "X-IDWise-Token", APIKey: "k", APISecret: "s", SweepInterval: time.Hour}
	r := startRunner(t, s)
	base, simURL, banner := r.base, r.simURL, r.banner
	lines := r.lines
	journey, err := os.ReadFile("../../../shared/vendors/idwise/testdata/journey-result.json")
	if err != nil {
		t.Fatal(err)
	}
	put, _ := http.NewRequest(http.MethodPut, simURL+"/_sim/journeys/6720a1b2c3d4e5f6a7b8c22e", strings.NewReader(string(journey)))
	if resp, err := http.DefaultClient.Do(put); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("PUT journey on the simulator: %v %v", resp, err)
	}
	r.claim(t, "customer-0001", "6720a1b2c3d4e5f6a7b8c22e") // as the README's steps do
	if !strings.Contains(banner, "Authorization: Bearer run-test-secret") {
		t.Errorf("banner does not show the curl with the credentials:\n%s", banner)
	}

	body, err := os.ReadFile("../../../shared/vendors/idwise/testdata/finished-journey.json")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/idwise", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantBody   string
	}{
		{"first delivery", "run-test-secret", 200, `{"status":"accepted","eventId":"evt-fj-0001"}`},
		{"retry", "run-test-secret", 200, `{"status":"duplicate","eventId":"evt-fj-0001"}`},
		{"no token", "", 401, `{"error":{"code":"unauthorized","message":"missing or invalid credentials"}}`},
	}
	for _, tt := range tests {
		status, got := post(tt.token)
		if status != tt.wantStatus || got != tt.wantBody {
			t.Errorf("%s: POST = %d %s, want %d %s", tt.name, status, got, tt.wantStatus, tt.wantBody)
		}
	}
	deadline := time.After(30 * time.Second) // a bound, not a timing assertion
	for {
		select {
		case l := <-lines:
			if strings.Contains(l, "topic") && strings.Contains(l, "-> APPROVED") {
				checkUsage(t, base)
				return
			}
		case <-deadline:
			t.Fatal("no APPROVED status event on the topic within 30 s")
		}
	}
}
