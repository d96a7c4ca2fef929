// Package ops is what operators do by hand, behind the kycctl command: list the events that
// need a person (failed, stuck, quarantined) and say why, replay events through the
// processor, re-fetch a journey from the vendor, show a profile's status history and a
// journey's timeline, and erase a profile. Everything that changes state goes through the
// processor (processor.Service.Process), so the tool can never do what the product would not.
package ops

import (
	"context"
	"errors"
	"time"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// Table is the table as the tool reads and changes it (dynamo.Operator).
type Table interface {
	Profile(ctx context.Context, referenceNo string) (kyc.Profile, bool, error)
	Erased(ctx context.Context, referenceNo string) (bool, error)
	Journey(ctx context.Context, provider, journeyID string) (processor.Journey, bool, error)
	Step(ctx context.Context, journeyID, stepID string) (idwise.StepMarker, bool, error)
	// PutOperatorEvent records an event the tool triggered (pending) if its id is new;
	// inbox.ErrDuplicate, and nothing written, if it is not.
	PutOperatorEvent(ctx context.Context, e inbox.Event) error
	// StoredEvent reads one inbox event with its state (strongly consistent).
	StoredEvent(ctx context.Context, provider, eventID string) (opstore.Event, bool, error)
	// ResetToPending puts a failed event back to pending; processor.ErrConflict if it is
	// no longer failed.
	ResetToPending(ctx context.Context, provider, eventID string) error
	// JourneyTimeline is every event of a journey (vendor and operator) the processor has
	// marked (processed, skipped, unprocessable, failed), oldest first: an event joins the
	// journey index when it is marked; one still pending or awaiting its claim is listed
	// by Unprocessed.
	JourneyTimeline(ctx context.Context, provider, journeyID string) ([]opstore.Event, error)
	// Unprocessed lists up to limit events of queue q received in [from, to], oldest first
	// (limit 0 or less: all). Entries the index still holds for events that have left the
	// queue are dropped after a strongly consistent read, so a page can hold fewer than
	// limit while more wait.
	Unprocessed(ctx context.Context, q opstore.Queue, from, to time.Time, limit int) ([]opstore.Event, error)
	// Unsent lists up to limit unpublished status events recorded in [from, to], oldest first.
	Unsent(ctx context.Context, from, to time.Time, limit int) ([]opstore.StatusRecord, error)
	// StatusHistory lists a profile's status events (its outbox records).
	StatusHistory(ctx context.Context, referenceNo string) ([]opstore.StatusRecord, error)
	// ScanQuarantine calls f with each quarantine record (with its body if withBody)
	// until f returns false: a full Scan.
	ScanQuarantine(ctx context.Context, withBody bool, f func(opstore.Quarantined) bool) error
	Erasure
	Claims
}

// Erasure is what an erasure reads and deletes, item by item (dynamo.Operator).
type Erasure interface {
	// Tombstone writes the profile's tombstone (at) unless there is one; the tombstone's time.
	Tombstone(ctx context.Context, referenceNo string, at time.Time) (time.Time, error)
	// ProfileItems lists the items of the profile's partition (profile, status events,
	// devices, rate limits, tombstone), with the journey each names.
	ProfileItems(ctx context.Context, referenceNo string) ([]opstore.Item, error)
	// NamingItems lists the events, journeys, claims and device token entries whose
	// referenceNo is referenceNo (a strongly consistent full Scan). A token entry is found
	// here even when its device item is gone (a device removal that failed between its
	// two deletes), so that an erasure leaves none behind.
	NamingItems(ctx context.Context, referenceNo string) ([]opstore.Item, error)
	// JourneyItem and ClaimItem read a journey's details and its claim: the referenceNo each names.
	JourneyItem(ctx context.Context, provider, journeyID string) (opstore.Item, bool, error)
	ClaimItem(ctx context.Context, provider, journeyID string) (opstore.Item, bool, error)
	// JourneyItems lists the keys of a journey's own items: events (those marked by the
	// processor, see JourneyTimeline; a pending one is found by NamingItems when it names
	// the profile, and expires with its TTL), custom-step markers, claim and details.
	JourneyItems(ctx context.Context, provider, journeyID string) ([]opstore.ItemKey, error)
	// PushMarkers lists the keys of a status event's push markers.
	PushMarkers(ctx context.Context, statusEventID string) ([]opstore.ItemKey, error)
	Exists(ctx context.Context, k opstore.ItemKey) (bool, error)
	// Delete deletes an item and reports whether it was there.
	Delete(ctx context.Context, k opstore.ItemKey) (bool, error)
	Devices(ctx context.Context, referenceNo string) ([]devices.Device, error)
	// DeleteDevice deletes a device and its token index entry; a missing device is not an
	// error.
	DeleteDevice(ctx context.Context, referenceNo, deviceID string) error
}

// Processor processes one inbox event (processor.Service).
type Processor interface {
	Process(ctx context.Context, e inbox.Event) error
}

// PersonalData deletes a journey's personal data at the vendor (idwise.Client).
type PersonalData interface {
	DeletePersonalData(ctx context.Context, journeyID string) error
}

// JourneyFetcher reads a journey result from the vendor (idwise.Client): erasure asks it
// whose journey it is when the table does not say.
type JourneyFetcher interface {
	Journey(ctx context.Context, journeyID string) (idwise.Journey, error)
}

// ReferenceImages deletes a profile's reference face images (s3images.Remover).
type ReferenceImages interface {
	DeleteReferenceImages(ctx context.Context, referenceNo string, journeyIDs []string) (int, error)
}

// VeriffDecisions fetches a Veriff session's decision (veriffapi.Client): the raw answer,
// in the decision webhook's shape.
type VeriffDecisions interface {
	Decision(ctx context.Context, sessionID string) ([]byte, error)
}

// VeriffProductDecisions also fetches with another product's integration (a
// proof-of-address session is signed with the PoA integration's key and secret).
type VeriffProductDecisions interface {
	DecisionOf(ctx context.Context, product veriff.Product, sessionID string) ([]byte, error)
}

// Endpoints deletes SNS mobile push endpoints (sns.Sender of shared/aws/sns).
type Endpoints interface {
	DeleteEndpoint(ctx context.Context, endpointARN string) error
}

// Config is what the tool works with. Only Store is always needed.
type Config struct {
	Store     Table
	Processor Processor       // replay and refetch
	IDWise    PersonalData    // erase with VendorDelete
	Journeys  JourneyFetcher  // erase: whose journey it is, when the table does not say
	Images    ReferenceImages // erase -reference-image
	Veriff    VeriffDecisions // refetch of Veriff sessions
	Endpoints Endpoints       // erase: the push endpoints of the profile's devices
	Retention time.Duration   // TTL of the events the tool records (refetch); default 30 days
	// CustomStepID is the IDWise custom journey step (complete-step); empty when none.
	CustomStepID string
}

// Ops runs the operator commands.
type Ops struct {
	tbl       Table
	proc      Processor
	idwise    PersonalData
	journeys  JourneyFetcher
	images    ReferenceImages
	veriff    VeriffDecisions
	endpoints Endpoints
	retention time.Duration
	stepID    string
	now       func() time.Time
}

// ErrNotFound is returned when the event, journey or profile named is not in the table.
var ErrNotFound = errors.New("not found")

// ErrNotConfigured is returned by a command that needs a dependency the tool was not
// given (the processor for replay and refetch, the IDWise API for a vendor deletion).
var ErrNotConfigured = errors.New("not configured")

// New returns the tool.
func New(c Config) *Ops {
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	return &Ops{tbl: c.Store,
		proc: c.Processor, idwise: c.IDWise, journeys: c.Journeys, images: c.Images, veriff: c.Veriff, endpoints: c.Endpoints, retention: c.Retention, stepID: c.CustomStepID, now: time.Now}
}
