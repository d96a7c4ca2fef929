// Package processor turns inbox events into outcomes: the journey snapshot stored, the
// profile's status moved (never backwards in time), the status change recorded in an
// outbox in the same transaction, then published. It does not know which vendor it
// serves: each vendor registers a Resolver.
package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Journey is what the product keeps of a vendor journey: decisions and the allow-listed
// details of the latest snapshot.
type Journey struct {
	Provider    string
	JourneyID   string
	ReferenceNo string
	Decisions   map[string]string // e.g. systemDecision, manualDecision, finalDecision
	Details     map[string]string // allow-listed fields of the vendor's result; never images
	FetchedAt   time.Time
	Version     int64 // kyc.Version of the snapshot
	AMLVersion  int64 // newest AML monitoring version seen (IDWise)
	// AMLReceivedAt is the reception time of the newest AML update applied: it orders the
	// updates that carry no version number (IDWise).
	AMLReceivedAt time.Time
	// RequestedAt is the reception time of the newest request to redo steps (a reviewer's
	// resubmission request, Verification Update Required, KYC Renewal Deadline Exceeded):
	// a later journey result answers it only when it shows a decision newer than this.
	RequestedAt time.Time
}

// Guard restricts when a Change applies, given the profile's current state.
type Guard int

const (
	// Always applies the change (subject to the version check).
	Always Guard = iota
	// UnlessDecided skips the change when the profile already holds a decision for the
	// same journey (a late "submission received" never undoes a decision).
	UnlessDecided
	// OnlyIfApproved applies the change only to a profile approved on the change's journey
	// (AML monitoring, a failed spot check): monitoring of an older journey never moves a
	// profile that follows a newer one.
	OnlyIfApproved
	// UnlessJourneyKnown skips the change when the profile already holds any status for the
	// same journey: every status of a journey comes at or after its start, so the app's
	// "journey finished on the device" never moves it; a different journey starts anew.
	UnlessJourneyKnown
	// OnlyIfUnstarted applies the change only to a profile with no status yet or whose last
	// journey ended without a decision (INCOMPLETE, ABANDONED), and not over a status of the
	// same journey. It is the guard of an app's claim, which the vendor has not confirmed:
	// a claim may start a profile, never overwrite a decision, a review or its reasons
	// (issue 20, "status laundering": a made-up journey id turned REJECTED into
	// PENDING_VERIFICATION).
	OnlyIfUnstarted
	// OnlyIfInReviewFor applies the change only to a profile IN_REVIEW on the change's
	// journey for one of the Outcome's Undo reasons: a passed re-check (spot check, ongoing
	// check) restores APPROVED after a failed one, and nothing else.
	OnlyIfInReviewFor
)

// Outcome is what a Resolver decided for one event.
type Outcome struct {
	Note    string      // for the journey timeline: ids and decisions only
	Journey *Journey    // snapshot to store, if one was fetched
	Change  *kyc.Change // status to move to, if any
	Guard   Guard
	// Check is a check beside the status to record (a proof-of-address decision), if any;
	// it never moves the status.
	Check *kyc.Check
	// Undo lists the reasons of the review an OnlyIfInReviewFor change ends.
	Undo []string
	// After is work with effects outside the table that may run only once the outcome is
	// known to belong to its owner (IDWise's custom step submits the owner's reference
	// face). It returns a timeline note; errors wrapping kyc.ErrPermanent fail the event.
	After func(ctx context.Context) (string, error)
}

// Rechecks is implemented by a Resolver with events that re-check the owner of an
// onboarding journey under a journey id of their own (IDWise's Finished Spot Check). Such
// an event needs no claim of its own (a claim of it changes nothing): its outcome lands on
// the vendor's reference when that user owns their profile's current journey (claimed
// mode: claimed it, or the backend created it), and is about that journey.
type Rechecks interface {
	Recheck(e inbox.Event) bool
}

// Resolver is one vendor's logic: from an inbox event (and what is stored of its journey)
// to an outcome. It fetches from the vendor API as needed. Errors wrapping
// kyc.ErrPermanent mark the event failed; any other error is retried.
type Resolver interface {
	Resolve(ctx context.Context, e inbox.Event, stored Journey, found bool) (Outcome, error)
}

// State is where an event ends.
type State string

const (
	Processed State = "processed"
	Skipped   State = "skipped"
	Failed    State = "failed"
	// AwaitingClaim: the outcome waits until a user claims the journey (ownership mode
	// claimed); the claim triggers it, the sweeper is the safety net.
	AwaitingClaim State = "awaiting_claim"
)

// ErrConflict is returned by stores when a conditional write lost a race or was stale.
var ErrConflict = errors.New("conditional write conflict")

