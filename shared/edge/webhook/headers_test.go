package webhook

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/inbox/inboxtest"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

type veriffSource struct{}

func (veriffSource) Credentials(context.Context) (veriff.Credentials, error) {
	return veriff.Credentials{APIKey: "key", SharedSecret: "shh"}, nil
}

// TestHandleHeaderNamesInAnyCase: the authenticators read lower-case names only; the edge
// lower-cases them once (apigw.LowerHeaders), so a caller that does not (a proxy, the local
// adapter, a test) is authenticated the same, and a forged value under another case of the
// same name does not beat the lower-case one.
func TestHandleHeaderNamesInAnyCase(t *testing.T) {
	va, err := veriff.NewAuthenticator(veriffSource{}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	store := inboxtest.NewMemStore()
	idw, _ := newTestHandler(t, store)
	vh := New(veriff.Provider, va, inbox.New(store, &countRecorder{}, time.Hour), idwise.ParseEvent, &countRecorder{})
	sig := veriff.Sign("shh", []byte(goodBody))
	withHeaders := func(h map[string]string) events.APIGatewayV2HTTPRequest {
		r := request(goodBody)
		r.Headers = h
		return r
	}
	tests := []struct {
		name       string
		h          *Handler
		req        events.APIGatewayV2HTTPRequest
		wantStatus int
	}{
		{"idwise, canonical case", idw, withHeaders(map[string]string{"Authorization": "Bearer tok", "Content-Type": "application/json"}), http.StatusOK},
		{"idwise, upper case", idw, withHeaders(map[string]string{"AUTHORIZATION": "Bearer tok"}), http.StatusOK},
		{"idwise, wrong token in canonical case", idw, withHeaders(map[string]string{"Authorization": "Bearer nope"}), http.StatusUnauthorized},
		{"idwise, forged other case loses to lower case", idw, withHeaders(map[string]string{"Authorization": "Bearer tok", "authorization": "Bearer nope"}), http.StatusUnauthorized},
		{"idwise, content type in any case is checked", idw, withHeaders(map[string]string{"authorization": "Bearer tok", "Content-Type": "text/plain"}), http.StatusUnsupportedMediaType},
		{"veriff, canonical case", vh, withHeaders(map[string]string{"X-Auth-Client": "key", "X-HMAC-Signature": sig}), http.StatusOK},
		{"veriff, vrf- upper case", vh, withHeaders(map[string]string{"VRF-AUTH-CLIENT": "key", "VRF-HMAC-SIGNATURE": sig}), http.StatusOK},
		{"veriff, forged signature", vh, withHeaders(map[string]string{"X-Auth-Client": "key", "X-HMAC-Signature": veriff.Sign("attacker", []byte(goodBody))}), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.h.Handle(context.Background(), tt.req)
			if err != nil || resp.StatusCode != tt.wantStatus {
				t.Errorf("Handle(%v) = %d %s, %v, want %d", tt.req.Headers, resp.StatusCode, resp.Body, err, tt.wantStatus)
			}
		})
	}
}
