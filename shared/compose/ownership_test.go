package compose_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/app/ops"
	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/edge/appapi"
	"github.com/kycbackend/kyc/shared/edge/stream"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffsim"
)

// ownedWorld is the processing side in JourneyOwnership claimed mode and the app API on
// the same table, on the emulators: the attacker tests of issue 12.
type ownedWorld struct {
	*pipeline
	api    *appapi.Handler
	stream *stream.Handler
}

func newOwnedWorld(t *testing.T, extraEnv ...string) *ownedWorld {
	t.Helper()
	p := newPipeline(t, append([]string{"JOURNEY_OWNERSHIP", "claimed"}, extraEnv...)...)
	env := map[string]string{"TABLE_NAME": p.table, "STATUS_TOPIC_ARN": p.proc.Config.TopicARN}
	h, err := compose.API(compose.Runtime{AWS: p.cfg, Getenv: getenv(env), Metrics: io.Discard})
	if err != nil {
		t.Fatalf("API() = %v", err)
	}
	return &ownedWorld{pipeline: p, api: h,
		stream: stream.New(p.proc.Service, dynamo.DecodeStreamEvent).WithClaims(dynamo.DecodeStreamClaim)}
}

// claim is POST /v1/journeys by ref (the authorizer's claims, as API Gateway passes them).
func (w *ownedWorld) claim(ref, journeyID string) events.APIGatewayV2HTTPResponse {
	w.t.Helper()
	req := events.APIGatewayV2HTTPRequest{RouteKey: appapi.RoutePostJourney, Headers: map[string]string{"content-type": "application/json"},
		Body: fmt.Sprintf(`{"journeyId":%q,"referenceNo":%q}`, journeyID, ref)}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": ref}}}
	resp, err := w.api.Handle(context.Background(), req)
	if err != nil {
		w.t.Fatal(err)
	}
	return resp
}

// streamClaim hands the journey's claim item to the processor as the table's stream does.
func (w *ownedWorld) streamClaim(provider, journeyID string) {
	w.t.Helper()
	out, err := w.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(w.table),
		Key: dynamo.ClaimKey(provider, journeyID), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		w.t.Fatalf("claim item of %s: %v %v", journeyID, out, err)
	}
	img := map[string]events.DynamoDBAttributeValue{}
	for k, v := range out.Item {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			w.t.Fatalf("claim attribute %s is not a string", k)
		}
		img[k] = events.NewStringAttribute(s.Value)
	}
	resp, err := w.stream.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{NewImage: img, SequenceNumber: "1"}}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		w.t.Fatalf("stream Handle(claim) = %+v, %v", resp, err)
	}
}

func (w *ownedWorld) noProfile(ref string) {
	w.t.Helper()
	if p, found, err := w.proc.Store.Profile(context.Background(), ref); err != nil || found {
		w.t.Errorf("profile %s = %+v (found %v, %v), want none: nobody may move it", ref, p, found, err)
	}
}

// Two users claim one journey at the same moment: exactly one wins (200), the other gets
// 409 journey_claimed, and only the winner's profile moved.
func TestConcurrentClaimsOneWins(t *testing.T) {
	w := newOwnedWorld(t)
	const racers = 8
	var wg sync.WaitGroup
	codes := make([]int, racers)
	bodies := make([]string, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := w.claim(fmt.Sprintf("racer-%d", i), "j-contested")
			codes[i], bodies[i] = r.StatusCode, r.Body
		}()
	}
	wg.Wait()
	winner := -1
	for i, c := range codes {
		switch c {
		case 200:
			if winner >= 0 {
				t.Fatalf("two claims won: racer-%d and racer-%d", winner, i)
			}
			winner = i
		case 409:
			if !strings.Contains(bodies[i], `"code":"journey_claimed"`) {
				t.Errorf("racer-%d: 409 body %s, want code journey_claimed", i, bodies[i])
			}
		default:
			t.Errorf("racer-%d: %d %s, want 200 or 409", i, c, bodies[i])
		}
	}
	if winner < 0 {
		t.Fatal("no claim won")
	}
	for i := range racers {
		ref := fmt.Sprintf("racer-%d", i)
		if i == winner {
			if p := w.profile(ref); p.Status != kyc.PendingVerification || p.JourneyID != "j-contested" {
				t.Errorf("winner's profile = %+v, want PENDING_VERIFICATION on j-contested", p)
			}
			continue
		}
		w.noProfile(ref)
	}
	c, ok, err := w.proc.Store.Claim(context.Background(), idwise.Provider, "j-contested")
	if err != nil || !ok || c.ReferenceNo != fmt.Sprintf("racer-%d", winner) || c.Source != kyc.ClaimByApp {
		t.Errorf("stored claim = %+v %v %v, want the winner's app claim", c, ok, err)
	}
	// The winner again: 200 and nothing written.
	before := w.profile(fmt.Sprintf("racer-%d", winner))
	if r := w.claim(fmt.Sprintf("racer-%d", winner), "j-contested"); r.StatusCode != 200 {
		t.Errorf("the owner's repeated claim = %d %s, want 200", r.StatusCode, r.Body)
	}
	if after := w.profile(fmt.Sprintf("racer-%d", winner)); after.Version != before.Version {
		t.Errorf("a repeated claim rewrote the profile: %+v, was %+v", after, before)
	}
}

