package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// make run refuses what the deployed functions refuse at start (issue 20 item 3): the
// template's environment goes through the same shared/compose checks, so a guard that is
// not an allow-list cannot be tried locally either.
func TestRunRefusesGuardsThatAreNotAllowLists(t *testing.T) {
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("emulators not running: use `make test`")
	}
	tests := []struct {
		name     string
		auth     string
		cidrs    string
		params   map[string]string
		wantText string
	}{
		{"none with the halves of IPv4", "none", "0.0.0.0/1,128.0.0.0/1", nil, "IDWISE_ALLOWED_CIDRS"},
		{"none with an IPv4 /16", "none", "198.51.0.0/16", nil, "IDWISE_ALLOWED_CIDRS"},
		{"nickname as the referenceNo", "bearer", "", map[string]string{"ReferenceNoClaim": "nickname"}, "REFERENCE_NO_CLAIM"},
		{"custom claim not declared immutable", "bearer", "", map[string]string{"ReferenceNoClaim": "custom:ref"}, "REFERENCE_NO_CLAIM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings{Port: "0", SimPort: "0", VeriffSimPort: "0", Template: "../../../template.yaml", AuthMode: tt.auth, Secret: "run-guard-secret",
				Username: "idwise", Header: "X-IDWise-Token", AllowedCIDRs: tt.cidrs, APIKey: "k", APISecret: "s", SweepInterval: time.Hour, Params: tt.params}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			err := run(ctx, s, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("run() = %v, want it refused naming %s", err, tt.wantText)
			}
		})
	}
}
