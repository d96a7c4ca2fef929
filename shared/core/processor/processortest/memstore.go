// Package processortest has an in-memory store of every processor port for unit tests
// (MemStore) and the contract suite every such store must pass (RunStoreContract), run
// against MemStore and against the DynamoDB store on DynamoDB Local: the fake is proven
// by the suite that proves the real store.
package processortest

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/inbox/inboxtest"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// Stores is every store port of the processor, as one store implements them.
type Stores interface {
	processor.Journeys
	processor.Profiles
	processor.Outbox
	processor.Events
	processor.Erasures
	processor.Checks
	// Checks reads the checks beside a profile's status, by name order.
	Checks(ctx context.Context, referenceNo string) ([]kyc.Check, error)
}

// OutboxRecord is a status event as its outbox record holds it.
type OutboxRecord struct {
	Event kyc.StatusEvent
	Sent  bool
}

// EventRecord is an inbox event with where it ended ("pending" or "unprocessable" until
// it is marked).
type EventRecord struct {
	Event inbox.Event
	State string
	Note  string
}

// Reader reads back what a store holds, for the contract suite and unit tests.
type Reader interface {
	// Outbox lists the outbox records of a profile, in no particular order.
	Outbox(ctx context.Context, referenceNo string) ([]OutboxRecord, error)
	// Event reads an inbox event back with its state.
	Event(ctx context.Context, provider, eventID string) (EventRecord, bool, error)
}

// MemStore implements every processor port in memory, with the conditions of the
// DynamoDB store (dynamo.Store), and records where events ended.
type MemStore struct {
	// Inbox holds the inbox events that Mark and Forget change; Put events into it first.
	Inbox *inboxtest.MemStore
	// Conflicts makes ApplyStatus lose that many races (ErrConflict) before it writes.
	Conflicts int

	mu       sync.Mutex
	journeys map[string]processor.Journey
	profiles map[string]kyc.Profile
	outbox   map[string]map[string]*OutboxRecord // referenceNo -> status event id
	states   map[string]EventRecord              // provider#eventID -> state, note
	erased   map[string]bool
	checks   map[string]map[string]kyc.Check // referenceNo -> check name
}

var (
	_ Stores = (*MemStore)(nil)
	_ Reader = (*MemStore)(nil)
)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{Inbox: inboxtest.NewMemStore(), journeys: map[string]processor.Journey{},
		profiles: map[string]kyc.Profile{}, outbox: map[string]map[string]*OutboxRecord{},
		states: map[string]EventRecord{}, erased: map[string]bool{}, checks: map[string]map[string]kyc.Check{}}
}

// Journey implements processor.Journeys.
func (m *MemStore) Journey(_ context.Context, provider, journeyID string) (processor.Journey, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.journeys[provider+"#"+journeyID]
	return j, ok, nil
}

// PutJourney implements processor.Journeys: a newer Version, or the same Version with a
// newer AMLVersion, replaces the stored snapshot; anything else is ErrConflict.
func (m *MemStore) PutJourney(_ context.Context, j processor.Journey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := j.Provider + "#" + j.JourneyID
	if old, ok := m.journeys[k]; ok && !(old.Version < j.Version || (old.Version == j.Version && old.AMLVersion < j.AMLVersion)) {
		return processor.ErrConflict
	}
	j.FetchedAt, j.AMLReceivedAt, j.RequestedAt = j.FetchedAt.UTC(), j.AMLReceivedAt.UTC(), j.RequestedAt.UTC()
	m.journeys[k] = j
	return nil
}

// Profile implements processor.Profiles.
func (m *MemStore) Profile(_ context.Context, referenceNo string) (kyc.Profile, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.profiles[referenceNo]
	p.Reasons = slices.Clone(p.Reasons)
	return p, ok, nil
}

// SetProfile stores p as it is, for a test's starting state.
func (m *MemStore) SetProfile(p kyc.Profile) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.profiles[p.ReferenceNo] = p
}

