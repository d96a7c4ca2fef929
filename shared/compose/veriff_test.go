package compose_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

const (
	veriffKey      = "it-veriff-api-key"
	veriffSecret   = "it-veriff-shared-secret"
	veriffPrevious = "it-veriff-shared-secret-previous"
)

// veriffWorld is the webhook function (compose.Webhooks, both routes) and the processing
// pipeline on the emulators, with the Veriff secret in moto.
type veriffWorld struct {
	*pipeline
	web *compose.WebhookRoutes
	key string
	sec string
}

func newVeriffWorld(t *testing.T, secret veriff.Credentials, extraEnv ...string) *veriffWorld {
	t.Helper()
	p := newPipeline(t)
	raw, _ := json.Marshal(secret)
	out, err := secretsmanager.NewFromConfig(p.cfg).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(p.table + "/veriff-webhook"), SecretString: aws.String(string(raw))})
	if err != nil {
		t.Fatalf("create veriff secret: %v", err)
	}
	env := with(map[string]string{"TABLE_NAME": p.table, "IDWISE_WEBHOOK_AUTH": "none", "IDWISE_ALLOWED_CIDRS": "198.51.100.0/24",
		"VERIFF_SECRET_ARN": aws.ToString(out.ARN)}, extraEnv...)
	web, err := compose.Webhooks(compose.Runtime{AWS: p.cfg, Getenv: getenv(env), Metrics: io.Discard})
	if err != nil {
		t.Fatalf("Webhooks() = %v", err)
	}
	return &veriffWorld{pipeline: p, web: web, key: secret.APIKey, sec: secret.SharedSecret}
}

func defaultVeriffWorld(t *testing.T, extraEnv ...string) *veriffWorld {
	return newVeriffWorld(t, veriff.Credentials{APIKey: veriffKey, SharedSecret: veriffSecret, PreviousSharedSecret: veriffPrevious}, extraEnv...)
}

func veriffRequest(body []byte, key, sig string) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{RouteKey: "POST /webhooks/veriff", RawPath: "/webhooks/veriff",
		Headers: map[string]string{"content-type": "application/json"}, Body: string(body)}
	if key != "" {
		r.Headers["x-auth-client"] = key
	}
	if sig != "" {
		r.Headers["x-hmac-signature"] = sig
	}
	r.RequestContext.HTTP.Method = "POST"
	r.RequestContext.HTTP.Path = "/webhooks/veriff"
	r.RequestContext.HTTP.SourceIP = "192.0.2.20"
	return r
}

type accepted struct {
	Status  string
	EventID string
}

// send delivers body signed as Veriff signs it.
func (w *veriffWorld) send(body string) (int, accepted) {
	w.t.Helper()
	resp, err := w.web.Handle(context.Background(), veriffRequest([]byte(body), w.key, veriff.Sign(w.sec, []byte(body))))
	if err != nil {
		w.t.Fatalf("Handle() error = %v", err)
	}
	var a accepted
	_ = json.Unmarshal([]byte(resp.Body), &a)
	return resp.StatusCode, a
}

// deliver sends body and returns the inbox event as stored (as the stream carries it).
func (w *veriffWorld) deliver(body string) inbox.Event {
	w.t.Helper()
	status, a := w.send(body)
	if status != 200 || a.Status != "accepted" {
		w.t.Fatalf("delivery of %s = %d %+v, want 200 accepted", body, status, a)
	}
	e, found, err := w.inbox.Event(context.Background(), veriff.Provider, a.EventID)
	if err != nil || !found {
		w.t.Fatalf("stored event %s: found=%v %v", a.EventID, found, err)
	}
	return e
}

// deliverAndProcess delivers each body and processes it, in order.
func (w *veriffWorld) deliverAndProcess(bodies ...string) []inbox.Event {
	w.t.Helper()
	var out []inbox.Event
	for _, b := range bodies {
		e := w.deliver(b)
		w.mustProcess(e)
		out = append(out, e)
	}
	return out
}

func (w *veriffWorld) veriffItems(t *testing.T) int {
	t.Helper()
	out, err := w.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(w.table), ConsistentRead: aws.Bool(true),
		FilterExpression: aws.String("begins_with(pk, :p)"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "EVENT#veriff#"}}})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

