package compose_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/edge/appapi"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffsim"
)

var (
	itIdentity = veriff.Integration{Name: "idv", Product: veriff.ProductIdentity, APIKey: "it-idv-key", SharedSecret: "it-idv-secret"}
	itPoA      = veriff.Integration{Name: "poa", Product: veriff.ProductProofOfAddress, APIKey: "it-poa-key", SharedSecret: "it-poa-secret"}
)

// poaWorld is the Veriff world with two integrations (identity, proof of address), the
// app API reading the API keys secret only, and the Veriff simulator behind it.
type poaWorld struct {
	*veriffWorld
	api *appapi.Handler
	sim *veriffsim.Sim
}

func newPoAWorld(t *testing.T) *poaWorld {
	t.Helper()
	creds := veriff.Credentials{Integrations: []veriff.Integration{itIdentity, itPoA}}
	vw := newVeriffWorld(t, creds, "JOURNEY_OWNERSHIP", "claimed")
	vw.key, vw.sec = itIdentity.APIKey, itIdentity.SharedSecret
	sim := veriffsim.New(veriffsim.Config{Integrations: creds.List()})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	raw, _ := json.Marshal(creds.APIKeys())
	sec, err := secretsmanager.NewFromConfig(vw.cfg).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(vw.table + "/veriff-api-keys"), SecretString: aws.String(string(raw))})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TABLE_NAME": vw.table, "STATUS_TOPIC_ARN": vw.proc.Config.TopicARN,
		"VERIFF_API_KEYS_SECRET_ARN": aws.ToString(sec.ARN), "VERIFF_API_BASE_URL": srv.URL}
	api, err := compose.API(compose.Runtime{AWS: vw.cfg, Getenv: getenv(env), Metrics: io.Discard})
	if err != nil {
		t.Fatalf("API() = %v", err)
	}
	return &poaWorld{veriffWorld: vw, api: api, sim: sim}
}

func (w *poaWorld) call(route, ref, body string, path map[string]string) events.APIGatewayV2HTTPResponse {
	w.t.Helper()
	req := events.APIGatewayV2HTTPRequest{RouteKey: route, Body: body, PathParameters: path,
		Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": ref}}}
	resp, err := w.api.Handle(context.Background(), req)
	if err != nil {
		w.t.Fatal(err)
	}
	return resp
}

func (w *poaWorld) session(ref, product string) string {
	w.t.Helper()
	resp := w.call(appapi.RoutePostSession, ref, `{"product":"`+product+`"}`, nil)
	var v appapi.SessionView
	if resp.StatusCode != 201 || json.Unmarshal([]byte(resp.Body), &v) != nil {
		w.t.Fatalf("POST /v1/veriff/sessions %s = %d %s, want 201", product, resp.StatusCode, resp.Body)
	}
	return v.SessionID
}

// sendAs delivers body signed by integration in.
func (w *poaWorld) sendAs(in veriff.Integration, body string) (int, accepted) {
	w.t.Helper()
	resp, err := w.web.Handle(context.Background(), veriffRequest([]byte(body), in.APIKey, veriff.Sign(in.SharedSecret, []byte(body))))
	if err != nil {
		w.t.Fatal(err)
	}
	var a accepted
	_ = json.Unmarshal([]byte(resp.Body), &a)
	return resp.StatusCode, a
}

func (w *poaWorld) profileView(ref string) appapi.ProfileView {
	w.t.Helper()
	resp := w.call(appapi.RouteGetProfile, ref, "", map[string]string{"referenceNo": url.PathEscape(ref)})
	var v appapi.ProfileView
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &v) != nil {
		w.t.Fatalf("GET /v1/profiles/%s = %d %s", ref, resp.StatusCode, resp.Body)
	}
	return v
}