// ApplyStatus implements processor.Profiles: the profile and the outbox record are
// written together or not at all, conditional on the profile being as read and the
// outbox record being new.
func (m *MemStore) ApplyStatus(_ context.Context, c kyc.Change, current kyc.Profile, found bool, ev *kyc.StatusEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Conflicts > 0 {
		m.Conflicts--
		return processor.ErrConflict
	}
	p, ok := m.profiles[c.ReferenceNo]
	if ok != found || (ok && p.Version != current.Version) {
		return processor.ErrConflict
	}
	if ev != nil && m.outbox[c.ReferenceNo][ev.ID] != nil {
		return processor.ErrConflict
	}
	reasons := slices.Clone(c.Reasons)
	if reasons == nil {
		reasons = []string{}
	}
	m.profiles[c.ReferenceNo] = kyc.Profile{ReferenceNo: c.ReferenceNo, Status: c.Status, JourneyID: c.JourneyID,
		Provider: c.Provider, Reasons: reasons, UpdatedAt: c.OccurredAt.UTC(), Version: c.Version, RenewalDueBy: c.RenewalDueBy.UTC().Truncate(time.Second)}
	if ev != nil {
		if m.outbox[c.ReferenceNo] == nil {
			m.outbox[c.ReferenceNo] = map[string]*OutboxRecord{}
		}
		m.outbox[c.ReferenceNo][ev.ID] = &OutboxRecord{Event: *ev}
	}
	return nil
}

// MarkSent implements processor.Outbox; ErrConflict when there is no such record.
func (m *MemStore) MarkSent(_ context.Context, referenceNo, eventID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.outbox[referenceNo][eventID]
	if r == nil {
		return processor.ErrConflict
	}
	r.Sent = true
	return nil
}

// Mark implements processor.Events; an event that is not in Inbox is left alone.
func (m *MemStore) Mark(_ context.Context, e inbox.Event, st processor.State, note string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.Inbox.Event(e.Provider, e.EventID); ok {
		m.states[e.Provider+"#"+e.EventID] = EventRecord{State: string(st), Note: note}
	}
	return nil
}

// Erase leaves the tombstone of an erased profile (what kycctl erase does).
func (m *MemStore) Erase(referenceNo string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.erased[referenceNo] = true
}

// Erased implements processor.Erasures.
func (m *MemStore) Erased(_ context.Context, referenceNo string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.erased[referenceNo], nil
}

// Forget implements processor.Erasures: e is marked skipped and loses its body,
// referenceNo and attributes; an event that is not in Inbox is left alone.
func (m *MemStore) Forget(_ context.Context, e inbox.Event, note string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Inbox.Update(e.Provider, e.EventID, func(x *inbox.Event) { x.Body, x.ReferenceNo, x.Attributes = nil, "", nil }) {
		m.states[e.Provider+"#"+e.EventID] = EventRecord{State: string(processor.Skipped), Note: note}
	}
	return nil
}

// Outbox implements Reader.
func (m *MemStore) Outbox(_ context.Context, referenceNo string) ([]OutboxRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []OutboxRecord{}
	for _, r := range m.outbox[referenceNo] {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Event.ID < out[j].Event.ID })
	return out, nil
}

// Event implements Reader.
func (m *MemStore) Event(_ context.Context, provider, eventID string) (EventRecord, bool, error) {
	e, ok := m.Inbox.Event(provider, eventID)
	if !ok {
		return EventRecord{}, false, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, marked := m.states[provider+"#"+eventID]
	if !marked {
		r.State = "unprocessable"
		if e.Processable {
			r.State = "pending"
		}
	}
	r.Event = e
	return r, true, nil
}

// PutCheck implements processor.Checks.
func (m *MemStore) PutCheck(_ context.Context, c kyc.Check) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.checks[c.ReferenceNo][c.Name]; ok && old.Version >= c.Version {
		return processor.ErrConflict
	}
	if m.checks[c.ReferenceNo] == nil {
		m.checks[c.ReferenceNo] = map[string]kyc.Check{}
	}
	m.checks[c.ReferenceNo][c.Name] = c
	return nil
}

// Checks reads the checks of a profile, by name.
func (m *MemStore) Checks(_ context.Context, referenceNo string) ([]kyc.Check, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []kyc.Check
	for _, c := range m.checks[referenceNo] {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
