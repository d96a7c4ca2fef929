// Command demo is `make demo`: it plays scripted users against the local product (`make
// run`, started here when it is not up) through its public surfaces only: the webhook
// routes as IDWise and Veriff call them, the IDWise simulator's scripting routes, the app
// API with a local token, and GET /_local/messages. It ends with a table (user, final
// status, pushes received) and exits non-zero when a row differs from what is expected.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

type config struct {
	base, sim          string
	webhookToken       string
	veriffKey, veriffS string
	wait               time.Duration
}

func main() {
	var c config
	// The same PORT / IDWISE_SIM_PORT as the make run it starts (or uses).
	flag.StringVar(&c.base, "base", "http://127.0.0.1:"+envOr("PORT", "3000"), "the product (make run)")
	flag.StringVar(&c.sim, "sim", "http://127.0.0.1:"+envOr("IDWISE_SIM_PORT", "3001"), "the IDWise simulator")
	flag.StringVar(&c.webhookToken, "webhook-token", envOr("IDWISE_WEBHOOK_SECRET", "local-webhook-secret"), "IDWise webhook bearer token")
	flag.StringVar(&c.veriffKey, "veriff-key", envOr("VERIFF_API_KEY", "local-veriff-api-key"), "Veriff API key")
	flag.StringVar(&c.veriffS, "veriff-secret", envOr("VERIFF_SHARED_SECRET", "local-veriff-shared-secret"), "Veriff shared secret")
	flag.DurationVar(&c.wait, "wait", 60*time.Second, "how long to wait for each expected status (a bound, not a measure)")
	flag.Parse()

	stop, err := ensureRunning(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	code := play(c)
	stop()
	os.Exit(code)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// ensureRunning starts `make run` when nothing answers on c.base, and returns how to stop
// what it started.
func ensureRunning(c config) (func(), error) {
	if up(c.base) {
		fmt.Println("using the running product at", c.base)
		return func() {}, nil
	}
	fmt.Println("starting make run (log: infra/local/.run/demo-run.log) ...")
	_ = os.MkdirAll("infra/local/.run", 0o755)
	logf, err := os.Create("infra/local/.run/demo-run.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("make", "run")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start make run: %w", err)
	}
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		logf.Close()
	}
	deadline := time.Now().Add(5 * time.Minute) // first run installs tools
	for !up(c.base) {
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("make run did not come up within 5 minutes (see infra/local/.run/demo-run.log)")
		}
		time.Sleep(500 * time.Millisecond)
	}
	return stop, nil
}

