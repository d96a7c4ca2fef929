package compose_test

import (
	"strings"
	"testing"
	"time"

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

func TestLoadProcessingConfigJourneyRetention(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "t", "STATUS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
		"IDWISE_API_SECRET_ARN": "arn", "IDWISE_REGION": "eu"}
	tests := []struct {
		v       string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"365", 365 * 24 * time.Hour, false},
		{"-1", 0, true},
		{"a year", 0, true},
	}
	for _, tt := range tests {
		c, err := compose.LoadProcessingConfig(getenv(with(base, "JOURNEY_DETAIL_RETENTION_DAYS", tt.v)))
		if (err != nil) != tt.wantErr || (err == nil && c.JourneyRetention != tt.want) {
			t.Errorf("LoadProcessingConfig(JOURNEY_DETAIL_RETENTION_DAYS=%q) = %v, %v, want %v (error %v)", tt.v, c.JourneyRetention, err, tt.want, tt.wantErr)
		}
	}
}
