package apigw

import (
	"reflect"
	"testing"
)

func TestHeader(t *testing.T) {
	tests := []struct {
		name string
		h    map[string]string
		want string
	}{
		{"lower case, as API Gateway sends it", map[string]string{"content-type": "application/json"}, "application/json"},
		{"any case, from other callers", map[string]string{"Content-Type": "text/plain"}, "text/plain"},
		{"upper case", map[string]string{"CONTENT-TYPE": "text/xml"}, "text/xml"},
		{"the lower-case key wins over another case", map[string]string{"Content-Type": "text/plain", "content-type": "application/json"}, "application/json"},
		{"absent", map[string]string{"content-length": "2"}, ""},
		{"nil map", nil, ""},
	}
	for _, tt := range tests {
		if got := Header(tt.h, "content-type"); got != tt.want {
			t.Errorf("Header(%v, %q) = %q, want %q", tt.h, "content-type", got, tt.want)
		}
	}
}

func TestLowerHeaders(t *testing.T) {
	tests := []struct {
		name string
		h    map[string]string
		want map[string]string
	}{
		{"already lower case", map[string]string{"x-auth-client": "k"}, map[string]string{"x-auth-client": "k"}},
		{"mixed case", map[string]string{"X-Auth-Client": "k", "X-HMAC-Signature": "s"}, map[string]string{"x-auth-client": "k", "x-hmac-signature": "s"}},
		{"the lower-case key wins", map[string]string{"X-Auth-Client": "forged", "x-auth-client": "k"}, map[string]string{"x-auth-client": "k"}},
		{"empty", map[string]string{}, map[string]string{}},
	}
	for _, tt := range tests {
		if got := LowerHeaders(tt.h); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("LowerHeaders(%v) = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestLowerHeadersLeavesTheRequestAlone(t *testing.T) {
	h := map[string]string{"Authorization": "Bearer x"}
	LowerHeaders(h)
	if len(h) != 1 || h["Authorization"] != "Bearer x" {
		t.Errorf("LowerHeaders changed its argument: %v", h)
	}
}

// TestJSONContentType: the one content-type rule of the webhook and app API routes.
func TestJSONContentType(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON", true},
		{" application/json ", true},
		{"application/problem+json", true},
		{"", true}, // tolerated: the body must still parse as JSON
		{"text/plain", false},
		{"text/json", false},
		{"application/x-www-form-urlencoded", false},
		{"application/jsonx", false},
		{"multipart/form-data; boundary=x", false},
		{"application/json; charset", false}, // unparseable parameters
		{"text/plain+json", false},
	}
	for _, tt := range tests {
		if got := JSONContentType(tt.in); got != tt.want {
			t.Errorf("JSONContentType(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