func up(base string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(base + "/_local/messages?kind=push")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// user is one scripted person; run plays the script and returns the journey ids whose
// pushes belong to the user.
type user struct {
	name, scenario string
	wantStatus     string
	wantPushes     int
	run            func(d *demo, ref string) error
}

// demo plays the scripts. Its scripting steps record the first error in err and do
// nothing once it is set, so a script reads as the list of its steps.
type demo struct {
	err    error
	c      config
	http   *http.Client
	nonce  string
	tokens map[string]string
	// aliases are ids a user's pushes carry besides the referenceNo (a Veriff session id
	// the backend created: a UUID that does not name the user).
	aliases map[string][]string
}

func play(c config) int {
	d := &demo{c: c, http: &http.Client{Timeout: 30 * time.Second}, nonce: fmt.Sprintf("%d", time.Now().Unix()%100000), tokens: map[string]string{}, aliases: map[string][]string{}}
	users := scenarios()
	type row struct {
		u      user
		status string
		pushes int
		err    error
	}
	var rows []row
	for _, u := range users {
		ref := fmt.Sprintf("demo-%s-%s", u.name, d.nonce)
		fmt.Printf("== %s: %s\n", u.name, u.scenario)
		r := row{u: u}
		d.err = nil
		if err := d.registerDevice(ref); err != nil {
			r.err = err
		} else if err := u.run(d, ref); err != nil {
			r.err = err
		}
		r.status, _ = d.status(ref)
		r.pushes = d.pushesSettled(ref, u.wantPushes)
		rows = append(rows, r)
	}
	fmt.Println()
	fmt.Printf("%-8s %-52s %-22s %-22s %-8s %s\n", "user", "scenario", "final status", "expected", "pushes", "")
	failed := 0
	for _, r := range rows {
		ok := r.err == nil && r.status == r.u.wantStatus && r.pushes == r.u.wantPushes
		mark := "ok"
		if !ok {
			failed++
			mark = "DIFFERS"
			if r.err != nil {
				mark += ": " + r.err.Error()
			}
		}
		fmt.Printf("%-8s %-52s %-22s %-22s %d/%-6d %s\n", r.u.name, r.u.scenario, r.status, r.u.wantStatus, r.pushes, r.u.wantPushes, mark)
	}
	if failed > 0 {
		fmt.Printf("\n%d of %d rows differ from what was expected\n", failed, len(rows))
		return 1
	}
	fmt.Printf("\nall %d rows as expected\n", len(rows))
	return 0
}

func scenarios() []user {
	return []user{
		{name: "alice", scenario: "IDWise: approved", wantStatus: "APPROVED", wantPushes: 2, run: func(d *demo, ref string) error {
			j := d.journeyID(ref)
			d.claim(ref, j, "idwise")            // as the app does on IDWise's journey-started callback
			d.script(j, ref, "Complete", "", "") // still processing: no final decision
			d.idwise("Finished User Steps", ref, j, ref+"-1", "systemDecision", "Complete")
			d.waitStatus(ref, "PENDING_VERIFICATION")
			d.script(j, ref, "Complete", "", "Complete")
			d.idwise("Finished Journey", ref, j, ref+"-2", "systemDecision", "Complete")
			d.waitStatus(ref, "APPROVED")
			return d.err
		}},
		{name: "bob", scenario: "IDWise: refer, then manually approved", wantStatus: "APPROVED", wantPushes: 3, run: func(d *demo, ref string) error {
			j := d.journeyID(ref)
			d.claim(ref, j, "idwise") // as the app does on IDWise's journey-started callback
			d.script(j, ref, "Refer", "", "Refer")
			d.idwise("Finished Journey", ref, j, ref+"-1", "systemDecision", "Refer")
			d.waitStatus(ref, "IN_REVIEW")
			d.review(j, "Approved")
			d.idwise("Manually Reviewed", ref, j, ref+"-2", "manualDecision", "Approved", "finalDecision", "Approved")
			d.waitStatus(ref, "APPROVED")
			return d.err
		}},
		{name: "carol", scenario: "IDWise: rejected", wantStatus: "REJECTED", wantPushes: 2, run: func(d *demo, ref string) error {
			j := d.journeyID(ref)
			d.claim(ref, j, "idwise") // as the app does on IDWise's journey-started callback
			d.script(j, ref, "Rejected", "", "Rejected")
			d.idwise("Finished Journey", ref, j, ref+"-1", "systemDecision", "Rejected")
			d.waitStatus(ref, "REJECTED")
			return d.err
		}},
		{name: "dave", scenario: "IDWise: resubmission requested, then approved", wantStatus: "APPROVED", wantPushes: 4, run: func(d *demo, ref string) error {
			j := d.journeyID(ref)
			d.claim(ref, j, "idwise") // as the app does on IDWise's journey-started callback
			d.script(j, ref, "Refer", "", "Refer")
			d.idwise("Finished Journey", ref, j, ref+"-1", "systemDecision", "Refer")
			d.waitStatus(ref, "IN_REVIEW")
			d.idwiseRaw(ref+"-2", fmt.Sprintf(`{"event":"Updated Journey","body":{"eventId":%q,"journeyId":%q,"referenceNo":%q,"systemDecision":"Refer","action":"Manual Review","manualReviewDetails":{"journeyReviewDecision":"Resubmission Requested","journeyReviewReasonCode":"DOCUMENT_BLURRY","reviewedSteps":[{"stepId":"0","decision":"Resubmit","reasonCode":"DOCUMENT_BLURRY"}]}}}`, ref+"-2", j, ref))
			d.waitStatus(ref, "RESUBMISSION_REQUIRED")
			d.script(j, ref, "Complete", "", "Complete") // the user redid the step
			d.idwise("Updated Journey", ref, j, ref+"-3", "action", "Step Update", "systemDecision", "Complete")
			d.idwise("Finished Journey", ref, j, ref+"-4", "systemDecision", "Complete")
			d.waitStatus(ref, "APPROVED")
			return d.err
		}},
		{name: "erin", scenario: "IDWise: AML monitoring update after approval", wantStatus: "IN_REVIEW", wantPushes: 3, run: func(d *demo, ref string) error {
			j := d.journeyID(ref)
			d.claim(ref, j, "idwise") // as the app does on IDWise's journey-started callback
			d.script(j, ref, "Complete", "", "Complete")
			d.idwise("Finished Journey", ref, j, ref+"-1", "systemDecision", "Complete")
			d.waitStatus(ref, "APPROVED")
			d.script(j, ref, "Refer", "", "Refer")
			d.idwiseRaw(ref+"-2", fmt.Sprintf(`{"event":"AML Monitor Update","body":{"eventId":%q,"journeyId":%q,"referenceNo":%q,"systemDecision":"Refer","previousSystemDecision":"Complete","updatedAMLVersionNumber":2}}`, ref+"-2", j, ref))
			d.waitStatus(ref, "IN_REVIEW")
			return d.err
		}},
		{name: "frank", scenario: "Veriff (session by the backend): cancels, then approved", wantStatus: "APPROVED", wantPushes: 3, run: func(d *demo, ref string) error {
			session := d.veriffSession(ref) // the backend creates the session for the user, who owns it
			d.veriff(fmt.Sprintf(`{"id":%q,"attemptId":"a-1","feature":"selfid","code":7010,"action":"flow_cancelled","vendorData":%q,"endUserId":null,"context":{"reason":"user_cancelled","state":"consent_screen"}}`, session, ref))
			d.waitStatus(ref, "ABANDONED")
			d.veriff(fmt.Sprintf(`{"id":%q,"attemptId":"a-2","feature":"selfid","code":7002,"action":"submitted","vendorData":%q,"endUserId":null}`, session, ref))
			d.waitStatus(ref, "PENDING_VERIFICATION")
			d.veriff(fmt.Sprintf(`{"status":"success","verification":{"id":%q,"attemptId":"a-2","code":9001,"status":"approved","reason":null,"reasonCode":null,"vendorData":%q,"endUserId":null,"decisionTime":%q}}`, session, ref, time.Now().UTC().Format(time.RFC3339)))
			d.waitStatus(ref, "APPROVED")
			return d.err
		}},
		{name: "grace", scenario: "IDWise: duplicate and out-of-order deliveries", wantStatus: "APPROVED", wantPushes: 2, run: func(d *demo, ref string) error {
			j := d.journeyID(ref)
			d.claim(ref, j, "idwise") // as the app does on IDWise's journey-started callback
			d.script(j, ref, "Refer", "Approved", "Approved")
			steps := [][]string{
				{"Manually Reviewed", ref + "-3", "manualDecision", "Approved", "finalDecision", "Approved"},
				{"Finished Journey", ref + "-2", "systemDecision", "Refer"},
				{"Manually Reviewed", ref + "-3", "manualDecision", "Approved", "finalDecision", "Approved"},
				{"Finished User Steps", ref + "-1", "systemDecision", "Refer"},
				{"Finished Journey", ref + "-2", "systemDecision", "Refer"},
			}
			for _, s := range steps {
				d.idwise(s[0], ref, j, s[1], s[2:]...)
			}
			d.waitStatus(ref, "APPROVED")
			return d.err
		}},
		{name: "ivan", scenario: "IDWise: KYC renewal due (grace), deadline passes", wantStatus: "RESUBMISSION_REQUIRED", wantPushes: 4, run: func(d *demo, ref string) error {
			// The documents expire, then the deadline passes.
			j := d.approvedThenRenewalDue(ref)
			d.idwiseRaw(ref+"-3", fmt.Sprintf(`{"event":"KYC Renewal Deadline Exceeded","body":{"eventId":%q,"journeyId":%q,"referenceNo":%q,"requiredSteps":[{"stepId":"0","renewalDeadline":%q}]}}`, ref+"-3", j, ref, time.Now().UTC().Format(time.RFC3339)))
			d.waitRenewalDue(ref, "RESUBMISSION_REQUIRED", false)
			return d.err
		}},
		{name: "kate", scenario: "IDWise: KYC renewal due (grace), renewed in time", wantStatus: "APPROVED", wantPushes: 4, run: func(d *demo, ref string) error {
			j := d.approvedThenRenewalDue(ref)
			// The user resubmits the document: IDWise decides the same journey again, after
			// the request, and sends Finished Journey; the due date is cleared.
			time.Sleep(1100 * time.Millisecond) // end_time has whole seconds: decided after the request
			d.scriptDecidedAt(j, ref, "Complete", "Complete", time.Now())
			d.idwise("Finished Journey", ref, j, ref+"-3", "systemDecision", "Complete")
			d.waitRenewalDue(ref, "APPROVED", false)
			return d.err
		}},
		{name: "judy", scenario: "Veriff: approved, then a watchlist possible match", wantStatus: "IN_REVIEW", wantPushes: 3, run: func(d *demo, ref string) error {
			session := "session-" + ref
			d.claim(ref, session, "veriff")
			d.veriff(fmt.Sprintf(`{"status":"success","verification":{"id":%q,"attemptId":"a-1","code":9001,"status":"approved","reason":null,"reasonCode":null,"vendorData":%q,"endUserId":null,"decisionTime":%q}}`, session, ref, time.Now().UTC().Format(time.RFC3339)))
			d.waitStatus(ref, "APPROVED")
			// Ongoing monitoring finds a possible PEP match (hits are counted, never stored).
			d.veriff(fmt.Sprintf(`{"checkType":"updated_result","attemptId":"a-1","sessionId":%q,"vendorData":%q,"endUserId":null,"matchStatus":"possible_match","totalHits":1,"createdAt":%q,"hits":[{"matchedName":"DEMO PERSON","providerType":"pep"}]}`, session, ref, time.Now().UTC().Format(time.RFC3339)))
			d.waitStatus(ref, "IN_REVIEW")
			return d.err
		}},
		{name: "victor", scenario: "attacked: forged referenceNo, journey with his ref", wantStatus: "PENDING_VERIFICATION", wantPushes: 1,
			run: func(d *demo, ref string) error {
				// Victor has started a journey of his own; mallory attacks his profile.
				d.claim(ref, d.journeyID(ref), "idwise")
				d.waitStatus(ref, "PENDING_VERIFICATION")
				mallory := "demo-mallory-" + d.nonce
				// 1. A modified app starts a journey with victor's referenceNo; mallory claims it.
				stolen := d.journeyID(mallory) + "-stolen"
				d.claim(mallory, stolen, "idwise")
				d.script(stolen, ref, "Complete", "", "Complete")
				d.idwise("Finished Journey", ref, stolen, mallory+"-1", "systemDecision", "Complete")
				// 2. With the webhook credential, mallory posts her own approved journey naming victor.
				own := d.journeyID(mallory)
				d.claim(mallory, own, "idwise")
				d.script(own, mallory, "Complete", "", "Complete")
				d.idwise("Finished Journey", ref, own, mallory+"-2", "systemDecision", "Complete")
				// Her own genuine webhook comes after both: once it is applied, the attacks were seen.
				d.idwise("Finished Journey", mallory, own, mallory+"-3", "systemDecision", "Complete")
				d.waitStatus(mallory, "APPROVED")
				return d.err
			}},
		{name: "heidi", scenario: "IDWise: short API outage healed by retries", wantStatus: "APPROVED", wantPushes: 2, run: func(d *demo, ref string) error {
			j := d.journeyID(ref)
			d.claim(ref, j, "idwise") // as the app does on IDWise's journey-started callback
			d.script(j, ref, "Complete", "", "Complete")
			d.fault(`{"endpoint":"journey","count":6,"status":503}`)
			d.idwise("Finished Journey", ref, j, ref+"-1", "systemDecision", "Complete")
			d.waitStatus(ref, "APPROVED")
			return d.err
		}},
		poaScenario(), // poa.go
	}
}

func (d *demo) journeyID(ref string) string { return "j-" + ref }

// veriffSession creates a Veriff session for ref through the app API (POST
// /v1/veriff/sessions: the backend calls Veriff with vendorData = ref and records ref's
// claim of it) and returns its id.
func (d *demo) veriffSession(ref string) string {
	var out struct{ SessionID, URL string }
	d.record("create veriff session", func() error {
		tok, err := d.token(ref)
		if err != nil {
			return err
		}
		h := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
		if err := d.do(http.MethodPost, d.c.base+"/v1/veriff/sessions", `{"lang":"en"}`, h, http.StatusCreated, &out); err != nil {
			return err
		}
		fmt.Printf("   veriff session %s -> %s\n", out.SessionID, out.URL)
		d.aliases[ref] = append(d.aliases[ref], out.SessionID)
		return nil
	})
	return out.SessionID
}

// claim claims journeyID for ref through the app API (POST /v1/journeys), as the app does
// as soon as the SDK gives it the journey id.
func (d *demo) claim(ref, journeyID, provider string) {
	d.record("claim "+journeyID, func() error {
		tok, err := d.token(ref)
		if err != nil {
			return err
		}
		h := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
		body := fmt.Sprintf(`{"journeyId":%q,"referenceNo":%q,"provider":%q}`, journeyID, ref, provider)
		if err := d.do(http.MethodPost, d.c.base+"/v1/journeys", body, h, http.StatusOK, nil); err != nil {
			return err
		}
		fmt.Printf("   claim %-34s -> ok\n", journeyID)
		return nil
	})
}

// script sets the journey result the simulator returns for journeyID.
func (d *demo) script(journeyID, ref, system, manual, final string) {
	body := map[string]any{"journey_id": journeyID, "reference_number": ref, "system_decision": system,
		"manual_decision": nil, "final_decision": final,
		"documents": map[string]any{"0": map[string]any{"document_type": "Passport", "issuing_country": "Demo"}}}
	if manual != "" {
		body["manual_decision"] = manual
	}
	b, _ := json.Marshal(body)
	d.record("script journey", func() error { return d.do(http.MethodPut, d.c.sim+"/_sim/journeys/"+journeyID, string(b), nil, 0, nil) })
}

// scriptDecidedAt sets a journey result decided at end (IDWise's end_time).
func (d *demo) scriptDecidedAt(journeyID, ref, system, final string, end time.Time) {
	body := map[string]any{"journey_id": journeyID, "reference_number": ref, "system_decision": system,
		"manual_decision": nil, "final_decision": final, "end_time": end.UTC().Format("2006-01-02T15:04:05"),
		"documents": map[string]any{"0": map[string]any{"document_type": "Passport", "issuing_country": "Demo"}}}
	b, _ := json.Marshal(body)
	d.record("script journey", func() error { return d.do(http.MethodPut, d.c.sim+"/_sim/journeys/"+journeyID, string(b), nil, 0, nil) })
}

func (d *demo) review(journeyID, decision string) {
	d.record("review", func() error {
		return d.do(http.MethodPost, d.c.sim+"/_sim/journeys/"+journeyID+"/review", fmt.Sprintf(`{"decision":%q}`, decision), nil, http.StatusNoContent, nil)
	})
}

// fault injects an IDWise API outage on the simulator.
func (d *demo) fault(body string) {
	d.record("inject outage", func() error {
		return d.do(http.MethodPost, d.c.sim+"/_sim/faults", body, nil, http.StatusNoContent, nil)
	})
}

// record runs f unless a step already failed, and keeps its error.
func (d *demo) record(what string, f func() error) {
	if d.err != nil {
		return
	}
	if err := f(); err != nil {
		d.err = fmt.Errorf("%s: %w", what, err)
	}
}

// idwise posts an IDWise webhook as IDWise does.
func (d *demo) idwise(event, ref, journeyID, eventID string, kv ...string) {
	fields := fmt.Sprintf(`"eventId":%q,"journeyId":%q,"referenceNo":%q`, eventID, journeyID, ref)
	for i := 0; i+1 < len(kv); i += 2 {
		fields += fmt.Sprintf(",%q:%q", kv[i], kv[i+1])
	}
	d.idwiseRaw(eventID, fmt.Sprintf(`{"event":%q,"body":{%s}}`, event, fields))
}

func (d *demo) idwiseRaw(eventID, body string) {
	h := map[string]string{"Authorization": "Bearer " + d.c.webhookToken, "Content-Type": "application/json"}
	d.record("idwise webhook "+eventID, func() error {
		var out struct{ Status string }
		if err := d.do(http.MethodPost, d.c.base+"/webhooks/idwise", body, h, http.StatusOK, &out); err != nil {
			return err
		}
		fmt.Printf("   idwise webhook %-28s -> %s\n", eventID, out.Status)
		return nil
	})
}

// veriff posts a Veriff webhook signed as Veriff signs it.
func (d *demo) veriff(body string) {
	mac := hmac.New(sha256.New, []byte(d.c.veriffS))
	mac.Write([]byte(body))
	h := map[string]string{"X-AUTH-CLIENT": d.c.veriffKey, "X-HMAC-SIGNATURE": hex.EncodeToString(mac.Sum(nil)), "Content-Type": "application/json"}
	d.record("veriff webhook", func() error {
		var out struct{ Status string }
		if err := d.do(http.MethodPost, d.c.base+"/webhooks/veriff", body, h, http.StatusOK, &out); err != nil {
			return err
		}
		fmt.Printf("   veriff webhook                              -> %s\n", out.Status)
		return nil
	})
}

func (d *demo) token(ref string) (string, error) {
	if t, ok := d.tokens[ref]; ok {
		return t, nil
	}
	resp, err := d.http.Get(d.c.base + "/_local/token?referenceNo=" + ref)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token: %d", resp.StatusCode)
	}
	d.tokens[ref] = strings.TrimSpace(string(b))
	return d.tokens[ref], nil
}