func veriffEvent(session, attempt, ref string, code int, action string, context ...string) string {
	ctx := ""
	if len(context) > 0 {
		ctx = fmt.Sprintf(`,"context":{"reason":%q`, context[0])
		if len(context) > 1 {
			ctx += fmt.Sprintf(`,"state":%q`, context[1])
		}
		ctx += "}"
	}
	return fmt.Sprintf(`{"id":%q,"attemptId":%q,"feature":"selfid","code":%d,"action":%q%s,"vendorData":%q,"endUserId":"eu-%s"}`,
		session, attempt, code, action, ctx, ref, ref)
}

func veriffDecision(session, attempt, ref string, code int, status string, decided time.Time, reason ...string) string {
	r, rc := "null", "null"
	if len(reason) == 2 {
		r, rc = fmt.Sprintf("%q", reason[0]), reason[1]
	}
	return fmt.Sprintf(`{"status":"success","verification":{"id":%q,"attemptId":%q,"vendorData":%q,"endUserId":"eu-%s","status":%q,"code":%d,`+
		`"reason":%s,"reasonCode":%s,"decisionTime":%q,"person":{"firstName":"TEST","lastName":"PERSON","dateOfBirth":"1990-01-01"},`+
		`"document":{"number":"TEST0000000","type":"PASSPORT","country":"EE"}},"technicalData":{"ip":"192.0.2.10"}}`,
		session, attempt, ref, ref, status, code, r, rc, decided.UTC().Format(time.RFC3339Nano))
}

func statuses(msgs []kyc.StatusEvent) string {
	var s []string
	for _, m := range msgs {
		s = append(s, string(m.Status))
	}
	return strings.Join(s, ",")
}

func TestVeriffEveryEventCode(t *testing.T) {
	w := defaultVeriffWorld(t)
	now := time.Now()
	tests := []struct {
		name        string
		body        func(session, ref string) string
		wantStatus  kyc.Status // "" = no profile
		wantReasons string
		wantState   string
	}{
		{"7001 started", func(s, r string) string { return veriffEvent(s, "a1", r, 7001, "started") }, "", "", "processed"},
		{"7002 submitted", func(s, r string) string { return veriffEvent(s, "a1", r, 7002, "submitted") }, kyc.PendingVerification, "", "processed"},
		{"7007 waiting_complete", func(s, r string) string {
			return veriffEvent(s, "a1", r, 7007, "waiting_complete", veriff.ReasonFinalDecisionReceived)
		}, "", "", "processed"},
		{"7008 flow_finished", func(s, r string) string {
			return veriffEvent(s, "a1", r, 7008, "flow_finished", veriff.ReasonFinishedScreenConfirmedClicked, "finished")
		}, "", "", "processed"},
		{"7009 flow_cancelled", func(s, r string) string {
			return veriffEvent(s, "a1", r, 7009, "flow_cancelled", veriff.ReasonConsentScreenCancelPressed, "consent_screen")
		}, kyc.Abandoned, "reason:consent_screen_cancel_pressed,state:consent_screen", "processed"},
		{"7010 flow_cancelled", func(s, r string) string {
			return veriffEvent(s, "a1", r, 7010, "flow_cancelled", veriff.ReasonMobileHandoverScreenShown)
		}, "", "", "processed"}, // the desktop-to-phone handover: timeline only
		{"9001 approved", func(s, r string) string { return veriffDecision(s, "a1", r, 9001, "approved", now) }, kyc.Approved, "", "processed"},
		{"9102 declined", func(s, r string) string {
			return veriffDecision(s, "a1", r, 9102, "declined", now, "Suspected document tampering", "102")
		}, kyc.Rejected, "veriff:102", "processed"},
		{"9103 resubmission requested", func(s, r string) string {
			return veriffDecision(s, "a1", r, 9103, "resubmission_requested", now, "Poor image quality", "204")
		}, kyc.ResubmissionRequired, "veriff:204", "processed"},
		{"9104 expired", func(s, r string) string { return veriffDecision(s, "a1", r, 9104, "expired", now) }, kyc.Abandoned, "", "processed"},
		{"9104 abandoned", func(s, r string) string { return veriffDecision(s, "a1", r, 9104, "abandoned", now) }, kyc.Abandoned, "", "processed"},
		{"9121 review", func(s, r string) string { return veriffDecision(s, "a1", r, 9121, "review", now) }, kyc.InReview, "", "processed"},
		{"7003 unknown code", func(s, r string) string { return veriffEvent(s, "a1", r, 7003, "something_new") }, "", "", "skipped"},
		{"9999 unknown decision", func(s, r string) string { return veriffDecision(s, "a1", r, 9999, "brand_new", now) }, "", "", "skipped"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			session, ref := fmt.Sprintf("sess-code-%d", i), fmt.Sprintf("ref-code-%d", i)
			e := w.deliver(tt.body(session, ref))
			if e.JourneyID != session || e.ReferenceNo != ref || e.EventID != inbox.Hash([]byte(tt.body(session, ref))) {
				t.Errorf("stored event = %s/%s id %s, want session %s, ref %s, the body hash as id", e.JourneyID, e.ReferenceNo, e.EventID, session, ref)
			}
			w.mustProcess(e)
			if state, pending := w.eventState(e); state != tt.wantState || pending != "" {
				t.Errorf("event state = %q pending %q, want %q and out of the unprocessed index", state, pending, tt.wantState)
			}
			msgs := w.messages()
			p, found, err := w.proc.Store.Profile(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantStatus == "" {
				if found || len(msgs) != 0 {
					t.Errorf("profile %+v (found %v), status events %v; want none", p, found, statuses(msgs))
				}
				return
			}
			if !found || p.Status != tt.wantStatus || p.Provider != "veriff" || p.JourneyID != session || strings.Join(p.Reasons, ",") != tt.wantReasons {
				t.Errorf("profile = %+v, want %s for %s with reasons %q", p, tt.wantStatus, session, tt.wantReasons)
			}
			if len(msgs) != 1 || msgs[0].Status != tt.wantStatus || msgs[0].Provider != "veriff" || msgs[0].ReferenceNo != ref {
				t.Errorf("status events = %+v, want one %s from veriff", msgs, tt.wantStatus)
			}
			j, found, err := w.proc.Store.Journey(context.Background(), veriff.Provider, session)
			if err != nil || !found || j.ReferenceNo != ref {
				t.Fatalf("journey = %+v %v %v, want it stored for %s", j, found, err, ref)
			}
			for k, v := range j.Details {
				if strings.Contains(v, "PERSON") || strings.Contains(v, "TEST0000000") {
					t.Errorf("journey detail %s = %q: personal data", k, v)
				}
			}
		})
	}
}

