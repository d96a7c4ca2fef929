package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/inbox/inboxtest"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwiseauth"
)

type staticSource struct{}

func (staticSource) Credentials(context.Context) (idwiseauth.Credentials, error) {
	return idwiseauth.Credentials{Secret: "tok"}, nil
}

type countRecorder struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *countRecorder) Count(_ context.Context, name string, _ map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[name]++
}

func newTestHandler(t *testing.T, store *inboxtest.MemStore, cidrs ...string) (*Handler, *countRecorder) {
	t.Helper()
	auth, err := idwiseauth.New(idwiseauth.Config{Mode: idwiseauth.ModeBearer, AllowedCIDRs: cidrs}, staticSource{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &countRecorder{}
	return New(idwise.Provider, auth, inbox.New(store, rec, 30*24*time.Hour), idwise.ParseEvent, rec), rec
}

const goodBody = `{"event":"Finished Journey","body":{"eventId":"e-1","journeyId":"j-1","referenceNo":"r-1","systemDecision":"Complete"}}`

func request(body string, mutate ...func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /webhooks/idwise",
		Headers:  map[string]string{"authorization": "Bearer tok", "content-type": "application/json"},
		Body:     body,
	}
	r.RequestContext.HTTP.Method = http.MethodPost
	r.RequestContext.HTTP.SourceIP = "203.0.113.7"
	for _, m := range mutate {
		m(&r)
	}
	return r
}

func header(k, v string) func(*events.APIGatewayV2HTTPRequest) {
	return func(r *events.APIGatewayV2HTTPRequest) {
		if v == "" {
			delete(r.Headers, k)
			return
		}
		r.Headers[k] = v
	}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name            string
		req             events.APIGatewayV2HTTPRequest
		cidrs           []string
		wantStatus      int
		wantCode        string // error code, or the "status" field of a 200
		wantField       string
		wantEvents      int
		wantQuarantined int
	}{
		{name: "accepted", req: request(goodBody), wantStatus: 200, wantCode: "accepted", wantEvents: 1},
		{name: "base64 body", req: request(base64.StdEncoding.EncodeToString([]byte(goodBody)), func(r *events.APIGatewayV2HTTPRequest) { r.IsBase64Encoded = true }), wantStatus: 200, wantCode: "accepted", wantEvents: 1},
		{name: "json with charset", req: request(goodBody, header("content-type", "application/json; charset=utf-8")), wantStatus: 200, wantCode: "accepted", wantEvents: 1},
		{name: "missing content type is tolerated", req: request(goodBody, header("content-type", "")), wantStatus: 200, wantCode: "accepted", wantEvents: 1},
		{name: "unknown event accepted, not processable", req: request(`{"event":"Something New","body":{"eventId":"e-2","journeyId":"j-1"}}`), wantStatus: 200, wantCode: "accepted", wantEvents: 1},
		{name: "no credentials", req: request(goodBody, header("authorization", "")), wantStatus: 401, wantCode: "unauthorized"},
		{name: "wrong credentials", req: request(goodBody, header("authorization", "Bearer nope")), wantStatus: 401, wantCode: "unauthorized"},
		{name: "wrong source ip", req: request(goodBody), cidrs: []string{"10.0.0.0/8"}, wantStatus: 403, wantCode: "forbidden"},
		{name: "unauthenticated malformed body is not quarantined", req: request(`{`, header("authorization", "")), wantStatus: 401, wantCode: "unauthorized"},
		{name: "too large", req: request(`{"event":"x","pad":"` + strings.Repeat("a", MaxBodyBytes) + `"}`), wantStatus: 413, wantCode: "too_large"},
		{name: "wrong content type", req: request(goodBody, header("content-type", "text/plain")), wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "form content type", req: request(goodBody, header("content-type", "application/x-www-form-urlencoded")), wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "wrong method", req: request(goodBody, func(r *events.APIGatewayV2HTTPRequest) { r.RequestContext.HTTP.Method = "GET" }), wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "invalid json is quarantined", req: request(`{"event":`), wantStatus: 400, wantCode: "invalid_field", wantField: "(root)", wantQuarantined: 1},
		{name: "missing event", req: request(`{"body":{"eventId":"e","journeyId":"j"}}`), wantStatus: 400, wantCode: "invalid_field", wantField: "event", wantQuarantined: 1},
		{name: "eventId of the wrong type", req: request(`{"event":"Finished Journey","body":{"eventId":{},"journeyId":"j"}}`), wantStatus: 400, wantCode: "invalid_field", wantField: "body.eventId", wantQuarantined: 1},
		{name: "missing journeyId", req: request(`{"event":"Finished Journey","body":{"eventId":"e"}}`), wantStatus: 400, wantCode: "invalid_field", wantField: "body.journeyId", wantQuarantined: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := inboxtest.NewMemStore()
			h, _ := newTestHandler(t, store, tt.cidrs...)
			resp, err := h.Handle(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Handle() error = %v, want nil (errors are responses)", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			var body struct {
				Status string `json:"status"`
				Error  struct {
					Code, Message, Field string
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", resp.Body, err)
			}
			if got := body.Status + body.Error.Code; got != tt.wantCode {
				t.Errorf("status/code = %q, want %q", got, tt.wantCode)
			}
			if body.Error.Field != tt.wantField {
				t.Errorf("error field = %q, want %q", body.Error.Field, tt.wantField)
			}
			if resp.Headers["content-type"] != "application/json" {
				t.Errorf("content-type = %q, want application/json", resp.Headers["content-type"])
			}
			if ev, q := store.Count(); ev != tt.wantEvents || q != tt.wantQuarantined {
				t.Errorf("stored %d events and %d quarantined, want %d and %d", ev, q, tt.wantEvents, tt.wantQuarantined)
			}
		})
	}
}

