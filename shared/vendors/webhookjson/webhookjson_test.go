package webhookjson

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestID(t *testing.T) {
	tests := []struct {
		name, raw, want, reason string
		missing                 bool
	}{
		{name: "missing", missing: true, reason: "is required"},
		{name: "null", raw: `null`, reason: "is required"},
		{name: "string", raw: `" e-1 "`, want: "e-1"},
		{name: "number kept as written", raw: `12345`, want: "12345"},
		{name: "object", raw: `{}`, reason: "must be a string"},
		{name: "empty", raw: `"  "`, reason: "must not be empty"},
		{name: "control character", raw: `"a\u0000b"`, reason: "must not contain control characters"},
		{name: "too long", raw: `"` + strings.Repeat("x", MaxIDLength+1) + `"`, reason: "must be at most 256 characters"},
		{name: "long number", raw: strings.Repeat("9", MaxIDLength+1), reason: "must be at most 256 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw *json.RawMessage
			if !tt.missing {
				r := json.RawMessage(tt.raw)
				raw = &r
			}
			got, reason := ID(raw)
			if got != tt.want || reason != tt.reason {
				t.Errorf("ID(%s) = %q, %q; want %q, %q", tt.raw, got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestLooseAndStrict(t *testing.T) {
	var v struct {
		A Loose    `json:"a"`
		B Loose    `json:"b"`
		C LooseInt `json:"c"`
		D LooseInt `json:"d"`
	}
	if err := Strict([]byte(`{"a":" x ","b":{"odd":1},"c":"7","d":[1]}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "x" || v.B != "" || v.C != 7 || v.D != 0 {
		t.Errorf("decoded %+v, want a=x, b empty, c=7, d=0", v)
	}
	if err := Strict([]byte(`{"a":1} {}`), &v); err == nil {
		t.Errorf("Strict() accepted trailing data")
	}
	if err := Strict([]byte(`{"a":1}}`), &v); err == nil {
		t.Errorf("Strict() accepted a trailing brace")
	}
}