// An outcome that arrives before the claim waits (awaiting_claim, no IDWise call) and is
// applied when the claim arrives on the stream.
func TestOutcomeBeforeClaimIsAppliedOnClaim(t *testing.T) {
	w := newOwnedWorld(t)
	w.journey("j-early", "early-user", "Complete", "", "Complete")
	e, _ := w.deliver(body(idwise.FinishedJourney, "ev-early", "j-early", "early-user"))
	w.mustProcess(e)
	if st, pending := w.eventState(e); st != string(processor.AwaitingClaim) || pending != dynamo.AwaitingValue {
		t.Fatalf("before the claim: state %q pending %q, want awaiting_claim in %s", st, pending, dynamo.AwaitingValue)
	}
	if n := w.sim.Requests(idwisesim.EndpointJourney); n != 0 {
		t.Errorf("IDWise called %d times for an unclaimed journey, want 0", n)
	}
	w.noProfile("early-user")
	problems, err := ops.New(ops.Config{Store: dynamo.NewOperator(w.ddb, w.table, 0)}).Problems(context.Background(), ops.ListOptions{Awaiting: true})
	if err != nil || len(problems) != 1 || problems[0].Kind != ops.KindAwaiting || problems[0].ID != "ev-early" {
		t.Errorf("kycctl events -awaiting = %+v, %v; want ev-early awaiting its claim", problems, err)
	}

	if r := w.claim("early-user", "j-early"); r.StatusCode != 200 {
		t.Fatalf("claim = %d %s", r.StatusCode, r.Body)
	}
	w.streamClaim(idwise.Provider, "j-early")
	if st, pending := w.eventState(e); st != string(processor.Processed) || pending != "" {
		t.Errorf("after the claim: state %q pending %q, want processed and out of the index", st, pending)
	}
	if p := w.profile("early-user"); p.Status != kyc.Approved {
		t.Errorf("profile after the claim = %+v, want APPROVED", p)
	}
}

