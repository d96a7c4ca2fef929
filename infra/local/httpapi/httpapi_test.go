package httpapi

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestServer(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	echo := func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got = req
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: map[string]string{"content-type": "application/json"}, Body: `{"ok":true}`}, nil
	}
	failing := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, io.ErrUnexpectedEOF
	}
	srv := httptest.NewServer(New([]Route{
		{Method: "POST", Path: "/webhooks/idwise", Handler: echo},
		{Method: "GET", Path: "/v1/profiles/{referenceNo}", Handler: echo},
		{Method: "POST", Path: "/boom", Handler: failing},
	}))
	defer srv.Close()

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		ctype      string
		wantStatus int
		wantBody   string
		check      func(t *testing.T)
	}{
		{name: "route and body", method: "POST", path: "/webhooks/idwise", body: `{"a":1}`, ctype: "application/json", wantStatus: 201, check: func(t *testing.T) {
			if got.RouteKey != "POST /webhooks/idwise" || got.Body != `{"a":1}` || got.IsBase64Encoded {
				t.Errorf("event = %q %q base64=%v, want route key and raw body", got.RouteKey, got.Body, got.IsBase64Encoded)
			}
			if got.Headers["content-type"] != "application/json" || got.Headers["x-custom"] != "v" {
				t.Errorf("headers = %v, want lower-cased names", got.Headers)
			}
			if got.RequestContext.HTTP.SourceIP != "127.0.0.1" || got.RequestContext.HTTP.Method != "POST" {
				t.Errorf("request context = %+v, want source ip 127.0.0.1 and POST", got.RequestContext.HTTP)
			}
		}},
		{name: "path parameter", method: "GET", path: "/v1/profiles/ref-42", wantStatus: 201, check: func(t *testing.T) {
			if got.PathParameters["referenceNo"] != "ref-42" {
				t.Errorf("path parameters = %v, want referenceNo=ref-42", got.PathParameters)
			}
		}},
		// API Gateway's HTTP API decodes path parameters; an encoded slash stays in its one
		// segment for routing (https://github.com/hotsock/voker/pull/8).
		{name: "encoded slash decoded in the parameter", method: "GET", path: "/v1/profiles/cust%2F001,A.b+x@y%5Cz%20q", wantStatus: 201, check: func(t *testing.T) {
			if want := `cust/001,A.b+x@y\z q`; got.PathParameters["referenceNo"] != want {
				t.Errorf("referenceNo = %q, want %q", got.PathParameters["referenceNo"], want)
			}
			if got.RouteKey != "GET /v1/profiles/{referenceNo}" || got.RawPath != `/v1/profiles/cust/001,A.b+x@y\z q` {
				t.Errorf("route key %q raw path %q, want the profile route and the decoded path", got.RouteKey, got.RawPath)
			}
		}},
		{name: "encoded non-ASCII decoded", method: "GET", path: "/v1/profiles/%D8%B9%D9%85%D9%8A%D9%84", wantStatus: 201, check: func(t *testing.T) {
			if got.PathParameters["referenceNo"] != "عميل" {
				t.Errorf("referenceNo = %q, want عميل", got.PathParameters["referenceNo"])
			}
		}},
		{name: "unencoded slash is another path", method: "GET", path: "/v1/profiles/cust/001", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "binary body is base64", method: "POST", path: "/webhooks/idwise", body: "\xff\xfe", ctype: "application/octet-stream", wantStatus: 201, check: func(t *testing.T) {
			if !got.IsBase64Encoded || got.Body != base64.StdEncoding.EncodeToString([]byte("\xff\xfe")) {
				t.Errorf("body = %q base64=%v, want base64 of the bytes", got.Body, got.IsBase64Encoded)
			}
		}},
		// API Gateway HTTP API: no route, whatever the reason, is 404 {"message":"Not Found"}.
		{name: "unknown path", method: "POST", path: "/nope", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "wrong method", method: "GET", path: "/webhooks/idwise", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "undeclared method", method: "PATCH", path: "/v1/profiles/ref-42", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "handler error is a 500", method: "POST", path: "/boom", wantStatus: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			req.Header.Set("X-Custom", "v")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type = %q, want application/json", ct)
			}
			if tt.wantBody != "" {
				if b, _ := io.ReadAll(resp.Body); string(b) != tt.wantBody {
					t.Errorf("body = %s, want %s", b, tt.wantBody)
				}
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}
