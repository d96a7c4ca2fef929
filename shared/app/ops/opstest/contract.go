package opstest

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// Kinds of item (opstore.ItemKey.Kind) that opstore declares in its doc comment only.
const (
	kindEvents      = "events"
	kindJourneys    = "journeys"
	kindClaims      = "claims"
	kindCustomSteps = "customSteps"
	kindPushMarkers = "pushMarkers"
	kindRateLimits  = "rateLimits"
	kindQuarantined = "quarantined"
)

// RunTableContract runs the behaviour every ops.Table must have. newHarness returns a
// table with nothing in it and the stores that write to it.
func RunTableContract(t *testing.T, newHarness func(t *testing.T) Harness) {
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	far := at.Add(24 * time.Hour)

	put := func(t *testing.T, h Harness, e inbox.Event) inbox.Event {
		t.Helper()
		if err := h.Inbox.Put(ctx, e); err != nil {
			t.Fatalf("Inbox.Put(%s) = %v", e.EventID, err)
		}
		return e
	}
	mark := func(t *testing.T, h Harness, e inbox.Event, st processor.State, note string) {
		t.Helper()
		if err := h.Stores.Mark(ctx, e, st, note); err != nil {
			t.Fatalf("Mark(%s, %s) = %v", e.EventID, st, err)
		}
	}
	stored := func(t *testing.T, h Harness, provider, id string) (opstore.Event, bool) {
		t.Helper()
		se, found, err := h.Table.StoredEvent(ctx, provider, id)
		if err != nil {
			t.Fatalf("StoredEvent(%s, %s) = %v", provider, id, err)
		}
		return se, found
	}
	// apply writes a status change of ref (version v, over what is stored) with its status
	// event, as the processor does, and returns the event.
	apply := func(t *testing.T, h Harness, ref, provider, journeyID string, st kyc.Status, v int64) kyc.StatusEvent {
		t.Helper()
		current, found, err := h.Stores.Profile(ctx, ref)
		if err != nil {
			t.Fatalf("Profile(%s) = %v", ref, err)
		}
		c := kyc.Change{ReferenceNo: ref, JourneyID: journeyID, Provider: provider, Status: st, Reasons: []string{"step:1"},
			Version: v, OccurredAt: at.Add(time.Duration(v) * time.Second)}
		ev := kyc.NewStatusEvent(c, current.Status)
		if err := h.Stores.ApplyStatus(ctx, c, current, found, &ev); err != nil {
			t.Fatalf("ApplyStatus(%s v%d) = %v", ref, v, err)
		}
		return ev
	}
	exists := func(t *testing.T, h Harness, k opstore.ItemKey) bool {
		t.Helper()
		found, err := h.Table.Exists(ctx, k)
		if err != nil {
			t.Fatalf("Exists(%+v) = %v", k, err)
		}
		return found
	}
	kinds := func(keys []opstore.ItemKey) map[string]int {
		n := map[string]int{}
		for _, k := range keys {
			n[k.Kind]++
		}
		return n
	}
	eventIDs := func(events []opstore.Event) []string {
		ids := []string{}
		for _, e := range events {
			ids = append(ids, e.Event.EventID)
		}
		return ids
	}
	statusIDs := func(records []opstore.StatusRecord) []string {
		ids := []string{}
		for _, r := range records {
			ids = append(ids, r.Event.ID)
		}
		return ids
	}

	t.Run("profile, erased, journey and custom step: not found, then as written", func(t *testing.T) {
		h := newHarness(t)
		lookups := []struct {
			name  string
			found func() (bool, error)
		}{
			{"Profile", func() (bool, error) { _, f, err := h.Table.Profile(ctx, "alice"); return f, err }},
			{"Erased", func() (bool, error) { return h.Table.Erased(ctx, "alice") }},
			{"Journey", func() (bool, error) { _, f, err := h.Table.Journey(ctx, idwise.Provider, "j-1"); return f, err }},
			{"Step", func() (bool, error) { _, f, err := h.Table.Step(ctx, "j-1", "selfie"); return f, err }},
		}
		for _, l := range lookups {
			if found, err := l.found(); err != nil || found {
				t.Errorf("%s() of an empty table = %v, %v; want not found", l.name, found, err)
			}
		}

		apply(t, h, "alice", idwise.Provider, "j-1", kyc.Approved, 1)
		j := processor.Journey{Provider: idwise.Provider, JourneyID: "j-1", ReferenceNo: "alice",
			Decisions: map[string]string{"finalDecision": "Complete"}, Details: map[string]string{"documentType": "passport"},
			FetchedAt: at, Version: 3}
		if err := h.Stores.PutJourney(ctx, j); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Steps.ClaimStep(ctx, "j-1", "selfie", "token-1", time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Table.Tombstone(ctx, "alice", at); err != nil {
			t.Fatal(err)
		}
		for _, l := range lookups {
			if found, err := l.found(); err != nil || !found {
				t.Errorf("%s() after its write = %v, %v; want found", l.name, found, err)
			}
		}

		p, _, _ := h.Table.Profile(ctx, "alice")
		if p.ReferenceNo != "alice" || p.Status != kyc.Approved || p.JourneyID != "j-1" || p.Provider != idwise.Provider || p.Version != 1 {
			t.Errorf("Profile() = %+v, want alice APPROVED by idwise/j-1 v1", p)
		}
		gotJ, _, _ := h.Table.Journey(ctx, idwise.Provider, "j-1")
		if gotJ.ReferenceNo != "alice" || gotJ.Version != 3 || gotJ.Decisions["finalDecision"] != "Complete" || !gotJ.FetchedAt.Equal(at) {
			t.Errorf("Journey() = %+v, want %+v", gotJ, j)
		}
		m, _, _ := h.Table.Step(ctx, "j-1", "selfie")
		if m.State != idwise.StepSubmitting || !m.Claimed || m.Attempts != 1 {
			t.Errorf("Step() = %+v, want submitting, claimed, 1 attempt", m)
		}
		others := []struct {
			name  string
			found func() (bool, error)
		}{
			{"Profile(bob)", func() (bool, error) { _, f, err := h.Table.Profile(ctx, "bob"); return f, err }},
			{"Erased(bob)", func() (bool, error) { return h.Table.Erased(ctx, "bob") }},
			{"Journey(veriff, j-1)", func() (bool, error) { _, f, err := h.Table.Journey(ctx, "veriff", "j-1"); return f, err }},
			{"Step(j-1, other)", func() (bool, error) { _, f, err := h.Table.Step(ctx, "j-1", "other"); return f, err }},
			{"Step(j-2, selfie)", func() (bool, error) { _, f, err := h.Table.Step(ctx, "j-2", "selfie"); return f, err }},
		}
		for _, l := range others {
			if found, err := l.found(); err != nil || found {
				t.Errorf("%s = %v, %v; want not found (keyed by its own ids)", l.name, found, err)
			}
		}
	})

	t.Run("an operator event is recorded pending, marked operator, once per id", func(t *testing.T) {
		h := newHarness(t)
		e := NewEvent(idwise.Provider, "refetch-1", "j-1", "alice", at)
		e.Attributes = map[string]string{"operator": "refetch"}
		if err := h.Table.PutOperatorEvent(ctx, e); err != nil {
			t.Fatalf("PutOperatorEvent() = %v", err)
		}
		again := e
		again.Name, again.Attributes = "Other", map[string]string{"operator": "again"}
		if err := h.Table.PutOperatorEvent(ctx, again); !errors.Is(err, inbox.ErrDuplicate) {
			t.Errorf("PutOperatorEvent(same id) = %v, want inbox.ErrDuplicate", err)
		}
		vendor := NewEvent(idwise.Provider, "refetch-1", "j-9", "bob", at)
		if err := h.Inbox.Put(ctx, vendor); !errors.Is(err, inbox.ErrDuplicate) {
			t.Errorf("Inbox.Put(an operator event's id) = %v, want inbox.ErrDuplicate", err)
		}
		se, found := stored(t, h, idwise.Provider, "refetch-1")
		if !found || se.State != "pending" || !se.Operator || se.Err != nil {
			t.Fatalf("StoredEvent() = %+v (found %v), want a pending operator event", se, found)
		}
		got := se.Event
		if got.Name != e.Name || got.JourneyID != "j-1" || got.ReferenceNo != "alice" || got.Attributes["operator"] != "refetch" ||
			!got.Processable || !got.ReceivedAt.Equal(at) || got.Provider != idwise.Provider {
			t.Errorf("StoredEvent().Event = %+v, want the first write %+v", got, e)
		}
		if _, found := stored(t, h, "veriff", "refetch-1"); found {
			t.Errorf("StoredEvent(veriff, refetch-1) found, want events keyed by provider too")
		}
	})

	t.Run("a stored event with where it stands", func(t *testing.T) {
		h := newHarness(t)
		tests := []struct {
			name      string
			seed      func(t *testing.T, e inbox.Event) inbox.Event
			wantState string
			wantNote  string
			wantRef   string
		}{
			{"accepted, not processed yet", func(t *testing.T, e inbox.Event) inbox.Event { return put(t, h, e) }, "pending", "", "alice"},
			{"not processable", func(t *testing.T, e inbox.Event) inbox.Event { e.Processable = false; return put(t, h, e) }, "unprocessable", "", "alice"},
			{"processed", func(t *testing.T, e inbox.Event) inbox.Event {
				mark(t, h, put(t, h, e), processor.Processed, "status APPROVED")
				return e
			}, "processed", "status APPROVED", "alice"},
			{"failed", func(t *testing.T, e inbox.Event) inbox.Event {
				mark(t, h, put(t, h, e), processor.Failed, "journey not found")
				return e
			}, "failed", "journey not found", "alice"},
			{"awaiting its claim", func(t *testing.T, e inbox.Event) inbox.Event {
				mark(t, h, put(t, h, e), processor.AwaitingClaim, "waits")
				return e
			}, "awaiting_claim", "waits", "alice"},
			{"forgotten (erased profile)", func(t *testing.T, e inbox.Event) inbox.Event {
				if err := h.Stores.Forget(ctx, put(t, h, e), "profile erased"); err != nil {
					t.Fatal(err)
				}
				return e
			}, "skipped", "profile erased", ""},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := "e-" + string(rune('a'+i))
				e := tt.seed(t, NewEvent(idwise.Provider, id, "j-1", "alice", at.Add(time.Duration(i)*time.Second)))
				se, found := stored(t, h, idwise.Provider, id)
				if !found || se.State != tt.wantState || se.Note != tt.wantNote || se.Operator || se.Err != nil {
					t.Fatalf("StoredEvent() = state %q note %q operator %v err %v (found %v), want %q %q, a vendor event",
						se.State, se.Note, se.Operator, se.Err, found, tt.wantState, tt.wantNote)
				}
				if se.Event.EventID != id || se.Event.Name != e.Name || se.Event.JourneyID != "j-1" ||
					se.Event.ReferenceNo != tt.wantRef || !se.Event.ReceivedAt.Equal(e.ReceivedAt) {
					t.Errorf("StoredEvent().Event = %+v, want %s of j-1 naming %q received %v", se.Event, id, tt.wantRef, e.ReceivedAt)
				}
			})
		}
		if se, found := stored(t, h, idwise.Provider, "no-such-event"); found {
			t.Errorf("StoredEvent(unknown) = %+v, want not found", se)
		}
	})

	t.Run("reset to pending only from failed", func(t *testing.T) {
		h := newHarness(t)
		tests := []struct {
			name      string
			seed      func(t *testing.T, e inbox.Event) // nil: no event at all
			wantErr   error
			wantState string
		}{
			{"failed", func(t *testing.T, e inbox.Event) { mark(t, h, put(t, h, e), processor.Failed, "boom") }, nil, "pending"},
			{"pending", func(t *testing.T, e inbox.Event) { put(t, h, e) }, processor.ErrConflict, "pending"},
			{"processed", func(t *testing.T, e inbox.Event) { mark(t, h, put(t, h, e), processor.Processed, "") }, processor.ErrConflict, "processed"},
			{"skipped", func(t *testing.T, e inbox.Event) { mark(t, h, put(t, h, e), processor.Skipped, "") }, processor.ErrConflict, "skipped"},
			{"awaiting its claim", func(t *testing.T, e inbox.Event) { mark(t, h, put(t, h, e), processor.AwaitingClaim, "") }, processor.ErrConflict, "awaiting_claim"},
			{"unprocessable", func(t *testing.T, e inbox.Event) { e.Processable = false; put(t, h, e) }, processor.ErrConflict, "unprocessable"},
			{"no such event", nil, processor.ErrConflict, ""},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := "r-" + string(rune('a'+i))
				if tt.seed != nil {
					tt.seed(t, NewEvent(idwise.Provider, id, "j-1", "alice", at.Add(time.Duration(i)*time.Second)))
				}
				err := h.Table.ResetToPending(ctx, idwise.Provider, id)
				if (tt.wantErr == nil && err != nil) || !errors.Is(err, tt.wantErr) {
					t.Errorf("ResetToPending() = %v, want %v", err, tt.wantErr)
				}
				se, found := stored(t, h, idwise.Provider, id)
				if found != (tt.seed != nil) || se.State != tt.wantState {
					t.Errorf("StoredEvent() after = %q (found %v), want %q", se.State, found, tt.wantState)
				}
				if tt.wantErr == nil {
					if err := h.Table.ResetToPending(ctx, idwise.Provider, id); !errors.Is(err, processor.ErrConflict) {
						t.Errorf("ResetToPending() again = %v, want ErrConflict (it is pending now)", err)
					}
				}
			})
		}
		// The reset event left the failed queue for the pending one.
		pending, err := h.Table.Unprocessed(ctx, opstore.Pending, time.Time{}, far, 100)
		if err != nil {
			t.Fatal(err)
		}
		failed, err := h.Table.Unprocessed(ctx, opstore.Failed, time.Time{}, far, 100)
		if err != nil {
			t.Fatal(err)
		}
		if ids := eventIDs(pending); !slices.Equal(ids, []string{"r-a", "r-b"}) {
			t.Errorf("Unprocessed(pending) after the resets = %v, want [r-a r-b]", ids)
		}
		if ids := eventIDs(failed); len(ids) != 0 {
			t.Errorf("Unprocessed(failed) after the reset = %v, want none", ids)
		}
	})

	t.Run("a journey's timeline: its events, vendor and operator, oldest first", func(t *testing.T) {
		h := newHarness(t)
		// Written out of order; some receivedAt with fractional seconds, some without
		// (a clock's reading may end in zeros): the order is by time.
		type seed struct {
			id       string
			at       time.Time
			operator bool
			state    processor.State
		}
		seeds := []seed{
			{"e-3", at.Add(3 * time.Second), false, processor.Failed},
			{"e-1", at.Add(1 * time.Second), false, processor.Processed},
			{"refetch", at.Add(2*time.Second + 120*time.Millisecond), true, processor.Processed},
			{"e-1.5", at.Add(1500 * time.Millisecond), false, processor.Skipped},
			{"e-2.123", at.Add(2*time.Second + 123*time.Millisecond), false, processor.AwaitingClaim},
		}
		for _, s := range seeds {
			e := NewEvent(idwise.Provider, s.id, "j-1", "alice", s.at)
			if s.operator {
				if err := h.Table.PutOperatorEvent(ctx, e); err != nil {
					t.Fatal(err)
				}
			} else {
				put(t, h, e)
			}
			mark(t, h, e, s.state, "note "+s.id)
		}
		mark(t, h, put(t, h, NewEvent(idwise.Provider, "other-journey", "j-2", "alice", at)), processor.Processed, "")
		mark(t, h, put(t, h, NewEvent("veriff", "other-provider", "j-1", "alice", at)), processor.Processed, "")

		got, err := h.Table.JourneyTimeline(ctx, idwise.Provider, "j-1")
		if err != nil {
			t.Fatalf("JourneyTimeline() = %v", err)
		}
		want := []string{"e-1", "e-1.5", "refetch", "e-2.123", "e-3"}
		if ids := eventIDs(got); !slices.Equal(ids, want) {
			t.Fatalf("JourneyTimeline() = %v, want %v", ids, want)
		}
		for _, se := range got {
			s := seeds[slices.IndexFunc(seeds, func(s seed) bool { return s.id == se.Event.EventID })]
			if se.Operator != s.operator || se.State != string(s.state) || se.Note != "note "+s.id || !se.Event.ReceivedAt.Equal(s.at) ||
				se.Event.Attributes["finalDecision"] != "Complete" || se.Err != nil {
				t.Errorf("timeline entry %s = operator %v state %q note %q at %v attrs %v err %v; want operator %v state %q at %v",
					s.id, se.Operator, se.State, se.Note, se.Event.ReceivedAt, se.Event.Attributes, se.Err, s.operator, s.state, s.at)
			}
		}
		if none, err := h.Table.JourneyTimeline(ctx, idwise.Provider, "j-none"); err != nil || len(none) != 0 {
			t.Errorf("JourneyTimeline(unknown journey) = %v, %v; want none", eventIDs(none), err)
		}
	})

	t.Run("unprocessed events: per queue, in [from, to], up to limit, oldest first", func(t *testing.T) {
		h := newHarness(t)
		sec := func(s float64) time.Time { return at.Add(time.Duration(s * float64(time.Second))) }
		for _, s := range []struct {
			id    string
			at    float64
			state processor.State // "" pending
		}{
			{"p-3", 3, ""}, {"p-1", 1, ""}, {"p-2", 2, ""}, {"p-1.5", 1.5, ""},
			{"f-2.5", 2.5, processor.Failed}, {"f-1", 1, processor.Failed},
			{"a-2", 2, processor.AwaitingClaim},
			{"x-1", 1, processor.Processed}, {"s-2", 2, processor.Skipped},
		} {
			e := put(t, h, NewEvent(idwise.Provider, s.id, "j-"+s.id, "alice", sec(s.at)))
			if s.state != "" {
				mark(t, h, e, s.state, "note "+s.id)
			}
		}
		u := NewEvent(idwise.Provider, "u-1", "j-u", "alice", sec(1))
		u.Processable = false
		put(t, h, u)
		op := NewEvent(idwise.Provider, "op-2.5", "j-op-2.5", "alice", sec(2.5))
		if err := h.Table.PutOperatorEvent(ctx, op); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name     string
			q        opstore.Queue
			from, to time.Time
			limit    int
			want     []string
		}{
			{"pending, vendor and operator", opstore.Pending, time.Time{}, far, 100, []string{"p-1", "p-1.5", "p-2", "op-2.5", "p-3"}},
			{"both ends included", opstore.Pending, sec(1.5), sec(2.5), 100, []string{"p-1.5", "p-2", "op-2.5"}},
			{"to a whole second excludes the fraction after it", opstore.Pending, time.Time{}, sec(1), 100, []string{"p-1"}},
			{"from a fraction", opstore.Pending, sec(1.2), sec(2), 100, []string{"p-1.5", "p-2"}},
			{"limit keeps the oldest", opstore.Pending, time.Time{}, far, 2, []string{"p-1", "p-1.5"}},
			{"limit within a window", opstore.Pending, sec(2), far, 1, []string{"p-2"}},
			{"an empty window", opstore.Pending, sec(3.5), sec(4), 100, []string{}},
			{"failed", opstore.Failed, time.Time{}, far, 100, []string{"f-1", "f-2.5"}},
			{"failed in a window", opstore.Failed, sec(2), sec(3), 100, []string{"f-2.5"}},
			{"awaiting their claim", opstore.Awaiting, time.Time{}, far, 100, []string{"a-2"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := h.Table.Unprocessed(ctx, tt.q, tt.from, tt.to, tt.limit)
				if err != nil {
					t.Fatalf("Unprocessed() = %v", err)
				}
				if ids := eventIDs(got); !slices.Equal(ids, tt.want) {
					t.Errorf("Unprocessed(%s, %v, %v, %d) = %v, want %v", tt.q, tt.from, tt.to, tt.limit, ids, tt.want)
				}
				for _, se := range got {
					wantState := map[opstore.Queue]string{opstore.Pending: "pending", opstore.Failed: "failed", opstore.Awaiting: "awaiting_claim"}[tt.q]
					if se.State != wantState || se.Event.Provider != idwise.Provider || se.Event.JourneyID != "j-"+se.Event.EventID ||
						se.Operator != (se.Event.EventID == "op-2.5") {
						t.Errorf("Unprocessed() entry %+v, want state %q, the event as stored", se, wantState)
					}
				}
			})
		}
		if _, err := h.Table.Unprocessed(ctx, opstore.Queue("processed"), time.Time{}, far, 10); err == nil {
			t.Errorf("Unprocessed(unknown queue) = nil error, want one")
		}
	})

	t.Run("unsent status events: in [from, to], up to limit, oldest first; a sent one is not listed", func(t *testing.T) {
		h := newHarness(t)
		// The time a status event is recorded is the store's clock: read it back
		// (StatusHistory) and build the windows from it.
		var evs []kyc.StatusEvent
		for i, st := range []kyc.Status{kyc.PendingVerification, kyc.Rejected, kyc.Approved} {
			evs = append(evs, apply(t, h, "alice", idwise.Provider, "j-1", st, int64(i+1)))
			time.Sleep(5 * time.Millisecond)
		}
		evs = append(evs, apply(t, h, "bob", "veriff", "s-1", kyc.Approved, 1))
		history := func(ref string) map[string]opstore.StatusRecord {
			t.Helper()
			rs, err := h.Table.StatusHistory(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]opstore.StatusRecord{}
			for _, r := range rs {
				m[r.Event.ID] = r
			}
			return m
		}
		recorded := map[string]time.Time{}
		for _, ref := range []string{"alice", "bob"} {
			for id, r := range history(ref) {
				recorded[id] = r.RecordedAt
			}
		}
		for i := 1; i < len(evs); i++ {
			if !recorded[evs[i-1].ID].Before(recorded[evs[i].ID]) {
				t.Fatalf("status events recorded at %v, %v: want them in the order written", recorded[evs[i-1].ID], recorded[evs[i].ID])
			}
		}
		if err := h.Stores.MarkSent(ctx, "alice", evs[1].ID); err != nil {
			t.Fatal(err)
		}
		rec := func(i int) time.Time { return recorded[evs[i].ID] }
		tests := []struct {
			name     string
			from, to time.Time
			limit    int
			want     []int
		}{
			{"all but the sent one", time.Time{}, time.Now().Add(time.Hour), 100, []int{0, 2, 3}},
			{"both ends included", rec(0), rec(2), 100, []int{0, 2}},
			{"after the first", rec(0).Add(time.Nanosecond), rec(3), 100, []int{2, 3}},
			{"before the last", rec(2), rec(3).Add(-time.Nanosecond), 100, []int{2}},
			{"limit keeps the oldest", time.Time{}, rec(3), 2, []int{0, 2}},
			{"a window with only the sent one", rec(1), rec(1), 100, []int{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := h.Table.Unsent(ctx, tt.from, tt.to, tt.limit)
				if err != nil {
					t.Fatalf("Unsent() = %v", err)
				}
				want := []string{}
				for _, i := range tt.want {
					want = append(want, evs[i].ID)
				}
				if ids := statusIDs(got); !slices.Equal(ids, want) {
					t.Errorf("Unsent(%v, %v, %d) = %v, want %v", tt.from, tt.to, tt.limit, ids, want)
				}
				for _, r := range got {
					if r.SentAt != nil || !r.RecordedAt.Equal(recorded[r.Event.ID]) || r.Event.Status == "" || r.Event.ReferenceNo == "" {
						t.Errorf("Unsent() record %+v, want unsent, recorded at %v, the status event", r, recorded[r.Event.ID])
					}
				}
			})
		}
	})

	t.Run("status history: a profile's own status events, sent or not", func(t *testing.T) {
		h := newHarness(t)
		e1 := apply(t, h, "alice", idwise.Provider, "j-1", kyc.PendingVerification, 1)
		e2 := apply(t, h, "alice", idwise.Provider, "j-1", kyc.Approved, 2)
		bob := apply(t, h, "bob", idwise.Provider, "j-2", kyc.Rejected, 1)
		// Other items of alice's partition are not status events.
		if err := h.Devices.SaveDevice(ctx, NewDevice("alice", "t1", at), nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.Limits.Allow(ctx, "alice", "claims", 10, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := h.Stores.MarkSent(ctx, "alice", e1.ID); err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		got, err := h.Table.StatusHistory(ctx, "alice")
		if err != nil {
			t.Fatalf("StatusHistory() = %v", err)
		}
		ids := statusIDs(got)
		slices.Sort(ids)
		want := []string{e1.ID, e2.ID}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("StatusHistory(alice) = %v, want %v", ids, want)
		}
		for _, r := range got {
			w := e2
			if r.Event.ID == e1.ID {
				w = e1
			}
			if r.Event.Status != w.Status || r.Event.PreviousStatus != w.PreviousStatus || r.Event.JourneyID != "j-1" ||
				r.Event.OccurredAt != w.OccurredAt || !slices.Equal(r.Event.Reasons, w.Reasons) || r.RecordedAt.IsZero() ||
				r.RecordedAt.After(before) {
				t.Errorf("StatusHistory() record %+v, want %+v recorded before now", r, w)
			}
			if sent := r.SentAt != nil; sent != (r.Event.ID == e1.ID) {
				t.Errorf("record %s sent = %v, want only %s sent", r.Event.ID, sent, e1.ID)
			} else if sent && (r.SentAt.Before(r.RecordedAt) || r.SentAt.After(before)) {
				t.Errorf("record %s sent at %v, want between its recording %v and now", r.Event.ID, *r.SentAt, r.RecordedAt)
			}
		}
		if got, err := h.Table.StatusHistory(ctx, "bob"); err != nil || !slices.Equal(statusIDs(got), []string{bob.ID}) {
			t.Errorf("StatusHistory(bob) = %v, %v; want [%s]", statusIDs(got), err, bob.ID)
		}
		if got, err := h.Table.StatusHistory(ctx, "carol"); err != nil || len(got) != 0 {
			t.Errorf("StatusHistory(unknown) = %v, %v; want none", statusIDs(got), err)
		}
	})

	t.Run("quarantine: every record, its body only when asked, until f says stop", func(t *testing.T) {
		h := newHarness(t)
		want := map[string]inbox.Quarantined{}
		for i, ref := range []string{"alice", "bob", "carol"} {
			body := []byte(`{"referenceNo":"` + ref + `","journeyId":1}`)
			q := inbox.Quarantined{Provider: idwise.Provider, Reason: "journeyId: not a string " + ref, Body: body,
				BodyHash: inbox.Hash(body), ReceivedAt: at.Add(time.Duration(i) * time.Second), ExpiresAt: time.Now().Add(time.Hour)}
			if err := h.Inbox.Quarantine(ctx, q); err != nil {
				t.Fatal(err)
			}
			want[q.BodyHash] = q
		}
		put(t, h, NewEvent(idwise.Provider, "e-1", "j-1", "alice", at)) // not quarantined
		scan := func(t *testing.T, withBody bool) []opstore.Quarantined {
			t.Helper()
			var got []opstore.Quarantined
			if err := h.Table.ScanQuarantine(ctx, withBody, func(q opstore.Quarantined) bool { got = append(got, q); return true }); err != nil {
				t.Fatalf("ScanQuarantine(%v) = %v", withBody, err)
			}
			return got
		}
		for _, withBody := range []bool{false, true} {
			got := scan(t, withBody)
			if len(got) != len(want) {
				t.Fatalf("ScanQuarantine(withBody %v) = %d records, want %d", withBody, len(got), len(want))
			}
			for _, q := range got {
				w, ok := want[q.BodyHash]
				if !ok || q.Provider != w.Provider || q.Reason != w.Reason || !q.ReceivedAt.Equal(w.ReceivedAt) ||
					q.Key.Kind != kindQuarantined {
					t.Errorf("ScanQuarantine(withBody %v) record %+v, want %s %q %q at %v, kind %s",
						withBody, q, w.BodyHash, w.Provider, w.Reason, w.ReceivedAt, kindQuarantined)
				}
				if withBody != (q.Body != nil) || (withBody && !bytes.Equal(q.Body, w.Body)) {
					t.Errorf("ScanQuarantine(withBody %v) body = %q, want %q only with body", withBody, q.Body, w.Body)
				}
			}
		}
		calls := 0
		if err := h.Table.ScanQuarantine(ctx, false, func(opstore.Quarantined) bool { calls++; return false }); err != nil || calls != 1 {
			t.Errorf("ScanQuarantine(stop at once) = %v after %d calls, want nil after 1", err, calls)
		}
		calls = 0
		if err := h.Table.ScanQuarantine(ctx, true, func(opstore.Quarantined) bool { calls++; return calls < 2 }); err != nil || calls != 2 {
			t.Errorf("ScanQuarantine(stop at the second) = %v after %d calls, want nil after 2", err, calls)
		}
		// Its key deletes it (an erasure with -quarantine).
		first := scan(t, true)[0]
		if deleted, err := h.Table.Delete(ctx, first.Key); err != nil || !deleted {
			t.Fatalf("Delete(quarantine record) = %v, %v; want deleted", deleted, err)
		}
		for _, q := range scan(t, false) {
			if q.BodyHash == first.BodyHash {
				t.Errorf("ScanQuarantine() after Delete lists %s, want it gone", first.BodyHash)
			}
		}
	})

	t.Run("tombstone: written once, the first time kept", func(t *testing.T) {
		h := newHarness(t)
		dubai := time.FixedZone("GST", 4*3600)
		first := time.Date(2025, 3, 1, 14, 0, 0, 123456789, dubai)
		got, err := h.Table.Tombstone(ctx, "alice", first)
		if err != nil || !got.Equal(first) {
			t.Fatalf("Tombstone(first) = %v, %v; want %v", got, err, first)
		}
		if got.Location() != time.UTC {
			t.Errorf("Tombstone() = %v, want it in UTC", got)
		}
		again, err := h.Table.Tombstone(ctx, "alice", first.Add(time.Hour))
		if err != nil || !again.Equal(first) {
			t.Errorf("Tombstone(again, later) = %v, %v; want the first %v", again, err, first)
		}
		if erased, err := h.Table.Erased(ctx, "alice"); err != nil || !erased {
			t.Errorf("Erased(alice) = %v, %v; want true", erased, err)
		}
		if erased, _ := h.Table.Erased(ctx, "bob"); erased {
			t.Errorf("Erased(bob) = true, want only alice's tombstone")
		}
		items, err := h.Table.ProfileItems(ctx, "alice")
		if err != nil || len(items) != 1 || items[0].Key.Kind != opstore.KindTombstone {
			t.Errorf("ProfileItems() = %+v, %v; want the tombstone", items, err)
		}
	})

	t.Run("profile items: the whole partition, with the journey each names", func(t *testing.T) {
		h := newHarness(t)
		e1 := apply(t, h, "alice", idwise.Provider, "j-1", kyc.Rejected, 1)
		e2 := apply(t, h, "alice", "veriff", "s-1", kyc.Approved, 2)
		apply(t, h, "bob", idwise.Provider, "j-9", kyc.Approved, 1)
		for _, tok := range []string{"t1", "t2"} {
			if err := h.Devices.SaveDevice(ctx, NewDevice("alice", tok, at), nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := h.Limits.Allow(ctx, "alice", "claims", 10, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Table.Tombstone(ctx, "alice", at); err != nil {
			t.Fatal(err)
		}
		items, err := h.Table.ProfileItems(ctx, "alice")
		if err != nil {
			t.Fatalf("ProfileItems() = %v", err)
		}
		var keys []opstore.ItemKey
		for _, it := range items {
			keys = append(keys, it.Key)
			switch it.Key.Kind {
			case opstore.KindProfile:
				if it.Provider != "veriff" || it.JourneyID != "s-1" {
					t.Errorf("profile item names %s/%s, want the profile's journey veriff/s-1", it.Provider, it.JourneyID)
				}
			case opstore.KindStatusEvents:
				w := map[string]kyc.StatusEvent{e1.ID: e1, e2.ID: e2}[it.StatusEventID]
				if w.ID == "" || it.Provider != w.Provider || it.JourneyID != w.JourneyID {
					t.Errorf("status event item %+v, want one of %s, %s with its journey", it, e1.ID, e2.ID)
				}
			}
			if !exists(t, h, it.Key) {
				t.Errorf("ProfileItems() key %+v does not exist", it.Key)
			}
		}
		wantKinds := map[string]int{opstore.KindProfile: 1, opstore.KindStatusEvents: 2, opstore.KindDevices: 2,
			kindRateLimits: 1, opstore.KindTombstone: 1}
		if got := kinds(keys); !maps.Equal(got, wantKinds) {
			t.Errorf("ProfileItems() kinds = %v, want %v", got, wantKinds)
		}
		for _, k := range keys {
			if _, err := h.Table.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if items, err := h.Table.ProfileItems(ctx, "alice"); err != nil || len(items) != 0 {
			t.Errorf("ProfileItems() after deleting each = %+v, %v; want none", items, err)
		}
		if p, found, _ := h.Table.Profile(ctx, "bob"); !found || p.JourneyID != "j-9" {
			t.Errorf("bob's profile = %+v (found %v), want it untouched", p, found)
		}
		if items, err := h.Table.ProfileItems(ctx, "carol"); err != nil || len(items) != 0 {
			t.Errorf("ProfileItems(unknown) = %+v, %v; want none", items, err)
		}
	})

	t.Run("naming items: the events, journeys, claims and device token entries that name the profile", func(t *testing.T) {
		h := newHarness(t)
		mark(t, h, put(t, h, NewEvent(idwise.Provider, "e-1", "j-1", "alice", at)), processor.Processed, "")
		put(t, h, NewEvent("veriff", "e-2", "s-1", "alice", at)) // pending
		if err := h.Table.PutOperatorEvent(ctx, NewEvent(idwise.Provider, "refetch-1", "j-1", "alice", at)); err != nil {
			t.Fatal(err)
		}
		if err := h.Stores.PutJourney(ctx, processor.Journey{Provider: idwise.Provider, JourneyID: "j-1", ReferenceNo: "alice", FetchedAt: at, Version: 1}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.Claims.PutClaim(ctx, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-2", ReferenceNo: "alice", Source: kyc.ClaimByApp, ClaimedAt: at}); err != nil {
			t.Fatal(err)
		}
		// Not naming alice: someone else's, nobody's, forgotten, or in alice's partition.
		put(t, h, NewEvent(idwise.Provider, "e-bob", "j-1", "bob", at))
		put(t, h, NewEvent(idwise.Provider, "e-nobody", "j-1", "", at))
		if err := h.Stores.Forget(ctx, put(t, h, NewEvent(idwise.Provider, "e-forgotten", "j-3", "alice", at)), "profile erased"); err != nil {
			t.Fatal(err)
		}
		if err := h.Stores.PutJourney(ctx, processor.Journey{Provider: idwise.Provider, JourneyID: "j-8", ReferenceNo: "bob", FetchedAt: at, Version: 1}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.Claims.PutClaim(ctx, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-9", ReferenceNo: "bob", Source: kyc.ClaimByApp, ClaimedAt: at}); err != nil {
			t.Fatal(err)
		}
		// Alice contends for bob's j-9; bob's claim of j-10 was rejected: the vendor named alice.
		if err := h.Claims.PutContender(ctx, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-9", ReferenceNo: "alice", Source: kyc.ClaimByApp, ClaimedAt: at}); err != nil {
			t.Fatal(err)
		}
		rejected := kyc.Claim{Provider: idwise.Provider, JourneyID: "j-10", ReferenceNo: "bob", Source: kyc.ClaimByApp, ClaimedAt: at}
		if _, _, err := h.Claims.PutClaim(ctx, rejected); err != nil {
			t.Fatal(err)
		}
		if err := h.Claims.RejectClaim(ctx, rejected, "alice"); err != nil {
			t.Fatal(err)
		}
		apply(t, h, "alice", idwise.Provider, "j-1", kyc.Approved, 1)
		if err := h.Devices.SaveDevice(ctx, NewDevice("alice", "t1", at), nil, nil); err != nil {
			t.Fatal(err)
		}
		// A device removal that failed between its two deletes: the device item is gone,
		// its token entry (which names alice) is left.
		orphan := NewDevice("alice", "t2", at)
		if err := h.Devices.SaveDevice(ctx, orphan, nil, nil); err != nil {
			t.Fatal(err)
		}
		deleteDeviceItem(t, h, "alice", orphan.DeviceID)
		if err := h.Devices.SaveDevice(ctx, NewDevice("bob", "t3", at), nil, nil); err != nil {
			t.Fatal(err)
		}

		items, err := h.Table.NamingItems(ctx, "alice")
		if err != nil {
			t.Fatalf("NamingItems() = %v", err)
		}
		type named struct{ kind, provider, journeyID string }
		var got []named
		var tokenDevices []string
		for _, it := range items {
			if it.Key.Kind == opstore.KindDeviceTokens {
				tokenDevices = append(tokenDevices, it.DeviceID)
			}
			if it.ReferenceNo != "alice" {
				t.Errorf("NamingItems() item %+v, want referenceNo alice", it)
			}
			if !exists(t, h, it.Key) {
				t.Errorf("NamingItems() key %+v does not exist", it.Key)
			}
			got = append(got, named{it.Key.Kind, it.Provider, it.JourneyID})
		}
		cmp := func(a, b named) int {
			return strings.Compare(a.kind+a.provider+a.journeyID, b.kind+b.provider+b.journeyID)
		}
		slices.SortFunc(got, cmp)
		want := []named{{kindClaims, idwise.Provider, "j-2"}, {kindClaims, idwise.Provider, "j-9"}, {kindClaims, idwise.Provider, "j-10"}, {kindEvents, idwise.Provider, "j-1"}, {kindEvents, idwise.Provider, "j-1"},
			{kindEvents, "veriff", "s-1"}, {kindJourneys, idwise.Provider, "j-1"}, {opstore.KindDeviceTokens, "", ""}, {opstore.KindDeviceTokens, "", ""}}
		slices.SortFunc(want, cmp)
		if !slices.Equal(got, want) {
			t.Errorf("NamingItems(alice) = %v, want %v", got, want)
		}
		slices.Sort(tokenDevices)
		wantDevices := []string{NewDevice("alice", "t1", at).DeviceID, orphan.DeviceID}
		slices.Sort(wantDevices)
		if !slices.Equal(tokenDevices, wantDevices) {
			t.Errorf("NamingItems(alice) token entries of devices %v, want %v", tokenDevices, wantDevices)
		}
		if items, err := h.Table.NamingItems(ctx, "carol"); err != nil || len(items) != 0 {
			t.Errorf("NamingItems(unknown) = %+v, %v; want none", items, err)
		}
	})

	t.Run("journey item and claim item: whose each says it is", func(t *testing.T) {
		h := newHarness(t)
		lookups := []struct {
			name string
			get  func(provider, journeyID string) (opstore.Item, bool, error)
			kind string
		}{
			{"JourneyItem", func(p, j string) (opstore.Item, bool, error) { return h.Table.JourneyItem(ctx, p, j) }, kindJourneys},
			{"ClaimItem", func(p, j string) (opstore.Item, bool, error) { return h.Table.ClaimItem(ctx, p, j) }, kindClaims},
		}
		for _, l := range lookups {
			if it, found, err := l.get(idwise.Provider, "j-1"); err != nil || found {
				t.Errorf("%s() of an empty table = %+v (found %v), %v; want not found", l.name, it, found, err)
			}
		}
		// The journey's details say alice (the vendor's reference); bob claimed it.
		if err := h.Stores.PutJourney(ctx, processor.Journey{Provider: idwise.Provider, JourneyID: "j-1", ReferenceNo: "alice", FetchedAt: at, Version: 1}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.Claims.PutClaim(ctx, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-1", ReferenceNo: "bob", Source: kyc.ClaimByApp, ClaimedAt: at}); err != nil {
			t.Fatal(err)
		}
		// A journey whose details name nobody.
		if err := h.Stores.PutJourney(ctx, processor.Journey{Provider: "veriff", JourneyID: "s-1", FetchedAt: at, Version: 1}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			lookup              int
			provider, journeyID string
			wantFound           bool
			wantRef             string
		}{
			{0, idwise.Provider, "j-1", true, "alice"},
			{1, idwise.Provider, "j-1", true, "bob"},
			{0, "veriff", "s-1", true, ""},
			{1, "veriff", "s-1", false, ""},
			{0, "veriff", "j-1", false, ""},
			{1, "veriff", "j-1", false, ""},
		}
		for _, tt := range tests {
			l := lookups[tt.lookup]
			it, found, err := l.get(tt.provider, tt.journeyID)
			if err != nil || found != tt.wantFound {
				t.Errorf("%s(%s, %s) = found %v, %v; want %v", l.name, tt.provider, tt.journeyID, found, err, tt.wantFound)
				continue
			}
			if !found {
				continue
			}
			if it.ReferenceNo != tt.wantRef || it.Provider != tt.provider || it.JourneyID != tt.journeyID || it.Key.Kind != l.kind {
				t.Errorf("%s(%s, %s) = %+v, want %s/%s naming %q, kind %s", l.name, tt.provider, tt.journeyID, it,
					tt.provider, tt.journeyID, tt.wantRef, l.kind)
			}
			if !exists(t, h, it.Key) {
				t.Errorf("%s(%s, %s) key %+v does not exist", l.name, tt.provider, tt.journeyID, it.Key)
			}
		}
	})

	t.Run("journey items: its events, custom-step markers, claim and details", func(t *testing.T) {
		h := newHarness(t)
		for _, id := range []string{"e-1", "e-2"} {
			mark(t, h, put(t, h, NewEvent(idwise.Provider, id, "j-1", "alice", at)), processor.Processed, "")
		}
		op := NewEvent(idwise.Provider, "refetch-1", "j-1", "alice", at.Add(time.Second))
		if err := h.Table.PutOperatorEvent(ctx, op); err != nil {
			t.Fatal(err)
		}
		mark(t, h, op, processor.Processed, "")
		for _, step := range []string{"selfie", "consent"} {
			if _, err := h.Steps.ClaimStep(ctx, "j-1", step, "token", time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := h.Claims.PutClaim(ctx, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-1", ReferenceNo: "alice", Source: kyc.ClaimByApp, ClaimedAt: at}); err != nil {
			t.Fatal(err)
		}
		if err := h.Stores.PutJourney(ctx, processor.Journey{Provider: idwise.Provider, JourneyID: "j-1", ReferenceNo: "alice", FetchedAt: at, Version: 1}); err != nil {
			t.Fatal(err)
		}
		// Another journey's items, and alice's profile: not j-1's own.
		mark(t, h, put(t, h, NewEvent(idwise.Provider, "e-other", "j-2", "alice", at)), processor.Processed, "")
		if _, err := h.Steps.ClaimStep(ctx, "j-2", "selfie", "token", time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := h.Stores.PutJourney(ctx, processor.Journey{Provider: idwise.Provider, JourneyID: "j-2", ReferenceNo: "alice", FetchedAt: at, Version: 1}); err != nil {
			t.Fatal(err)
		}
		mark(t, h, put(t, h, NewEvent("veriff", "e-veriff", "j-1", "alice", at)), processor.Processed, "")
		apply(t, h, "alice", idwise.Provider, "j-1", kyc.Approved, 1)

		keys, err := h.Table.JourneyItems(ctx, idwise.Provider, "j-1")
		if err != nil {
			t.Fatalf("JourneyItems() = %v", err)
		}
		var present []opstore.ItemKey
		for _, k := range keys {
			if exists(t, h, k) {
				present = append(present, k)
			}
		}
		wantKinds := map[string]int{kindEvents: 3, kindCustomSteps: 2, kindClaims: 1, kindJourneys: 1}
		if got := kinds(present); !maps.Equal(got, wantKinds) {
			t.Errorf("JourneyItems() kinds of the items there = %v, want %v", got, wantKinds)
		}
		for _, k := range keys {
			if _, err := h.Table.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if tl, _ := h.Table.JourneyTimeline(ctx, idwise.Provider, "j-1"); len(tl) != 0 {
			t.Errorf("JourneyTimeline() after deleting the journey's items = %v, want none", eventIDs(tl))
		}
		gone := []struct {
			name  string
			found func() (bool, error)
		}{
			{"Journey(j-1)", func() (bool, error) { _, f, err := h.Table.Journey(ctx, idwise.Provider, "j-1"); return f, err }},
			{"ClaimItem(j-1)", func() (bool, error) { _, f, err := h.Table.ClaimItem(ctx, idwise.Provider, "j-1"); return f, err }},
			{"Step(j-1, selfie)", func() (bool, error) { _, f, err := h.Table.Step(ctx, "j-1", "selfie"); return f, err }},
			{"Step(j-1, consent)", func() (bool, error) { _, f, err := h.Table.Step(ctx, "j-1", "consent"); return f, err }},
			{"StoredEvent(e-1)", func() (bool, error) { _, f, err := h.Table.StoredEvent(ctx, idwise.Provider, "e-1"); return f, err }},
			{"StoredEvent(refetch-1)", func() (bool, error) {
				_, f, err := h.Table.StoredEvent(ctx, idwise.Provider, "refetch-1")
				return f, err
			}},
		}
		for _, g := range gone {
			if found, err := g.found(); err != nil || found {
				t.Errorf("%s after deleting the journey's items = %v, %v; want gone", g.name, found, err)
			}
		}
		kept := []struct {
			name  string
			found func() (bool, error)
		}{
			{"Journey(j-2)", func() (bool, error) { _, f, err := h.Table.Journey(ctx, idwise.Provider, "j-2"); return f, err }},
			{"Step(j-2, selfie)", func() (bool, error) { _, f, err := h.Table.Step(ctx, "j-2", "selfie"); return f, err }},
			{"StoredEvent(e-other)", func() (bool, error) { _, f, err := h.Table.StoredEvent(ctx, idwise.Provider, "e-other"); return f, err }},
			{"StoredEvent(veriff e-veriff)", func() (bool, error) { _, f, err := h.Table.StoredEvent(ctx, "veriff", "e-veriff"); return f, err }},
			{"Profile(alice)", func() (bool, error) { _, f, err := h.Table.Profile(ctx, "alice"); return f, err }},
		}
		for _, k := range kept {
			if found, err := k.found(); err != nil || !found {
				t.Errorf("%s after deleting j-1's items = %v, %v; want kept", k.name, found, err)
			}
		}
		empty, err := h.Table.JourneyItems(ctx, idwise.Provider, "j-none")
		if err != nil {
			t.Fatalf("JourneyItems(unknown) = %v", err)
		}
		for _, k := range empty {
			if exists(t, h, k) {
				t.Errorf("JourneyItems(unknown journey) key %+v exists", k)
			}
		}
	})

	t.Run("push markers: a status event's, one per device", func(t *testing.T) {
		h := newHarness(t)
		for _, p := range [][2]string{{"ev-1", "d-1"}, {"ev-1", "d-2"}, {"ev-2", "d-1"}} {
			if ok, err := h.Push.ClaimPush(ctx, p[0], p[1]); err != nil || !ok {
				t.Fatalf("ClaimPush(%s, %s) = %v, %v", p[0], p[1], ok, err)
			}
		}
		if err := h.Push.CompletePush(ctx, "ev-1", "d-1", "msg-1"); err != nil {
			t.Fatal(err)
		}
		if err := h.Push.ReleasePush(ctx, "ev-1", "d-2"); err != nil {
			t.Fatal(err)
		}
		markers, err := h.Table.PushMarkers(ctx, "ev-1")
		if err != nil {
			t.Fatalf("PushMarkers() = %v", err)
		}
		if got := kinds(markers); len(markers) != 2 || got[kindPushMarkers] != 2 {
			t.Fatalf("PushMarkers(ev-1) = %+v, want 2 push markers (sent and released alike)", markers)
		}
		for _, m := range markers {
			if deleted, err := h.Table.Delete(ctx, m); err != nil || !deleted {
				t.Errorf("Delete(%+v) = %v, %v; want deleted", m, deleted, err)
			}
		}
		// With its marker gone, a pair may be claimed again; ev-2's marker stays.
		if ok, err := h.Push.ClaimPush(ctx, "ev-1", "d-1"); err != nil || !ok {
			t.Errorf("ClaimPush(ev-1, d-1) after its marker was deleted = %v, %v; want claimed", ok, err)
		}
		if ok, _ := h.Push.ClaimPush(ctx, "ev-2", "d-1"); ok {
			t.Errorf("ClaimPush(ev-2, d-1) claimed again, want its marker kept")
		}
		if m, err := h.Table.PushMarkers(ctx, "ev-none"); err != nil || len(m) != 0 {
			t.Errorf("PushMarkers(unknown) = %+v, %v; want none", m, err)
		}
	})

	t.Run("exists and delete report whether the item was there", func(t *testing.T) {
		h := newHarness(t)
		if err := h.Stores.PutJourney(ctx, processor.Journey{Provider: idwise.Provider, JourneyID: "j-1", ReferenceNo: "alice", FetchedAt: at, Version: 1}); err != nil {
			t.Fatal(err)
		}
		it, found, err := h.Table.JourneyItem(ctx, idwise.Provider, "j-1")
		if err != nil || !found {
			t.Fatalf("JourneyItem() = found %v, %v", found, err)
		}
		steps := []struct {
			name        string
			do          func() (bool, error)
			want        bool
			wantJourney bool
		}{
			{"exists", func() (bool, error) { return h.Table.Exists(ctx, it.Key) }, true, true},
			{"delete", func() (bool, error) { return h.Table.Delete(ctx, it.Key) }, true, false},
			{"exists after delete", func() (bool, error) { return h.Table.Exists(ctx, it.Key) }, false, false},
			{"delete again", func() (bool, error) { return h.Table.Delete(ctx, it.Key) }, false, false},
		}
		for _, st := range steps {
			got, err := st.do()
			if err != nil || got != st.want {
				t.Errorf("%s: = %v, %v; want %v", st.name, got, err, st.want)
			}
			if _, found, _ := h.Table.Journey(ctx, idwise.Provider, "j-1"); found != st.wantJourney {
				t.Errorf("%s: Journey() found = %v, want %v", st.name, found, st.wantJourney)
			}
		}
	})

	t.Run("devices, and deleting one with its token entry", func(t *testing.T) {
		h := newHarness(t)
		d1, d2, bob := NewDevice("alice", "t1", at), NewDevice("alice", "t2", at.Add(time.Second)), NewDevice("bob", "t3", at)
		for _, d := range []struct {
			d   string
			dev func() error
		}{
			{"d1", func() error { return h.Devices.SaveDevice(ctx, d1, nil, nil) }},
			{"d2", func() error { return h.Devices.SaveDevice(ctx, d2, nil, nil) }},
			{"bob", func() error { return h.Devices.SaveDevice(ctx, bob, nil, nil) }},
		} {
			if err := d.dev(); err != nil {
				t.Fatalf("SaveDevice(%s) = %v", d.d, err)
			}
		}
		list := func(ref string) []string {
			t.Helper()
			l, err := h.Table.Devices(ctx, ref)
			if err != nil {
				t.Fatalf("Devices(%s) = %v", ref, err)
			}
			ids := []string{}
			for _, d := range l {
				ids = append(ids, d.DeviceID)
			}
			slices.Sort(ids)
			return ids
		}
		wantBoth := []string{d1.DeviceID, d2.DeviceID}
		slices.Sort(wantBoth)
		if got := list("alice"); !slices.Equal(got, wantBoth) {
			t.Errorf("Devices(alice) = %v, want %v", got, wantBoth)
		}
		l, _ := h.Table.Devices(ctx, "alice")
		for _, d := range l {
			w := d1
			if d.DeviceID == d2.DeviceID {
				w = d2
			}
			if d.EndpointARN != w.EndpointARN || d.TokenHash != w.TokenHash || d.Platform != w.Platform || d.ReferenceNo != "alice" {
				t.Errorf("Devices() entry %+v, want %+v", d, w)
			}
		}
		if err := h.Table.DeleteDevice(ctx, "alice", d1.DeviceID); err != nil {
			t.Fatalf("DeleteDevice() = %v", err)
		}
		if got := list("alice"); !slices.Equal(got, []string{d2.DeviceID}) {
			t.Errorf("Devices(alice) after DeleteDevice = %v, want [%s]", got, d2.DeviceID)
		}
		owners := []struct {
			d    string
			dev  func() (bool, error)
			want bool
		}{
			{"deleted device's", func() (bool, error) { _, f, err := h.Devices.TokenOwner(ctx, d1.Platform, d1.TokenHash); return f, err }, false},
			{"alice's other", func() (bool, error) { _, f, err := h.Devices.TokenOwner(ctx, d2.Platform, d2.TokenHash); return f, err }, true},
			{"bob's", func() (bool, error) {
				_, f, err := h.Devices.TokenOwner(ctx, bob.Platform, bob.TokenHash)
				return f, err
			}, true},
		}
		for _, o := range owners {
			if found, err := o.dev(); err != nil || found != o.want {
				t.Errorf("TokenOwner(%s token) = found %v, %v; want %v", o.d, found, err, o.want)
			}
		}
		if err := h.Table.DeleteDevice(ctx, "alice", d1.DeviceID); err != nil {
			t.Errorf("DeleteDevice(already gone) = %v, want nil", err)
		}
		if err := h.Table.DeleteDevice(ctx, "alice", bob.DeviceID); err != nil {
			t.Errorf("DeleteDevice(another profile's device id) = %v, want nil", err)
		}
		if got := list("bob"); !slices.Equal(got, []string{bob.DeviceID}) {
			t.Errorf("Devices(bob) = %v, want his device kept", got)
		}
		if got := list("carol"); len(got) != 0 {
			t.Errorf("Devices(unknown) = %v, want none", got)
		}
	})

	t.Run("claims: listed, released, reassigned, the audit record in the timeline", func(t *testing.T) {
		h := newHarness(t)
		claim := func(ref, journeyID string, at time.Time) kyc.Claim {
			t.Helper()
			c := kyc.Claim{Provider: idwise.Provider, JourneyID: journeyID, ReferenceNo: ref, Source: kyc.ClaimByApp, ClaimedAt: at}
			if _, ok, err := h.Claims.PutClaim(ctx, c); err != nil || !ok {
				t.Fatalf("PutClaim(%s, %s) = %v, %v", ref, journeyID, ok, err)
			}
			return c
		}
		list := func(ref string) []string {
			t.Helper()
			cs, err := h.Table.ListClaims(ctx, ref)
			if err != nil {
				t.Fatalf("ListClaims(%q) = %v", ref, err)
			}
			out := []string{}
			for _, c := range cs {
				out = append(out, c.ReferenceNo+"@"+c.JourneyID)
			}
			return out
		}
		if got := list(""); len(got) != 0 {
			t.Errorf("ListClaims of an empty table = %v, want none", got)
		}
		alice := claim("alice", "j-1", at)
		bob := claim("bob", "j-2", at.Add(time.Minute))
		if got := list(""); !slices.Equal(got, []string{"alice@j-1", "bob@j-2"}) {
			t.Errorf("ListClaims() = %v, want both, oldest first", got)
		}
		if got := list("bob"); !slices.Equal(got, []string{"bob@j-2"}) {
			t.Errorf("ListClaims(bob) = %v, want his only", got)
		}
		if err := h.Table.DeleteClaim(ctx, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-1", ReferenceNo: "mallory"}); !errors.Is(err, processor.ErrConflict) {
			t.Errorf("DeleteClaim(someone else's) = %v, want ErrConflict", err)
		}
		if err := h.Table.DeleteClaim(ctx, alice); err != nil {
			t.Fatalf("DeleteClaim(alice) = %v", err)
		}
		if _, found, err := h.Table.Claim(ctx, idwise.Provider, "j-1"); err != nil || found {
			t.Errorf("Claim(j-1) after its release = %v, %v; want none", found, err)
		}
		if err := h.Table.DeleteClaim(ctx, alice); err != nil {
			t.Errorf("DeleteClaim(gone) = %v, want nil", err)
		}
		carol := kyc.Claim{Provider: idwise.Provider, JourneyID: "j-2", ReferenceNo: "carol", Source: kyc.ClaimByOperator, ClaimedAt: bob.ClaimedAt}
		if ok, err := h.Table.ReplaceClaim(ctx, bob, carol); err != nil || !ok {
			t.Fatalf("ReplaceClaim(bob -> carol) = %v, %v; want true", ok, err)
		}
		if ok, err := h.Table.ReplaceClaim(ctx, bob, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-2", ReferenceNo: "dave", ClaimedAt: at}); err != nil || ok {
			t.Errorf("ReplaceClaim(stale bob -> dave) = %v, %v; want false", ok, err)
		}
		got, found, err := h.Table.Claim(ctx, idwise.Provider, "j-2")
		if err != nil || !found || got.ReferenceNo != "carol" || got.Source != kyc.ClaimByOperator || !got.ClaimedAt.Equal(bob.ClaimedAt) {
			t.Errorf("Claim(j-2) = %+v %v %v, want carol's operator claim at bob's time", got, found, err)
		}

		e := inbox.Event{Provider: idwise.Provider, EventID: "kycctl-claim-1", Name: "Operator Claim Reassigned", JourneyID: "j-2",
			Attributes: map[string]string{"from": "bob", "to": "carol"}, ReceivedAt: at, ExpiresAt: time.Now().Add(24 * time.Hour)}
		if err := h.Table.RecordOperatorEvent(ctx, e, "claim reassigned"); err != nil {
			t.Fatalf("RecordOperatorEvent() = %v", err)
		}
		tl, err := h.Table.JourneyTimeline(ctx, idwise.Provider, "j-2")
		if err != nil || len(tl) != 1 || tl[0].Event.EventID != e.EventID || tl[0].State != string(processor.Processed) ||
			tl[0].Note != "claim reassigned" || !tl[0].Operator || tl[0].Event.Attributes["to"] != "carol" {
			t.Errorf("JourneyTimeline(j-2) = %+v, %v; want the processed operator record", tl, err)
		}
		for _, q := range []opstore.Queue{opstore.Pending, opstore.Failed, opstore.Awaiting} {
			if u, err := h.Table.Unprocessed(ctx, q, at.Add(-time.Hour), far, 0); err != nil || len(u) != 0 {
				t.Errorf("Unprocessed(%s) = %+v, %v; want the audit record in no queue", q, u, err)
			}
		}
	})
}

// deleteDeviceItem deletes a device's own item and leaves its token index entry, found
// through ProfileItems (the table's key layout stays the store's).
func deleteDeviceItem(t *testing.T, h Harness, referenceNo, deviceID string) {
	t.Helper()
	ctx := context.Background()
	items, err := h.Table.ProfileItems(ctx, referenceNo)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Key.Kind == opstore.KindDevices && strings.HasSuffix(it.Key.SK, deviceID) {
			if ok, err := h.Table.Delete(ctx, it.Key); err != nil || !ok {
				t.Fatalf("Delete(%+v) = %v, %v", it.Key, ok, err)
			}
			return
		}
	}
	t.Fatalf("no device item %s in %s's partition", deviceID, referenceNo)
}