func (d *demo) registerDevice(ref string) error {
	tok, err := d.token(ref)
	if err != nil {
		return err
	}
	h := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	body := fmt.Sprintf(`{"platform":"FCM","token":"demo-device-token-%s","locale":"en"}`, ref)
	if err := d.do(http.MethodPost, d.c.base+"/v1/devices", body, h, 0, nil); err != nil {
		return fmt.Errorf("register device: %w", err)
	}
	return nil
}

func (d *demo) status(ref string) (string, error) {
	tok, err := d.token(ref)
	if err != nil {
		return "", err
	}
	var out struct{ Status string }
	err = d.do(http.MethodGet, d.c.base+"/v1/profiles/"+ref, "", map[string]string{"Authorization": "Bearer " + tok}, 0, &out)
	return out.Status, err
}

// approvedThenRenewalDue approves ref's journey, then IDWise asks for the ID document
// again a grace period before the deadline (RenewalPolicy grace: still APPROVED, a due date,
// a "renew before" push). It returns the journey id.
func (d *demo) approvedThenRenewalDue(ref string) string {
	j := d.journeyID(ref)
	d.claim(ref, j, "idwise")
	d.script(j, ref, "Complete", "", "Complete")
	d.idwise("Finished Journey", ref, j, ref+"-1", "systemDecision", "Complete")
	d.waitStatus(ref, "APPROVED")
	d.idwiseRaw(ref+"-2", fmt.Sprintf(`{"event":"Verification Update Required","body":{"eventId":%q,"journeyId":%q,"referenceNo":%q,"trigger":"KYC Renewal","requiredSteps":[{"stepId":"0","reasonCode":"DOCUMENT_EXPIRED"}]}}`, ref+"-2", j, ref))
	d.waitRenewalDue(ref, "APPROVED", true)
	return j
}

