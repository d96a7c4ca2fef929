// Package kyc is the vendor-neutral core: profile verification statuses, the status
// change a journey causes, and the status event published for it (design section 3).
package kyc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"time"
)

// Status is a profile's verification status.
type Status string

// The statuses of the public contract.
const (
	PendingVerification  Status = "PENDING_VERIFICATION"
	InReview             Status = "IN_REVIEW"
	Approved             Status = "APPROVED"
	Rejected             Status = "REJECTED"
	ResubmissionRequired Status = "RESUBMISSION_REQUIRED"
	Incomplete           Status = "INCOMPLETE"
	Abandoned            Status = "ABANDONED"
)

// Statuses lists every status, in the contract's order.
var Statuses = []Status{PendingVerification, InReview, Approved, Rejected, ResubmissionRequired, Incomplete, Abandoned}

// Valid reports whether s is a contract status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Decided reports whether s is a vendor decision (or a review under way) that a late
// "submission received" must never undo.
func (s Status) Decided() bool {
	switch s {
	case InReview, Approved, Rejected, ResubmissionRequired:
		return true
	}
	return false
}

// ErrPermanent marks failures that retrying cannot fix (the vendor says the journey does
// not exist, or our credentials are refused). The event is marked failed for an operator.
var ErrPermanent = errors.New("permanent failure")

// Profile is a customer's profile as the product keeps it.
type Profile struct {
	ReferenceNo string
	Status      Status
	JourneyID   string
	Provider    string
	Reasons     []string
	UpdatedAt   time.Time
	Version     int64 // monotonic: the version of the snapshot the status came from
	// RenewalDueBy is set while a KYC renewal is due (the user stays APPROVED until then);
	// zero otherwise.
	RenewalDueBy time.Time
}

// Change is a status a journey snapshot leads to. It is applied only when Version is
// newer than the profile's, so an older snapshot never overwrites a newer one.
type Change struct {
	ReferenceNo string
	JourneyID   string
	Provider    string
	Status      Status
	Reasons     []string
	Version     int64
	OccurredAt  time.Time
	// RenewalDueBy, when set, records a KYC renewal due by then (the status event is then a
	// RenewalDueType); a change without it clears the profile's.
	RenewalDueBy time.Time
}

// Same reports whether applying c to p would change what the user sees.
func (c Change) Same(p Profile) bool {
	return p.Status == c.Status && p.JourneyID == c.JourneyID && slices.Equal(p.Reasons, c.Reasons) &&
		p.RenewalDueBy.Equal(c.RenewalDueBy)
}

// Version orders snapshots: the time the snapshot was fetched (vendor state only moves
// forward), with a tie-break from the event id so two fetches in one microsecond differ.
func Version(fetchedAt time.Time, eventID string) int64 {
	h := sha256.Sum256([]byte(eventID))
	return fetchedAt.UnixMicro()*1000 + int64(uint16(h[0])<<8|uint16(h[1]))%1000
}

// EventType is the type of the status event (version 1 of the contract).
const EventType = "profile.status_changed"

// RenewalDueType is the type of the event published when a KYC renewal becomes due while
// the user stays approved: the status event's envelope and attributes, plus renewalDueBy.
const RenewalDueType = "profile.renewal_due"

// StatusEvent is the message published on the status topic, one per status change.
type StatusEvent struct {
	Type           string   `json:"type"`
	Version        int      `json:"version"`
	ID             string   `json:"id"`
	Provider       string   `json:"provider"`
	ReferenceNo    string   `json:"referenceNo"`
	JourneyID      string   `json:"journeyId"`
	PreviousStatus Status   `json:"previousStatus"`
	Status         Status   `json:"status"`
	Reasons        []string `json:"reasons"`
	OccurredAt     string   `json:"occurredAt"`
	RenewalDueBy   string   `json:"renewalDueBy,omitempty"` // RFC 3339; RenewalDueType only
}

// NewStatusEvent builds the event for c applied over previous. Its id is derived from
// (journey, status, status version): a re-publish after a crash carries the same id.
func NewStatusEvent(c Change, previous Status) StatusEvent {
	reasons := c.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	ev := StatusEvent{
		Type: EventType, Version: 1, ID: EventID(c),
		Provider: c.Provider, ReferenceNo: c.ReferenceNo, JourneyID: c.JourneyID,
		PreviousStatus: previous, Status: c.Status, Reasons: reasons,
		OccurredAt: c.OccurredAt.UTC().Format(time.RFC3339),
	}
	if !c.RenewalDueBy.IsZero() {
		ev.Type, ev.RenewalDueBy = RenewalDueType, c.RenewalDueBy.UTC().Format(time.RFC3339)
	}
	return ev
}

// EventID is the deterministic id of the status event for c: from (journey, status,
// status version), and the due date for a renewal-due event.
func EventID(c Change) string {
	s := c.Provider + "\x00" + c.JourneyID + "\x00" + string(c.Status) + "\x00" + strconv.FormatInt(c.Version, 10)
	if !c.RenewalDueBy.IsZero() {
		s += "\x00" + RenewalDueType + "\x00" + c.RenewalDueBy.UTC().Format(time.RFC3339)
	}
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// Attributes are the SNS message attributes subscribers filter on.
func (e StatusEvent) Attributes() map[string]string {
	return map[string]string{"type": e.Type, "status": string(e.Status), "provider": e.Provider}
}
