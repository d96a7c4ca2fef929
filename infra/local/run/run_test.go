package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRunServesTheReadmeCurl starts the runner as `make run` does and sends the curl the
// README shows, twice: accepted, then duplicate.
func TestRunServesTheReadmeCurl(t *testing.T) {
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("emulators not running: use `make test`")
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	s := settings{Port: "0", Template: "../../../template.yaml", AuthMode: "bearer", Secret: "run-test-secret", Username: "idwise", Header: "X-IDWise-Token"}
	go func() { done <- run(ctx, s, pw); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run() = %v, want a clean stop", err)
		}
	})

	base := ""
	var banner strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if rest, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
			base = rest
			break
		}
	}
	if base == "" {
		t.Fatalf("runner never printed ready; output:\n%s", banner.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if !strings.Contains(banner.String(), "Authorization: Bearer run-test-secret") {
		t.Errorf("banner does not show the curl with the credentials:\n%s", banner.String())
	}

	body, err := os.ReadFile("../../../shared/idwise/testdata/finished-journey.json")
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
}