// The sweeper is the safety net behind the claim's trigger, and fails an outcome that
// waited ClaimWaitDays.
func TestSweeperReleasesAwaitingEvents(t *testing.T) {
	w := newOwnedWorld(t)
	w.journey("j-swept", "swept-user", "Complete", "", "Complete")
	e, _ := w.deliver(body(idwise.FinishedJourney, "ev-swept", "j-swept", "swept-user"))
	w.mustProcess(e)
	sw, err := compose.Sweeper(w.ownedRuntime())
	if err != nil {
		t.Fatal(err)
	}
	// Unclaimed: the sweeper leaves it waiting, without a vendor call.
	res, err := sw.Run(context.Background())
	if err != nil || res.AwaitingClaim != 1 {
		t.Fatalf("sweep = %+v, %v; want 1 awaiting", res, err)
	}
	if st, _ := w.eventState(e); st != string(processor.AwaitingClaim) || w.sim.Requests(idwisesim.EndpointJourney) != 0 {
		t.Errorf("unclaimed after a sweep: state %q, IDWise calls %d; want awaiting_claim, 0", st, w.sim.Requests(idwisesim.EndpointJourney))
	}
	// Claimed, but the stream's trigger lost (no streamClaim): the sweeper applies it.
	if r := w.claim("swept-user", "j-swept"); r.StatusCode != 200 {
		t.Fatalf("claim = %d %s", r.StatusCode, r.Body)
	}
	if _, err := sw.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := w.profile("swept-user"); p.Status != kyc.Approved {
		t.Errorf("after the sweep: %+v, want APPROVED", p)
	}

	// Never claimed, past the wait (its receivedAt set 8 days back): failed.
	old, _ := w.deliver(body(idwise.FinishedJourney, "ev-never", "j-never", "swept-user"))
	w.mustProcess(old)
	pk, sk := dynamo.EventKey(old.Provider, old.EventID)
	if _, err := w.ddb.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(w.table),
		Key:              map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
		UpdateExpression: aws.String("SET receivedAt = :r"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":r": &types.AttributeValueMemberS{Value: time.Now().Add(-8 * 24 * time.Hour).UTC().Format(time.RFC3339Nano)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, pending := w.eventState(old); st != string(processor.Failed) || pending != dynamo.FailedValue {
		t.Errorf("never claimed past the wait: state %q pending %q, want failed in FAILED", st, pending)
	}
	if !strings.Contains(w.eventNote(old), "unclaimed after") {
		t.Errorf("note %q, want unclaimed after ...", w.eventNote(old))
	}
}

func (w *ownedWorld) ownedRuntime() compose.Runtime {
	rt := w.runtime()
	env := map[string]string{"TABLE_NAME": w.table, "STATUS_TOPIC_ARN": w.proc.Config.TopicARN,
		"IDWISE_API_SECRET_ARN": w.proc.Config.IDWiseSecretID, "IDWISE_API_BASE_URL": w.proc.Config.IDWiseBaseURL,
		"SWEEP_MIN_AGE_SECONDS": "0", "JOURNEY_OWNERSHIP": "claimed"}
	rt.Getenv = getenv(env)
	return rt
}

// Attackers (issue 12): a forged body referenceNo, and a journey started with a victim's
// referenceNo; each counts OwnershipMismatch and moves nobody. The forged body fails the
// event; a claim the vendor contradicts is rejected and the outcome waits for the vendor
// reference's own claim (issue 20: a wrong claimer never blocks the reference).
func TestOwnershipAttacks(t *testing.T) {
	tests := []struct {
		name      string
		claimer   string // who claims the journey through the app
		vendorRef string // IDWise's reference_number of the journey
		bodyRef   string // the webhook body's referenceNo
		wantNote  string
		wantState processor.State
	}{
		// The attacker holds the webhook credential and posts their own approved journey
		// naming the victim.
		{"forged body referenceNo", "attacker", "attacker", "victim", "reference mismatch", processor.Failed},
		// A modified app starts a journey with the victim's referenceNo; the attacker claims it.
		{"journey started with the victim's referenceNo", "attacker", "victim", "victim", "claim mismatch", processor.AwaitingClaim},
		// The attacker reports the victim's journey id as theirs: the claim is not the
		// vendor's reference.
		{"someone else's journey claimed", "attacker", "victim", "", "claim mismatch", processor.AwaitingClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newOwnedWorld(t)
			w.journey("j-1", tt.vendorRef, "Complete", "", "Complete")
			if r := w.claim(tt.claimer, "j-1"); r.StatusCode != 200 {
				t.Fatalf("claim = %d %s", r.StatusCode, r.Body)
			}
			w.emf.Reset()
			e, _ := w.deliver(body(idwise.FinishedJourney, "ev-attack", "j-1", tt.bodyRef))
			w.mustProcess(e)
			wantPending := map[processor.State]string{processor.Failed: dynamo.FailedValue, processor.AwaitingClaim: dynamo.AwaitingValue}[tt.wantState]
			if st, pending := w.eventState(e); st != string(tt.wantState) || pending != wantPending {
				t.Errorf("state %q pending %q, want %s, listed for operators in %s", st, pending, tt.wantState, wantPending)
			}
			if note := w.eventNote(e); !strings.Contains(note, tt.wantNote) || strings.Contains(note, "victim") {
				t.Errorf("note %q, want %q and no referenceNo", note, tt.wantNote)
			}
			if !strings.Contains(w.emf.String(), `"OwnershipMismatch"`) {
				t.Errorf("no OwnershipMismatch metric in %s", w.emf.String())
			}
			w.noProfile("victim")
			if p := w.profile("attacker"); p.Status != kyc.PendingVerification {
				t.Errorf("attacker's profile = %+v, want only their own claim's PENDING_VERIFICATION", p)
			}
			if _, found, _ := w.proc.Store.Journey(context.Background(), idwise.Provider, "j-1"); found {
				t.Errorf("journey details stored for a journey whose owner is in doubt")
			}
		})
	}
}

// The same event in vendor mode: the forged body still fails; a claim by someone else
// does not stop the vendor's reference (today's behaviour, with the API deciding).
func TestVendorModeTrustsTheVendorAPI(t *testing.T) {
	w := newOwnedWorld(t, "JOURNEY_OWNERSHIP", "vendor")
	w.journey("j-v", "real-owner", "Complete", "", "Complete")
	forged, _ := w.deliver(body(idwise.FinishedJourney, "ev-forged", "j-v", "victim"))
	w.mustProcess(forged)
	if st, _ := w.eventState(forged); st != string(processor.Failed) {
		t.Errorf("forged body in vendor mode: state %q, want failed", st)
	}
	w.noProfile("victim")
	e, _ := w.deliver(body(idwise.FinishedJourney, "ev-real", "j-v", ""))
	w.mustProcess(e)
	if p := w.profile("real-owner"); p.Status != kyc.Approved {
		t.Errorf("vendor mode: %+v, want the vendor's reference APPROVED", p)
	}
}

// A Veriff session the backend created (POST /v1/veriff/sessions) belongs to its caller:
// Veriff's decision lands on the caller in claimed mode without any POST /v1/journeys,
// and a decision naming someone else in vendorData still lands on the owner only.
func TestVeriffSessionCreatedThenDecided(t *testing.T) {
	vw := defaultVeriffWorld(t, "JOURNEY_OWNERSHIP", "claimed")
	sim := veriffsim.New(veriffsim.Config{APIKey: veriffKey, SharedSecret: veriffSecret})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	raw, _ := json.Marshal(veriff.Credentials{APIKey: veriffKey, SharedSecret: veriffSecret})
	sec, err := secretsmanager.NewFromConfig(vw.cfg).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(vw.table + "/veriff-api"), SecretString: aws.String(string(raw))})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TABLE_NAME": vw.table, "STATUS_TOPIC_ARN": vw.proc.Config.TopicARN,
		"VERIFF_SECRET_ARN": aws.ToString(sec.ARN), "VERIFF_API_BASE_URL": srv.URL}
	api, err := compose.API(compose.Runtime{AWS: vw.cfg, Getenv: getenv(env), Metrics: io.Discard})
	if err != nil {
		t.Fatalf("API() = %v", err)
	}
	req := events.APIGatewayV2HTTPRequest{RouteKey: appapi.RoutePostSession, Body: `{"lang":"en"}`,
		Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "vera"}}}
	resp, err := api.Handle(context.Background(), req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST /v1/veriff/sessions = %d %s, %v; want 201", resp.StatusCode, resp.Body, err)
	}
	var view appapi.SessionView
	if err := json.Unmarshal([]byte(resp.Body), &view); err != nil || view.Provider != "veriff" || view.URL == "" {
		t.Fatalf("answer %s", resp.Body)
	}
	if s := sim.Sessions(); len(s) != 1 || s[0].ID != view.SessionID || s[0].VendorData != "vera" || s[0].Lang != "en" {
		t.Fatalf("sessions at Veriff = %+v, want one for vera (vendorData) in en", s)
	}

	decision, err := sim.Decision(view.SessionID, "approved", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e := vw.deliver(string(decision))
	vw.mustProcess(e)
	if p := vw.profile("vera"); p.Status != kyc.Approved || p.JourneyID != view.SessionID || p.Provider != "veriff" {
		t.Errorf("vera after the decision = %+v, want APPROVED on the session", p)
	}

	// The same session's decision with another user's vendorData (a confused or tampered
	// integration): the session's recorded owner decides, the other user is untouched.
	other := strings.Replace(string(decision), `"vendorData":"vera"`, `"vendorData":"victim"`, 1)
	other = strings.Replace(other, `"approved"`, `"declined"`, 1)
	other = strings.Replace(other, `"code":9001`, `"code":9102`, 1)
	e2 := vw.deliver(other)
	vw.mustProcess(e2)
	if _, found, _ := vw.proc.Store.Profile(context.Background(), "victim"); found {
		t.Errorf("a decision naming victim in vendorData moved victim's profile")
	}
}

