package appapi

import (
	"strings"
	"testing"
)

// TestValidCallback: the callback rule is openapi.yaml's pattern (schemathesis holds the
// two together in make test); url.Parse alone took hosts that are no host names.
func TestValidCallback(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"https://app.example.com/kyc/done", true},
		{"https://app.example.com:8443/done?x=1&y=%2F#top", true},
		{"https://10.0.0.1", true},
		{"http://app.example.com/done", false},
		{"https://user@app.example.com/", false},
		{"https://qbYE0Pxif*", false},
		{"https://app.example.com/a b", false},
		{"https://app.example.com/%zz", false},
		{"https://app.example.com/é", false},
		{"https://", false},
		{"https://a/" + strings.Repeat("x", 1024), false},
	}
	for _, tt := range tests {
		if got := validCallback(tt.in); got != tt.want {
			t.Errorf("validCallback(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
