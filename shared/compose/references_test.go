package compose_test

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/infra/local/jwt"
	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/edge/webhook"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// refWorld is the whole product on one table, on the emulators: the IDWise webhook
// function as deployed (bearer auth, secret on moto), the processor in claimed ownership
// mode with the IDWise simulator, and the app API behind template.yaml's routes on the
// local HTTP API (API Gateway's routing and path decoding, real RS256 tokens).
type refWorld struct {
	*ownedWorld
	webhook *webhook.Handler
	url     string
	key     *rsa.PrivateKey
}

func newRefWorld(t *testing.T) *refWorld {
	t.Helper()
	w := newOwnedWorld(t)
	out, err := secretsmanager.NewFromConfig(w.cfg).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(w.table + "/idwise-webhook"), SecretString: aws.String(`{"username":"idwise","secret":"` + token + `"}`)})
	if err != nil {
		t.Fatalf("create webhook secret in moto: %v", err)
	}
	env := map[string]string{"TABLE_NAME": w.table, "IDWISE_WEBHOOK_AUTH": "bearer", "IDWISE_WEBHOOK_SECRET_ARN": aws.ToString(out.ARN)}
	wh, err := compose.IDWiseWebhook(compose.Runtime{AWS: w.cfg, Getenv: getenv(env), Metrics: io.Discard})
	if err != nil {
		t.Fatalf("IDWiseWebhook() = %v", err)
	}
	rw := &refWorld{ownedWorld: w, webhook: wh}
	rw.url, rw.key = serveAPI(t, w.api)
	return rw
}

// send delivers body to the IDWise webhook function and returns the answer's status
// ("accepted", "duplicate" or an error code).
func (w *refWorld) send(body string) string {
	w.t.Helper()
	resp, err := w.webhook.Handle(context.Background(), delivery(body, nil))
	if err != nil {
		w.t.Fatalf("webhook Handle() = %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("webhook answer = %d %s, want 200", resp.StatusCode, resp.Body)
	}
	return statusOf(w.t.(*testing.T), resp)
}

// stored reads the inbox event the webhook stored under id.
func (w *refWorld) stored(id string) inbox.Event {
	w.t.Helper()
	e, found, err := w.inbox.Event(context.Background(), idwise.Provider, id)
	if err != nil || !found {
		w.t.Fatalf("inbox event %s: found %v, %v", id, found, err)
	}
	return e
}

// call is an app API request through the local HTTP API with a token of ref.
func (w *refWorld) call(method, path, ref, body string) reply {
	w.t.Helper()
	c := map[string]any{"iss": testIssuer, "aud": testAudience, "sub": ref, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	tok, err := jwt.Sign(w.key, "test", c)
	if err != nil {
		w.t.Fatal(err)
	}
	req, err := http.NewRequest(method, w.url+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// eventItems counts the inbox items of the table (sk EVENT).
func (w *refWorld) eventItems() int {
	w.t.Helper()
	out, err := w.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(w.table), ConsistentRead: aws.Bool(true),
		FilterExpression: aws.String("sk = :e"), ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: "EVENT"}},
		Select: "COUNT"})
	if err != nil {
		w.t.Fatal(err)
	}
	return int(out.Count)
}

