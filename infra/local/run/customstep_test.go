package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunWithCustomStep is `make run` with KYC_CUSTOM_STEP=1: a Finished User Steps for
// the demo user (whose reference image the runner put in the bucket) shows Process Custom
// Journey Step and Complete Custom Step on the timeline, then the simulator's Finished
// Journey and the status event it leads to.
func TestRunWithCustomStep(t *testing.T) {
	cs := loadCustomStep()
	cs.Enabled, cs.DemoRef = true, fmt.Sprintf("demo-%d", time.Now().UnixNano())
	s := settings{Port: "0", SimPort: "0", Template: "../../../template.yaml", AuthMode: "bearer", Secret: "run-test-secret",
		Username: "idwise", Header: "X-IDWise-Token", APIKey: "k", APISecret: "s", SweepInterval: time.Hour, CustomStep: cs}
	r := startRunner(t, s)
	base, simURL, banner := r.base, r.simURL, r.banner
	for _, want := range []string{"IDWise custom step (KYC_CUSTOM_STEP=1)", "step gov-face (type face)",
		"demo image for " + cs.DemoRef, "finished-user-steps.json"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	lines := r.lines

	journeyID := "cs-" + cs.DemoRef
	put, _ := http.NewRequest(http.MethodPut, simURL+"/_sim/journeys/"+journeyID,
		strings.NewReader(`{"reference_number":"`+cs.DemoRef+`","system_decision":"Complete","final_decision":"Complete"}`))
	if resp, err := http.DefaultClient.Do(put); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("PUT journey on the simulator: %v %v", resp, err)
	}
	r.claim(t, cs.DemoRef, journeyID)
	fus := fmt.Sprintf(`{"event":"Finished User Steps","body":{"eventId":"fus-%s","journeyId":"%s","referenceNo":"%s","systemDecision":"Complete"}}`,
		journeyID, journeyID, cs.DemoRef)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/idwise", strings.NewReader(fus))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer run-test-secret")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST Finished User Steps: %v %v", resp, err)
	}
	resp.Body.Close()

	// In this order on the timeline.
	want := []string{
		"POST /journey/v2/process-custom-journey-step journey " + journeyID + " step gov-face -> 200",
		"POST /journey/v2/complete-custom-step/" + journeyID + " -> 200",
		"Finished Journey sent for journey " + journeyID + " (after Complete Custom Step) -> 200",
		"journey " + journeyID + " PENDING_VERIFICATION -> APPROVED",
	}
	deadline := time.After(60 * time.Second) // a bound, not a timing assertion
	for len(want) > 0 {
		select {
		case l := <-lines:
			if strings.Contains(l, want[0]) {
				want = want[1:]
			}
		case <-deadline:
			t.Fatalf("timeline never showed %q", want[0])
		}
	}
}
