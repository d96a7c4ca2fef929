package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/inbox/inboxtest"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// brokenAuth fails as a secret store that cannot be reached does.
type brokenAuth struct{}

func (brokenAuth) Check(context.Context, webhookauth.Request) error {
	return errors.New("secretsmanager: GetSecretValue: connection refused")
}

// TestHandleStores asserts, for each answer, what the inbox holds afterwards (the fake is
// inboxtest.MemStore, proven by the inbox contract suite that proves dynamo.Inbox).
func TestHandleStores(t *testing.T) {
	raw := goodBody
	b64 := func(r *events.APIGatewayV2HTTPRequest) {
		r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(r.Body)), true
	}
	tests := []struct {
		name       string
		req        events.APIGatewayV2HTTPRequest
		auth       Authenticator // nil: bearer "tok"
		fail       error         // the store's fault
		wantStatus int
		wantCode   string
		// what the store holds afterwards
		wantEvent      bool
		wantProcess    bool
		wantQuarantine string // reason of the one quarantined body; "" none
		wantCalls      int
		wantMetric     string
	}{
		{name: "200 accepted: the raw body, its hash and the ids", req: request(raw), wantStatus: 200, wantCode: "accepted",
			wantEvent: true, wantProcess: true, wantCalls: 1, wantMetric: "DeliveriesAccepted"},
		{name: "200 accepted from base64: the decoded bytes", req: request(raw, b64), wantStatus: 200, wantCode: "accepted",
			wantEvent: true, wantProcess: true, wantCalls: 1, wantMetric: "DeliveriesAccepted"},
		{name: "200 accepted, unknown event: stored, not processable",
			req:        request(`{"event":"Journey Archived","body":{"eventId":"e-1","journeyId":"j-1"}}`),
			wantStatus: 200, wantCode: "accepted", wantEvent: true, wantCalls: 1, wantMetric: "DeliveriesAccepted"},
		{name: "401 no credentials: nothing stored, the store never called", req: request(`{"event":`, header("authorization", "")),
			wantStatus: 401, wantCode: "unauthorized", wantMetric: "AuthFailures"},
		{name: "401 forged token with a valid body: nothing stored", req: request(raw, header("authorization", "Bearer tok2")),
			wantStatus: 401, wantCode: "unauthorized", wantMetric: "AuthFailures"},
		{name: "413 too large: nothing stored, not quarantined",
			req:        request(`{"event":"Finished Journey","pad":"` + strings.Repeat("a", MaxBodyBytes) + `"}`),
			wantStatus: 413, wantCode: "too_large"},
		{name: "415 wrong content type: nothing stored", req: request(raw, header("content-type", "text/xml")),
			wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "400 invalid base64: nothing stored", req: request("%%%", func(r *events.APIGatewayV2HTTPRequest) { r.IsBase64Encoded = true }),
			wantStatus: 400, wantCode: "invalid_body"},
		{name: "400 malformed and authenticated: quarantined with the field", req: request(`{"event":"Finished Journey","body":{"eventId":"e"}}`),
			wantStatus: 400, wantCode: "invalid_field", wantQuarantine: "body.journeyId", wantCalls: 1},
		{name: "500 on an event write fault: nothing stored", req: request(raw), fail: errors.New("ThrottlingException"),
			wantStatus: 500, wantCode: "internal", wantCalls: 1},
		{name: "500 on a quarantine write fault: nothing stored", req: request(`{"event":`), fail: errors.New("ThrottlingException"),
			wantStatus: 500, wantCode: "internal", wantCalls: 1},
		{name: "500 when credentials cannot be checked: nothing stored", req: request(raw), auth: brokenAuth{},
			wantStatus: 500, wantCode: "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := inboxtest.NewMemStore()
			store.Fail = tt.fail
			h, rec := newTestHandler(t, store)
			if tt.auth != nil {
				h.auth = tt.auth
			}
			before := time.Now().UTC().Add(-time.Second)
			resp, err := h.Handle(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Handle() error = %v, want nil (errors are responses)", err)
			}
			var out struct {
				Status      string `json:"status"`
				EventID     string `json:"eventId"`
				Processable *bool  `json:"processable"`
				Error       struct{ Code, Message, Field string }
			}
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
				t.Fatalf("body %q is not JSON: %v", resp.Body, err)
			}
			if resp.StatusCode != tt.wantStatus || out.Status+out.Error.Code != tt.wantCode {
				t.Fatalf("Handle() = %d %q (%s), want %d %q", resp.StatusCode, out.Status+out.Error.Code, resp.Body, tt.wantStatus, tt.wantCode)
			}
			if strings.Contains(resp.Body, "Throttling") || strings.Contains(resp.Body, "secretsmanager") {
				t.Errorf("body %q leaks an internal error", resp.Body)
			}
			if store.Calls != tt.wantCalls {
				t.Errorf("store calls = %d, want %d", store.Calls, tt.wantCalls)
			}
			if tt.wantMetric != "" && rec.counts[tt.wantMetric] != 1 {
				t.Errorf("metrics = %v, want one %s", rec.counts, tt.wantMetric)
			}

			events, quarantined := store.Count()
			e, found := store.Event(idwise.Provider, "e-1")
			if found != tt.wantEvent || events != map[bool]int{true: 1}[tt.wantEvent] {
				t.Fatalf("stored events = %d (e-1 found %v), want e-1 stored: %v", events, found, tt.wantEvent)
			}
			if tt.wantEvent {
				sent := []byte(raw)
				if strings.Contains(tt.name, "unknown") {
					sent = []byte(tt.req.Body)
				}
				if !bytes.Equal(e.Body, sent) || e.BodyHash != inbox.Hash(sent) || e.Provider != idwise.Provider ||
					e.JourneyID != "j-1" || e.Processable != tt.wantProcess {
					t.Errorf("stored event = %+v, want the raw bytes, their hash, provider and journey, processable %v", e, tt.wantProcess)
				}
				if e.ReceivedAt.Before(before) || !e.ExpiresAt.Equal(e.ReceivedAt.Add(30*24*time.Hour)) {
					t.Errorf("stored receivedAt %v, expiresAt %v; want now and 30 days later", e.ReceivedAt, e.ExpiresAt)
				}
				if tt.wantProcess && (e.ReferenceNo != "r-1" || e.Attributes["systemDecision"] != "Complete") {
					t.Errorf("stored event = %+v, want referenceNo r-1 and systemDecision Complete", e)
				}
				if out.EventID != "e-1" || (out.Processable != nil) == tt.wantProcess {
					t.Errorf("response = %s, want eventId e-1 and processable named only when false", resp.Body)
				}
			}
			if (quarantined == 1) != (tt.wantQuarantine != "") || quarantined > 1 {
				t.Fatalf("quarantined = %d, want a record: %v", quarantined, tt.wantQuarantine != "")
			}
			for _, q := range store.Quarantined {
				if q.Provider != idwise.Provider || !bytes.Equal(q.Body, []byte(tt.req.Body)) || q.BodyHash != inbox.Hash(q.Body) ||
					!strings.Contains(q.Reason, tt.wantQuarantine) || out.Error.Field != tt.wantQuarantine {
					t.Errorf("quarantined %+v (answer field %q), want the raw body, its hash and the field %q", q, out.Error.Field, tt.wantQuarantine)
				}
			}
		})
	}
}
