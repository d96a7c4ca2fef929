package kyc_test

import (
	"testing"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// The ownership rule as one table (issue 12): claimed / unclaimed / mismatch, both modes,
// both vendors. IDWise journeys are claimed by the app only (its SDK starts them);
// Veriff sessions may also be created by the backend (ClaimBySession).
func TestOwner(t *testing.T) {
	app := func(ref string) *kyc.Claim { return &kyc.Claim{ReferenceNo: ref, Source: kyc.ClaimByApp} }
	session := func(ref string) *kyc.Claim { return &kyc.Claim{ReferenceNo: ref, Source: kyc.ClaimBySession} }
	operator := func(ref string) *kyc.Claim { return &kyc.Claim{ReferenceNo: ref, Source: kyc.ClaimByOperator} }
	tests := []struct {
		name      string
		vendor    string // which vendor the row plays (documentation of the row)
		mode      kyc.Ownership
		vendorRef string
		claim     *kyc.Claim
		wantOwner string
		want      kyc.Verdict
	}{
		{"idwise claimed by the vendor's reference", "idwise", kyc.OwnershipClaimed, "alice", app("alice"), "alice", kyc.Apply},
		{"idwise unclaimed waits", "idwise", kyc.OwnershipClaimed, "alice", nil, "", kyc.AwaitClaim},
		{"idwise claimer is not the vendor's reference", "idwise", kyc.OwnershipClaimed, "victim", app("attacker"), "", kyc.Mismatch},
		{"idwise vendor mode, claimed", "idwise", kyc.OwnershipVendor, "alice", app("alice"), "alice", kyc.Apply},
		{"idwise vendor mode, unclaimed", "idwise", kyc.OwnershipVendor, "alice", nil, "alice", kyc.Apply},
		{"idwise vendor mode trusts the vendor over a claimer", "idwise", kyc.OwnershipVendor, "alice", app("mallory"), "alice", kyc.Apply},
		{"veriff app claim by the vendorData user", "veriff", kyc.OwnershipClaimed, "bob", app("bob"), "bob", kyc.Apply},
		{"veriff unclaimed waits", "veriff", kyc.OwnershipClaimed, "bob", nil, "", kyc.AwaitClaim},
		{"veriff app claimer is not vendorData", "veriff", kyc.OwnershipClaimed, "victim", app("attacker"), "", kyc.Mismatch},
		{"veriff session created for the user", "veriff", kyc.OwnershipClaimed, "bob", session("bob"), "bob", kyc.Apply},
		{"veriff session owner decides over vendorData", "veriff", kyc.OwnershipClaimed, "someone-else", session("bob"), "bob", kyc.Apply},
		{"veriff session owner decides in vendor mode", "veriff", kyc.OwnershipVendor, "someone-else", session("bob"), "bob", kyc.Apply},
		{"veriff vendor mode, unclaimed", "veriff", kyc.OwnershipVendor, "bob", nil, "bob", kyc.Apply},
		{"veriff vendor mode, app claim by another", "veriff", kyc.OwnershipVendor, "bob", app("mallory"), "bob", kyc.Apply},
		// Issue 20: an operator's reassignment (kycctl claims) never overrules the vendor.
		{"operator claim for the vendor's reference", "idwise", kyc.OwnershipClaimed, "alice", operator("alice"), "alice", kyc.Apply},
		{"operator claim for someone else", "idwise", kyc.OwnershipClaimed, "alice", operator("mallory"), "", kyc.Mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owner, v := kyc.Owner(tt.mode, tt.vendorRef, tt.claim)
			if owner != tt.wantOwner || v != tt.want {
				t.Errorf("Owner(%s, %q, %+v) = %q, %v, want %q, %v", tt.mode, tt.vendorRef, tt.claim, owner, v, tt.wantOwner, tt.want)
			}
		})
	}
}

func TestParseOwnership(t *testing.T) {
	tests := []struct {
		in      string
		want    kyc.Ownership
		wantErr bool
	}{
		{"", kyc.OwnershipClaimed, false},
		{"claimed", kyc.OwnershipClaimed, false},
		{"vendor", kyc.OwnershipVendor, false},
		{"Claimed", "", true},
		{"none", "", true},
	}
	for _, tt := range tests {
		got, err := kyc.ParseOwnership(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseOwnership(%q) = %q, %v, want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