// waitRenewalDue waits until GET /v1/profiles/{ref} shows status want with (due) or
// without a renewalDueBy.
func (d *demo) waitRenewalDue(ref, want string, due bool) {
	d.record(fmt.Sprintf("wait for %s (renewal due %v)", want, due), func() error {
		deadline := time.Now().Add(d.c.wait)
		var out struct{ Status, RenewalDueBy string }
		for time.Now().Before(deadline) {
			tok, err := d.token(ref)
			if err != nil {
				return err
			}
			out.Status, out.RenewalDueBy = "", ""
			if err := d.do(http.MethodGet, d.c.base+"/v1/profiles/"+ref, "", map[string]string{"Authorization": "Bearer " + tok}, 0, &out); err == nil &&
				out.Status == want && (out.RenewalDueBy != "") == due {
				fmt.Printf("   status %s renewalDueBy %q\n", out.Status, out.RenewalDueBy)
				return nil
			}
			time.Sleep(250 * time.Millisecond)
		}
		return fmt.Errorf("status %q renewalDueBy %q, want %q with renewal due %v after %s", out.Status, out.RenewalDueBy, want, due, d.c.wait)
	})
}

func (d *demo) waitStatus(ref, want string) {
	d.record("wait for "+want, func() error { return d.pollStatus(ref, want) })
}

