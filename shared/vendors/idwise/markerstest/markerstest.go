// Package markerstest has an in-memory idwise.Markers for unit tests (MemMarkers) and the
// contract suite every idwise.Markers must pass (RunMarkersContract), run against
// MemMarkers and against the DynamoDB store on DynamoDB Local.
package markerstest

import (
	"context"
	"sync"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// MemMarkers keeps custom step markers in memory with the conditions of the DynamoDB
// store. Its zero value is ready to use; Clock decides when a lease has ended (zero:
// time.Now).
type MemMarkers struct {
	Clock time.Time

	mu      sync.Mutex
	markers map[string]*marker
}

type marker struct {
	state    idwise.StepState
	attempts int
	note     string
	claim    string
	lease    time.Time
	lastErr  string
}

var _ idwise.Markers = (*MemMarkers)(nil)

func (f *MemMarkers) now() time.Time {
	if f.Clock.IsZero() {
		return time.Now()
	}
	return f.Clock
}

// ClaimStep implements idwise.Markers.
func (f *MemMarkers) ClaimStep(_ context.Context, journeyID, stepID, token string, leaseUntil time.Time) (idwise.StepMarker, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.markers == nil {
		f.markers = map[string]*marker{}
	}
	m, ok := f.markers[journeyID+"/"+stepID]
	if !ok {
		m = &marker{state: idwise.StepSubmitting}
		f.markers[journeyID+"/"+stepID] = m
	}
	if m.state == idwise.StepCompleted {
		return idwise.StepMarker{}, idwise.ErrStepCompleted
	}
	if m.claim != "" && !m.lease.Before(f.now()) {
		return idwise.StepMarker{}, idwise.ErrStepBusy
	}
	inDoubt := m.claim != ""
	m.claim, m.lease = token, leaseUntil
	m.attempts++
	return idwise.StepMarker{State: m.state, Attempts: m.attempts, InDoubt: inDoubt, Note: m.note}, nil
}

// AdvanceStep implements idwise.Markers.
func (f *MemMarkers) AdvanceStep(_ context.Context, journeyID, stepID, token string, to idwise.StepState, note string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.markers[journeyID+"/"+stepID]
	if m == nil || m.claim != token {
		return idwise.ErrStepBusy
	}
	m.state, m.note = to, note
	if to == idwise.StepCompleted {
		m.claim = ""
	}
	return nil
}

// ReleaseStep implements idwise.Markers.
func (f *MemMarkers) ReleaseStep(_ context.Context, journeyID, stepID, token, why string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.markers[journeyID+"/"+stepID]
	if m == nil || m.claim != token {
		return idwise.ErrStepBusy
	}
	m.claim, m.lastErr = "", why
	return nil
}

// Step implements idwise.Markers.
func (f *MemMarkers) Step(_ context.Context, journeyID, stepID string) (idwise.StepMarker, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.markers[journeyID+"/"+stepID]
	if m == nil {
		return idwise.StepMarker{}, false, nil
	}
	return idwise.StepMarker{State: m.state, Attempts: m.attempts, Note: m.note, Claimed: m.claim != ""}, true, nil
}
