package kyc

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"
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

// TestCheckReference: every character the vendors document for a reference is admitted,
// IDWise's reference_no "Alphanumeric and - _ / \ , . + @ allowed"
// (https://docs.idwise.com/docs/journey-builder-api, Start Journey) and Veriff's vendorData
// of up to 1,000 characters with no character set
// (https://devdocs.veriff.com/docs/quick-guide-of-idv-using-the-api, "vendorData parameter"); controls, edges and length are not.
func TestCheckReference(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"IDWise sample", "applicant-ref-001", true},
		{"every IDWise symbol", `a-b_c/d\e,f.g+h@i`, true},
		{"IDWise symbol alone /", "/", true},
		{"IDWise symbol alone \\", `\`, true},
		{"issue sample", `cust/001,A.b+x@y\z`, true},
		{"inner space", "user 42", true},
		{"key separator #", "PROFILE#x", true},
		{"old id symbols", "a.b_c-d:e@f|g+h=i", true},
		{"non-ASCII letters", "عميل-٤٢ é 顧客", true},
		{"emoji", "user🙂", true},
		{"JSON and HTML specials", `a"b'c<d>e&f%2F`, true},
		{"1000 ASCII", strings.Repeat("a", MaxReferenceLength), true},
		{"1000 runes of 3 bytes", strings.Repeat("顧", MaxReferenceLength), true},
		{"300 characters (over the old 256)", strings.Repeat("x", 300), true},
		{"empty", "", false},
		{"1001 runes", strings.Repeat("a", MaxReferenceLength+1), false},
		{"1001 runes of 2 bytes", strings.Repeat("é", MaxReferenceLength+1), false},
		{"leading space", " cust", false},
		{"trailing space", "cust ", false},
		{"only a space", " ", false},
		{"leading no-break space", "\u00a0cust", false},
		{"NUL", "abc\x00def", false},
		{"newline", "abc\ndef", false},
		{"tab", "abc\tdef", false},
		{"carriage return", "abc\rdef", false},
		{"DEL", "abc\x7fdef", false},
		{"C1 control", "abc\u0085def", false},
		{"bidi override", "abc\u202edef", false},
		{"zero-width space", "abc\u200bdef", false},
		{"line separator", "abc\u2028def", false},
		{"byte order mark", "\ufeffabc", false},
		{"private use (not a control)", "abc\ue000", true},
		{"inner ideographic space", "a\u3000b", true},
		{"invalid UTF-8", "abc\xffdef", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckReference("referenceNo", tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckReference(%q) = %v, want ok %v", tt.in, err, tt.ok)
			}
			if err == nil {
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.FieldName() != "referenceNo" {
				t.Errorf("CheckReference(%q) = %#v, want an *FieldError naming referenceNo", tt.in, err)
			}
			if strings.TrimSpace(tt.in) != "" && strings.Contains(err.Error(), tt.in) {
				t.Errorf("CheckReference(%q) error %q repeats the value", tt.in, err)
			}
		})
	}
}

// TestReferencePatternIsTheRule: openapi.yaml's pattern (ReferencePattern) and
// CheckReference agree on every code point, first, last and inside, and on the length,
// so that the contract tests generated from the schema see the rule the code applies.
func TestReferencePatternIsTheRule(t *testing.T) {
	re := regexp.MustCompile(regexp.MustCompile(`\\u([0-9a-f]{4})`).ReplaceAllString(ReferencePattern, `\x{$1}`))
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue // surrogates: not in a Go string
		}
		if r > 0xffff && r%251 != 0 && r != 0xe0001 && r != 0x10ffff {
			continue // sample the supplementary planes
		}
		c := string(r)
		for _, s := range []string{c, "a" + c + "b"} { // alone: first and last; then inside
			if got, want := CheckReference("referenceNo", s) == nil, re.MatchString(s); got != want {
				t.Fatalf("U+%04X in %q: CheckReference ok = %v, pattern matches = %v", r, s, got, want)
			}
		}
	}
	for _, n := range []int{1, 2, 999, 1000, 1001} {
		s := strings.Repeat("é", n)
		if got, want := CheckReference("referenceNo", s) == nil, re.MatchString(s); got != want {
			t.Errorf("%d runes: CheckReference ok = %v, pattern matches = %v", n, got, want)
		}
	}
}