// Issue 20: the sweeper pages through every event waiting for a claim. With 250 waiting
// and the newest one's claim arriving without its stream trigger, the newest is applied
// (a run that saw only the oldest 100 left it waiting).
func TestSweeperPagesThroughAllAwaitingEvents(t *testing.T) {
	w := newOwnedWorld(t)
	const n = 250
	var last string
	for i := range n {
		e, _ := w.deliver(body(idwise.FinishedJourney, fmt.Sprintf("ev-page-%03d", i), fmt.Sprintf("j-page-%03d", i), "paged-user"))
		w.mustProcess(e)
		last = e.JourneyID
	}
	w.journey(last, "paged-user", "Complete", "", "Complete")
	if _, _, err := w.proc.Store.PutClaim(context.Background(), kyc.Claim{Provider: idwise.Provider, JourneyID: last,
		ReferenceNo: "paged-user", Source: kyc.ClaimByApp, ClaimedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sw, err := compose.Sweeper(w.ownedRuntime())
	if err != nil {
		t.Fatal(err)
	}
	res, err := sw.Run(context.Background())
	if err != nil || res.AwaitingClaim != n || res.Errors != 0 {
		t.Fatalf("sweep = %+v, %v; want %d awaiting, no errors", res, err, n)
	}
	if p := w.profile("paged-user"); p.Status != kyc.Approved || p.JourneyID != last {
		t.Errorf("after the sweep: %+v, want APPROVED on %s (the newest waiting event re-driven)", p, last)
	}
}

// decide claims journeyID for ref and applies a Finished Journey with the given decisions.
func (w *ownedWorld) decide(ref, journeyID, eventID, system, manual, final string) {
	w.t.Helper()
	if r := w.claim(ref, journeyID); r.StatusCode != 200 {
		w.t.Fatalf("claim %s = %d %s", journeyID, r.StatusCode, r.Body)
	}
	w.journey(journeyID, ref, system, manual, final)
	e, _ := w.deliver(body(idwise.FinishedJourney, eventID, journeyID, ref))
	w.mustProcess(e)
}

// Issue 20, status laundering: claiming a journey id IDWise never saw for the user leaves
// a REJECTED or AML IN_REVIEW profile as it is (status, reasons, journey) and publishes
// nothing. Before the fix the claim moved both to PENDING_VERIFICATION and published it.
func TestMadeUpClaimChangesNothing(t *testing.T) {
	tests := []struct {
		name   string
		set    func(w *ownedWorld, ref string)
		status kyc.Status
	}{
		{"rejected", func(w *ownedWorld, ref string) {
			w.decide(ref, "j-"+ref, "fj-"+ref, "Rejected", "", "Rejected")
		}, kyc.Rejected},
		{"AML in review", func(w *ownedWorld, ref string) {
			w.decide(ref, "j-"+ref, "fj-"+ref, "Complete", "", "Complete")
			e, _ := w.deliver(body(idwise.AMLMonitorUpdate, "aml-"+ref, "j-"+ref, ref, "systemDecision", "Refer", "updatedAMLVersionNumber", "2"))
			w.mustProcess(e)
		}, kyc.InReview},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newOwnedWorld(t)
			ref := "launderer-" + strings.ReplaceAll(tt.name, " ", "-")
			tt.set(w, ref)
			before := w.profile(ref)
			if before.Status != tt.status {
				t.Fatalf("set up: %+v, want %s", before, tt.status)
			}
			w.messages()
			if r := w.claim(ref, "j-made-up"); r.StatusCode != 200 || !strings.Contains(r.Body, string(tt.status)) {
				t.Errorf("made-up claim = %d %s, want 200 with the unchanged %s profile", r.StatusCode, r.Body, tt.status)
			}
			after := w.profile(ref)
			if after.Status != before.Status || after.JourneyID != before.JourneyID || strings.Join(after.Reasons, ",") != strings.Join(before.Reasons, ",") || after.Version != before.Version {
				t.Errorf("after a made-up claim: %+v, want unchanged %+v", after, before)
			}
			if msgs := w.messages(); len(msgs) != 0 {
				t.Errorf("status events after a made-up claim = %+v, want none", msgs)
			}
		})
	}
}