// Every reason of the seed goes through the real wiring and is recognised; an unknown
// reason and state are stored and passed on as they came.
func TestVeriffEveryFlowReason(t *testing.T) {
	w := defaultVeriffWorld(t)
	reasons := append(veriff.Reasons(), "brand_new_reason")
	for i, reason := range reasons {
		t.Run(reason, func(t *testing.T) {
			r, known := veriff.Reason(reason)
			action := r.Action
			if !known {
				action = veriff.ActionFlowCancelled
			}
			ref := fmt.Sprintf("ref-reason-%d", i)
			e := w.deliverAndProcess(veriffEvent(fmt.Sprintf("sess-reason-%d", i), "a1", ref, 7009, action, reason, "state_"+reason))[0]
			if e.Attributes["reason"] != reason || e.Attributes["state"] != "state_"+reason {
				t.Errorf("stored attributes = %v, want reason and state as sent", e.Attributes)
			}
			if state, _ := w.eventState(e); state != "processed" {
				t.Errorf("state = %q, want processed", state)
			}
			p, found, _ := w.proc.Store.Profile(context.Background(), ref)
			if action == veriff.ActionFlowCancelled && reason != veriff.ReasonMobileHandoverScreenShown {
				if !found || p.Status != kyc.Abandoned || strings.Join(p.Reasons, ",") != "reason:"+reason+",state:state_"+reason {
					t.Errorf("profile = %+v, want ABANDONED with the reason and state", p)
				}
			} else if found {
				t.Errorf("profile = %+v after %s, want none (timeline only)", p, action)
			}
			w.messages()
		})
	}
}