// Issue 19 item 5 (its emulator test): an approved identity user whose proof-of-address
// decision 9102 arrives through the PoA integration stays APPROVED, and GET /v1/profiles
// shows checks.proofOfAddress declined. Veriff sends PoA results on the same decision
// webhook with the same codes, told apart only by the integration
// (https://devdocs.veriff.com/v1/docs/proof-of-address-verification). The sessions are
// created by the app API with each product's API key (the simulator records which).
func TestVeriffProofOfAddressThroughItsIntegration(t *testing.T) {
	w := newPoAWorld(t)
	ctx := context.Background()
	idv := w.session("pat", "identity")
	poa := w.session("pat", "proof_of_address")
	for _, s := range w.sim.Sessions() {
		want := map[string]string{idv: "idv", poa: "poa"}[s.ID]
		if s.Integration != want || s.VendorData != "pat" {
			t.Errorf("session %s created with integration %q for %q, want %q for pat", s.ID, s.Integration, s.VendorData, want)
		}
	}
	approved, _ := w.sim.Decision(idv, "approved", time.Now().Add(-time.Hour))
	if status, a := w.sendAs(itIdentity, string(approved)); status != 200 {
		t.Fatalf("identity decision = %d %+v", status, a)
	} else {
		e, _, _ := w.inbox.Event(ctx, veriff.Provider, a.EventID)
		w.mustProcess(e)
	}
	if p := w.profile("pat"); p.Status != kyc.Approved {
		t.Fatalf("pat after the identity decision = %s, want APPROVED", p.Status)
	}

	declined, _ := w.sim.Decision(poa, "declined", time.Now())
	// The attacker's tries first: the PoA body under the identity key with the PoA secret,
	// under the PoA key with the identity secret, under an unknown key: 401, nothing stored.
	before := w.veriffItems(t)
	for _, in := range []veriff.Integration{
		{APIKey: itIdentity.APIKey, SharedSecret: itPoA.SharedSecret},
		{APIKey: itPoA.APIKey, SharedSecret: itIdentity.SharedSecret},
		{APIKey: "it-unknown-key", SharedSecret: itPoA.SharedSecret},
	} {
		if status, _ := w.sendAs(in, string(declined)); status != 401 {
			t.Errorf("PoA decision signed with key %s and another secret = %d, want 401", in.APIKey, status)
		}
	}
	if n := w.veriffItems(t); n != before {
		t.Errorf("veriff events after refused deliveries = %d, want %d", n, before)
	}
	status, a := w.sendAs(itPoA, string(declined))
	if status != 200 || a.Status != "accepted" {
		t.Fatalf("PoA decision = %d %+v, want 200 accepted", status, a)
	}
	e, _, _ := w.inbox.Event(ctx, veriff.Provider, a.EventID)
	if e.Attributes[veriff.AttrProduct] != string(veriff.ProductProofOfAddress) || e.Attributes[veriff.AttrIntegration] != "poa" {
		t.Errorf("stored PoA event attributes = %v, want integration poa, product proof_of_address", e.Attributes)
	}
	w.mustProcess(e)

	v := w.profileView("pat")
	if v.Status != kyc.Approved || v.JourneyID != idv {
		t.Errorf("pat after the PoA decline = %s on %s, want APPROVED on the identity session %s", v.Status, v.JourneyID, idv)
	}
	c, ok := v.Checks[kyc.CheckProofOfAddress]
	if _, err := time.Parse(time.RFC3339, c.DecidedAt); !ok || c.Decision != "declined" || c.SessionID != poa || err != nil {
		t.Errorf("checks = %+v, want proofOfAddress declined of %s with an RFC 3339 decidedAt", v.Checks, poa)
	}
	// A second user's profile shows no checks of pat's.
	w.session("sam", "identity")
	samDecision, _ := w.sim.Decision(w.sim.Sessions()[2].ID, "approved", time.Now())
	if _, a := w.sendAs(itIdentity, string(samDecision)); a.EventID != "" {
		e, _, _ := w.inbox.Event(ctx, veriff.Provider, a.EventID)
		w.mustProcess(e)
	}
	if v := w.profileView("sam"); len(v.Checks) != 0 || v.Status != kyc.Approved {
		t.Errorf("sam = %+v, want APPROVED without checks", v)
	}
}