// TestReferenceAsVendorsAllow: a reference with the characters IDWise documents for
// reference_no ("Alphanumeric and - _ / \ , . + @", https://docs.idwise.com/docs/journey-builder-api)
// is claimed through POST /v1/journeys, decided by a Finished Journey webhook, and read
// back through GET /v1/profiles/{referenceNo} with the slash and backslash percent-encoded,
// as API Gateway's HTTP API decodes path parameters. Nobody else reads it.
func TestReferenceAsVendorsAllow(t *testing.T) {
	w := newRefWorld(t)
	const ref = `cust/001,A.b+x@y\z`
	refJSON, _ := json.Marshal(ref)
	if r := w.call("POST", "/v1/journeys", ref, fmt.Sprintf(`{"journeyId":"j-ref","referenceNo":%s}`, refJSON)); r.status != 200 {
		t.Fatalf("POST /v1/journeys = %d %s, want 200", r.status, r.body)
	}
	w.journey("j-ref", ref, "Complete", "", "Complete")
	if st := w.send(fmt.Sprintf(`{"event":"Finished Journey","body":{"eventId":"ev-ref","journeyId":"j-ref","referenceNo":%s,"systemDecision":"Complete"}}`, refJSON)); st != "accepted" {
		t.Fatalf("webhook = %q, want accepted", st)
	}
	e := w.stored("ev-ref")
	if e.ReferenceNo != ref {
		t.Errorf("stored referenceNo = %q, want %q", e.ReferenceNo, ref)
	}
	w.mustProcess(e)

	path := "/v1/profiles/" + url.PathEscape(ref)
	if !strings.Contains(path, "%2F") {
		t.Fatalf("path %s does not encode the slash", path)
	}
	r := w.call("GET", path, ref, "")
	if r.status != 200 {
		t.Fatalf("GET %s = %d %s, want 200", path, r.status, r.body)
	}
	got := r.json(t)
	if got["referenceNo"] != ref || got["status"] != string(kyc.Approved) || got["journeyId"] != "j-ref" {
		t.Errorf("GET %s = %v, want %s APPROVED on j-ref", path, got, ref)
	}

	// The attacker: a user whose reference is a prefix, or the same with the slash
	// unencoded (another route), or one past the rule.
	tests := []struct {
		name, path, caller string
		status             int
	}{
		{"prefix of the reference", path, "cust", http.StatusForbidden},
		{"reference of another user with the same path", "/v1/profiles/" + url.PathEscape("cust/001"), "cust/001", http.StatusNotFound},
		{"unencoded slash is another route", "/v1/profiles/cust/001,A.b+x@y%5Cz", ref, http.StatusNotFound},
		{"1001 characters", "/v1/profiles/" + strings.Repeat("a", kyc.MaxReferenceLength+1), strings.Repeat("a", kyc.MaxReferenceLength+1), http.StatusForbidden},
		{"control character in the path", "/v1/profiles/a%0Ab", ref, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.call("GET", tt.path, tt.caller, "")
			if r.status != tt.status {
				t.Errorf("GET %s by %q = %d %s, want %d", tt.path, tt.caller, r.status, r.body, tt.status)
			}
		})
	}
	if r := w.call("GET", "/v1/profiles/a%0Ab", ref, ""); r.status == http.StatusBadRequest {
		if code, field := r.errorField(); field != "referenceNo" {
			t.Errorf("400 for a control character = %s %s, want the field referenceNo", code, field)
		}
	}
	// DELETE /v1/devices/{deviceId} takes its parameter decoded too: a device id written
	// percent-encoded is the same id (gone already: 204); an encoded slash is no device id.
	var encoded strings.Builder
	for _, c := range []byte(strings.Repeat("0a", 16)) {
		fmt.Fprintf(&encoded, "%%%02X", c)
	}
	if r := w.call("DELETE", "/v1/devices/"+encoded.String(), ref, ""); r.status != http.StatusNoContent {
		t.Errorf("DELETE /v1/devices/<percent-encoded id> = %d %s, want 204", r.status, r.body)
	}
	if r := w.call("DELETE", "/v1/devices/0a0a%2F0a0a", ref, ""); r.status != http.StatusBadRequest {
		t.Errorf("DELETE /v1/devices/0a0a%%2F0a0a = %d %s, want 400", r.status, r.body)
	} else if _, field := r.errorField(); field != "deviceId" {
		t.Errorf("DELETE /v1/devices/0a0a%%2F0a0a names %q, want deviceId", field)
	}
	if p := w.profile(ref); p.Status != kyc.Approved {
		t.Errorf("profile after the attempts = %+v, want APPROVED, unchanged", p)
	}
	w.noProfile("cust")
	w.noProfile("cust/001")
}