// Journeys stores journey snapshots.
type Journeys interface {
	Journey(ctx context.Context, provider, journeyID string) (Journey, bool, error)
	// PutJourney stores j unless a snapshot with a newer Version is stored (ErrConflict).
	PutJourney(ctx context.Context, j Journey) error
}

// Profiles stores profiles and their status changes.
type Profiles interface {
	Profile(ctx context.Context, referenceNo string) (kyc.Profile, bool, error)
	// ApplyStatus writes c over the profile read as current (found says it existed), and,
	// when ev is not nil, the outbox record for ev, in one transaction. ErrConflict when
	// the profile changed since it was read.
	ApplyStatus(ctx context.Context, c kyc.Change, current kyc.Profile, found bool, ev *kyc.StatusEvent) error
}

// Checks stores the checks beside a profile's status (kyc.Check).
type Checks interface {
	// PutCheck stores c unless the same check of a newer Version is stored (ErrConflict).
	PutCheck(ctx context.Context, c kyc.Check) error
}

// Outbox tracks status events until they are published.
type Outbox interface {
	MarkSent(ctx context.Context, referenceNo, eventID string) error
}

// Publisher publishes status events (SNS).
type Publisher interface {
	Publish(ctx context.Context, ev kyc.StatusEvent) error
}

// Events records where inbox events ended.
type Events interface {
	Mark(ctx context.Context, e inbox.Event, state State, note string) error
}

// ErrErased is returned by Apply for a profile that was erased on request.
var ErrErased = errors.New("profile erased")

// Erasures knows the profiles erased on request (kycctl erase leaves a tombstone).
// Events for them are ignored: nothing is fetched, stored or published for them again.
type Erasures interface {
	Erased(ctx context.Context, referenceNo string) (bool, error)
	// Forget marks e skipped with note and removes what the stored event says about the
	// person, keeping the bare record that dedups the vendor's retries.
	Forget(ctx context.Context, e inbox.Event, note string) error
}

// Claims knows who claimed which journey (kyc.Claim) and which events wait for a claim.
type Claims interface {
	Claim(ctx context.Context, provider, journeyID string) (kyc.Claim, bool, error)
	// AwaitingClaim lists the events of a journey marked AwaitingClaim, oldest first.
	AwaitingClaim(ctx context.Context, provider, journeyID string) ([]inbox.Event, error)
}

// ClaimReviews settles claims against the vendor's word (design, "Journey ownership": a
// claimer who is not the vendor's reference never blocks the reference's claim or
// outcome). Without it, a claim the vendor contradicts fails the event (as before).
type ClaimReviews interface {
	// ConfirmClaim records that the vendor named c's claimer.
	ConfirmClaim(ctx context.Context, c kyc.Claim) error
	// RejectClaim records that the vendor named vendorRef, not c's claimer.
	RejectClaim(ctx context.Context, c kyc.Claim, vendorRef string) error
	// Contender reads referenceNo's claim of a journey someone else had claimed first.
	Contender(ctx context.Context, provider, journeyID, referenceNo string) (kyc.Claim, bool, error)
	// ReplaceClaim hands the journey from old's claimer to c (a new claim: the events
	// waiting for it follow); false when neither is the journey's claim any more.
	ReplaceClaim(ctx context.Context, old, c kyc.Claim) (bool, error)
}

// DefaultClaimWait is how long an outcome waits for its journey's claim before it fails.
const DefaultClaimWait = 7 * 24 * time.Hour

// Metrics records counts and measurements (CloudWatch EMF in production).
type Metrics interface {
	Count(ctx context.Context, name string, dims map[string]string)
	Put(ctx context.Context, name string, value float64, unit string, dims map[string]string)
}

// Service processes inbox events.
type Service struct {
	resolvers map[string]Resolver
	journeys  Journeys
	profiles  Profiles
	outbox    Outbox
	publisher Publisher
	events    Events
	metrics   Metrics
	erasures  Erasures
	claims    Claims
	checks    Checks
	reviews   ClaimReviews
	ownership kyc.Ownership
	claimWait time.Duration
	now       func() time.Time
}

// Deps are the Service's ports.
type Deps struct {
	Journeys  Journeys
	Profiles  Profiles
	Outbox    Outbox
	Publisher Publisher
	Events    Events
	Metrics   Metrics  // optional
	Erasures  Erasures // optional: without it, erased profiles are not checked
	// Ownership is the journey ownership mode; the composition root passes the configured
	// one (claimed by default). Empty means vendor: outcomes go to the vendor's reference.
	Ownership kyc.Ownership
	Claims    Claims        // required in claimed mode: without it every outcome waits
	Reviews   ClaimReviews  // optional: without it a contradicted claim fails its event
	ClaimWait time.Duration // how long an unclaimed outcome waits; 0 = DefaultClaimWait
	Checks    Checks        // required by resolvers that report checks (Outcome.Check)
}