// spotCheck delivers and processes a Finished Spot Check of ref whose result is decision.
func (w *ownedWorld) spotCheck(ref, spotID, decision string) {
	w.t.Helper()
	w.journey(spotID, ref, decision, "", "") // the simulator serves spot check results like journeys
	e, _ := w.deliver(`{"event":"Finished Spot Check","body":{"eventId":"ev-` + spotID + `","referenceNo":"` + ref +
		`","systemDecision":"` + decision + `","spotCheckJourneyId":"` + spotID + `"}}`)
	w.mustProcess(e)
	if st, _ := w.eventState(e); st != string(processor.Processed) {
		w.t.Fatalf("spot check %s: state %q (%s), want processed", spotID, st, w.eventNote(e))
	}
}

// Issue 20: spot checks belong to the owner of the onboarding journey in the default
// claimed mode: claimed or not, a failed one sends the approved profile to IN_REVIEW
// (spot_check) on its onboarding journey, a claim of the spot check changes nothing, and a
// passed one after it restores APPROVED. Before: unclaimed ones waited for a claim (and
// failed after 7 days), a claim dropped the user to PENDING_VERIFICATION, and a pass
// never restored APPROVED.
func TestSpotChecksBelongToTheOnboardingOwner(t *testing.T) {
	for _, claimed := range []bool{false, true} {
		t.Run(fmt.Sprintf("claimed=%v", claimed), func(t *testing.T) {
			w := newOwnedWorld(t)
			ref := fmt.Sprintf("spot-user-%v", claimed)
			w.decide(ref, "j-onboard", "fj-onboard", "Complete", "", "Complete")
			w.messages()
			for i, step := range []struct {
				decision string
				want     kyc.Status
				reasons  string
			}{{"Refer", kyc.InReview, "spot_check"}, {"Complete", kyc.Approved, ""}} {
				spotID := fmt.Sprintf("sc-%d", i)
				if claimed {
					before := w.profile(ref)
					if r := w.claim(ref, spotID); r.StatusCode != 200 {
						t.Fatalf("claim of %s = %d %s", spotID, r.StatusCode, r.Body)
					}
					if after := w.profile(ref); after.Status != before.Status || after.Version != before.Version {
						t.Errorf("claim of spot check %s moved the profile: %+v, was %+v", spotID, after, before)
					}
				}
				w.spotCheck(ref, spotID, step.decision)
				p := w.profile(ref)
				if p.Status != step.want || strings.Join(p.Reasons, ",") != step.reasons || p.JourneyID != "j-onboard" {
					t.Errorf("after spot check %s (%s): %s %v on %s, want %s [%s] on j-onboard", spotID, step.decision, p.Status, p.Reasons, p.JourneyID, step.want, step.reasons)
				}
				if msgs := w.messages(); len(msgs) != 1 || msgs[0].Status != step.want {
					t.Errorf("status events after spot check %s = %+v, want one %s", spotID, msgs, step.want)
				}
			}
		})
	}
	t.Run("a passed spot check never approves a profile that was not approved", func(t *testing.T) {
		w := newOwnedWorld(t)
		w.decide("spot-rejected", "j-rej", "fj-rej", "Rejected", "", "Rejected")
		w.spotCheck("spot-rejected", "sc-pass", "Complete")
		if p := w.profile("spot-rejected"); p.Status != kyc.Rejected {
			t.Errorf("after a passed spot check: %+v, want REJECTED kept", p)
		}
	})
}

