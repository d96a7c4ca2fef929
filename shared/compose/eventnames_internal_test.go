package compose

import "testing"

func TestEventCatalogs(t *testing.T) {
	tests := []struct {
		provider, name string
		want           bool
	}{
		{"idwise", "Finished Journey", true},
		{"idwise", "Finished Journey\n", false},
		{"idwise", "Something New", false},
		{"veriff", "9001 approved", true},
		{"veriff", "7002 submitted", true},
		{"veriff", "7008 flow_cancelled", true},
		{"veriff", "9001", true},
		{"veriff", "9001 approved_by_me_0001", false}, // a label of the sender's choice
		{"veriff", "9999 approved", false},
		{"veriff", "x approved", false},
	}
	for _, tt := range tests {
		if got := eventCatalogs[tt.provider](tt.name); got != tt.want {
			t.Errorf("eventCatalogs[%s](%q) = %v, want %v", tt.provider, tt.name, got, tt.want)
		}
	}
}
