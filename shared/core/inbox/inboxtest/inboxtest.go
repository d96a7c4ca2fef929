// Package inboxtest has an in-memory inbox.Store for unit tests and the contract suite
// every inbox.Store must pass (run against the fake and against DynamoDB Local).
package inboxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
)

// MemStore is an in-memory inbox.Store that records every call.
type MemStore struct {
	mu          sync.Mutex
	Events      map[string]inbox.Event
	Quarantined map[string]inbox.Quarantined
	Calls       int
	Fail        error // when set, every call fails with it
}

var _ inbox.Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{Events: map[string]inbox.Event{}, Quarantined: map[string]inbox.Quarantined{}}
}

// Put implements inbox.Store.
func (m *MemStore) Put(_ context.Context, e inbox.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Calls++
	if m.Fail != nil {
		return m.Fail
	}
	key := e.Provider + "#" + e.EventID
	if old, ok := m.Events[key]; ok {
		return &inbox.DuplicateError{ExistingHash: old.BodyHash}
	}
	m.Events[key] = e
	return nil
}

// Quarantine implements inbox.Store.
func (m *MemStore) Quarantine(_ context.Context, q inbox.Quarantined) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Calls++
	if m.Fail != nil {
		return m.Fail
	}
	if _, ok := m.Quarantined[q.BodyHash]; ok {
		return inbox.ErrDuplicate
	}
	m.Quarantined[q.BodyHash] = q
	return nil
}

// Event returns the stored event, if any.
func (m *MemStore) Event(provider, eventID string) (inbox.Event, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.Events[provider+"#"+eventID]
	return e, ok
}

// Update applies f to the stored event, if any, and reports whether there was one (for
// fakes of stores that change inbox items, such as processortest.MemStore).
func (m *MemStore) Update(provider, eventID string, f func(*inbox.Event)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.Events[provider+"#"+eventID]
	if ok {
		f(&e)
		m.Events[provider+"#"+eventID] = e
	}
	return ok
}

// Count returns how many events and quarantined bodies are stored.
func (m *MemStore) Count() (events, quarantined int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.Events), len(m.Quarantined)
}

// Reader reads back what a store holds, for the contract suite.
type Reader interface {
	Event(ctx context.Context, provider, eventID string) (inbox.Event, bool, error)
}

// NewEvent returns a valid event for tests.
func NewEvent(id string) inbox.Event {
	body := []byte(fmt.Sprintf(`{"event":"Finished Journey","body":{"eventId":%q,"journeyId":"j-1"}}`, id))
	now := time.Now().UTC().Truncate(time.Second)
	return inbox.Event{
		Provider: "idwise", EventID: id, Name: "Finished Journey", JourneyID: "j-1", ReferenceNo: "r-1",
		Attributes: map[string]string{"systemDecision": "Complete"}, Processable: true,
		Body: body, BodyHash: inbox.Hash(body), ReceivedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
	}
}

// StoreContract runs the behaviour every inbox.Store must have. newStore returns a store
// with nothing in it and a way to read it back.
func StoreContract(t *testing.T, newStore func(t *testing.T) (inbox.Store, Reader)) {
	ctx := context.Background()
	t.Run("new event is stored as given", func(t *testing.T) {
		s, r := newStore(t)
		e := NewEvent("contract-1")
		if err := s.Put(ctx, e); err != nil {
			t.Fatalf("Put() = %v, want nil", err)
		}
		got, ok, err := r.Event(ctx, e.Provider, e.EventID)
		if err != nil || !ok {
			t.Fatalf("Event() = %v, %v, want the stored event", ok, err)
		}
		if got.BodyHash != e.BodyHash || !bytes.Equal(got.Body, e.Body) || got.Name != e.Name ||
			got.JourneyID != e.JourneyID || got.Attributes["systemDecision"] != "Complete" ||
			!got.ExpiresAt.Equal(e.ExpiresAt) || !got.Processable {
			t.Errorf("Event() = %+v, want %+v", got, e)
		}
	})
	t.Run("duplicate id never overwrites and reports the stored hash", func(t *testing.T) {
		s, r := newStore(t)
		first := NewEvent("contract-2")
		if err := s.Put(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := first
		second.Body = []byte(`{"other":true}`)
		second.BodyHash = inbox.Hash(second.Body)
		err := s.Put(ctx, second)
		var dup *inbox.DuplicateError
		if !errors.As(err, &dup) || !errors.Is(err, inbox.ErrDuplicate) {
			t.Fatalf("second Put() = %v, want *inbox.DuplicateError", err)
		}
		if dup.ExistingHash != first.BodyHash {
			t.Errorf("ExistingHash = %q, want %q", dup.ExistingHash, first.BodyHash)
		}
		got, _, _ := r.Event(ctx, first.Provider, first.EventID)
		if got.BodyHash != first.BodyHash {
			t.Errorf("stored hash = %q after a duplicate, want the first %q", got.BodyHash, first.BodyHash)
		}
	})
	t.Run("same event id from another provider is a different event", func(t *testing.T) {
		s, _ := newStore(t)
		a := NewEvent("contract-3")
		b := a
		b.Provider = "veriff"
		if err := s.Put(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, b); err != nil {
			t.Errorf("Put(other provider) = %v, want nil", err)
		}
	})
	t.Run("quarantine once per body", func(t *testing.T) {
		s, _ := newStore(t)
		body := []byte(`{"event":`)
		q := inbox.Quarantined{Provider: "idwise", Reason: "(root) must be a JSON object", Body: body,
			BodyHash: inbox.Hash(body), ReceivedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.Quarantine(ctx, q); err != nil {
			t.Fatalf("Quarantine() = %v, want nil", err)
		}
		if err := s.Quarantine(ctx, q); !errors.Is(err, inbox.ErrDuplicate) {
			t.Errorf("second Quarantine() = %v, want ErrDuplicate", err)
		}
	})
}

// Event implements Reader for MemStore.
type memReader struct{ m *MemStore }

func (r memReader) Event(_ context.Context, provider, eventID string) (inbox.Event, bool, error) {
	e, ok := r.m.Event(provider, eventID)
	return e, ok, nil
}

// ReaderFor returns a Reader over m.
func ReaderFor(m *MemStore) Reader { return memReader{m} }
