package processor_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/core/processor/processortest"
)

// memClaims is an in-memory processor.Claims over a MemStore's event states.
type memClaims struct {
	m      *processortest.MemStore
	claims map[string]kyc.Claim
	events map[string]inbox.Event
}

func (c *memClaims) Claim(_ context.Context, provider, journeyID string) (kyc.Claim, bool, error) {
	cl, ok := c.claims[provider+"#"+journeyID]
	return cl, ok, nil
}

func (c *memClaims) AwaitingClaim(ctx context.Context, provider, journeyID string) ([]inbox.Event, error) {
	var out []inbox.Event
	for _, e := range c.events {
		r, _, err := c.m.Event(ctx, e.Provider, e.EventID)
		if err != nil {
			return nil, err
		}
		if r.State == string(processor.AwaitingClaim) && e.Provider == provider && e.JourneyID == journeyID {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ReceivedAt.Before(out[j].ReceivedAt) })
	return out, nil
}

// countingEvents counts the marks written through it.
type countingEvents struct {
	processor.Events
	marks int
}

func (c *countingEvents) Mark(ctx context.Context, e inbox.Event, st processor.State, note string) error {
	c.marks++
	return c.Events.Mark(ctx, e, st, note)
}

// put stores e in m's inbox, as the webhook does before the processor sees it.
func put(t *testing.T, m *processortest.MemStore, e inbox.Event) {
	t.Helper()
	if err := m.Inbox.Put(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

// profiles is the status of every profile among refs that exists.
func profiles(t *testing.T, m *processortest.MemStore, refs ...string) map[string]kyc.Status {
	t.Helper()
	out := map[string]kyc.Status{}
	for _, r := range refs {
		if p, ok, _ := m.Profile(context.Background(), r); ok {
			out[r] = p.Status
		}
	}
	return out
}

var everyone = []string{"alice", "bob", "victim", "attacker", "mallory", "vendor-data", "r1"}

// countingMetrics records metric names.
type countingMetrics struct{ counts map[string]int }

func (c *countingMetrics) Count(_ context.Context, name string, _ map[string]string) {
	c.counts[name]++
}
func (c *countingMetrics) Put(context.Context, string, float64, string, map[string]string) {
}

// Journey ownership in the processor (issue 12): whose profile an outcome lands on, when
// it waits, and that nothing moves (and no side effect runs) for a journey that is not
// its claimer's. Every attacker row asserts that no profile changed.
func TestProcessOwnership(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	approved := func(ref string) processor.Outcome {
		c := change(kyc.Approved, 10)
		c.ReferenceNo = ref
		return processor.Outcome{Change: c, Journey: &processor.Journey{Provider: "v", JourneyID: "j1", ReferenceNo: ref, Version: 10}}
	}
	claim := func(ref string, src kyc.ClaimSource) *kyc.Claim {
		return &kyc.Claim{Provider: "v", JourneyID: "j1", ReferenceNo: ref, Source: src}
	}
	tests := []struct {
		name        string
		mode        kyc.Ownership
		claim       *kyc.Claim
		out         processor.Outcome
		err         error
		receivedAgo time.Duration
		wantState   processor.State
		wantProfile map[string]kyc.Status // every profile that exists afterwards
		wantMetric  string
		wantAfter   bool // the outcome's side effect ran
	}{
		{name: "claimed by the vendor's reference", mode: kyc.OwnershipClaimed, claim: claim("alice", kyc.ClaimByApp), out: approved("alice"),
			wantState: processor.Processed, wantProfile: map[string]kyc.Status{"alice": kyc.Approved}, wantAfter: true},
		{name: "unclaimed waits without a vendor call", mode: kyc.OwnershipClaimed, out: approved("alice"),
			wantState: processor.AwaitingClaim, wantProfile: map[string]kyc.Status{}, wantMetric: "EventsAwaitingClaim"},
		{name: "unclaimed past the wait fails", mode: kyc.OwnershipClaimed, out: approved("alice"), receivedAgo: 8 * 24 * time.Hour,
			wantState: processor.Failed, wantProfile: map[string]kyc.Status{}, wantMetric: "ClaimWaitExpired"},
		{name: "attacker claimed a journey started with the victim's referenceNo", mode: kyc.OwnershipClaimed,
			claim: claim("attacker", kyc.ClaimByApp), out: approved("victim"),
			wantState: processor.Failed, wantProfile: map[string]kyc.Status{}, wantMetric: "OwnershipMismatch"},
		{name: "forged body referenceNo", mode: kyc.OwnershipClaimed, claim: claim("attacker", kyc.ClaimByApp),
			err:       fmt.Errorf("journey j1: %w", kyc.ErrReferenceMismatch),
			wantState: processor.Failed, wantProfile: map[string]kyc.Status{}, wantMetric: "OwnershipMismatch"},
		{name: "forged body referenceNo in vendor mode", mode: kyc.OwnershipVendor,
			err:       fmt.Errorf("journey j1: %w", kyc.ErrReferenceMismatch),
			wantState: processor.Failed, wantProfile: map[string]kyc.Status{}, wantMetric: "OwnershipMismatch"},
		{name: "vendor mode applies to the vendor's reference", mode: kyc.OwnershipVendor, out: approved("alice"),
			wantState: processor.Processed, wantProfile: map[string]kyc.Status{"alice": kyc.Approved}, wantAfter: true},
		{name: "vendor mode ignores another user's claim", mode: kyc.OwnershipVendor, claim: claim("mallory", kyc.ClaimByApp), out: approved("alice"),
			wantState: processor.Processed, wantProfile: map[string]kyc.Status{"alice": kyc.Approved}, wantAfter: true},
		{name: "a session the backend created belongs to its user", mode: kyc.OwnershipClaimed, claim: claim("bob", kyc.ClaimBySession), out: approved("vendor-data"),
			wantState: processor.Processed, wantProfile: map[string]kyc.Status{"bob": kyc.Approved}, wantAfter: true},
		{name: "a timeline-only outcome of a claimed journey", mode: kyc.OwnershipClaimed, claim: claim("alice", kyc.ClaimByApp), out: processor.Outcome{Note: "step"},
			wantState: processor.Processed, wantProfile: map[string]kyc.Status{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := processortest.NewMemStore()
			cl := &memClaims{m: m, claims: map[string]kyc.Claim{}, events: map[string]inbox.Event{}}
			if tt.claim != nil {
				cl.claims["v#j1"] = *tt.claim
			}
			ran := false
			out := tt.out
			if out.Change != nil {
				out.After = func(context.Context) (string, error) { ran = true; return "side effect", nil }
			}
			calls := 0
			res := resolverFunc(func(context.Context, inbox.Event) (processor.Outcome, error) { calls++; return out, tt.err })
			met := &countingMetrics{counts: map[string]int{}}
			svc := processor.New(map[string]processor.Resolver{"v": res}, processor.Deps{Journeys: m, Profiles: m, Outbox: m,
				Publisher: &pub{}, Events: m, Metrics: met, Ownership: tt.mode, Claims: cl})
			processor.SetClock(svc, func() time.Time { return now })
			e := event("e")
			e.ReceivedAt = now.Add(-tt.receivedAgo)
			put(t, m, e)
			if err := svc.Process(context.Background(), e); err != nil {
				t.Fatalf("Process() error = %v", err)
			}
			if got := markedState(t, m, e); got != tt.wantState {
				t.Errorf("event state = %q, want %q", got, tt.wantState)
			}
			if got := profiles(t, m, everyone...); fmt.Sprint(got) != fmt.Sprint(tt.wantProfile) {
				t.Errorf("profiles = %v, want %v", got, tt.wantProfile)
			}
			if j, ok, _ := m.Journey(context.Background(), "v", "j1"); ok {
				if _, allowed := tt.wantProfile[j.ReferenceNo]; !allowed {
					t.Errorf("journey stored for %q, a profile the outcome may not touch", j.ReferenceNo)
				}
			}
			if tt.wantMetric != "" && met.counts[tt.wantMetric] != 1 {
				t.Errorf("metric %s = %d, want 1 (counts %v)", tt.wantMetric, met.counts[tt.wantMetric], met.counts)
			}
			if ran != tt.wantAfter {
				t.Errorf("side effect ran = %v, want %v", ran, tt.wantAfter)
			}
			if tt.wantState == processor.AwaitingClaim && calls != 0 {
				t.Errorf("resolver called %d times for an unclaimed journey, want 0 (no vendor call)", calls)
			}
		})
	}
}

// An outcome that arrived before the claim is applied when the claim arrives; the
// sweeper's Redrive leaves a still-unclaimed event alone (no write).
func TestClaimArrivedAppliesWaitingOutcomes(t *testing.T) {
	m := processortest.NewMemStore()
	cl := &memClaims{m: m, claims: map[string]kyc.Claim{}, events: map[string]inbox.Event{}}
	c := change(kyc.Approved, 10)
	c.ReferenceNo = "alice"
	res := resolverFunc(func(context.Context, inbox.Event) (processor.Outcome, error) {
		return processor.Outcome{Change: c}, nil
	})
	evs := &countingEvents{Events: m}
	svc := processor.New(map[string]processor.Resolver{"v": res}, processor.Deps{Journeys: m, Profiles: m, Outbox: m,
		Publisher: &pub{}, Events: evs, Ownership: kyc.OwnershipClaimed, Claims: cl})
	ctx := context.Background()
	e := event("e")
	e.ReceivedAt = time.Now()
	cl.events["e"] = e
	put(t, m, e)
	if err := svc.Process(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got := markedState(t, m, e); got != processor.AwaitingClaim {
		t.Fatalf("state = %q, want awaiting_claim", got)
	}
	marks := evs.marks
	if err := svc.Redrive(ctx, e); err != nil { // still unclaimed: no write
		t.Fatal(err)
	}
	if evs.marks != marks {
		t.Errorf("Redrive of an unclaimed event wrote %d marks, want none", evs.marks-marks)
	}
	claim := kyc.Claim{Provider: "v", JourneyID: "j1", ReferenceNo: "alice", Source: kyc.ClaimByApp}
	cl.claims["v#j1"] = claim
	if err := svc.ClaimArrived(ctx, claim); err != nil {
		t.Fatal(err)
	}
	if got, p := markedState(t, m, e), profiles(t, m, "alice"); got != processor.Processed || p["alice"] != kyc.Approved {
		t.Errorf("after the claim: state %q, profiles %v; want processed, alice APPROVED", got, p)
	}
}

// A permanent failure of the deferred side effect fails the event; a transient one is retried.
func TestAfterErrors(t *testing.T) {
	for _, tt := range []struct {
		name      string
		err       error
		wantErr   bool
		wantState processor.State
	}{
		{"permanent", fmt.Errorf("%w: refused", kyc.ErrPermanent), false, processor.Failed},
		{"transient", errors.New("timeout"), true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := processortest.NewMemStore()
			res := resolverFunc(func(context.Context, inbox.Event) (processor.Outcome, error) {
				return processor.Outcome{Change: change(kyc.PendingVerification, 10),
					After: func(context.Context) (string, error) { return "", tt.err }}, nil
			})
			svc := processor.New(map[string]processor.Resolver{"v": res}, processor.Deps{Journeys: m, Profiles: m, Outbox: m, Publisher: &pub{}, Events: m})
			e := event("e")
			put(t, m, e)
			err := svc.Process(context.Background(), e)
			if got := markedState(t, m, e); (err != nil) != tt.wantErr || got != tt.wantState {
				t.Errorf("Process() = %v, state %q; want error %v, state %q", err, got, tt.wantErr, tt.wantState)
			}
			if p := profiles(t, m, "r1"); len(p) != 0 {
				t.Errorf("profile moved although the side effect failed: %v", p)
			}
		})
	}
}

type resolverFunc func(context.Context, inbox.Event) (processor.Outcome, error)

func (f resolverFunc) Resolve(ctx context.Context, e inbox.Event, _ processor.Journey, _ bool) (processor.Outcome, error) {
	return f(ctx, e)
}
