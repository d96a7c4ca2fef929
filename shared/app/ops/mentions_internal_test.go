package ops

import "testing"

// TestMentions: erasure finds a quarantined body naming the reference however the sender
// escaped it, and only the exact reference.
func TestMentions(t *testing.T) {
	ref := `cust/001,A.b+x@y\z&<é>`
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"as Go writes it (HTML escaped)", `{"body":{"referenceNo":"cust/001,A.b+x@y\\z\u0026\u003cé\u003e"}}`, true},
		{"unescaped", `{"body":{"referenceNo":"cust/001,A.b+x@y\\z&<é>"}}`, true},
		{"slash escaped, non-ASCII as \\u", `{"vendorData":"cust\/001,A.b+x@y\\z&<\u00e9>"}`, true},
		{"not JSON to its end", `{"vendorData":"cust/001,A.b+x@y\\z&<é>", oops`, true},
		{"another reference sharing a prefix", `{"referenceNo":"cust/001,A.b+x@y\\z&<é>2"}`, false},
		{"only a part", `{"referenceNo":"cust/001"}`, false},
		{"nothing", `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mentions([]byte(tt.body), ref); got != tt.want {
				t.Errorf("mentions(%s) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}