func TestVeriffDuplicateDeliveries(t *testing.T) {
	w := defaultVeriffWorld(t)
	body := veriffDecision("sess-dup", "a1", "ref-dup", 9001, "approved", time.Now())
	const n = 20
	var wg sync.WaitGroup
	results := make(chan accepted, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, a := w.send(body)
			if status != 200 {
				t.Errorf("status = %d, want 200", status)
			}
			results <- a
		}()
	}
	wg.Wait()
	close(results)
	counts, ids := map[string]int{}, map[string]bool{}
	for a := range results {
		counts[a.Status]++
		ids[a.EventID] = true
	}
	if counts["accepted"] != 1 || counts["duplicate"] != n-1 || len(ids) != 1 {
		t.Errorf("outcomes = %v with %d event ids, want 1 accepted, %d duplicate, one id", counts, len(ids), n-1)
	}
	if got := w.veriffItems(t); got != 1 {
		t.Errorf("veriff inbox items = %d, want 1", got)
	}
	// The stream delivers at least once: processing the stored event again changes nothing.
	var id string
	for k := range ids {
		id = k
	}
	e, _, err := w.inbox.Event(context.Background(), veriff.Provider, id)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		w.mustProcess(e)
	}
	if msgs := w.messages(); statuses(msgs) != "APPROVED" {
		t.Errorf("status events = %s, want one APPROVED", statuses(msgs))
	}
	// One changed byte is another delivery (Veriff sends no event id: the body is the key).
	if _, a := w.send(body + " "); a.Status != "accepted" {
		t.Errorf("a different body = %+v, want accepted", a)
	}
}

func TestVeriffOutOfOrderNeverRegresses(t *testing.T) {
	w := defaultVeriffWorld(t)
	now := time.Now()
	tests := []struct {
		name   string
		bodies []string // delivered and processed in this order
		want   kyc.Status
		events string
	}{
		{"late 7002 and late 7009 after approval", []string{
			veriffDecision("o1", "a1", "ro1", 9001, "approved", now),
			veriffEvent("o1", "a1", "ro1", 7002, "submitted"),
			veriffEvent("o1", "a1", "ro1", 7009, "flow_cancelled", veriff.ReasonQuitSessionConfirmed, "waiting_decision"),
		}, kyc.Approved, "APPROVED"},
		{"late 7002 and 7009 after approval, submission first", []string{
			veriffEvent("o2", "a1", "ro2", 7002, "submitted"),
			veriffDecision("o2", "a1", "ro2", 9001, "approved", now.Add(time.Minute)),
			veriffEvent("o2", "a1", "ro2", 7009, "flow_cancelled", veriff.ReasonErrorScreenExitClicked),
			veriffEvent("o2", "a1", "ro2", 7007, "waiting_complete", veriff.ReasonWaitingDecisionContinueClicked),
		}, kyc.Approved, "PENDING_VERIFICATION,APPROVED"},
		// Our endpoint was down; Veriff retried both, the submission first. The decision
		// was taken an hour before the submission reached us, and still wins.
		{"decision older than the late submission's receipt", []string{
			veriffEvent("o3", "a1", "ro3", 7002, "submitted"),
			veriffDecision("o3", "a1", "ro3", 9001, "approved", now.Add(-time.Hour)),
		}, kyc.Approved, "PENDING_VERIFICATION,APPROVED"},
		{"late older decision of the first attempt", []string{
			veriffEvent("o4", "a2", "ro4", 7002, "submitted"),
			veriffDecision("o4", "a2", "ro4", 9001, "approved", now.Add(time.Minute)),
			veriffDecision("o4", "a1", "ro4", 9103, "resubmission_requested", now.Add(-time.Hour), "Poor image quality", "204"),
		}, kyc.Approved, "PENDING_VERIFICATION,APPROVED"},
		{"review delivered after the approval", []string{
			veriffDecision("o5", "a1", "ro5", 9001, "approved", now.Add(2*time.Minute)),
			veriffDecision("o5", "a1", "ro5", 9121, "review", now.Add(time.Minute)),
		}, kyc.Approved, "APPROVED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := w.deliverAndProcess(tt.bodies...)
			ref := evs[0].ReferenceNo
			if p := w.profile(ref); p.Status != tt.want {
				t.Errorf("final status %s (%+v), want %s", p.Status, p, tt.want)
			}
			if got := statuses(w.messages()); got != tt.events {
				t.Errorf("status events = %s, want %s", got, tt.events)
			}
		})
	}
}

