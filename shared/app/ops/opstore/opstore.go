// Package opstore holds the records the operator tool's ports return (ops.Table): the
// table seen through the questions an operator asks, with no DynamoDB type. It is its own
// package so that the adapter (shared/aws/dynamo) can return them without importing ops.
package opstore

import (
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Queue is a partition of the unprocessed backlog.
type Queue string

// Queues of inbox events that are not done.
const (
	Failed   Queue = "failed"   // failed permanently
	Pending  Queue = "pending"  // not processed yet
	Awaiting Queue = "awaiting" // waiting for their journey's claim
)

// Event is an inbox event as stored, with where it stands.
type Event struct {
	Key      ItemKey
	Event    inbox.Event // what the item says (fields it lacks are empty)
	State    string      // processed, skipped, failed, pending, ...
	Note     string      // the processor's note
	Operator bool        // recorded by kycctl (refetch, complete-step)
	// Err says the item does not decode as a whole event (Event then holds the fields it
	// has): it can be shown, not processed.
	Err error
}

// StatusRecord is one status event of a profile (an outbox record).
type StatusRecord struct {
	Event      kyc.StatusEvent
	RecordedAt time.Time
	SentAt     *time.Time // nil: not published yet
}

// Quarantined is a quarantine record: why its body was not understood, the body itself
// only when asked for.
type Quarantined struct {
	Key        ItemKey
	Provider   string
	Reason     string
	BodyHash   string
	ReceivedAt time.Time
	Body       []byte
}

// ItemKey names one item of the table. Kind is what the item is, as an erasure counts
// it: events, journeys, statusEvents, profile, devices, quarantined, claims, customSteps,
// pushMarkers, rateLimits, tombstone or other.
type ItemKey struct {
	PK, SK string
	Kind   string
}

// Kinds of item the erasure tells apart (ItemKey.Kind).
const (
	KindProfile      = "profile"
	KindStatusEvents = "statusEvents"
	KindDevices      = "devices"
	KindTombstone    = "tombstone"
	// KindDeviceTokens: a device's token index entry (it names the profile). Erasure counts
	// one only when its device item was already gone; otherwise it goes with its device.
	KindDeviceTokens = "deviceTokens"
)

// Item is an item with who and what it names.
type Item struct {
	Key         ItemKey
	Provider    string // its journey's provider ("" if it names none)
	JourneyID   string
	ReferenceNo string
	// StatusEventID is the id of a status event's item (Kind KindStatusEvents).
	StatusEventID string
	// DeviceID and EndpointARN are the device and SNS push endpoint of a token index
	// entry (Kind KindDeviceTokens).
	DeviceID    string
	EndpointARN string
}