// New returns a Service with a Resolver per provider name.
func New(resolvers map[string]Resolver, d Deps) *Service {
	if d.Ownership == "" {
		d.Ownership = kyc.OwnershipVendor
	}
	if d.ClaimWait <= 0 {
		d.ClaimWait = DefaultClaimWait
	}
	return &Service{resolvers: resolvers, journeys: d.Journeys, profiles: d.Profiles, outbox: d.Outbox,
		publisher: d.Publisher, events: d.Events, metrics: d.Metrics, erasures: d.Erasures,
		claims: d.Claims, reviews: d.Reviews, checks: d.Checks, ownership: d.Ownership, claimWait: d.ClaimWait, now: time.Now}
}

// maxApplyAttempts bounds the read-check-write loop of a status change under contention.
const maxApplyAttempts = 5

// Process handles one inbox event. It is idempotent: processing an event again changes
// nothing that is already done. A returned error means "retry me".
//
// It reads as its steps: admit the event (not erased, processable, claimed when it must
// be), resolve its outcome, bind the outcome to its owner, forget it when that owner was
// erased, store the journey, run the outcome's After work, record the check and status,
// mark it processed. A step that reports done has marked the event (or failed to).
func (s *Service) Process(ctx context.Context, e inbox.Event) error {
	log := slog.With("provider", e.Provider, "eventId", e.EventID, "journeyId", e.JourneyID, "event", e.Name)
	r, jc, done, err := s.admit(ctx, log, e)
	if done || err != nil {
		return err
	}
	out, done, err := s.resolve(ctx, log, r, e)
	if done || err != nil {
		return err
	}
	if done, err := s.bindOwner(ctx, log, e, &out, jc); done || err != nil {
		return err
	}
	if ref := outcomeReferenceNo(out); ref != e.ReferenceNo { // the event did not name the profile
		if done, err := s.forgetIfErased(ctx, e, ref); done || err != nil {
			return err
		}
	}
	if err := s.storeJourney(ctx, e, out.Journey); err != nil {
		return err
	}
	if done, err := s.runAfter(ctx, log, e, &out); done || err != nil {
		return err
	}
	note, err := s.record(ctx, log, out)
	if err != nil {
		return err
	}
	s.countProcessed(ctx, e)
	return s.mark(ctx, e, Processed, note)
}

// journeyClaim is what Process knows of the claim of an event's journey.
type journeyClaim struct {
	claim   kyc.Claim
	claimed bool
	recheck bool // the event re-checks the owner of an onboarding journey (Rechecks)
}

// admit returns e's resolver and its journey's claim, unless e ends here: its profile was
// erased, its name is unknown, no resolver serves its provider, or (claimed mode) it waits
// for a rightful claim.
func (s *Service) admit(ctx context.Context, log *slog.Logger, e inbox.Event) (Resolver, journeyClaim, bool, error) {
	if done, err := s.forgetIfErased(ctx, e, e.ReferenceNo); done || err != nil {
		return nil, journeyClaim{}, true, err
	}
	if !e.Processable {
		s.count(ctx, "EventsSkipped", e)
		return nil, journeyClaim{}, true, s.mark(ctx, e, Skipped, "unknown event name")
	}
	r, ok := s.resolvers[e.Provider]
	if !ok {
		return nil, journeyClaim{}, true, s.fail(ctx, e, "no resolver for provider")
	}
	jc := journeyClaim{}
	if rc, ok := r.(Rechecks); ok {
		jc.recheck = rc.Recheck(e)
	}
	var err error
	if jc.claim, jc.claimed, err = s.claim(ctx, e); err != nil {
		return nil, journeyClaim{}, true, err
	}
	if s.ownership == kyc.OwnershipClaimed && !jc.recheck && (!jc.claimed || jc.claim.State == kyc.ClaimRejected) {
		// Nothing is fetched for a journey nobody (rightful) claimed: its outcome could not apply.
		return nil, journeyClaim{}, true, s.awaitClaim(ctx, log, e)
	}
	return r, jc, false, nil
}