// Issue 19 item 6: a failed Finished Ongoing Check follows the spot-check policy: the
// approved owner of its (onboarding) journey goes IN_REVIEW with reason ongoing_check, and
// a passed one restores APPROVED. Before, ongoing checks were timeline only.
func TestOngoingCheckFollowsTheSpotCheckPolicy(t *testing.T) {
	w := newOwnedWorld(t)
	w.decide("ongoing-user", "j-ongoing", "fj-ongoing", "Complete", "", "Complete")
	for i, step := range []struct {
		decision string
		want     kyc.Status
		reasons  string
	}{{"Refer", kyc.InReview, "ongoing_check"}, {"Complete", kyc.Approved, ""}} {
		e, _ := w.deliver(body(idwise.FinishedOngoingCheck, fmt.Sprintf("ev-oc-%d", i), "j-ongoing", "ongoing-user",
			"ongoingCheckId", fmt.Sprintf("oc-%d", i), "systemDecision", step.decision))
		w.mustProcess(e)
		if p := w.profile("ongoing-user"); p.Status != step.want || strings.Join(p.Reasons, ",") != step.reasons {
			t.Errorf("after ongoing check %s: %s %v, want %s [%s] (note %q)", step.decision, p.Status, p.Reasons, step.want, step.reasons, w.eventNote(e))
		}
	}
}

