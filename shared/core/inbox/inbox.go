// Package inbox makes vendor webhook deliveries durable exactly once. Accepting a
// delivery is one conditional write keyed on the vendor's event id: the write is both the
// dedup and the hand-off to the processor (which reads the table's stream). Deliveries
// whose body cannot be understood are kept in quarantine instead, once per body.
package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrDuplicate is returned by a Store when the key already exists.
var ErrDuplicate = errors.New("duplicate event")

// DuplicateError is the ErrDuplicate a Store returns for an event, with the body hash of
// the item that was stored first.
type DuplicateError struct{ ExistingHash string }

func (e *DuplicateError) Error() string        { return "duplicate event" }
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }

// Event is one accepted delivery as the processor will need it.
type Event struct {
	Provider    string            // "idwise", "veriff"
	EventID     string            // the vendor's event id (or a body hash where it sends none)
	Name        string            // vendor event name, e.g. "Finished Journey"
	JourneyID   string            // vendor journey / session id
	ReferenceNo string            // the customer's own id for the user, when the vendor sends it
	Attributes  map[string]string // vendor fields the processor needs (decisions, action ...)
	Processable bool              // false for event names this version does not know
	Body        []byte            // raw body, exactly as received
	BodyHash    string            // hex SHA-256 of Body
	ReceivedAt  time.Time
	ExpiresAt   time.Time // raw events expire (TTL)
}

// Quarantined is an authenticated delivery whose body could not be understood.
type Quarantined struct {
	Provider   string
	Reason     string // which field was wrong; never body content
	Body       []byte
	BodyHash   string
	ReceivedAt time.Time
	ExpiresAt  time.Time
}

// Store is what the inbox needs from storage. Each call must be ONE conditional write:
// it fails with ErrDuplicate (for Put, a *DuplicateError) when the key exists.
type Store interface {
	Put(ctx context.Context, e Event) error
	Quarantine(ctx context.Context, q Quarantined) error
}

// Counter counts notable outcomes (a metric in production).
type Counter interface {
	Count(ctx context.Context, name string, dims map[string]string)
}

// Status is what happened to a delivery.
type Status string

const (
	Accepted  Status = "accepted"
	Duplicate Status = "duplicate"
)

// Result is the outcome of Accept.
type Result struct {
	Status      Status
	EventID     string
	Processable bool
}

// Service accepts deliveries into the store.
type Service struct {
	store     Store
	counter   Counter
	retention time.Duration
	now       func() time.Time
}

// New returns a Service that keeps raw events for retention.
func New(store Store, counter Counter, retention time.Duration) *Service {
	return &Service{store: store, counter: counter, retention: retention, now: time.Now}
}

// Hash is the hex SHA-256 used for body hashes everywhere.
func Hash(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:])
}

// Accept stores e once. A second delivery of the same event id is reported as
// Duplicate and never overwrites the first; when its body differs from the stored one,
// it is logged with both hashes and counted. Any other error means the event is NOT
// durable and the vendor must be told to retry.
func (s *Service) Accept(ctx context.Context, e Event) (Result, error) {
	e.ReceivedAt = s.now().UTC()
	e.ExpiresAt = e.ReceivedAt.Add(s.retention)
	if e.BodyHash == "" {
		e.BodyHash = Hash(e.Body)
	}
	res := Result{Status: Accepted, EventID: e.EventID, Processable: e.Processable}
	err := s.store.Put(ctx, e)
	var dup *DuplicateError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &dup):
		res.Status = Duplicate
		if dup.ExistingHash != e.BodyHash {
			slog.WarnContext(ctx, "duplicate event id with a different body; kept the first",
				"provider", e.Provider, "eventId", e.EventID, "journeyId", e.JourneyID,
				"storedBodyHash", dup.ExistingHash, "receivedBodyHash", e.BodyHash)
			s.count(ctx, "ConflictingDuplicates", e.Provider)
		}
		return res, nil
	default:
		return Result{}, fmt.Errorf("store event %s: %w", e.EventID, err)
	}
}

// Quarantine keeps an authenticated but unusable body once per body hash. A body that
// is already quarantined is not an error.
func (s *Service) Quarantine(ctx context.Context, provider string, body []byte, reason string) (string, error) {
	now := s.now().UTC()
	q := Quarantined{
		Provider: provider, Reason: reason, Body: body, BodyHash: Hash(body),
		ReceivedAt: now, ExpiresAt: now.Add(s.retention),
	}
	err := s.store.Quarantine(ctx, q)
	switch {
	case err == nil:
		s.count(ctx, "Quarantined", provider)
	case errors.Is(err, ErrDuplicate):
	default:
		return "", fmt.Errorf("quarantine body %s: %w", q.BodyHash, err)
	}
	return q.BodyHash, nil
}

func (s *Service) count(ctx context.Context, name, provider string) {
	if s.counter != nil {
		s.counter.Count(ctx, name, map[string]string{"provider": provider})
	}
}
