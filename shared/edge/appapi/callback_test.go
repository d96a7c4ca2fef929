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

// Issue 20 item 3: a session callback is accepted only for a host of VeriffCallbackHosts,
// exactly (an open redirect through Veriff's domain otherwise). The attacker's tries:
// lookalike hosts, a suffix or prefix, userinfo, another port, http, a trailing dot, IDN
// (raw and punycode), an IP, a backslash, case games.
func TestCallbackHostAllowList(t *testing.T) {
	hosts, err := ParseCallbackHosts("app.example.com, pay.example.com:8443")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"https://app.example.com/kyc/done", true},
		{"https://APP.Example.com/kyc/done", true}, // host names are case-insensitive
		{"https://app.example.com", true},
		{"https://pay.example.com:8443/done", true},
		{"https://pay.example.com/done", false},        // the listed port only
		{"https://app.example.com:8443/done", false},   // a port not listed
		{"https://app.example.com:443/done", false},    // even the default one, spelled out
		{"https://evil-app.example.com/", false},       // prefix
		{"https://app.example.com.evil.net/", false},   // suffix
		{"https://evilapp.example.com/", false},        // lookalike
		{"https://example.com/", false},                // parent domain
		{"https://sub.app.example.com/", false},        // subdomain
		{"https://app.example.com./", false},           // trailing dot
		{"https://app.example.com@evil.net/", false},   // userinfo: the host is evil.net
		{"https://evil.net@app.example.com/", false},   // userinfo refused outright
		{"https://evil.net\\@app.example.com/", false}, // backslash
		{"https://evil.net/https://app.example.com", false},
		{"https://evil.net/?next=app.example.com", false},
		{"http://app.example.com/done", false},     // not https
		{"https://аpp.example.com/", false},        // Cyrillic а (IDN homograph)
		{"https://xn--pp-8cd.example.com/", false}, // its punycode
		{"https://93.184.216.34/", false},          // an IP address
		{"//app.example.com/done", false},          // scheme-relative
		{"javascript://app.example.com/%0aalert(1)", false},
	}
	for _, tt := range tests {
		got := validCallback(tt.in) && allowedCallbackHost(tt.in, hosts)
		if got != tt.want {
			t.Errorf("callback %q allowed = %v, want %v", tt.in, got, tt.want)
		}
	}
	// No hosts configured (the default): every callback is refused.
	if validCallback("https://app.example.com/") && allowedCallbackHost("https://app.example.com/", nil) {
		t.Error("callback allowed with no VeriffCallbackHosts, want refused")
	}
}

// VERIFF_CALLBACK_HOSTS takes plain host names only: a URL, a wildcard or a path would be
// read as something it is not, and is refused at start, naming the entry.
func TestParseCallbackHosts(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{" app.example.com ,pay.example.com:8443", []string{"app.example.com", "pay.example.com:8443"}, true},
		{"https://app.example.com", nil, false},
		{"*.example.com", nil, false},
		{"app.example.com/done", nil, false},
		{"App.Example.com", nil, false},
		{"app.example.com.", nil, false},
		{"-app.example.com", nil, false},
		{"user@app.example.com", nil, false},
	}
	for _, tt := range tests {
		got, err := ParseCallbackHosts(tt.in)
		if (err == nil) != tt.ok || (tt.ok && strings.Join(got, ",") != strings.Join(tt.want, ",")) {
			t.Errorf("ParseCallbackHosts(%q) = %v, %v; want %v ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