func (d *demo) pollStatus(ref, want string) error {
	deadline := time.Now().Add(d.c.wait)
	last := ""
	for time.Now().Before(deadline) {
		if s, err := d.status(ref); err == nil {
			last = s
			if s == want {
				fmt.Printf("   status %s\n", s)
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("status %q, want %q after %s", last, want, d.c.wait)
}

// pushesSettled counts the pushes for the user's journeys, waiting until the expected
// number arrived (or the bound passed), then a little more to catch extra ones.
func (d *demo) pushesSettled(ref string, want int) int {
	deadline := time.Now().Add(d.c.wait)
	n := d.pushes(ref)
	for n < want && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		n = d.pushes(ref)
	}
	time.Sleep(time.Second)
	return d.pushes(ref)
}

func (d *demo) pushes(ref string) int {
	var out struct {
		Messages []struct {
			Kind    string          `json:"kind"`
			Error   string          `json:"error"`
			Message json.RawMessage `json:"message"`
		} `json:"messages"`
	}
	if err := d.do(http.MethodGet, d.c.base+"/_local/messages?kind=push", "", nil, http.StatusOK, &out); err != nil {
		return -1
	}
	n := 0
	for _, m := range out.Messages {
		if m.Kind == "push" && m.Error == "" && d.mine(m.Message, ref) {
			n++
		}
	}
	return n
}

// mine reports whether a push message is about ref (it names ref or one of its aliases).
func (d *demo) mine(msg []byte, ref string) bool {
	for _, id := range append([]string{ref}, d.aliases[ref]...) {
		if bytes.Contains(msg, []byte(id)) {
			return true
		}
	}
	return false
}

func (d *demo) do(method, url, body string, headers map[string]string, wantStatus int, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if (wantStatus != 0 && resp.StatusCode != wantStatus) || (wantStatus == 0 && resp.StatusCode >= 300) {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}