// resolve reads what is stored of e's journey and asks r for the outcome; a permanent
// error or a reference mismatch fails the event (done).
func (s *Service) resolve(ctx context.Context, log *slog.Logger, r Resolver, e inbox.Event) (Outcome, bool, error) {
	stored, found, err := s.journeys.Journey(ctx, e.Provider, e.JourneyID)
	if err != nil {
		return Outcome{}, false, fmt.Errorf("read journey %s: %w", e.JourneyID, err)
	}
	out, err := r.Resolve(ctx, e, stored, found)
	switch {
	case errors.Is(err, kyc.ErrReferenceMismatch):
		// The body names someone else than the vendor API: a forged or confused webhook.
		log.WarnContext(ctx, "reference mismatch: the webhook names another user than the vendor API")
		return Outcome{}, true, s.fail(ctx, e, "reference mismatch", "OwnershipMismatch")
	case errors.Is(err, kyc.ErrPermanent):
		log.WarnContext(ctx, "event failed permanently", "error", err)
		return Outcome{}, true, s.fail(ctx, e, err.Error())
	case err != nil:
		return Outcome{}, false, fmt.Errorf("resolve event %s: %w", e.EventID, err)
	}
	return out, false, nil
}

// bindOwner points out at the profile it lands on: a re-check's at the vendor reference's
// current journey, any other at the owner the ownership mode names (kyc.Owner). done
// reports that the event was marked (awaiting its claim, or failed as a claim mismatch).
func (s *Service) bindOwner(ctx context.Context, log *slog.Logger, e inbox.Event, out *Outcome, jc journeyClaim) (bool, error) {
	vendorRef := outcomeReferenceNo(*out)
	if vendorRef == "" {
		return false, nil
	}
	if jc.recheck {
		return s.rebindRecheck(ctx, log, e, out, vendorRef)
	}
	var c *kyc.Claim
	if jc.claimed {
		c = &jc.claim
	}
	owner, verdict := kyc.Owner(s.ownership, vendorRef, c)
	switch verdict {
	case kyc.AwaitClaim:
		return true, s.awaitClaim(ctx, log, e)
	case kyc.Mismatch:
		if done, err := s.settleMismatch(ctx, log, e, jc.claim, vendorRef); done || err != nil {
			return done, err
		}
		owner = vendorRef
		out.Note = joinNote(out.Note, "claim handed over to the vendor's reference")
	case kyc.Apply:
		if err := s.confirmClaim(ctx, e, jc); err != nil {
			return false, err
		}
	}
	bind(out, owner)
	return false, nil
}

// settleMismatch handles a journey claimed by a user who is not the vendor's reference (a
// journey started with someone else's referenceNo, or someone else's journey id
// reported): the event fails, or the claim is handed over to the reference (not done), or
// it is rejected and the event waits for the reference's claim.
func (s *Service) settleMismatch(ctx context.Context, log *slog.Logger, e inbox.Event, claim kyc.Claim, vendorRef string) (bool, error) {
	log.WarnContext(ctx, "claim mismatch: the journey's claimer is not the vendor's reference")
	s.count(ctx, "OwnershipMismatch", e)
	if s.reviews == nil || claim.State == kyc.ClaimConfirmed {
		return true, s.fail(ctx, e, "claim mismatch: the claimer is not the vendor's reference")
	}
	handed, err := s.handOver(ctx, claim, vendorRef)
	if err != nil {
		return true, err
	}
	if !handed {
		// The wrong claim gives way: the outcome waits for the reference's claim.
		s.count(ctx, "EventsAwaitingClaim", e)
		return true, s.mark(ctx, e, AwaitingClaim, "claim mismatch: the claimer is not the vendor's reference; claim rejected, awaiting the reference's claim")
	}
	return false, nil
}

// confirmClaim records that the vendor named the claimer of e's journey, when there are
// claim reviews and the claim is an app's claim not yet confirmed (claimed mode).
func (s *Service) confirmClaim(ctx context.Context, e inbox.Event, jc journeyClaim) error {
	c := jc.claim
	if !jc.claimed || c.Source == kyc.ClaimBySession || c.State == kyc.ClaimConfirmed || s.reviews == nil ||
		s.ownership != kyc.OwnershipClaimed {
		return nil
	}
	if err := s.reviews.ConfirmClaim(ctx, c); err != nil {
		return fmt.Errorf("confirm claim of journey %s: %w", e.JourneyID, err)
	}
	return nil
}

// storeJourney stores the outcome's journey snapshot, if any; a newer stored one is kept.
func (s *Service) storeJourney(ctx context.Context, e inbox.Event, j *Journey) error {
	if j == nil {
		return nil
	}
	if err := s.journeys.PutJourney(ctx, *j); err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("store journey %s: %w", e.JourneyID, err)
	}
	return nil
}