func TestHandleDuplicateAndConflict(t *testing.T) {
	store := inboxtest.NewMemStore()
	h, rec := newTestHandler(t, store)
	ctx := context.Background()
	statusOf := func(body string) string {
		t.Helper()
		resp, _ := h.Handle(ctx, request(body))
		if resp.StatusCode != 200 {
			t.Fatalf("status = %d, want 200", resp.StatusCode)
		}
		var out struct{ Status, EventID string }
		_ = json.Unmarshal([]byte(resp.Body), &out)
		if out.EventID != "e-1" {
			t.Errorf("eventId = %q, want e-1", out.EventID)
		}
		return out.Status
	}
	if got := statusOf(goodBody); got != "accepted" {
		t.Fatalf("first delivery = %q, want accepted", got)
	}
	if got := statusOf(goodBody); got != "duplicate" {
		t.Fatalf("retry = %q, want duplicate", got)
	}
	changed := strings.Replace(goodBody, "Complete", "Refer", 1)
	if got := statusOf(changed); got != "duplicate" {
		t.Fatalf("same id, other body = %q, want duplicate", got)
	}
	if got := func() string { e, _ := store.Event("idwise", "e-1"); return e.Attributes["systemDecision"] }(); got != "Complete" {
		t.Errorf("stored systemDecision = %q, want Complete (the first body is never overwritten)", got)
	}
	if rec.counts["ConflictingDuplicates"] != 1 || rec.counts["Duplicates"] != 2 {
		t.Errorf("counts = %v, want 1 ConflictingDuplicates and 2 Duplicates", rec.counts)
	}
	if store.Calls != 3 {
		t.Errorf("store calls = %d, want 3 (one per delivery)", store.Calls)
	}
}

func TestHandleQuarantineOncePerBody(t *testing.T) {
	store := inboxtest.NewMemStore()
	h, _ := newTestHandler(t, store)
	for i := 0; i < 3; i++ {
		resp, _ := h.Handle(context.Background(), request(`{"event":"Finished Journey","body":{}}`))
		if resp.StatusCode != 400 {
			t.Fatalf("status = %d, want 400", resp.StatusCode)
		}
	}
	if _, q := store.Count(); q != 1 {
		t.Errorf("quarantined = %d, want 1", q)
	}
}

func TestHandleStoreFailureIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"event write fails", goodBody},
		{"quarantine write fails", `{"event":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := inboxtest.NewMemStore()
			store.Fail = errors.New("ProvisionedThroughputExceededException: secret internal detail")
			h, _ := newTestHandler(t, store)
			resp, err := h.Handle(context.Background(), request(tt.body))
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			if resp.StatusCode != 500 {
				t.Errorf("status = %d, want 500 so the vendor retries", resp.StatusCode)
			}
			if strings.Contains(resp.Body, "secret internal detail") || strings.Contains(resp.Body, "Provisioned") {
				t.Errorf("body %q leaks internal error text", resp.Body)
			}
		})
	}
}

// BenchmarkHandle measures auth + parse + marshal of one delivery with an in-memory
// store that accepts everything (the DynamoDB round trip is measured in dynamo).
func BenchmarkHandle(b *testing.B) {
	auth, _ := idwiseauth.New(idwiseauth.Config{Mode: idwiseauth.ModeBearer}, staticSource{})
	h := New(idwise.Provider, auth, inbox.New(discardStore{}, nil, time.Hour), idwise.ParseEvent, nil)
	req := request(goodBody)
	ctx := context.Background()
	// Lambda writes JSON logs to stdout; measure the same encoding without the terminal.
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	b.Cleanup(func() { slog.SetDefault(prev) })
	b.ReportAllocs()
	for b.Loop() {
		resp, _ := h.Handle(ctx, req)
		if resp.StatusCode != 200 {
			b.Fatal(resp.Body)
		}
	}
}

type discardStore struct{}

func (discardStore) Put(context.Context, inbox.Event) error              { return nil }
func (discardStore) Quarantine(context.Context, inbox.Quarantined) error { return nil }