// Issue 20: a profile follows its current journey (the newest the user claimed and the
// vendor confirmed): an AML update of an older journey goes on the timeline and never
// moves it, in either direction. Before: an AML OGM Update of the older approved journey
// turned REJECTED on the newer one into APPROVED, and an older journey's Refer put the
// newer approval in review.
func TestOlderJourneyAMLUpdateKeepsTheStatus(t *testing.T) {
	tests := []struct {
		name             string
		old, newer       string // final decisions of the older and the newer journey
		event            func(ref string) string
		oldResult        string // the older journey's result after the update
		want             kyc.Status
		wantBeforeUpdate kyc.Status
	}{
		{name: "AML OGM update of the older approved journey over a newer rejection", old: "Complete", newer: "Rejected",
			event: func(ref string) string {
				return body(idwise.UpdatedJourney, "upd-"+ref, "j-old-"+ref, ref, "action", "AML OGM Update", "systemDecision", "Complete")
			}, oldResult: "Complete", want: kyc.Rejected},
		{name: "AML OGM update of the older journey to rejected over a newer approval", old: "Complete", newer: "Complete",
			event: func(ref string) string {
				return body(idwise.UpdatedJourney, "upd-"+ref, "j-old-"+ref, ref, "action", "AML OGM Update", "systemDecision", "Rejected")
			}, oldResult: "Rejected", want: kyc.Approved},
		{name: "AML monitor refer of the older journey over a newer approval", old: "Complete", newer: "Complete",
			event: func(ref string) string {
				return body(idwise.AMLMonitorUpdate, "aml-"+ref, "j-old-"+ref, ref, "systemDecision", "Refer", "updatedAMLVersionNumber", "3")
			}, oldResult: "Refer", want: kyc.Approved},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newOwnedWorld(t)
			ref := fmt.Sprintf("two-journeys-%d", i)
			w.decide(ref, "j-old-"+ref, "fj-old-"+ref, tt.old, "", tt.old)
			w.decide(ref, "j-new-"+ref, "fj-new-"+ref, tt.newer, "", tt.newer)
			before := w.profile(ref)
			if before.JourneyID != "j-new-"+ref || before.Status != tt.want {
				t.Fatalf("set up: %+v, want %s on the newer journey", before, tt.want)
			}
			w.messages()
			w.journey("j-old-"+ref, ref, tt.oldResult, "", tt.oldResult)
			e, _ := w.deliver(tt.event(ref))
			w.mustProcess(e)
			after := w.profile(ref)
			if after.Status != tt.want || after.JourneyID != before.JourneyID || after.Version != before.Version {
				t.Errorf("after the older journey's update: %+v, want %+v kept (note %q)", after, before, w.eventNote(e))
			}
			if msgs := w.messages(); len(msgs) != 0 {
				t.Errorf("status events = %+v, want none", msgs)
			}
			if st, _ := w.eventState(e); st != string(processor.Processed) {
				t.Errorf("event state %q, want processed (on the timeline)", st)
			}
		})
	}
}

// Issue 20, claim squatting: whoever claims a journey id first does not own it when the
// vendor names someone else. The squatter's claim is rejected by the outcome, the victim's
// own claim replaces it (before or after the outcome), the victim ends with the real
// outcome and the squatter's profile does not move. Before: the outcome failed "claim
// mismatch" and the victim's claim got 409 for good.
func TestSquattedJourneyGoesToTheVendorsReference(t *testing.T) {
	for _, victimFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("victim claims before the outcome=%v", victimFirst), func(t *testing.T) {
			w := newOwnedWorld(t)
			w.journey("j-squat", "victim", "Complete", "", "Complete")
			if r := w.claim("squatter", "j-squat"); r.StatusCode != 200 {
				t.Fatalf("squatter's claim = %d %s", r.StatusCode, r.Body)
			}
			squatter := w.profile("squatter")
			if victimFirst {
				// Nobody knows yet whose it is: 409, but the victim's claim is kept.
				if r := w.claim("victim", "j-squat"); r.StatusCode != 409 {
					t.Errorf("victim's claim before any outcome = %d %s, want 409 (contender kept)", r.StatusCode, r.Body)
				}
			}
			e, _ := w.deliver(body(idwise.FinishedJourney, "ev-squat", "j-squat", ""))
			w.mustProcess(e)
			if !victimFirst {
				if st, _ := w.eventState(e); st != string(processor.AwaitingClaim) {
					t.Fatalf("outcome with a squatted claim: state %q (%s), want awaiting_claim", st, w.eventNote(e))
				}
				w.noProfile("victim")
				if r := w.claim("victim", "j-squat"); r.StatusCode != 200 {
					t.Fatalf("victim's claim after the outcome = %d %s, want 200 (the rejected claim replaced)", r.StatusCode, r.Body)
				}
				w.streamClaim(idwise.Provider, "j-squat")
			}
			if st, _ := w.eventState(e); st != string(processor.Processed) {
				t.Errorf("outcome: state %q (%s), want processed", st, w.eventNote(e))
			}
			if p := w.profile("victim"); p.Status != kyc.Approved || p.JourneyID != "j-squat" {
				t.Errorf("victim = %+v, want APPROVED on j-squat", p)
			}
			if p := w.profile("squatter"); p.Status != squatter.Status || p.Version != squatter.Version {
				t.Errorf("squatter = %+v, want unchanged %+v", p, squatter)
			}
			c, ok, err := w.proc.Store.Claim(context.Background(), idwise.Provider, "j-squat")
			if err != nil || !ok || c.ReferenceNo != "victim" || c.State != kyc.ClaimConfirmed {
				t.Errorf("claim = %+v %v %v, want the victim's, confirmed", c, ok, err)
			}
			// Now confirmed: the squatter gets 409 and nothing moves.
			if r := w.claim("squatter", "j-squat"); r.StatusCode != 409 {
				t.Errorf("squatter's claim of a confirmed journey = %d %s, want 409", r.StatusCode, r.Body)
			}
		})
	}
}

