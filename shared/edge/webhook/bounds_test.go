package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/inbox/inboxtest"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwiseauth"
	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// countingSource counts secret loads: a refused request must not cost one.
type countingSource struct{ calls atomic.Int32 }

func (s *countingSource) Credentials(context.Context) (idwiseauth.Credentials, error) {
	s.calls.Add(1)
	return idwiseauth.Credentials{Secret: "tok"}, nil
}

// spyAuth records whether authentication work started at all.
type spyAuth struct{ calls atomic.Int32 }

func (a *spyAuth) Check(context.Context, webhookauth.Request) error {
	a.calls.Add(1)
	return webhookauth.ErrUnauthenticated
}

// The attacker sends a huge (or non-JSON) anonymous body: it is refused before any
// secret is fetched or any HMAC computed (issue 13, item 3).
func TestRefusedBeforeAuthentication(t *testing.T) {
	huge := `{"event":"x","pad":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	tests := []struct {
		name       string
		req        events.APIGatewayV2HTTPRequest
		wantStatus int
	}{
		{"oversize anonymous body", request(huge, header("authorization", "")), 413},
		{"oversize body with a wrong token", request(huge, header("authorization", "Bearer nope")), 413},
		{"oversize body, base64", request(base64.StdEncoding.EncodeToString([]byte(huge)), func(r *events.APIGatewayV2HTTPRequest) { r.IsBase64Encoded = true }), 413},
		{"oversize base64 body that does not decode", request(strings.Repeat("!", 2*MaxBodyBytes), func(r *events.APIGatewayV2HTTPRequest) { r.IsBase64Encoded = true }), 413},
		{"wrong content type, anonymous", request(goodBody, header("authorization", ""), header("content-type", "text/plain")), 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &countingSource{}
			auth, err := idwiseauth.New(idwiseauth.Config{Mode: idwiseauth.ModeBearer}, src)
			if err != nil {
				t.Fatal(err)
			}
			store := inboxtest.NewMemStore()
			h := New(idwise.Provider, auth, inbox.New(store, nil, time.Hour), idwise.ParseEvent, nil)
			resp, _ := h.Handle(context.Background(), tt.req)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d (%s), want %d", resp.StatusCode, resp.Body, tt.wantStatus)
			}
			if n := src.calls.Load(); n != 0 {
				t.Errorf("secret source called %d times, want 0 (refused before authentication)", n)
			}
			if store.Calls != 0 {
				t.Errorf("store calls = %d, want 0", store.Calls)
			}
			// The same request through a spy: the authenticator is never even asked.
			spy := &spyAuth{}
			_, _ = New(idwise.Provider, spy, inbox.New(store, nil, time.Hour), idwise.ParseEvent, nil).Handle(context.Background(), tt.req)
			if n := spy.calls.Load(); n != 0 {
				t.Errorf("authenticator called %d times, want 0", n)
			}
		})
	}
}

// An authenticated vendor body whose ids break the app API's rules: 400 naming the field,
// and the body kept in quarantine (issue 13, item 4).
func TestVendorIDsValidated(t *testing.T) {
	body := func(eventID, journeyID, ref string) string {
		b, _ := json.Marshal(map[string]any{"event": "Finished Journey", "body": map[string]string{
			"eventId": eventID, "journeyId": journeyID, "referenceNo": ref, "systemDecision": "Complete"}})
		return string(b)
	}
	tests := []struct {
		name      string
		body      string
		wantField string // "" = accepted
	}{
		{"valid ids", body("e-1", "j-1", "user:42@x.com"), ""},
		{"3 KB referenceNo", body("e-1", "j-1", strings.Repeat("r", 3000)), "referenceNo"},
		{"1000-character referenceNo (Veriff's vendorData bound)", body("e-1", "j-1", strings.Repeat("r", 1000)), ""},
		{"1001-character referenceNo", body("e-1", "j-1", strings.Repeat("r", 1001)), "referenceNo"},
		{"referenceNo as IDWise allows it", body("e-1", "j-1", `cust/001,A.b+x@y\z`), ""},
		{"referenceNo with a key separator and a space", body("e-1", "j-1", "user 42#PROFILE"), ""},
		{"referenceNo with a NUL", body("e-1", "j-1", "r\x00x"), "referenceNo"},
		{"referenceNo with a newline", body("e-1", "j-1", "r\nINFO forged log line"), "referenceNo"},
		{"journeyId with a key separator", body("e-1", "j#PROFILE", "r-1"), "journeyId"},
		{"journeyId too long", body("e-1", strings.Repeat("j", 257), "r-1"), "journeyId"},
		{"eventId with a slash", body("e/1", "j-1", "r-1"), "eventId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := inboxtest.NewMemStore()
			h, _ := newTestHandler(t, store)
			resp, _ := h.Handle(context.Background(), request(tt.body))
			events, quarantined := store.Count()
			if tt.wantField == "" {
				if resp.StatusCode != 200 || events != 1 {
					t.Fatalf("status = %d, events = %d, want 200 and 1 (%s)", resp.StatusCode, events, resp.Body)
				}
				return
			}
			var out struct{ Error struct{ Code, Field string } }
			_ = json.Unmarshal([]byte(resp.Body), &out)
			// The vendor parser may name the body path ("body.journeyId"): either names the field.
			if resp.StatusCode != 400 || !strings.HasSuffix(out.Error.Field, tt.wantField) {
				t.Errorf("status, field = %d, %q, want 400, %q (%s)", resp.StatusCode, out.Error.Field, tt.wantField, resp.Body)
			}
			if events != 0 || quarantined != 1 {
				t.Errorf("stored %d events and %d quarantined, want 0 and 1", events, quarantined)
			}
		})
	}
}

// frozenStore is a table that never answers: every write blocks until its context ends.
type frozenStore struct{ puts, quarantines atomic.Int32 }

func (f *frozenStore) Put(ctx context.Context, _ inbox.Event) error {
	f.puts.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

func (f *frozenStore) Quarantine(ctx context.Context, _ inbox.Quarantined) error {
	f.quarantines.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// A frozen table: the webhook gives up its one write before the invocation's deadline and
// answers 503 with Retry-After, having done nothing else (issue 13, item 12).
func TestFrozenStoreAnswers503BeforeDeadline(t *testing.T) {
	tests := []struct {
		name            string
		body            string
		wantPuts        int32
		wantQuarantines int32
	}{
		{"event write", goodBody, 1, 0},
		{"quarantine write", `{"event":"Finished Journey","body":{}}`, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &frozenStore{}
			rec := &countRecorder{}
			auth, _ := idwiseauth.New(idwiseauth.Config{Mode: idwiseauth.ModeBearer}, staticSource{})
			h := New(idwise.Provider, auth, inbox.New(store, rec, time.Hour), idwise.ParseEvent, rec).
				WithDeadlineMargin(50 * time.Millisecond)
			// The invocation's deadline (Lambda's Timeout); the handler must answer before it.
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			resp, err := h.Handle(ctx, request(tt.body))
			if err != nil {
				t.Fatalf("Handle() error = %v, want a response", err)
			}
			if ctx.Err() != nil {
				t.Errorf("answered after the invocation's deadline, want within it")
			}
			if resp.StatusCode != 503 {
				t.Fatalf("status = %d (%s), want 503", resp.StatusCode, resp.Body)
			}
			if got := resp.Headers["retry-after"]; got == "" {
				t.Errorf("retry-after header missing, want it set")
			}
			if p, q := store.puts.Load(), store.quarantines.Load(); p != tt.wantPuts || q != tt.wantQuarantines {
				t.Errorf("puts, quarantines = %d, %d, want %d, %d", p, q, tt.wantPuts, tt.wantQuarantines)
			}
			for name := range rec.counts {
				if name != "WriteTimeouts" {
					t.Errorf("counted %s, want only WriteTimeouts", name)
				}
			}
		})
	}
}
