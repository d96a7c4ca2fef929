package compose_test

import (
	"strings"
	"testing"

	"github.com/kycbackend/kyc/shared/compose"
)

// The IDWise API key and secret travel in every API call: a base URL that would send them
// in clear text is refused at start (issue 13, item 6); loopback stays allowed for the
// local stack's simulator.
func TestLoadProcessingConfigRefusesPlainHTTP(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "t", "STATUS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
		"IDWISE_API_SECRET_ARN": "arn", "IDWISE_REGION": "eu"}
	tests := []struct {
		url string
		ok  bool
	}{
		{"", true}, // by region: https://api.idwise.com/
		{"https://proxy.example.com/idwise/", true},
		{"http://127.0.0.1:3001/", true},
		{"http://api.idwise.com/", false},
		{"http://proxy.example.com/", false},
		{"ftp://api.idwise.com/", false},
	}
	for _, tt := range tests {
		_, err := compose.LoadProcessingConfig(getenv(with(base, "IDWISE_API_BASE_URL", tt.url)))
		if (err == nil) != tt.ok {
			t.Errorf("LoadProcessingConfig(IDWISE_API_BASE_URL=%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "IDWISE_API_BASE_URL") {
			t.Errorf("LoadProcessingConfig(IDWISE_API_BASE_URL=%q) = %v, want it to name the setting", tt.url, err)
		}
	}
}
