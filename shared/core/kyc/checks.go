package kyc

import "time"

// CheckProofOfAddress names the proof-of-address check (Veriff's proof-of-address
// integration): GET /v1/profiles shows it as checks.proofOfAddress.
const CheckProofOfAddress = "proofOfAddress"

// Check is the outcome of a check other than the identity decision. It lives beside the
// profile's status, never in it: a declined proof of address leaves an APPROVED profile
// APPROVED. Decision is the vendor's decision value (approved, declined,
// resubmission_requested, expired, abandoned, review); ids and times only.
type Check struct {
	ReferenceNo string
	Name        string // CheckProofOfAddress
	Decision    string
	SessionID   string
	DecidedAt   time.Time
	// Version orders the writes of one check (kyc.Version of its decision time): an older
	// decision never replaces a newer one.
	Version int64
}