// Issue 20 item 2 on the emulators: a marker planted in every non-allow-listed section of
// every Veriff kind (additionalVerifiedData of a database check, a section Veriff might
// add, unknown members nested in allow-listed objects, watchlist hits, Full Auto insights,
// user-defined data, an unknown kind's payload) is found nowhere in the table after the
// whole flow (inbox events, quarantine, journeys, profiles, checks, outbox).
func TestVeriffPlantedMarkerNowhereInTheTable(t *testing.T) {
	w := newPoAWorld(t)
	const m = "PLANTED-MARKER-7e1"
	now := time.Now().UTC().Format(time.RFC3339Nano)
	idv := w.session("mia", "identity")
	poa := w.session("mia", "proof_of_address")
	bodies := []struct {
		in   veriff.Integration
		body string
	}{
		{itIdentity, `{"id":"` + idv + `","attemptId":"a1","feature":"selfid","code":7001,"action":"started","vendorData":"mia","technicalData":{"ip":"` + m + `"},"future":{"x":"` + m + `"}}`},
		{itIdentity, `{"id":"` + idv + `","attemptId":"a1","feature":"selfid","code":7002,"action":"submitted","vendorData":"mia","context":{"reason":"x","extra":"` + m + `"}}`},
		{itIdentity, `{"id":"` + idv + `","attemptId":"a1","feature":"selfid","code":7008,"action":"waiting_complete","vendorData":"mia","context":{"reason":"final_decision_received","state":"s","nested":{"deep":"` + m + `"}}}`},
		{itIdentity, `{"status":"success","verification":{"id":"` + idv + `","attemptId":"a1","code":9001,"status":"approved","vendorData":"mia","decisionTime":"` + now + `",
			"person":{"firstName":"` + m + `"},"document":{"number":"` + m + `"},"additionalVerifiedData":{"nationalIdNumber":"` + m + `","fullName":"` + m + `"},
			"riskLabels":[{"label":"` + m + `"}],"comments":[{"comment":"` + m + `"}],"futureSection":{"a":{"b":"` + m + `"}},"reason":{"text":"` + m + `"}},"technicalData":{"ip":"` + m + `"},"extra":"` + m + `"}`},
		{itIdentity, `{"eventType":"fullauto","sessionId":"` + idv + `","attemptId":"a1","vendorData":"mia","time":"` + now + `","data":{"verification":{"decision":"approved","decisionScore":0.9,
			"person":{"firstName":{"value":"` + m + `"}},"insights":[{"label":"` + m + `"}],"future":"` + m + `"}}}`},
		{itIdentity, `{"checkType":"updated_result","matchStatus":"no_match","sessionId":"` + idv + `","attemptId":"a1","vendorData":"mia","totalHits":0,
			"searchTerm":{"name":"` + m + `"},"hits":[{"matchedName":"` + m + `"}],"future":{"x":"` + m + `"}}`},
		{itIdentity, `{"eventType":"user_defined_status","attemptId":"a1","time":"` + now + `","data":{"verification":{"id":"` + idv + `","userDefinedData":{"comment":"` + m + `"}}}}`},
		{itIdentity, `{"sessionId":"` + idv + `","eventType":"ine_validation","vendorData":"mia","data":{"ine":{"name":"` + m + `"}},"future":"` + m + `"}`},
		{itPoA, `{"status":"success","verification":{"id":"` + poa + `","attemptId":"p1","code":9102,"status":"declined","reasonCode":102,"vendorData":"mia","decisionTime":"` + now + `",
			"person":{"fullName":"` + m + `","address":{"fullAddress":"` + m + `"}},"document":{"type":"` + m + `"},"proofOfAddress":{"fullAddress":"` + m + `"}}}`},
	}
	for _, b := range bodies {
		if !json.Valid([]byte(b.body)) {
			t.Fatalf("test body is not JSON: %s", b.body)
		}
		status, a := w.sendAs(b.in, b.body)
		if status != 200 {
			t.Fatalf("delivery = %d %+v of %s", status, a, b.body)
		}
		e, _, _ := w.inbox.Event(context.Background(), veriff.Provider, a.EventID)
		w.mustProcess(e)
	}
	// A decision that cannot be used (no session id) goes to the quarantine: allow-listed too.
	if status, _ := w.sendAs(itIdentity, `{"status":"success","verification":{"code":9001,"additionalVerifiedData":{"name":"`+m+`"}},"x":"`+m+`"}`); status != 400 {
		t.Fatalf("undecodable decision = %d, want 400", status)
	}
	if v := w.profileView("mia"); v.Status != kyc.Approved || v.Checks[kyc.CheckProofOfAddress].Decision != "declined" {
		t.Errorf("mia = %+v, want APPROVED with proofOfAddress declined (the flow ran)", v)
	}
	w.privacyScan(t, m)
	if n := w.itemCountAll(t); n < len(bodies) {
		t.Errorf("table holds %d items, want at least the %d events (the scan must see them)", n, len(bodies))
	}
}
