package metrics

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestEMFLinesAreValid(t *testing.T) {
	var buf bytes.Buffer
	m := New(&buf, "webhook")
	m.Count(context.Background(), "AuthFailures", map[string]string{"provider": "idwise", "reason": "bad_credentials"})
	m.Put(context.Background(), "EventAge", 1234, "Milliseconds", nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines = %d, want 2", len(lines))
	}
	for i, want := range []string{"AuthFailures", "EventAge"} {
		names, err := Validate([]byte(lines[i]))
		if err != nil || len(names) != 1 || names[0] != want {
			t.Errorf("Validate(line %d) = %v, %v; want [%s]", i, names, err, want)
		}
	}
	if !strings.Contains(lines[0], `"Dimensions":[["service"],["service","provider","reason"]]`) {
		t.Errorf("line %s lacks the service-only dimension set alarms use", lines[0])
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct{ name, line string }{
		{"not json", `x`},
		{"no _aws", `{"A":1}`},
		{"no timestamp", `{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A","Unit":"Count"}]}]},"A":1}`},
		{"metric missing", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A","Unit":"Count"}]}]}}`},
		{"metric not a number", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A","Unit":"Count"}]}]},"A":"1"}`},
		{"dimension missing", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["d"]],"Metrics":[{"Name":"A","Unit":"Count"}]}]},"A":1}`},
		{"bad unit", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A","Unit":"Parsecs"}]}]},"A":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Validate([]byte(tt.line)); err == nil {
				t.Errorf("Validate(%s) = nil, want an error", tt.line)
			}
		})
	}
}