// runAfter runs the outcome's After work, if any, and adds its note; a permanent error
// fails the event (done).
func (s *Service) runAfter(ctx context.Context, log *slog.Logger, e inbox.Event, out *Outcome) (bool, error) {
	if out.After == nil {
		return false, nil
	}
	n, err := out.After(ctx)
	if errors.Is(err, kyc.ErrPermanent) {
		log.WarnContext(ctx, "event failed permanently", "error", err)
		return true, s.fail(ctx, e, joinNote(out.Note, err.Error()))
	}
	if err != nil {
		return false, fmt.Errorf("event %s: %w", e.EventID, err)
	}
	out.Note = joinNote(out.Note, n)
	return false, nil
}

// record stores the outcome's check and applies its status change (announcing it), and
// returns the event's timeline note.
func (s *Service) record(ctx context.Context, log *slog.Logger, out Outcome) (string, error) {
	note := out.Note
	if out.Check != nil {
		n, err := s.putCheck(ctx, *out.Check)
		if err != nil {
			return "", err
		}
		note = joinNote(note, n)
	}
	if out.Change == nil {
		return note, nil
	}
	ev, applied, err := s.apply(ctx, *out.Change, out.Guard, out.Undo)
	if err != nil {
		return "", err
	}
	if applied != "" {
		note += "; " + applied
	}
	if ev != nil {
		s.announce(ctx, log, *ev)
	}
	return note, nil
}

// countProcessed counts a processed event and its end-to-end age: from the webhook's
// acknowledgement to the outcome.
func (s *Service) countProcessed(ctx context.Context, e inbox.Event) {
	s.count(ctx, "EventsProcessed", e)
	if s.metrics != nil && !e.ReceivedAt.IsZero() {
		s.metrics.Put(ctx, "EventAge", float64(s.now().Sub(e.ReceivedAt).Milliseconds()), "Milliseconds",
			map[string]string{"provider": e.Provider})
	}
}

// fail counts e failed (after the counts named) and marks it failed with note.
func (s *Service) fail(ctx context.Context, e inbox.Event, note string, counts ...string) error {
	for _, name := range counts {
		s.count(ctx, name, e)
	}
	s.count(ctx, "EventsFailed", e)
	return s.mark(ctx, e, Failed, note)
}

// putCheck records a check beside the status; an older decision than the stored one is a
// note, not an error.
func (s *Service) putCheck(ctx context.Context, c kyc.Check) (string, error) {
	if s.checks == nil {
		return "", fmt.Errorf("%w: no store for the %s check", kyc.ErrPermanent, c.Name)
	}
	err := s.checks.PutCheck(ctx, c)
	switch {
	case errors.Is(err, ErrConflict):
		return c.Name + " check older than the stored one, kept", nil
	case err != nil:
		return "", fmt.Errorf("store %s check: %w", c.Name, err)
	}
	return c.Name + " check " + c.Decision + " recorded", nil
}

// handOver settles a claim the vendor contradicted: when the vendor's reference contended
// for the journey (claimed it after the first claimer), the journey becomes theirs;
// otherwise the claim is marked rejected, for the reference's own claim to replace.
func (s *Service) handOver(ctx context.Context, claim kyc.Claim, vendorRef string) (bool, error) {
	c, ok, err := s.reviews.Contender(ctx, claim.Provider, claim.JourneyID, vendorRef)
	if err != nil {
		return false, fmt.Errorf("read contender of journey %s: %w", claim.JourneyID, err)
	}
	if ok {
		c.State = kyc.ClaimConfirmed
		handed, err := s.reviews.ReplaceClaim(ctx, claim, c)
		if err != nil {
			return false, fmt.Errorf("hand journey %s over: %w", claim.JourneyID, err)
		}
		if handed {
			return true, nil
		}
	}
	if err := s.reviews.RejectClaim(ctx, claim, vendorRef); err != nil {
		return false, fmt.Errorf("reject claim of journey %s: %w", claim.JourneyID, err)
	}
	return false, nil
}

// claim reads the claim of e's journey, if claims are known.
func (s *Service) claim(ctx context.Context, e inbox.Event) (kyc.Claim, bool, error) {
	if s.claims == nil {
		return kyc.Claim{}, false, nil
	}
	c, ok, err := s.claims.Claim(ctx, e.Provider, e.JourneyID)
	if err != nil {
		return kyc.Claim{}, false, fmt.Errorf("read claim of journey %s: %w", e.JourneyID, err)
	}
	return c, ok, nil
}

// awaitClaim parks e until its journey is claimed, or fails it when it waited too long.
func (s *Service) awaitClaim(ctx context.Context, log *slog.Logger, e inbox.Event) error {
	if !e.ReceivedAt.IsZero() && s.now().Sub(e.ReceivedAt) > s.claimWait {
		log.WarnContext(ctx, "journey never claimed; event failed", "waited", s.claimWait.String())
		return s.fail(ctx, e, fmt.Sprintf("unclaimed after %s: nobody claimed the journey", s.claimWait), "ClaimWaitExpired")
	}
	s.count(ctx, "EventsAwaitingClaim", e)
	return s.mark(ctx, e, AwaitingClaim, "awaiting claim: no user claimed the journey yet")
}

