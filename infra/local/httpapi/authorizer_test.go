package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/infra/local/jwt"
)

// TestAuthorizer: a route with a JWT authorizer answers 401 as API Gateway does for a
// missing, invalid or expired token or the wrong issuer or audience, and never calls the
// function; a valid token reaches it with the claims in the request context. Routes
// without an authorizer (webhooks) are untouched.
func TestAuthorizer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	v := &jwt.Verifier{Key: &key.PublicKey, Issuer: "https://issuer.local", Audience: []string{"kyc-app"}}
	var calls int
	var got events.APIGatewayV2HTTPRequest
	fn := func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		calls++
		got = req
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}"}, nil
	}
	srv := httptest.NewServer(New([]Route{
		{Method: "GET", Path: "/v1/profiles/{referenceNo}", Handler: fn, Authorizer: v.Authorize},
		{Method: "POST", Path: "/webhooks/idwise", Handler: fn},
	}))
	defer srv.Close()

	token := func(k *rsa.PrivateKey, iss, aud string, exp time.Time) string {
		s, err := jwt.Sign(k, "local", map[string]any{"iss": iss, "aud": aud, "sub": "customer-0001", "exp": exp.Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	later, earlier := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
	tests := []struct {
		name       string
		method     string
		path       string
		auth       string
		wantStatus int
		wantBody   string
		wantCalled bool
	}{
		{"valid token", "GET", "/v1/profiles/customer-0001", token(key, "https://issuer.local", "kyc-app", later), 200, "{}", true},
		{"no token", "GET", "/v1/profiles/customer-0001", "", 401, `{"message":"Unauthorized"}`, false},
		{"not a jwt", "GET", "/v1/profiles/customer-0001", "Bearer local-webhook-secret", 401, `{"message":"Unauthorized"}`, false},
		{"expired", "GET", "/v1/profiles/customer-0001", token(key, "https://issuer.local", "kyc-app", earlier), 401, `{"message":"Unauthorized"}`, false},
		{"wrong audience", "GET", "/v1/profiles/customer-0001", token(key, "https://issuer.local", "other-app", later), 401, `{"message":"Unauthorized"}`, false},
		{"wrong issuer", "GET", "/v1/profiles/customer-0001", token(key, "https://evil.example", "kyc-app", later), 401, `{"message":"Unauthorized"}`, false},
		{"signed by another key", "GET", "/v1/profiles/customer-0001", token(other, "https://issuer.local", "kyc-app", later), 401, `{"message":"Unauthorized"}`, false},
		{"route without authorizer", "POST", "/webhooks/idwise", "", 200, "{}", true},
		{"unknown route is 404 before auth", "GET", "/v1/nope", "", 404, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, got = 0, events.APIGatewayV2HTTPRequest{}
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || (tt.wantBody != "" && string(body) != tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if (calls == 1) != tt.wantCalled {
				t.Errorf("function called %d times, want called=%v", calls, tt.wantCalled)
			}
			if tt.name == "valid token" {
				a := got.RequestContext.Authorizer
				if a == nil || a.JWT == nil || a.JWT.Claims["sub"] != "customer-0001" || a.JWT.Claims["aud"] != "kyc-app" {
					t.Errorf("requestContext.authorizer = %+v, want the token's claims", a)
				}
			}
			if tt.name == "route without authorizer" && got.RequestContext.Authorizer != nil {
				t.Errorf("requestContext.authorizer = %+v on an unauthenticated route, want nil", got.RequestContext.Authorizer)
			}
		})
	}
}
