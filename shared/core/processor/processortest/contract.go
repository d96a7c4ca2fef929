package processortest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/inbox/inboxtest"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// Harness is a store under test with what the suite needs around it.
type Harness struct {
	Stores Stores
	Read   Reader
	// Inbox accepts the inbox events that Mark and Forget act on (the same table).
	Inbox inbox.Store
	// Erase leaves the tombstone of an erased profile.
	Erase func(ctx context.Context, referenceNo string) error
}

// RunStoreContract runs the behaviour every store of the processor's ports must have.
// newStore returns a store with nothing in it.
func RunStoreContract(t *testing.T, newStore func(t *testing.T) Harness) {
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

	t.Run("journeys", func(t *testing.T) {
		h := newStore(t)
		j := processor.Journey{Provider: "idwise", JourneyID: "j-1", ReferenceNo: "r-1",
			Decisions: map[string]string{"finalDecision": "Complete"}, Details: map[string]string{"documentType": "passport"},
			FetchedAt: at, Version: 10, AMLVersion: 1}
		if _, found, err := h.Stores.Journey(ctx, "idwise", "j-1"); err != nil || found {
			t.Fatalf("Journey() before any put = found %v, %v; want not found", found, err)
		}
		if err := h.Stores.PutJourney(ctx, j); err != nil {
			t.Fatalf("PutJourney(first) = %v", err)
		}
		steps := []struct {
			name        string
			version     int64
			aml         int64
			wantErr     error
			wantVersion int64
			wantAML     int64
		}{
			{"older snapshot conflicts", 9, 5, processor.ErrConflict, 10, 1},
			{"same snapshot conflicts", 10, 1, processor.ErrConflict, 10, 1},
			{"same snapshot, newer AML version replaces", 10, 2, nil, 10, 2},
			{"newer snapshot replaces, whatever its AML version", 11, 0, nil, 11, 0},
		}
		for _, st := range steps {
			next := j
			next.Version, next.AMLVersion = st.version, st.aml
			next.Decisions = map[string]string{"finalDecision": fmt.Sprintf("v%d.%d", st.version, st.aml)}
			if err := h.Stores.PutJourney(ctx, next); !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
				t.Errorf("%s: PutJourney(v%d, aml %d) = %v, want %v", st.name, st.version, st.aml, err, st.wantErr)
			}
			got, found, err := h.Stores.Journey(ctx, "idwise", "j-1")
			if err != nil || !found || got.Version != st.wantVersion || got.AMLVersion != st.wantAML {
				t.Errorf("%s: Journey() = v%d aml %d (found %v, %v), want v%d aml %d", st.name, got.Version, got.AMLVersion,
					found, err, st.wantVersion, st.wantAML)
			}
		}
		got, _, _ := h.Stores.Journey(ctx, "idwise", "j-1")
		if got.ReferenceNo != "r-1" || got.Details["documentType"] != "passport" || got.Decisions["finalDecision"] != "v11.0" ||
			!got.FetchedAt.Equal(at) {
			t.Errorf("Journey() = %+v, want the newest snapshot as stored", got)
		}
		if _, found, _ := h.Stores.Journey(ctx, "veriff", "j-1"); found {
			t.Errorf("Journey(veriff, j-1) found, want journeys keyed by provider too")
		}
	})

	t.Run("journeys keep the update request and AML reception times", func(t *testing.T) {
		h := newStore(t)
		requested, amlAt := at.Add(time.Minute), at.Add(2*time.Minute+123*time.Microsecond)
		j := processor.Journey{Provider: "idwise", JourneyID: "j-t", ReferenceNo: "r-t", FetchedAt: at, Version: 1,
			RequestedAt: requested, AMLReceivedAt: amlAt}
		if err := h.Stores.PutJourney(ctx, j); err != nil {
			t.Fatalf("PutJourney() = %v", err)
		}
		got, _, err := h.Stores.Journey(ctx, "idwise", "j-t")
		if err != nil || !got.RequestedAt.Equal(requested) || !got.AMLReceivedAt.Equal(amlAt) {
			t.Errorf("Journey() = requestedAt %v amlReceivedAt %v (%v), want %v and %v", got.RequestedAt, got.AMLReceivedAt, err, requested, amlAt)
		}
		j.Version, j.RequestedAt, j.AMLReceivedAt = 2, time.Time{}, time.Time{}
		if err := h.Stores.PutJourney(ctx, j); err != nil {
			t.Fatalf("PutJourney(without times) = %v", err)
		}
		if got, _, _ := h.Stores.Journey(ctx, "idwise", "j-t"); !got.RequestedAt.IsZero() || !got.AMLReceivedAt.IsZero() {
			t.Errorf("Journey() = requestedAt %v amlReceivedAt %v, want both zero (a snapshot is stored whole)", got.RequestedAt, got.AMLReceivedAt)
		}
	})

	change := func(ref string, st kyc.Status, v int64) kyc.Change {
		return kyc.Change{ReferenceNo: ref, JourneyID: "j-1", Provider: "idwise", Status: st, Reasons: []string{"step:1"},
			Version: v, OccurredAt: at.Add(time.Duration(v) * time.Second)}
	}
	event := func(c kyc.Change, prev kyc.Status) *kyc.StatusEvent {
		e := kyc.NewStatusEvent(c, prev)
		return &e
	}

	t.Run("profile status and its outbox record in one write", func(t *testing.T) {
		h := newStore(t)
		c := change("r-1", kyc.PendingVerification, 1)
		c.Reasons = nil
		if err := h.Stores.ApplyStatus(ctx, c, kyc.Profile{}, false, event(c, "")); err != nil {
			t.Fatalf("ApplyStatus(new profile) = %v", err)
		}
		p, found, err := h.Stores.Profile(ctx, "r-1")
		if err != nil || !found {
			t.Fatalf("Profile() = found %v, %v", found, err)
		}
		if p.Status != kyc.PendingVerification || p.JourneyID != "j-1" || p.Provider != "idwise" || p.Version != 1 ||
			!p.UpdatedAt.Equal(c.OccurredAt) || p.Reasons == nil || len(p.Reasons) != 0 {
			t.Errorf("Profile() = %+v, want the change (no reasons: an empty list)", p)
		}
		c2 := change("r-1", kyc.Approved, 2)
		ev := event(c2, p.Status)
		if err := h.Stores.ApplyStatus(ctx, c2, p, true, ev); err != nil {
			t.Fatalf("ApplyStatus(over the profile read) = %v", err)
		}
		out, err := h.Read.Outbox(ctx, "r-1")
		if err != nil || len(out) != 2 {
			t.Fatalf("Outbox() = %+v, %v; want 2 records", out, err)
		}
		i := slices.IndexFunc(out, func(r OutboxRecord) bool { return r.Event.ID == ev.ID })
		if i < 0 || out[i].Sent || out[i].Event.Status != kyc.Approved || out[i].Event.PreviousStatus != kyc.PendingVerification ||
			!slices.Equal(out[i].Event.Reasons, []string{"step:1"}) {
			t.Errorf("Outbox() = %+v, want %+v unsent", out, *ev)
		}
		if err := h.Stores.MarkSent(ctx, "r-1", ev.ID); err != nil {
			t.Fatalf("MarkSent() = %v", err)
		}
		out, _ = h.Read.Outbox(ctx, "r-1")
		for _, r := range out {
			if r.Sent != (r.Event.ID == ev.ID) {
				t.Errorf("outbox record %s sent = %v, want only %s sent", r.Event.ID, r.Sent, ev.ID)
			}
		}
		if err := h.Stores.MarkSent(ctx, "r-1", "no-such-event"); !errors.Is(err, processor.ErrConflict) {
			t.Errorf("MarkSent(unknown) = %v, want ErrConflict", err)
		}
		c3 := change("r-1", kyc.Approved, 3)
		if err := h.Stores.ApplyStatus(ctx, c3, kyc.Profile{ReferenceNo: "r-1", Version: 2}, true, nil); err != nil {
			t.Fatalf("ApplyStatus(without a status event) = %v", err)
		}
		if out, _ := h.Read.Outbox(ctx, "r-1"); len(out) != 2 {
			t.Errorf("Outbox() after a change without event = %d records, want 2", len(out))
		}
	})

	t.Run("a renewal due date is stored with the status and cleared by a change without one", func(t *testing.T) {
		h := newStore(t)
		due := time.Date(2025, 9, 15, 0, 0, 0, 0, time.UTC)
		c := change("r-due", kyc.Approved, 1)
		if err := h.Stores.ApplyStatus(ctx, c, kyc.Profile{}, false, event(c, "")); err != nil {
			t.Fatalf("ApplyStatus(approved) = %v", err)
		}
		p, _, _ := h.Stores.Profile(ctx, "r-due")
		if !p.RenewalDueBy.IsZero() {
			t.Errorf("Profile().RenewalDueBy = %v, want zero before any renewal", p.RenewalDueBy)
		}
		c2 := change("r-due", kyc.Approved, 2)
		c2.RenewalDueBy, c2.Reasons = due, []string{"renewal_due", "step:0"}
		ev := event(c2, kyc.Approved)
		if ev.Type != kyc.RenewalDueType || ev.RenewalDueBy != "2025-09-15T00:00:00Z" {
			t.Errorf("renewal event = type %q renewalDueBy %q, want %q and 2025-09-15T00:00:00Z", ev.Type, ev.RenewalDueBy, kyc.RenewalDueType)
		}
		if err := h.Stores.ApplyStatus(ctx, c2, p, true, ev); err != nil {
			t.Fatalf("ApplyStatus(renewal due) = %v", err)
		}
		p, _, _ = h.Stores.Profile(ctx, "r-due")
		if !p.RenewalDueBy.Equal(due) || p.Status != kyc.Approved {
			t.Errorf("Profile() = %s due %v, want APPROVED due %v", p.Status, p.RenewalDueBy, due)
		}
		out, _ := h.Read.Outbox(ctx, "r-due")
		if i := slices.IndexFunc(out, func(r OutboxRecord) bool { return r.Event.ID == ev.ID }); i < 0 || out[i].Event.RenewalDueBy != ev.RenewalDueBy || out[i].Event.Type != kyc.RenewalDueType {
			t.Errorf("Outbox() = %+v, want the renewal event %+v", out, *ev)
		}
		c3 := change("r-due", kyc.ResubmissionRequired, 3)
		if err := h.Stores.ApplyStatus(ctx, c3, p, true, event(c3, kyc.Approved)); err != nil {
			t.Fatalf("ApplyStatus(without a due date) = %v", err)
		}
		if p, _, _ = h.Stores.Profile(ctx, "r-due"); !p.RenewalDueBy.IsZero() || p.Status != kyc.ResubmissionRequired {
			t.Errorf("Profile() = %s due %v, want RESUBMISSION_REQUIRED with the due date cleared", p.Status, p.RenewalDueBy)
		}
	})

	t.Run("a stale write conflicts and changes nothing", func(t *testing.T) {
		h := newStore(t)
		c1 := change("r-2", kyc.PendingVerification, 5)
		if err := h.Stores.ApplyStatus(ctx, c1, kyc.Profile{}, false, event(c1, "")); err != nil {
			t.Fatal(err)
		}
		stale := []struct {
			name    string
			current kyc.Profile
			found   bool
		}{
			{"read before it existed", kyc.Profile{}, false},
			{"read at an older version", kyc.Profile{ReferenceNo: "r-2", Version: 4}, true},
			{"read at a newer version", kyc.Profile{ReferenceNo: "r-2", Version: 6}, true},
		}
		for _, st := range stale {
			c := change("r-2", kyc.Rejected, 7)
			if err := h.Stores.ApplyStatus(ctx, c, st.current, st.found, event(c, kyc.PendingVerification)); !errors.Is(err, processor.ErrConflict) {
				t.Errorf("%s: ApplyStatus() = %v, want ErrConflict", st.name, err)
			}
		}
		if err := h.Stores.ApplyStatus(ctx, change("r-3", kyc.Approved, 1), kyc.Profile{ReferenceNo: "r-3"}, true, nil); !errors.Is(err, processor.ErrConflict) {
			t.Errorf("ApplyStatus(found, but there is no profile) = %v, want ErrConflict", err)
		}
		p, _, _ := h.Stores.Profile(ctx, "r-2")
		if p.Status != kyc.PendingVerification || p.Version != 5 {
			t.Errorf("Profile() after stale writes = %s v%d, want PENDING_VERIFICATION v5", p.Status, p.Version)
		}
		if out, _ := h.Read.Outbox(ctx, "r-2"); len(out) != 1 {
			t.Errorf("Outbox() after stale writes = %d records, want 1 (no record without its status)", len(out))
		}
		if _, found, _ := h.Stores.Profile(ctx, "r-3"); found {
			t.Errorf("Profile(r-3) found after a conflicting write, want none")
		}
	})

	t.Run("an outbox record that exists cancels the status write", func(t *testing.T) {
		h := newStore(t)
		c1 := change("r-4", kyc.PendingVerification, 1)
		ev := event(c1, "")
		if err := h.Stores.ApplyStatus(ctx, c1, kyc.Profile{}, false, ev); err != nil {
			t.Fatal(err)
		}
		p, _, _ := h.Stores.Profile(ctx, "r-4")
		c2 := change("r-4", kyc.Approved, 2)
		if err := h.Stores.ApplyStatus(ctx, c2, p, true, ev); !errors.Is(err, processor.ErrConflict) {
			t.Errorf("ApplyStatus(with an outbox id already used) = %v, want ErrConflict", err)
		}
		if got, _, _ := h.Stores.Profile(ctx, "r-4"); got.Status != kyc.PendingVerification || got.Version != 1 {
			t.Errorf("Profile() = %s v%d, want the status unchanged with its record (one transaction)", got.Status, got.Version)
		}
	})

	t.Run("of concurrent writes over the same read, exactly one wins", func(t *testing.T) {
		h := newStore(t)
		c0 := change("r-5", kyc.PendingVerification, 1)
		if err := h.Stores.ApplyStatus(ctx, c0, kyc.Profile{}, false, nil); err != nil {
			t.Fatal(err)
		}
		read, _, _ := h.Stores.Profile(ctx, "r-5")
		const writers = 6
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := change("r-5", kyc.Approved, int64(10+i))
				errs[i] = h.Stores.ApplyStatus(ctx, c, read, true, event(c, read.Status))
			}()
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, processor.ErrConflict):
				t.Errorf("writer %d: ApplyStatus() = %v, want nil or ErrConflict", i, err)
			}
		}
		out, _ := h.Read.Outbox(ctx, "r-5")
		p, _, _ := h.Stores.Profile(ctx, "r-5")
		if won != 1 || len(out) != 1 || out[0].Event.ID != kyc.EventID(change("r-5", kyc.Approved, p.Version)) {
			t.Errorf("%d writers won, %d outbox records (profile v%d); want exactly one of each, the same change", won, len(out), p.Version)
		}
	})

	t.Run("events are marked where they ended", func(t *testing.T) {
		h := newStore(t)
		events := map[processor.State]inbox.Event{}
		for _, st := range []processor.State{processor.Processed, processor.Skipped, processor.Failed} {
			e := inboxtest.NewEvent("mark-" + string(st))
			if err := h.Inbox.Put(ctx, e); err != nil {
				t.Fatal(err)
			}
			events[st] = e
		}
		if r, ok, err := h.Read.Event(ctx, "idwise", "mark-processed"); err != nil || !ok || r.State != "pending" {
			t.Fatalf("Event() before Mark = %+v %v %v, want pending", r, ok, err)
		}
		for st, e := range events {
			if err := h.Stores.Mark(ctx, e, st, "note "+string(st)); err != nil {
				t.Fatalf("Mark(%s) = %v", st, err)
			}
			r, ok, err := h.Read.Event(ctx, e.Provider, e.EventID)
			if err != nil || !ok || r.State != string(st) || r.Note != "note "+string(st) || r.Event.BodyHash != e.BodyHash {
				t.Errorf("Event() after Mark(%s) = %+v %v %v, want state and note set, the event kept", st, r, ok, err)
			}
		}
		gone := inboxtest.NewEvent("never-stored")
		if err := h.Stores.Mark(ctx, gone, processor.Processed, "x"); err != nil {
			t.Errorf("Mark(an event that is gone) = %v, want nil", err)
		}
		if _, ok, _ := h.Read.Event(ctx, gone.Provider, gone.EventID); ok {
			t.Errorf("Mark(an event that is gone) created it")
		}
	})

	t.Run("every allowed reference keys a profile of its own", func(t *testing.T) {
		h := newStore(t)
		// kyc.CheckReference admits each of these; '#' is the keys' separator, and 1,000
		// four-byte runes pass DynamoDB's 2,048-byte partition key.
		refs := []string{`cust/001,A.b+x@y\z`, "a", "a#", "a#b", "a#PROFILE", "user 42", "عميل",
			strings.Repeat("a", kyc.MaxReferenceLength), strings.Repeat("🙂", kyc.MaxReferenceLength),
			strings.Repeat("🙂", kyc.MaxReferenceLength-1) + "a"}
		statuses := []kyc.Status{kyc.Approved, kyc.Rejected, kyc.InReview, kyc.Incomplete, kyc.Abandoned}
		for i, ref := range refs {
			if err := kyc.CheckReference("referenceNo", ref); err != nil {
				t.Fatalf("CheckReference(ref %d) = %v, want an allowed reference", i, err)
			}
			c := change(ref, statuses[i%len(statuses)], int64(i+1))
			if err := h.Stores.ApplyStatus(ctx, c, kyc.Profile{}, false, event(c, "")); err != nil {
				t.Fatalf("ApplyStatus(ref %d) = %v", i, err)
			}
		}
		checksOfEveryReference(ctx, t, h.Stores, refs)
		for i, ref := range refs {
			p, found, err := h.Stores.Profile(ctx, ref)
			if want := statuses[i%len(statuses)]; err != nil || !found || p.ReferenceNo != ref || p.Status != want || p.Version != int64(i+1) {
				t.Errorf("Profile(ref %d) = %q %s v%d (found %v, %v), want its own profile %s v%d", i, p.ReferenceNo, p.Status, p.Version, found, err, want, i+1)
			}
			out, err := h.Read.Outbox(ctx, ref)
			if err != nil || len(out) != 1 || out[0].Event.ReferenceNo != ref {
				t.Errorf("Outbox(ref %d) = %d records, %v; want exactly its own one", i, len(out), err)
				continue
			}
			if err := h.Stores.MarkSent(ctx, ref, out[0].Event.ID); err != nil {
				t.Errorf("MarkSent(ref %d) = %v", i, err)
			}
		}
		if err := h.Erase(ctx, refs[3]); err != nil {
			t.Fatal(err)
		}
		for i, ref := range refs {
			if erased, err := h.Stores.Erased(ctx, ref); err != nil || erased != (i == 3) {
				t.Errorf("Erased(ref %d) = %v, %v; want %v (only a#b was erased)", i, erased, err, i == 3)
			}
		}
	})

	t.Run("checks beside the status", func(t *testing.T) {
		h := newStore(t)
		if got, err := h.Stores.Checks(ctx, "r-chk"); err != nil || len(got) != 0 {
			t.Fatalf("Checks() before any put = %v, %v; want none", got, err)
		}
		c := kyc.Check{ReferenceNo: "r-chk", Name: kyc.CheckProofOfAddress, Decision: "declined", SessionID: "s-1", DecidedAt: at, Version: 10}
		if err := h.Stores.PutCheck(ctx, c); err != nil {
			t.Fatalf("PutCheck(first) = %v", err)
		}
		steps := []struct {
			name     string
			version  int64
			decision string
			wantErr  error
			want     string
		}{
			{"older decision conflicts", 9, "approved", processor.ErrConflict, "declined"},
			{"same decision again conflicts", 10, "approved", processor.ErrConflict, "declined"},
			{"newer decision replaces", 11, "approved", nil, "approved"},
		}
		for _, st := range steps {
			next := c
			next.Version, next.Decision, next.DecidedAt = st.version, st.decision, at.Add(time.Duration(st.version)*time.Minute)
			if err := h.Stores.PutCheck(ctx, next); !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
				t.Errorf("%s: PutCheck(v%d) = %v, want %v", st.name, st.version, err, st.wantErr)
			}
			got, err := h.Stores.Checks(ctx, "r-chk")
			if err != nil || len(got) != 1 || got[0].Decision != st.want {
				t.Errorf("%s: Checks() = %+v, %v; want one check %s", st.name, got, err, st.want)
			}
		}
		got, _ := h.Stores.Checks(ctx, "r-chk")
		if len(got) != 1 || got[0].SessionID != "s-1" || got[0].Name != kyc.CheckProofOfAddress || got[0].Version != 11 ||
			!got[0].DecidedAt.Equal(at.Add(11*time.Minute)) || got[0].ReferenceNo != "r-chk" {
			t.Errorf("Checks() = %+v, want the newest check as stored", got)
		}
		if _, found, _ := h.Stores.Profile(ctx, "r-chk"); found {
			t.Error("Profile() found after PutCheck alone, want a check never to make a profile")
		}
		if other, _ := h.Stores.Checks(ctx, "r-other"); len(other) != 0 {
			t.Errorf("Checks(r-other) = %+v, want another user's checks apart", other)
		}
	})

	t.Run("erasures", func(t *testing.T) {
		h := newStore(t)
		e := inboxtest.NewEvent("erase-1")
		if err := h.Inbox.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{"r-1", ""} {
			if erased, err := h.Stores.Erased(ctx, ref); err != nil || erased {
				t.Errorf("Erased(%q) before erasure = %v, %v; want false", ref, erased, err)
			}
		}
		if err := h.Erase(ctx, "r-1"); err != nil {
			t.Fatal(err)
		}
		if erased, err := h.Stores.Erased(ctx, "r-1"); err != nil || !erased {
			t.Errorf("Erased(r-1) = %v, %v; want true", erased, err)
		}
		if erased, _ := h.Stores.Erased(ctx, "r-10"); erased {
			t.Errorf("Erased(r-10) = true, want only the erased profile")
		}
		if err := h.Stores.Forget(ctx, e, "profile erased"); err != nil {
			t.Fatalf("Forget() = %v", err)
		}
		r, ok, err := h.Read.Event(ctx, e.Provider, e.EventID)
		if err != nil || !ok {
			t.Fatalf("Event() after Forget = %v, %v; want the bare record kept (dedup)", ok, err)
		}
		if r.State != string(processor.Skipped) || r.Note != "profile erased" || len(r.Event.Body) != 0 ||
			r.Event.ReferenceNo != "" || len(r.Event.Attributes) != 0 || r.Event.BodyHash != e.BodyHash {
			t.Errorf("Event() after Forget = %+v, want skipped without body, referenceNo and attributes", r)
		}
		if err := h.Inbox.Put(ctx, e); !errors.Is(err, inbox.ErrDuplicate) {
			t.Errorf("Put(the same event) after Forget = %v, want ErrDuplicate", err)
		}
		if err := h.Stores.Forget(ctx, inboxtest.NewEvent("never-stored"), "x"); err != nil {
			t.Errorf("Forget(an event that is gone) = %v, want nil", err)
		}
	})
}

// checksOfEveryReference puts and reads back a check for each reference: a check lives in
// the profile's partition, under the same key rule (1,000 four-byte runes once passed
// DynamoDB's key limit there).
func checksOfEveryReference(ctx context.Context, t *testing.T, s Stores, refs []string) {
	t.Helper()
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for i, ref := range refs {
		c := kyc.Check{ReferenceNo: ref, Name: kyc.CheckProofOfAddress, Decision: "approved", SessionID: "s", DecidedAt: at, Version: int64(i + 1)}
		if err := s.PutCheck(ctx, c); err != nil {
			t.Fatalf("PutCheck(ref %d) = %v", i, err)
		}
	}
	for i, ref := range refs {
		if got, err := s.Checks(ctx, ref); err != nil || len(got) != 1 || got[0].ReferenceNo != ref || got[0].Version != int64(i+1) {
			t.Errorf("Checks(ref %d) = %d checks, %v; want exactly its own one", i, len(got), err)
		}
	}
}
