package streams

import (
	"errors"
	"testing"
)

func TestFilterMatch(t *testing.T) {
	raw, err := lambdaJSON(streamRecord(), testStreamARN, "us-east-1")
	if err != nil {
		t.Fatalf("lambdaJSON: %v", err)
	}
	doc, err := decodeJSON(raw)
	if err != nil {
		t.Fatalf("decodeJSON: %v", err)
	}
	tests := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"event name", `{"eventName": ["INSERT"]}`, true},
		{"event name other", `{"eventName": ["MODIFY", "REMOVE"]}`, false},
		{"or within a list", `{"eventName": ["MODIFY", "INSERT"]}`, true},
		{"nested string", `{"dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}}`, true},
		{"nested string other", `{"dynamodb": {"NewImage": {"kind": {"S": ["journey"]}}}}`, false},
		{"and across fields", `{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}}`, true},
		{"and across fields, one fails", `{"eventName": ["REMOVE"], "dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}}`, false},
		{"exact number", `{"dynamodb": {"SizeBytes": [321]}}`, true},
		{"exact number written differently", `{"dynamodb": {"SizeBytes": [321.0]}}`, true},
		{"number does not equal its string", `{"dynamodb": {"SizeBytes": ["321"]}}`, false},
		{"N value as string", `{"dynamodb": {"NewImage": {"attempts": {"N": ["3"]}}}}`, true},
		{"boolean", `{"dynamodb": {"NewImage": {"ok": {"BOOL": [true]}}}}`, true},
		{"boolean other", `{"dynamodb": {"NewImage": {"ok": {"BOOL": [false]}}}}`, false},
		{"null attribute flag", `{"dynamodb": {"NewImage": {"none": {"NULL": [true]}}}}`, true},
		{"null value", `{"dynamodb": {"NewImage": {"kind": {"S": [null]}}}}`, false},
		{"set element", `{"dynamodb": {"NewImage": {"tags": {"SS": ["b"]}}}}`, true},
		{"list element", `{"dynamodb": {"NewImage": {"list": {"L": {"S": ["x"]}}}}}`, true},
		{"map member", `{"dynamodb": {"NewImage": {"body": {"M": {"journeyId": {"S": ["j-1"]}}}}}}`, true},
		{"empty string", `{"dynamodb": {"NewImage": {"kind": {"S": [""]}}}}`, false},
		{"missing field", `{"dynamodb": {"NewImage": {"missing": {"S": ["event"]}}}}`, false},
		{"object is not a leaf", `{"dynamodb": {"NewImage": ["event"]}}`, false},
		{"the template's filter", `{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":["event"]}}}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := CompileFilter(tt.pattern)
			if err != nil {
				t.Fatalf("CompileFilter(%s): %v", tt.pattern, err)
			}
			if got := f.Match(doc); got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.pattern, got, tt.want)
			}
		})
	}
}

func TestFiltersAreOred(t *testing.T) {
	raw, err := lambdaJSON(streamRecord(), testStreamARN, "us-east-1")
	if err != nil {
		t.Fatalf("lambdaJSON: %v", err)
	}
	doc, err := decodeJSON(raw)
	if err != nil {
		t.Fatalf("decodeJSON: %v", err)
	}
	tests := []struct {
		name     string
		patterns []string
		want     bool
	}{
		{"no filters: everything", nil, true},
		{"one of two", []string{`{"eventName": ["REMOVE"]}`, `{"eventName": ["INSERT"]}`}, true},
		{"none of two", []string{`{"eventName": ["REMOVE"]}`, `{"eventName": ["MODIFY"]}`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := compileFilters(tt.patterns)
			if err != nil {
				t.Fatalf("compileFilters: %v", err)
			}
			if got := fs.match(doc); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompileFilterErrors(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
	}{
		{"not json", `{eventName: INSERT}`},
		{"not an object", `["INSERT"]`},
		{"empty object", `{}`},
		{"leaf not an array", `{"eventName": "INSERT"}`},
		{"empty array", `{"eventName": []}`},
		{"value is a list", `{"eventName": [["INSERT"]]}`},
		// Operators of the full language are refused, not matched differently than in AWS.
		{"prefix", `{"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "EVENT#"}]}}}}`},
		{"anything-but", `{"eventName": [{"anything-but": ["REMOVE"]}]}`},
		{"exists", `{"dynamodb": {"NewImage": {"kind": {"S": [{"exists": true}]}}}}`},
		{"numeric", `{"dynamodb": {"SizeBytes": [{"numeric": [">", 300]}]}}`},
		{"unknown operator", `{"eventName": [{"wildcard": "I*"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := CompileFilter(tt.pattern); !errors.Is(err, ErrFilterPattern) {
				t.Errorf("CompileFilter(%s) error = %v, want %v", tt.pattern, err, ErrFilterPattern)
			}
		})
	}
}
