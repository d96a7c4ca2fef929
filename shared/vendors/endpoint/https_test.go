package endpoint

import (
	"strings"
	"testing"
)

func TestCheckHTTPS(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"https://api.idwise.com/", true},
		{"https://api-uae.idwise.com", true},
		{"HTTPS://stationapi.veriff.com/v1", true},
		{"http://127.0.0.1:4010/", true}, // the local stack's simulator
		{"http://127.9.9.9/", true},
		{"http://[::1]:8080/", true},
		{"http://localhost:4010", true},
		{"http://host.docker.internal:3001/", true}, // sam local invoke (infra/local/sam-env.json)
		{"http://api.idwise.com/", false},           // credentials in clear text
		{"http://10.0.0.5/", false},
		{"http://localhost.attacker.example/", false},
		{"http://127.0.0.1.nip.io/", false},
		{"ftp://api.idwise.com/", false},
		{"api.idwise.com", false},
		{"", false},
		{"https://user:pass@api.idwise.com/", false},
	}
	for _, tt := range tests {
		err := CheckHTTPS("IDWISE_API_BASE_URL", tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("CheckHTTPS(%q) = %v, want ok %v", tt.in, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "IDWISE_API_BASE_URL") {
			t.Errorf("CheckHTTPS(%q) = %q, want it to name the setting", tt.in, err)
		}
		if err != nil && strings.Contains(err.Error(), "pass") {
			t.Errorf("CheckHTTPS(%q) = %q, want no userinfo echoed", tt.in, err)
		}
	}
}
