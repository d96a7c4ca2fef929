package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// make run's Veriff simulator answers the product's Veriff client with the run's
// credentials (the product's VERIFF_API_BASE_URL points at it), and the banner says where.
func TestVeriffSimulator(t *testing.T) {
	s := settings{VeriffAPIKey: "run-veriff-key", VeriffSecret: "run-veriff-secret"}
	url, stop, err := startVeriffSim(s)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	s.VeriffSimURL = url
	if b := veriffSimBanner(s); !strings.Contains(b, "veriff simulator  "+url) || !strings.Contains(b, "run-veriff-key") {
		t.Errorf("banner line = %q, want the simulator's URL and API key", b)
	}
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/sessions", strings.NewReader(`{"verification":{"vendorData":"ref-run"}}`))
	req.Header.Set("X-AUTH-CLIENT", "run-veriff-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), `"url":"`+url+"/v/") {
		t.Errorf("POST /v1/sessions = %d %s, want 201 with a session URL on the simulator", resp.StatusCode, body)
	}
}
