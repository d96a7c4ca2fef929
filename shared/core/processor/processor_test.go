package processor_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/core/processor/processortest"
)

// markedState is where the fake says e ended; "" when it was never marked.
func markedState(t *testing.T, m *processortest.MemStore, e inbox.Event) processor.State {
	t.Helper()
	r, _, err := m.Event(context.Background(), e.Provider, e.EventID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State == "pending" || r.State == "unprocessable" {
		return ""
	}
	return processor.State(r.State)
}

// unsent counts the outbox records of referenceNo not marked sent.
func unsent(t *testing.T, m *processortest.MemStore, referenceNo string) int {
	t.Helper()
	out, err := m.Outbox(context.Background(), referenceNo)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range out {
		if !r.Sent {
			n++
		}
	}
	return n
}

type pub struct {
	mu   sync.Mutex
	sent []kyc.StatusEvent
	fail bool
}

func (p *pub) Publish(_ context.Context, ev kyc.StatusEvent) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("sns down")
	}
	p.sent = append(p.sent, ev)
	return nil
}

// scripted resolves every event to the outcome (or error) given for its id.
type scripted map[string]struct {
	out processor.Outcome
	err error
}

func (s scripted) Resolve(_ context.Context, e inbox.Event, _ processor.Journey, _ bool) (processor.Outcome, error) {
	r, ok := s[e.EventID]
	if !ok {
		return processor.Outcome{}, fmt.Errorf("no script for %s", e.EventID)
	}
	return r.out, r.err
}

func change(status kyc.Status, version int64) *kyc.Change {
	return &kyc.Change{ReferenceNo: "r1", JourneyID: "j1", Provider: "v", Status: status, Version: version, OccurredAt: time.Unix(0, 0)}
}

func event(id string) inbox.Event {
	return inbox.Event{Provider: "v", EventID: id, Name: "X", JourneyID: "j1", Processable: true}
}

