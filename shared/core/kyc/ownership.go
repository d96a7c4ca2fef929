package kyc

import (
	"errors"
	"fmt"
	"time"
)

// Ownership is how the product decides whose profile a vendor outcome lands on
// (design section 3, "Journey ownership").
type Ownership string

const (
	// OwnershipClaimed applies an outcome only to a user who claimed the journey through
	// the app API (or for whom the backend created the vendor session), and only when that
	// user is also the vendor's reference. The default.
	OwnershipClaimed Ownership = "claimed"
	// OwnershipVendor trusts the vendor's reference alone.
	OwnershipVendor Ownership = "vendor"
)

// ParseOwnership reads a JOURNEY_OWNERSHIP value; empty is the default, claimed.
func ParseOwnership(s string) (Ownership, error) {
	switch Ownership(s) {
	case "", OwnershipClaimed:
		return OwnershipClaimed, nil
	case OwnershipVendor:
		return OwnershipVendor, nil
	}
	return "", fmt.Errorf("journey ownership must be %q or %q, got %q", OwnershipClaimed, OwnershipVendor, s)
}

// ClaimSource says how a claim was made.
type ClaimSource string

const (
	// ClaimByApp: the app reported the journey id its SDK gave it (POST /v1/journeys).
	ClaimByApp ClaimSource = "app"
	// ClaimBySession: the backend created the vendor session for the user (POST
	// /v1/veriff/sessions) and told the vendor who it is for.
	ClaimBySession ClaimSource = "session"
)

// ClaimByOperator: an operator reassigned the journey (kycctl claims reassign).
const ClaimByOperator ClaimSource = "operator"

// ClaimState says what the vendor said of a claim.
type ClaimState string

const (
	// ClaimUnverified: no outcome of the journey has been seen yet ("").
	ClaimUnverified ClaimState = ""
	// ClaimConfirmed: an outcome showed the claimer is the vendor's reference.
	ClaimConfirmed ClaimState = "confirmed"
	// ClaimRejected: an outcome showed the claimer is not the vendor's reference; the
	// vendor's reference (VendorReferenceNo) may claim the journey in its place.
	ClaimRejected ClaimState = "rejected"
)

// Claim records that a user owns a journey. The first claim of a journey wins, unless the
// vendor says otherwise: a claim the vendor contradicted (ClaimRejected) gives way to the
// vendor's reference (design, "Journey ownership").
type Claim struct {
	Provider    string
	JourneyID   string
	ReferenceNo string
	Source      ClaimSource
	ClaimedAt   time.Time
	State       ClaimState
	// VendorReferenceNo is the vendor's reference of a rejected claim's journey.
	VendorReferenceNo string
}

// ErrClaimed is returned when a journey is already claimed by another user.
var ErrClaimed = errors.New("journey claimed by another user")

// ErrReferenceMismatch marks an event whose body names another user than the vendor API
// says the journey belongs to (a forged or confused webhook). It is permanent.
var ErrReferenceMismatch = fmt.Errorf("reference mismatch: %w", ErrPermanent)

// Verdict is what the ownership rule decides for an outcome.
type Verdict int

const (
	// Apply the outcome to the owner.
	Apply Verdict = iota
	// AwaitClaim: nobody claimed the journey yet; the outcome waits for the claim.
	AwaitClaim
	// Mismatch: the claimer is not the vendor's reference; nobody changes.
	Mismatch
)

func (v Verdict) String() string {
	switch v {
	case Apply:
		return "apply"
	case AwaitClaim:
		return "await claim"
	case Mismatch:
		return "claim mismatch"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Owner decides whose profile an outcome lands on, given the vendor's reference for the
// journey (IDWise: the Get Journey Result reference_number; Veriff: the reference field
// of the webhook) and the journey's claim, if any. The rule, in order:
//   - a session the backend created for a user (ClaimBySession) belongs to that user:
//     the backend itself told the vendor who it is for;
//   - in vendor mode, the vendor's reference decides;
//   - in claimed mode, the journey must be claimed (else the outcome waits) and the
//     claimer must be the vendor's reference (else nobody changes).
func Owner(mode Ownership, vendorRef string, claim *Claim) (string, Verdict) {
	if claim != nil && claim.Source == ClaimBySession {
		return claim.ReferenceNo, Apply
	}
	if mode == OwnershipVendor {
		return vendorRef, Apply
	}
	if claim == nil {
		return "", AwaitClaim
	}
	if claim.ReferenceNo != vendorRef {
		return "", Mismatch
	}
	return vendorRef, Apply
}