// ClaimArrived processes the events of c's journey that waited for a claim (the stream
// passes every new claim to the processor). An error means "retry me".
func (s *Service) ClaimArrived(ctx context.Context, c kyc.Claim) error {
	if s.claims == nil {
		return nil
	}
	waiting, err := s.claims.AwaitingClaim(ctx, c.Provider, c.JourneyID)
	if err != nil {
		return fmt.Errorf("list events awaiting the claim of journey %s: %w", c.JourneyID, err)
	}
	for _, e := range waiting {
		if err := s.Process(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// Redrive processes an event that waits for its journey's claim when the claim is there
// or the wait is over; otherwise it leaves it as it is (no write, no vendor call).
func (s *Service) Redrive(ctx context.Context, e inbox.Event) error {
	c, claimed, err := s.claim(ctx, e)
	if err != nil {
		return err
	}
	if (!claimed || c.State == kyc.ClaimRejected) && s.now().Sub(e.ReceivedAt) <= s.claimWait {
		return nil
	}
	return s.Process(ctx, e)
}

// bind points an outcome at its owner (a Veriff session the backend created for a user).
func bind(out *Outcome, owner string) {
	if out.Journey != nil && out.Journey.ReferenceNo != "" {
		out.Journey.ReferenceNo = owner
	}
	if out.Change != nil {
		out.Change.ReferenceNo = owner
	}
	if out.Check != nil {
		out.Check.ReferenceNo = owner
	}
}

func joinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// Publish sends ev and marks its outbox record sent.
func (s *Service) Publish(ctx context.Context, ev kyc.StatusEvent) error {
	if err := s.publisher.Publish(ctx, ev); err != nil {
		return fmt.Errorf("publish %s: %w", ev.ID, err)
	}
	if err := s.outbox.MarkSent(ctx, ev.ReferenceNo, ev.ID); err != nil {
		return fmt.Errorf("mark %s sent: %w", ev.ID, err)
	}
	return nil
}

// Apply moves a profile to c outside of an inbox event (the app API), with the same
// version check, guard, transaction with the outbox record, and publication as Process.
// It returns the status event, or nil when nothing the user sees changed (stale, guarded
// out, or the same status). A failed publish is not an error: the change and its outbox
// record are durable and the sweeper publishes it with the same id.
func (s *Service) Apply(ctx context.Context, c kyc.Change, g Guard) (*kyc.StatusEvent, error) {
	if s.erasures != nil {
		erased, err := s.erasures.Erased(ctx, c.ReferenceNo)
		if err != nil {
			return nil, fmt.Errorf("check erasure: %w", err)
		}
		if erased {
			return nil, ErrErased
		}
	}
	ev, _, err := s.apply(ctx, c, g, nil)
	if err != nil || ev == nil {
		return nil, err
	}
	s.announce(ctx, slog.With("provider", c.Provider, "journeyId", c.JourneyID), *ev)
	return ev, nil
}

// announce logs and counts a status change that was written, and publishes it. A failed
// publish is only logged: the change and its outbox record are durable, and the sweeper
// publishes it with the same id.
func (s *Service) announce(ctx context.Context, log *slog.Logger, ev kyc.StatusEvent) {
	log.InfoContext(ctx, "status changed", "status", ev.Status, "previousStatus", ev.PreviousStatus, "statusEventId", ev.ID)
	if s.metrics != nil {
		s.metrics.Count(ctx, "StatusChanges", map[string]string{"status": string(ev.Status)})
	}
	if err := s.Publish(ctx, ev); err != nil {
		log.WarnContext(ctx, "publish status event; left in the outbox", "statusEventId", ev.ID, "error", err)
	}
}

// apply writes c unless it is stale or guarded out. It returns the status event to
// publish (nil when nothing the user sees changed) and a timeline note.
func (s *Service) apply(ctx context.Context, c kyc.Change, g Guard, undo []string) (*kyc.StatusEvent, string, error) {
	for attempt := 0; attempt < maxApplyAttempts; attempt++ {
		p, found, err := s.profiles.Profile(ctx, c.ReferenceNo)
		if err != nil {
			return nil, "", fmt.Errorf("read profile: %w", err)
		}
		if note := skipNote(g, p, found, c, undo); note != "" {
			return nil, note, nil
		}
		if older, err := s.olderThanCurrent(ctx, c, p, found); err != nil || older {
			return nil, olderNote(older, p), err
		}
		w, ev := statusWrite(c, p, found)
		err = s.profiles.ApplyStatus(ctx, w, p, found, ev)
		if errors.Is(err, ErrConflict) {
			continue // someone else wrote the profile: read again and re-decide
		}
		if err != nil {
			return nil, "", fmt.Errorf("apply status: %w", err)
		}
		if ev == nil {
			return nil, "status unchanged", nil
		}
		return ev, "status " + string(c.Status), nil
	}
	return nil, "", fmt.Errorf("apply status for %s: %w after %d attempts", c.JourneyID, ErrConflict, maxApplyAttempts)
}

// skipNote is the timeline note of a change that does not apply to the profile read (p,
// found): stale, or guarded out by g; "" when it applies.
func skipNote(g Guard, p kyc.Profile, found bool, c kyc.Change, undo []string) string {
	if found && p.Version >= c.Version && !decisionOverPending(p, c) {
		return "older than the stored status, ignored"
	}
	return guardNote(g, p, found, c, undo)
}

// guardNote is the timeline note of a change guarded out by g; "" when g lets it apply.
func guardNote(g Guard, p kyc.Profile, found bool, c kyc.Change, undo []string) string {
	sameJourney := found && p.JourneyID == c.JourneyID
	switch g {
	case UnlessDecided:
		if sameJourney && p.Status.Decided() {
			return "profile already decided, kept " + string(p.Status)
		}
	case OnlyIfApproved:
		return approvedNote(p, found, c)
	case OnlyIfInReviewFor:
		if !inReviewFor(p, sameJourney, undo) {
			return "no review of this check to end, status kept"
		}
	case UnlessJourneyKnown:
		if sameJourney {
			return "journey already known, kept " + string(p.Status)
		}
	case OnlyIfUnstarted:
		if found && (p.JourneyID == c.JourneyID || !unstarted(p.Status)) {
			return "profile already under way, kept " + string(p.Status)
		}
	}
	return ""
}

// approvedNote is the note of an OnlyIfApproved change the profile does not take: not
// approved, or approved on another journey; "" when it applies.
func approvedNote(p kyc.Profile, found bool, c kyc.Change) string {
	if !found || p.Status != kyc.Approved {
		return "profile not approved, status kept"
	}
	if p.JourneyID != c.JourneyID {
		return "not the profile's current journey " + p.JourneyID + ", status kept"
	}
	return ""
}

// inReviewFor reports whether the profile is IN_REVIEW on the change's journey for one of
// the reasons undo ends.
func inReviewFor(p kyc.Profile, sameJourney bool, undo []string) bool {
	return sameJourney && p.Status == kyc.InReview &&
		slices.ContainsFunc(p.Reasons, func(r string) bool { return slices.Contains(undo, r) })
}

// olderThanCurrent reports whether c is about another journey than the profile's current
// one that started before it (olderJourney).
func (s *Service) olderThanCurrent(ctx context.Context, c kyc.Change, p kyc.Profile, found bool) (bool, error) {
	if !found || p.JourneyID == "" || p.JourneyID == c.JourneyID {
		return false, nil
	}
	return s.olderJourney(ctx, c, p)
}

// olderNote is the timeline note of a change of an older journey than the profile's.
func olderNote(older bool, p kyc.Profile) string {
	if !older {
		return ""
	}
	return "journey older than the profile's current journey " + p.JourneyID + ", status kept"
}

// statusWrite is the change to write over the profile read, and the status event to record
// with it (nil when nothing the user sees changes).
func statusWrite(c kyc.Change, p kyc.Profile, found bool) (kyc.Change, *kyc.StatusEvent) {
	w := c
	if found && w.Version <= p.Version { // a decision over pending: versions stay monotonic
		w.Version = p.Version + 1
	}
	if found && w.Same(p) {
		return w, nil
	}
	e := kyc.NewStatusEvent(w, p.Status)
	return w, &e
}

// olderJourney reports whether c's journey started before the profile's current one, judged
// by their claims (the app claims a journey when the SDK starts it; the backend when it
// creates a Veriff session). A profile follows its current journey: an older journey's
// late events go on the timeline and never move it (design, "Journey ownership"). Without
// both claims (vendor mode, or a journey nobody claimed) there is no order to go by and
// the version check alone decides, as before.
func (s *Service) olderJourney(ctx context.Context, c kyc.Change, p kyc.Profile) (bool, error) {
	if s.claims == nil {
		return false, nil
	}
	mine, ok, err := s.claims.Claim(ctx, c.Provider, c.JourneyID)
	if err != nil || !ok {
		return false, wrapClaimErr(err, c.JourneyID)
	}
	current, ok, err := s.claims.Claim(ctx, p.Provider, p.JourneyID)
	if err != nil || !ok {
		return false, wrapClaimErr(err, p.JourneyID)
	}
	return mine.ClaimedAt.Before(current.ClaimedAt), nil
}

func wrapClaimErr(err error, journeyID string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("read claim of journey %s: %w", journeyID, err)
}

// rebindRecheck points a re-check's outcome (Rechecks) at the profile of the vendor's
// reference and its current journey. In claimed mode that journey must be claimed by the
// reference (else nobody changes: the event fails as a claim mismatch). done reports that
// the event was marked.
func (s *Service) rebindRecheck(ctx context.Context, log *slog.Logger, e inbox.Event, out *Outcome, vendorRef string) (bool, error) {
	if out.Change == nil {
		return false, nil
	}
	p, found, err := s.profiles.Profile(ctx, vendorRef)
	if err != nil {
		return false, fmt.Errorf("read profile: %w", err)
	}
	if !found || p.JourneyID == "" {
		out.Change = nil
		out.Note = joinNote(out.Note, "no onboarded profile to re-check, status kept")
		return false, nil
	}
	if s.ownership == kyc.OwnershipClaimed {
		c, ok, err := s.claim(ctx, inbox.Event{Provider: p.Provider, JourneyID: p.JourneyID})
		if err != nil {
			return false, err
		}
		var cp *kyc.Claim
		if ok {
			cp = &c
		}
		if _, v := kyc.Owner(s.ownership, vendorRef, cp); v != kyc.Apply {
			log.WarnContext(ctx, "re-check of a profile whose current journey the vendor's reference does not own")
			return true, s.fail(ctx, e, "claim mismatch: the re-checked profile's journey is not the vendor reference's", "OwnershipMismatch")
		}
	}
	out.Change.JourneyID, out.Change.Provider = p.JourneyID, p.Provider
	return false, nil
}

// unstarted reports whether a profile in status st may be started anew by a claim the
// vendor has not confirmed: nothing decided, reviewed or asked of the user is lost.
func unstarted(st kyc.Status) bool {
	return st == "" || st == kyc.Incomplete || st == kyc.Abandoned
}

// forgetIfErased forgets e when referenceNo is an erased profile's, and then reports done.
func (s *Service) forgetIfErased(ctx context.Context, e inbox.Event, referenceNo string) (bool, error) {
	if s.erasures == nil || referenceNo == "" {
		return false, nil
	}
	erased, err := s.erasures.Erased(ctx, referenceNo)
	if err != nil {
		return false, fmt.Errorf("check erasure: %w", err)
	}
	if !erased {
		return false, nil
	}
	s.count(ctx, "EventsSkipped", e)
	if err := s.erasures.Forget(ctx, e, "profile erased"); err != nil {
		return true, fmt.Errorf("forget event %s: %w", e.EventID, err)
	}
	return true, nil
}

// outcomeReferenceNo is the profile an outcome is about, if it names one.
func outcomeReferenceNo(out Outcome) string {
	switch {
	case out.Journey != nil && out.Journey.ReferenceNo != "":
		return out.Journey.ReferenceNo
	case out.Change != nil:
		return out.Change.ReferenceNo
	case out.Check != nil:
		return out.Check.ReferenceNo
	}
	return ""
}

// decisionOverPending reports whether c is a decision for the journey the profile is
// pending on: a decision beats "submission received" whatever the versions, because a
// pending status from a newer snapshot (a late Finished User Steps, the app's report)
// knows less than the decision of an older one.
//
// A resubmission request is not such a decision: a submission after it answers it.
func decisionOverPending(p kyc.Profile, c kyc.Change) bool {
	if p.Status != kyc.PendingVerification || p.JourneyID != c.JourneyID {
		return false
	}
	switch c.Status {
	case kyc.Approved, kyc.Rejected, kyc.InReview:
		return true
	}
	return false
}

func (s *Service) mark(ctx context.Context, e inbox.Event, st State, note string) error {
	if err := s.events.Mark(ctx, e, st, note); err != nil {
		return fmt.Errorf("mark event %s %s: %w", e.EventID, st, err)
	}
	return nil
}

// Count records one of the processor's metrics for e (dimensions provider and event):
// the stream edge counts retried events with it.
func (s *Service) Count(ctx context.Context, name string, e inbox.Event) { s.count(ctx, name, e) }

func (s *Service) count(ctx context.Context, name string, e inbox.Event) {
	if s.metrics != nil {
		s.metrics.Count(ctx, name, map[string]string{"provider": e.Provider, "event": s.eventDimension(e)})
	}
}
