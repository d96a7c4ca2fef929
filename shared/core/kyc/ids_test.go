package kyc

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"uuid", "3f1c2b7e-0c1d-4e55-9a8b-6f0e2d1c3b4a", true},
		{"every allowed symbol", "a.b_c-d:e@f|g+h=i", true},
		{"at the limit", strings.Repeat("a", MaxIDLength), true},
		{"empty", "", false},
		{"one past the limit", strings.Repeat("a", MaxIDLength+1), false},
		{"NUL", "abc\x00def", false},
		{"newline", "abc\ndef", false},
		{"slash", "abc/def", false},
		{"space", "abc def", false},
		{"hash (key separator)", "PROFILE#x", false},
		{"non-ASCII letter", "abcé", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckID("referenceNo", tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckID(%q) = %v, want ok %v", tt.in, err, tt.ok)
			}
			if err == nil {
				return
			}
			var ie *FieldError
			if !errors.As(err, &ie) || ie.FieldName() != "referenceNo" {
				t.Errorf("CheckID(%q) = %#v, want an *FieldError naming referenceNo", tt.in, err)
			}
			if strings.Contains(err.Error(), tt.in) && tt.in != "" {
				t.Errorf("CheckID(%q) error %q repeats the value", tt.in, err)
			}
		})
	}
}