// Issue 20: an operator can reassign a squatted journey (kycctl claims -reassign-to): the
// outcome that waited lands on the vendor's reference, the squatter is untouched, and the
// reassignment is in the journey's timeline.
func TestOperatorReassignsASquattedClaim(t *testing.T) {
	w := newOwnedWorld(t)
	w.journey("j-op", "victim", "Complete", "", "Complete")
	if r := w.claim("squatter", "j-op"); r.StatusCode != 200 {
		t.Fatalf("squatter's claim = %d %s", r.StatusCode, r.Body)
	}
	squatter := w.profile("squatter")
	e, _ := w.deliver(body(idwise.FinishedJourney, "ev-op", "j-op", ""))
	w.mustProcess(e)
	tool := ops.New(ops.Config{Store: dynamo.NewOperator(w.ddb, w.table, 0)})
	list, err := tool.ListClaims(context.Background(), idwise.Provider, "j-op", "")
	if err != nil || len(list) != 1 || list[0].State != "rejected" || list[0].VendorReferenceNo != "victim" {
		t.Fatalf("ListClaims(j-op) = %+v, %v; want squatter's claim rejected, vendor victim", list, err)
	}
	res, err := tool.ReassignClaim(context.Background(), idwise.Provider, "j-op", "victim")
	if err != nil || res.From != "squatter" || res.To != "victim" {
		t.Fatalf("ReassignClaim() = %+v, %v", res, err)
	}
	w.streamClaim(idwise.Provider, "j-op")
	if p := w.profile("victim"); p.Status != kyc.Approved {
		t.Errorf("victim after the reassignment = %+v, want APPROVED", p)
	}
	if p := w.profile("squatter"); p.Version != squatter.Version {
		t.Errorf("squatter = %+v, want unchanged %+v", p, squatter)
	}
	tl, err := tool.Timeline(context.Background(), idwise.Provider, "j-op")
	if err != nil || !strings.Contains(fmt.Sprintf("%+v", tl), ops.ClaimReassignedEvent) {
		t.Errorf("timeline = %+v, %v; want the operator's reassignment", tl, err)
	}
}

// Issue 20, current journey for Veriff too: a user who claimed a newer session follows it;
// the older session's decision, even one Veriff made after the newer session's (its review
// took longer), goes on the timeline and never changes the status. Veriff's own check (a
// decision older than the current status) does not catch this order.
func TestOlderVeriffSessionDecidedLaterKeepsTheStatus(t *testing.T) {
	vw := defaultVeriffWorld(t, "JOURNEY_OWNERSHIP", "claimed")
	env := map[string]string{"TABLE_NAME": vw.table, "STATUS_TOPIC_ARN": vw.proc.Config.TopicARN}
	api, err := compose.API(compose.Runtime{AWS: vw.cfg, Getenv: getenv(env), Metrics: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"s-old", "s-new"} {
		req := events.APIGatewayV2HTTPRequest{RouteKey: appapi.RoutePostJourney, Headers: map[string]string{"content-type": "application/json"},
			Body: fmt.Sprintf(`{"journeyId":%q,"referenceNo":"vic","provider":"veriff"}`, s)}
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "vic"}}}
		if r, err := api.Handle(context.Background(), req); err != nil || r.StatusCode != 200 {
			t.Fatalf("claim of %s = %d %s, %v", s, r.StatusCode, r.Body, err)
		}
	}
	sim := veriffsim.New(veriffsim.Config{APIKey: veriffKey, SharedSecret: veriffSecret})
	decision := func(session, status string, at time.Time) string {
		b, err := sim.Decision(session, status, at)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Replace(string(b), `"vendorData":""`, `"vendorData":"vic"`, 1)
	}
	now := time.Now()
	vw.mustProcess(vw.deliver(decision("s-new", "approved", now)))
	if p := vw.profile("vic"); p.Status != kyc.Approved || p.JourneyID != "s-new" {
		t.Fatalf("after the newer session's approval: %+v", p)
	}
	late := vw.deliver(decision("s-old", "declined", now.Add(time.Minute)))
	vw.mustProcess(late)
	if p := vw.profile("vic"); p.Status != kyc.Approved || p.JourneyID != "s-new" {
		t.Errorf("after the older session's later decline: %+v (note %q), want APPROVED on s-new kept", p, vw.eventNote(late))
	}
}