// TestIDWiseDeliveriesWithoutEventID: older accounts send no eventId, the step webhooks'
// Step Submitted (https://developers.idwise.com/step-webhooks.html) and the older generic
// template's Finished Journey. Each is accepted once, deduplicated on the SHA-256 of its raw
// body (a second delivery answers "duplicate" and stores nothing), and processed by name:
// Step Submitted on the timeline without a status change, Finished Journey to the status.
func TestIDWiseDeliveriesWithoutEventID(t *testing.T) {
	w := newRefWorld(t)
	const ref = "legacy/user 1"
	refJSON, _ := json.Marshal(ref)
	if r := w.call("POST", "/v1/journeys", ref, fmt.Sprintf(`{"journeyId":"j-legacy","referenceNo":%s}`, refJSON)); r.status != 200 {
		t.Fatalf("POST /v1/journeys = %d %s, want 200", r.status, r.body)
	}
	claimed := w.profile(ref)
	w.journey("j-legacy", ref, "Complete", "", "Complete")

	bodies := []struct {
		name, body string
		want       kyc.Status
		note       string
	}{
		{idwise.StepSubmittedEvent, fmt.Sprintf(`{"event":"Step Submitted","body":{"journeyId":"j-legacy","referenceNo":%s,"stepId":"1","stepType":"Document"}}`, refJSON),
			kyc.PendingVerification, "step 1 submitted (Document)"},
		{idwise.FinishedJourney, fmt.Sprintf(`{"event":"Finished Journey","body":{"journeyId":"j-legacy","referenceNo":%s,"systemDecision":"Complete"}}`, refJSON),
			kyc.Approved, ""},
	}
	for i, b := range bodies {
		sum := sha256.Sum256([]byte(b.body))
		id := hex.EncodeToString(sum[:])
		if st := w.send(b.body); st != "accepted" {
			t.Fatalf("%s: first delivery = %q, want accepted", b.name, st)
		}
		if st := w.send(b.body); st != "duplicate" {
			t.Errorf("%s: second delivery = %q, want duplicate", b.name, st)
		}
		if n := w.eventItems(); n != i+1 {
			t.Errorf("%s: inbox items = %d, want %d (one per body)", b.name, n, i+1)
		}
		e := w.stored(id)
		if e.Name != b.name || e.Attributes[idwise.AttrEventIDFrom] != idwise.EventIDFromBodyHash {
			t.Errorf("%s: stored event %q attributes %v, want its name and eventIdFrom bodyHash", b.name, e.Name, e.Attributes)
		}
		w.mustProcess(e)
		if st, _ := w.eventState(e); st != string(processor.Processed) {
			t.Errorf("%s: event state %q, want processed", b.name, st)
		}
		p := w.profile(ref)
		if p.Status != b.want {
			t.Errorf("%s: profile = %s, want %s", b.name, p.Status, b.want)
		}
		if b.want == kyc.PendingVerification && p.Version != claimed.Version {
			t.Errorf("%s: profile version %d, was %d: a step submission must not write the profile", b.name, p.Version, claimed.Version)
		}
		if b.note != "" {
			if got := w.eventNote(e); !strings.HasPrefix(got, b.note) {
				t.Errorf("%s: event note %q, want %q", b.name, got, b.note)
			}
		}
	}
}

// eventNote reads the note the processor left on a stored event (its timeline entry).
func (w *refWorld) eventNote(e inbox.Event) string {
	w.t.Helper()
	pk, sk := dynamo.EventKey(e.Provider, e.EventID)
	out, err := w.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(w.table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		w.t.Fatal(err)
	}
	v, _ := out.Item["note"].(*types.AttributeValueMemberS)
	if v == nil {
		return ""
	}
	return v.Value
}