// The user of the issue: leaves on the consent screen, comes back, completes and is
// approved. The app sees ABANDONED with the reason and state ("you left on the consent
// screen"), then PENDING_VERIFICATION, then APPROVED.
func TestVeriffCancelledThenCompletedThenApproved(t *testing.T) {
	w := defaultVeriffWorld(t)
	w.deliverAndProcess(
		veriffEvent("sess-back", "a1", "ref-back", 7001, "started"),
		veriffEvent("sess-back", "a1", "ref-back", 7009, "flow_cancelled", veriff.ReasonConsentScreenCancelPressed, "consent_screen"),
	)
	p := w.profile("ref-back")
	if p.Status != kyc.Abandoned || strings.Join(p.Reasons, ",") != "reason:consent_screen_cancel_pressed,state:consent_screen" {
		t.Fatalf("after leaving: %+v, want ABANDONED with the reason and state", p)
	}
	w.deliverAndProcess(
		veriffEvent("sess-back", "a2", "ref-back", 7001, "started"),
		veriffEvent("sess-back", "a2", "ref-back", 7002, "submitted"),
	)
	if p := w.profile("ref-back"); p.Status != kyc.PendingVerification || len(p.Reasons) != 0 {
		t.Fatalf("after submitting: %+v, want PENDING_VERIFICATION without reasons", p)
	}
	w.deliverAndProcess(
		veriffDecision("sess-back", "a2", "ref-back", 9001, "approved", time.Now()),
		veriffEvent("sess-back", "a2", "ref-back", 7007, "waiting_complete", veriff.ReasonFinalDecisionReceived),
		veriffEvent("sess-back", "a2", "ref-back", 7008, "flow_finished", veriff.ReasonFinishedScreenConfirmedClicked),
	)
	if p := w.profile("ref-back"); p.Status != kyc.Approved {
		t.Errorf("final: %+v, want APPROVED", p)
	}
	if got := statuses(w.messages()); got != "ABANDONED,PENDING_VERIFICATION,APPROVED" {
		t.Errorf("status events = %s, want ABANDONED,PENDING_VERIFICATION,APPROVED", got)
	}
}

func TestVeriffUnauthenticatedStoresNothing(t *testing.T) {
	w := defaultVeriffWorld(t)
	body := []byte(veriffEvent("sess-auth", "a1", "ref-auth", 7002, "submitted"))
	changed := append([]byte(nil), body...)
	changed[10] ^= 0x01
	good := veriff.Sign(veriffSecret, body)
	tests := []struct {
		name string
		req  events.APIGatewayV2HTTPRequest
	}{
		{"wrong secret", veriffRequest(body, veriffKey, veriff.Sign("not-the-secret", body))},
		{"one byte changed", veriffRequest(changed, veriffKey, good)},
		{"missing X-AUTH-CLIENT", veriffRequest(body, "", good)},
		{"missing X-HMAC-SIGNATURE", veriffRequest(body, veriffKey, "")},
		{"missing both headers", veriffRequest(body, "", "")},
		{"wrong API key", veriffRequest(body, "someone-else", good)},
		{"signature not hex", veriffRequest(body, veriffKey, strings.Repeat("zz", 32))},
		{"malformed and unsigned", veriffRequest([]byte(`{"id":`), "", "")},
		{"base64 body, signature of the encoded text", func() events.APIGatewayV2HTTPRequest {
			r := veriffRequest(body, veriffKey, "")
			r.Body, r.IsBase64Encoded = "eyJpZCI6InMifQ==", true
			r.Headers["x-hmac-signature"] = veriff.Sign(veriffSecret, []byte(r.Body))
			return r
		}()},
	}
	before := w.ddbCalls.requests.Load()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := w.web.Handle(context.Background(), tt.req)
			if err != nil || resp.StatusCode != 401 || !strings.Contains(resp.Body, `"unauthorized"`) {
				t.Errorf("Handle() = %d %s %v, want 401 unauthorized", resp.StatusCode, resp.Body, err)
			}
		})
	}
	if n := w.ddbCalls.requests.Load() - before; n != 0 {
		t.Errorf("DynamoDB requests for unauthenticated deliveries = %d, want 0", n)
	}
	if n := w.itemCountAll(t); n != 0 {
		t.Errorf("items = %d, want 0", n)
	}
	// Rotation: the previous secret stays valid next to the current one.
	for _, sec := range []string{veriffPrevious, veriffSecret} {
		b := []byte(veriffEvent("sess-auth", "a1", "ref-auth", 7001, "started-"+sec))
		resp, _ := w.web.Handle(context.Background(), veriffRequest(b, veriffKey, strings.ToUpper(veriff.Sign(sec, b))))
		if resp.StatusCode != 200 {
			t.Errorf("signed with %s (upper-case hex): %d %s, want 200", sec, resp.StatusCode, resp.Body)
		}
	}
}