func TestProcess(t *testing.T) {
	tests := []struct {
		name       string
		start      *kyc.Profile
		script     scripted
		event      inbox.Event
		conflicts  int
		snsDown    bool
		wantErr    bool
		wantState  processor.State
		wantStatus kyc.Status
		wantSent   int
		wantUnsent int
	}{
		{name: "first status", script: scripted{"e": {out: processor.Outcome{Change: change(kyc.Approved, 10)}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.Approved, wantSent: 1},
		{name: "older snapshot never overwrites a newer one",
			start:  &kyc.Profile{ReferenceNo: "r1", Status: kyc.Approved, JourneyID: "j1", Version: 20},
			script: scripted{"e": {out: processor.Outcome{Change: change(kyc.InReview, 10)}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.Approved},
		{name: "a decision from an older snapshot beats pending of the same journey",
			start:  &kyc.Profile{ReferenceNo: "r1", Status: kyc.PendingVerification, JourneyID: "j1", Version: 20},
			script: scripted{"e": {out: processor.Outcome{Change: change(kyc.Approved, 10)}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.Approved, wantSent: 1},
		{name: "an older decision does not beat pending of another journey",
			start:  &kyc.Profile{ReferenceNo: "r1", Status: kyc.PendingVerification, JourneyID: "j2", Version: 20},
			script: scripted{"e": {out: processor.Outcome{Change: change(kyc.Approved, 10)}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.PendingVerification},
		{name: "same status is not a change",
			start:  &kyc.Profile{ReferenceNo: "r1", Status: kyc.Approved, JourneyID: "j1", Version: 5},
			script: scripted{"e": {out: processor.Outcome{Change: change(kyc.Approved, 10)}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.Approved},
		{name: "submission received does not undo a decision",
			start:  &kyc.Profile{ReferenceNo: "r1", Status: kyc.Rejected, JourneyID: "j1", Version: 5},
			script: scripted{"e": {out: processor.Outcome{Change: change(kyc.PendingVerification, 10), Guard: processor.UnlessDecided}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.Rejected},
		{name: "submission received for a new journey does move",
			start:  &kyc.Profile{ReferenceNo: "r1", Status: kyc.Rejected, JourneyID: "j0", Version: 5},
			script: scripted{"e": {out: processor.Outcome{Change: change(kyc.PendingVerification, 10), Guard: processor.UnlessDecided}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.PendingVerification, wantSent: 1},
		{name: "aml review only for an approved profile",
			start:  &kyc.Profile{ReferenceNo: "r1", Status: kyc.Rejected, JourneyID: "j1", Version: 5},
			script: scripted{"e": {out: processor.Outcome{Change: change(kyc.InReview, 10), Guard: processor.OnlyIfApproved}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.Rejected},
		{name: "aml review of an approved profile",
			start:  &kyc.Profile{ReferenceNo: "r1", Status: kyc.Approved, JourneyID: "j1", Version: 5},
			script: scripted{"e": {out: processor.Outcome{Change: change(kyc.InReview, 10), Guard: processor.OnlyIfApproved}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.InReview, wantSent: 1},
		{name: "lost races are retried", conflicts: 3, script: scripted{"e": {out: processor.Outcome{Change: change(kyc.Approved, 10)}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.Approved, wantSent: 1},
		{name: "endless races are an error to retry", conflicts: 100, script: scripted{"e": {out: processor.Outcome{Change: change(kyc.Approved, 10)}}}, event: event("e"),
			wantErr: true},
		{name: "transient vendor error is retried", script: scripted{"e": {err: errors.New("timeout")}}, event: event("e"), wantErr: true},
		{name: "permanent vendor error marks failed", script: scripted{"e": {err: fmt.Errorf("%w: 404", kyc.ErrPermanent)}}, event: event("e"),
			wantState: processor.Failed},
		{name: "unknown event is skipped", event: inbox.Event{Provider: "v", EventID: "e", Processable: false}, wantState: processor.Skipped},
		{name: "unknown provider fails", event: inbox.Event{Provider: "other", EventID: "e", Processable: true}, wantState: processor.Failed},
		{name: "sns down leaves the status event in the outbox", snsDown: true,
			script: scripted{"e": {out: processor.Outcome{Change: change(kyc.Approved, 10)}}}, event: event("e"),
			wantState: processor.Processed, wantStatus: kyc.Approved, wantUnsent: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := processortest.NewMemStore()
			m.Conflicts = tt.conflicts
			if tt.start != nil {
				m.SetProfile(*tt.start)
			}
			if err := m.Inbox.Put(context.Background(), tt.event); err != nil {
				t.Fatal(err)
			}
			p := &pub{fail: tt.snsDown}
			svc := processor.New(map[string]processor.Resolver{"v": tt.script},
				processor.Deps{Journeys: m, Profiles: m, Outbox: m, Publisher: p, Events: m})
			err := svc.Process(context.Background(), tt.event)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Process() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got := markedState(t, m, tt.event); got != tt.wantState {
				t.Errorf("event state = %q, want %q", got, tt.wantState)
			}
			if got, _, _ := m.Profile(context.Background(), "r1"); got.Status != tt.wantStatus {
				t.Errorf("profile status = %q, want %q", got.Status, tt.wantStatus)
			}
			if len(p.sent) != tt.wantSent {
				t.Errorf("published %d, want %d", len(p.sent), tt.wantSent)
			}
			if n := unsent(t, m, "r1"); n != tt.wantUnsent {
				t.Errorf("unsent outbox records = %d, want %d", n, tt.wantUnsent)
			}
		})
	}
}

func TestStatusEventIDIsDeterministic(t *testing.T) {
	c := *change(kyc.Approved, 42)
	a, b := kyc.NewStatusEvent(c, ""), kyc.NewStatusEvent(c, kyc.PendingVerification)
	if a.ID != b.ID {
		t.Errorf("ids %s and %s differ for the same change", a.ID, b.ID)
	}
	c.Version = 43
	if kyc.NewStatusEvent(c, "").ID == a.ID {
		t.Errorf("a different status version kept the same id")
	}
}
