// Package pushtest has an in-memory push.Ledger for unit tests (MemLedger) and the
// contract suite every push.Ledger must pass (RunLedgerContract), run against MemLedger
// and against the DynamoDB store on DynamoDB Local.
package pushtest

import (
	"context"
	"sync"

	"github.com/kycbackend/kyc/shared/core/push"
)

// States of a push marker, as the DynamoDB store names them.
const (
	Claimed  = "claimed"
	Sent     = "sent"
	Released = "released"
)

// MarkerReader reads the state of the marker of (status event, device) back.
type MarkerReader interface {
	Marker(ctx context.Context, statusEventID, deviceID string) (state string, found bool, err error)
}

// MemLedger is push.Ledger in memory, with the conditions of the DynamoDB store: a pair is
// claimed when it has no marker or its last attempt was released; only a claimed marker
// is released or completed.
type MemLedger struct {
	ClaimErr   error // when set, ClaimPush fails with it
	ReleaseErr error // when set, ReleasePush fails with it

	mu      sync.Mutex
	markers map[string]string // statusEventID/deviceID -> state
}

var (
	_ push.Ledger  = (*MemLedger)(nil)
	_ MarkerReader = (*MemLedger)(nil)
)

// NewMemLedger returns an empty MemLedger.
func NewMemLedger() *MemLedger { return &MemLedger{markers: map[string]string{}} }

// ClaimPush implements push.Ledger.
func (l *MemLedger) ClaimPush(_ context.Context, statusEventID, deviceID string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ClaimErr != nil {
		return false, l.ClaimErr
	}
	k := statusEventID + "/" + deviceID
	if s, ok := l.markers[k]; ok && s != Released {
		return false, nil
	}
	l.markers[k] = Claimed
	return true, nil
}

// ReleasePush implements push.Ledger.
func (l *MemLedger) ReleasePush(_ context.Context, statusEventID, deviceID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ReleaseErr != nil {
		return l.ReleaseErr
	}
	l.settle(statusEventID+"/"+deviceID, Released)
	return nil
}

// CompletePush implements push.Ledger.
func (l *MemLedger) CompletePush(_ context.Context, statusEventID, deviceID, _ string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.settle(statusEventID+"/"+deviceID, Sent)
	return nil
}

func (l *MemLedger) settle(k, to string) {
	if l.markers[k] == Claimed {
		l.markers[k] = to
	}
}

// Marker implements MarkerReader.
func (l *MemLedger) Marker(_ context.Context, statusEventID, deviceID string) (string, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.markers[statusEventID+"/"+deviceID]
	return s, ok, nil
}

// Len is the number of markers.
func (l *MemLedger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.markers)
}