func (w *veriffWorld) itemCountAll(t *testing.T) int {
	t.Helper()
	out, err := w.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(w.table), ConsistentRead: aws.Bool(true), Select: "COUNT"})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

// Until the operator fills the secret, deliveries are refused with 500 (Veriff retries
// for 7 days) and nothing is stored.
func TestVeriffSecretNotFilledIn(t *testing.T) {
	w := newVeriffWorld(t, veriff.Credentials{SharedSecret: "generated-by-the-stack"})
	body := []byte(veriffEvent("sess-unset", "a1", "ref-unset", 7002, "submitted"))
	resp, _ := w.web.Handle(context.Background(), veriffRequest(body, "anything", veriff.Sign("generated-by-the-stack", body)))
	if resp.StatusCode != 500 || strings.Contains(resp.Body, "apiKey") {
		t.Errorf("Handle() = %d %s, want a plain 500", resp.StatusCode, resp.Body)
	}
	if n := w.itemCountAll(t); n != 0 {
		t.Errorf("items = %d, want 0", n)
	}
}

func TestVeriffMalformedSignedBodyQuarantinedOnce(t *testing.T) {
	w := defaultVeriffWorld(t)
	body := `{"status":"success","verification":{"code":9001,"status":"approved"}}`
	for i := 0; i < 3; i++ {
		resp, _ := w.web.Handle(context.Background(), veriffRequest([]byte(body), veriffKey, veriff.Sign(veriffSecret, []byte(body))))
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"field":"verification.id"`) {
			t.Fatalf("status = %d %s, want 400 naming verification.id", resp.StatusCode, resp.Body)
		}
	}
	out, err := w.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(w.table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	str := func(v types.AttributeValue) string {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			return s.Value
		}
		return ""
	}
	if len(out.Items) != 1 || !strings.HasPrefix(str(out.Items[0]["pk"]), "QUARANTINE#") || str(out.Items[0]["provider"]) != "veriff" {
		t.Errorf("items = %v, want one veriff quarantine record", out.Items)
	}
}

// TestVeriffSampleEvents sends every events/veriff-*.json (signed with make run's
// defaults) through the real wiring, then processes them in file order; a "tampered"
// sample must be refused.
func TestVeriffSampleEvents(t *testing.T) {
	w := newVeriffWorld(t, veriff.Credentials{APIKey: "local-veriff-api-key", SharedSecret: "local-veriff-shared-secret"})
	files, err := filepath.Glob("../../events/veriff-*.json")
	if err != nil || len(files) < 7 {
		t.Fatalf("events/veriff-*.json: %d files, %v; want one per Veriff webhook kind", len(files), err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatalf("not an API Gateway v2 event: %v", err)
			}
			if req.RouteKey != "POST /webhooks/veriff" || req.RequestContext.HTTP.Method != "POST" {
				t.Errorf("route = %q %q, want POST /webhooks/veriff", req.RouteKey, req.RequestContext.HTTP.Method)
			}
			resp, err := w.web.Handle(context.Background(), req)
			if strings.Contains(filepath.Base(file), "tampered") { // a sample to refuse
				if err != nil || resp.StatusCode != 401 {
					t.Errorf("Handle() = %d %s %v, want 401", resp.StatusCode, resp.Body, err)
				}
				return
			}
			if err != nil || resp.StatusCode != 200 || statusOf(t, resp) != "accepted" {
				t.Fatalf("Handle() = %d %s %v, want 200 accepted", resp.StatusCode, resp.Body, err)
			}
			var a accepted
			_ = json.Unmarshal([]byte(resp.Body), &a)
			e, _, err := w.inbox.Event(context.Background(), veriff.Provider, a.EventID)
			if err != nil || !e.Processable {
				t.Fatalf("stored event %+v %v, want processable", e, err)
			}
			w.mustProcess(e)
			seen[e.Attributes["kind"]+" "+e.Attributes["code"]+" "+e.Attributes["action"]+e.Attributes["status"]] = true
		})
	}
	for _, want := range []string{"event 7001 started", "event 7002 submitted", "event 7007 waiting_complete", "event 7008 flow_finished",
		"event 7009 flow_cancelled", "decision 9001 approved", "decision 9102 declined", "decision 9103 resubmission_requested",
		"decision 9104 expired", "decision 9104 abandoned", "decision 9121 review", "fullauto 9001 approved"} {
		if !seen[want] {
			t.Errorf("no sample event for %q in events/", want)
		}
	}
}

func TestWebhooksRouting(t *testing.T) {
	w := defaultVeriffWorld(t)
	ctx := context.Background()
	idw := delivery(fmt.Sprintf(fj, 900), nil)
	if resp, _ := w.web.Handle(ctx, idw); resp.StatusCode != 200 || statusOf(t, resp) != "accepted" {
		t.Errorf("IDWise route = %d %s, want 200 accepted", resp.StatusCode, resp.Body)
	}
	// IDWise credentials on the Veriff route are refused by the Veriff check.
	idw.RouteKey = "POST /webhooks/veriff"
	if resp, _ := w.web.Handle(ctx, idw); resp.StatusCode != 401 {
		t.Errorf("IDWise body on the Veriff route = %d, want 401", resp.StatusCode)
	}
	body := []byte(veriffEvent("sess-route", "a1", "ref-route", 7001, "started"))
	noKey := veriffRequest(body, veriffKey, veriff.Sign(veriffSecret, body))
	noKey.RouteKey = "" // a caller that sets no route key: matched by path
	if resp, _ := w.web.Handle(ctx, noKey); resp.StatusCode != 200 {
		t.Errorf("no route key, veriff path = %d %s, want 200", resp.StatusCode, resp.Body)
	}
	other := veriffRequest(body, veriffKey, veriff.Sign(veriffSecret, body))
	other.RouteKey, other.RequestContext.HTTP.Path = "POST /webhooks/onfido", "/webhooks/onfido"
	if resp, _ := w.web.Handle(ctx, other); resp.StatusCode != 404 {
		t.Errorf("unknown route = %d, want 404", resp.StatusCode)
	}

	// Without VERIFF_SECRET_ARN the function serves IDWise only.
	off, err := compose.Webhooks(compose.Runtime{AWS: w.cfg, Metrics: io.Discard,
		Getenv: getenv(map[string]string{"TABLE_NAME": w.table, "IDWISE_WEBHOOK_AUTH": "none", "IDWISE_ALLOWED_CIDRS": "198.51.100.0/24"})})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := off.Handle(ctx, veriffRequest(body, veriffKey, veriff.Sign(veriffSecret, body))); resp.StatusCode != 404 {
		t.Errorf("Veriff route without Veriff configured = %d, want 404", resp.StatusCode)
	}
}

func TestLoadVeriffConfig(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "t", "VERIFF_SECRET_ARN": "arn"}
	tests := []struct {
		name        string
		env         map[string]string
		wantEnabled bool
		wantErr     bool
		wantRef     veriff.ReferenceField
	}{
		{"defaults", base, true, false, veriff.ReferenceVendorData},
		{"endUserId", with(base, "VERIFF_REFERENCE_FIELD", "endUserId"), true, false, veriff.ReferenceEndUserID},
		{"not configured", with(base, "VERIFF_SECRET_ARN", ""), false, false, ""},
		{"bad reference field", with(base, "VERIFF_REFERENCE_FIELD", "email"), true, true, ""},
		{"missing table", with(base, "TABLE_NAME", ""), true, true, ""},
		{"bad retention", with(base, "RAW_EVENT_RETENTION_DAYS", "0"), true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, enabled, err := compose.LoadVeriffConfig(getenv(tt.env))
			if (err != nil) != tt.wantErr || enabled != tt.wantEnabled {
				t.Fatalf("LoadVeriffConfig() = %+v, %v, %v; want enabled %v, error %v", c, enabled, err, tt.wantEnabled, tt.wantErr)
			}
			if !tt.wantErr && c.Reference != tt.wantRef {
				t.Errorf("Reference = %q, want %q", c.Reference, tt.wantRef)
			}
		})
	}
}
