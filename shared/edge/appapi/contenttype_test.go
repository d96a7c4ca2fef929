package appapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/kycbackend/kyc/shared/edge/appapi"
)

// TestContentType: the app API applies apigw.JSONContentType, the rule of the webhooks,
// to a header found by apigw.Header in any case.
func TestContentType(t *testing.T) {
	tests := []struct {
		name       string
		headers    map[string]string
		wantStatus int
	}{
		{"json", map[string]string{"content-type": "application/json"}, http.StatusOK},
		{"json with charset", map[string]string{"content-type": "application/json; charset=utf-8"}, http.StatusOK},
		{"no content type", map[string]string{}, http.StatusOK},
		{"canonical header name", map[string]string{"Content-Type": "application/json"}, http.StatusOK},
		{"text", map[string]string{"content-type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"text under a canonical header name", map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"a longer type that starts like json", map[string]string{"content-type": "application/jsonp"}, http.StatusUnsupportedMediaType},
		{"form", map[string]string{"content-type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := handler(newFakes(), false)
			req := request(appapi.RoutePostJourney, "alice", journey("alice", "j-"+tt.name[:2]))
			req.Headers = tt.headers
			resp, err := h.Handle(context.Background(), req)
			if err != nil || resp.StatusCode != tt.wantStatus {
				t.Errorf("POST /v1/journeys with %v = %d %s, %v; want %d", tt.headers, resp.StatusCode, resp.Body, err, tt.wantStatus)
			}
		})
	}
}
