// Package opstest is the contract suite every ops.Table must pass (RunTableContract): the
// behaviour the operator tool (ops, kycctl) relies on when it lists, replays, shows and
// erases. The suite seeds the table through the product's own write paths (the inbox, the
// processor's stores, claims, devices, the push ledger, custom-step markers, rate
// limits), never by writing items, so that it states what the tool may rely on and not how
// the items are laid out.
//
// It runs on DynamoDB Local against dynamo.Operator (TestOperatorContract in
// shared/aws/dynamo). There is no in-memory ops.Table: ops's own tests run on the
// emulators (shared/compose/composetest). An in-memory fake, if one is ever added for
// ops's unit tests (a MemTable here, over processortest.MemStore, devicestest.MemStore
// and pushtest.MemLedger), must be run through this suite too, so that the suite that
// proves the DynamoDB table proves the fake.
package opstest

import (
	"context"
	"time"

	"github.com/kycbackend/kyc/shared/app/ops"
	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor/processortest"
	"github.com/kycbackend/kyc/shared/core/push"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// Harness is an ops.Table under test with the product's stores on the same table, which
// the suite writes through.
type Harness struct {
	Table ops.Table
	// Inbox accepts vendor events and quarantines bodies (the webhook's write).
	Inbox inbox.Store
	// Stores are the processor's: journeys, profiles with their status events (outbox),
	// where events ended (Mark) and Forget.
	Stores processortest.Stores
	// Claims records who claimed a journey (the app API's write).
	Claims Claims
	// Devices registers devices with their token index entries; TokenOwner reads an entry.
	Devices devices.Store
	// Push is the push ledger: one marker per (status event, device).
	Push push.Ledger
	// Steps are the IDWise custom-step markers.
	Steps idwise.Markers
	// Limits counts a user's requests (the app API's rate limits).
	Limits Limiter
}

// Claims records journey claims (dynamo.Store; the port is appapi.Claims).
type Claims interface {
	PutClaim(ctx context.Context, c kyc.Claim) (kyc.Claim, bool, error)
	// PutContender and RejectClaim: a second claimer, and a claim the vendor contradicted
	// (appapi.Claims, processor.ClaimReviews).
	PutContender(ctx context.Context, c kyc.Claim) error
	RejectClaim(ctx context.Context, c kyc.Claim, vendorRef string) error
}

// Limiter counts a user's requests in a fixed window (dynamo.Store; the port is
// appapi.Limiter).
type Limiter interface {
	Allow(ctx context.Context, referenceNo, action string, limit int, window time.Duration) (bool, time.Duration, error)
}

// NewEvent returns a processable vendor event of journey journeyID naming referenceNo
// ("" for none), received at at. It expires a day from now, whatever at is, so that a
// table with TTL does not drop it during the test.
func NewEvent(provider, eventID, journeyID, referenceNo string, at time.Time) inbox.Event {
	body := []byte(`{"eventId":"` + eventID + `","journeyId":"` + journeyID + `"}`)
	return inbox.Event{Provider: provider, EventID: eventID, Name: idwise.FinishedJourney, JourneyID: journeyID,
		ReferenceNo: referenceNo, Attributes: map[string]string{"finalDecision": "Complete"}, Processable: true,
		Body: body, BodyHash: inbox.Hash(body), ReceivedAt: at, ExpiresAt: time.Now().Add(24 * time.Hour)}
}

// NewDevice returns an APNs device of referenceNo for token, registered at at.
func NewDevice(referenceNo, token string, at time.Time) devices.Device {
	return devices.Device{ReferenceNo: referenceNo, DeviceID: devices.ID(devices.APNS, token), Platform: devices.APNS,
		EndpointARN: "arn:aws:sns:us-east-1:123456789012:endpoint/APNS/app/" + token, Locale: "en",
		TokenHash: devices.TokenHash(token), CreatedAt: at, RegisteredAt: at}
}
