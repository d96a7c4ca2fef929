package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// testRunner is the runner started by startRunner: its URLs, its banner, and its timeline.
type testRunner struct {
	base, simURL string
	banner       string
	// lines are the timeline lines printed after ready; when nobody reads, lines beyond
	// the buffer are dropped (the runner never blocks on its output).
	lines <-chan string
}

// startRunner runs the runner as `make run` does, in process, on free ports, until the
// test ends (then it must stop cleanly), and waits for its ready line.
func startRunner(t *testing.T, s settings) *testRunner {
	t.Helper()
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("emulators not running: use `make test`")
	}
	// The runners of this package share one table (make run's) on the same emulators, and
	// each new runner's stream poller starts from the oldest record: an earlier test's
	// journey, unknown to this runner's IDWise simulator, must fail at once rather than be
	// retried (IdwiseNotFoundRetryMinutes) and hold up the shard.
	if s.Params == nil {
		s.Params = map[string]string{}
	}
	if _, ok := s.Params["IdwiseNotFoundRetryMinutes"]; !ok {
		s.Params["IdwiseNotFoundRetryMinutes"] = "0"
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, s, pw); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run() = %v, want a clean stop", err)
		}
	})
	r := &testRunner{}
	var banner strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if f := strings.Fields(sc.Text()); len(f) > 2 && f[0] == "idwise" && f[1] == "simulator" {
			r.simURL = f[2]
		}
		if rest, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
			r.base = rest
			break
		}
	}
	r.banner = banner.String()
	if r.base == "" || r.simURL == "" {
		t.Fatalf("runner never printed its URLs and ready; output:\n%s", r.banner)
	}
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	r.lines = lines
	return r
}

// claim claims journeyID for ref through the app API, as the app does as soon as the SDK
// gives it the journey id (JourneyOwnership claimed, make run's default).
func (r *testRunner) claim(t *testing.T, ref, journeyID string) {
	t.Helper()
	resp, err := http.Get(r.base + tokenPath + "?referenceNo=" + url.QueryEscape(ref))
	if err != nil {
		t.Fatalf("GET %s: %v", tokenPath, err)
	}
	token, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", tokenPath, resp.StatusCode, token)
	}
	req, _ := http.NewRequest(http.MethodPost, r.base+"/v1/journeys",
		strings.NewReader(fmt.Sprintf(`{"journeyId":%q,"referenceNo":%q}`, journeyID, ref)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+string(token))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/journeys: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/journeys (claim %s for %s) = %d %s, want 200", journeyID, ref, resp.StatusCode, body)
	}
}
