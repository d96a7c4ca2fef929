package sweeper

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

type fakeLister struct {
	stuck, awaiting []Pending[inbox.Event]
	unsent          []Pending[kyc.StatusEvent]
	cutoffs         []time.Time
	err             error
}

func (f *fakeLister) StuckEvents(_ context.Context, cutoff time.Time, _ int32) ([]Pending[inbox.Event], error) {
	f.cutoffs = append(f.cutoffs, cutoff)
	return f.stuck, f.err
}

// AwaitingClaimSince pages through f.awaiting; the cursor is the next index.
func (f *fakeLister) AwaitingClaimSince(_ context.Context, cutoff time.Time, limit int32, cursor string) ([]Pending[inbox.Event], string, error) {
	f.cutoffs = append(f.cutoffs, cutoff)
	from, _ := strconv.Atoi(cursor)
	to := min(from+int(limit), len(f.awaiting))
	next := ""
	if to < len(f.awaiting) {
		next = strconv.Itoa(to)
	}
	return f.awaiting[from:to], next, nil
}

func (f *fakeLister) UnsentStatusEvents(_ context.Context, cutoff time.Time, _ int32) ([]Pending[kyc.StatusEvent], error) {
	f.cutoffs = append(f.cutoffs, cutoff)
	return f.unsent, nil
}

type fakeProcessor struct {
	processed, redriven, published []string
	fail                           map[string]bool
}

func (f *fakeProcessor) result(id string) error {
	if f.fail[id] {
		return errors.New("down")
	}
	return nil
}

func (f *fakeProcessor) Process(_ context.Context, e inbox.Event) error {
	f.processed = append(f.processed, e.EventID)
	return f.result(e.EventID)
}

func (f *fakeProcessor) Redrive(_ context.Context, e inbox.Event) error {
	f.redriven = append(f.redriven, e.EventID)
	return f.result(e.EventID)
}

func (f *fakeProcessor) Publish(_ context.Context, ev kyc.StatusEvent) error {
	f.published = append(f.published, ev.ID)
	return f.result(ev.ID)
}

func event(id string) Pending[inbox.Event] {
	return Pending[inbox.Event]{Value: inbox.Event{EventID: id}}
}

func TestRun(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := &fakeLister{
		stuck:    []Pending[inbox.Event]{event("e1"), {Err: errors.New("undecodable")}, event("e2")},
		awaiting: []Pending[inbox.Event]{event("w1")},
		unsent:   []Pending[kyc.StatusEvent]{{Value: kyc.StatusEvent{ID: "s1"}}, {Value: kyc.StatusEvent{ID: "s2"}}},
	}
	p := &fakeProcessor{fail: map[string]bool{"e2": true, "s2": true}}
	s := New(l, p, nil, Config{MinAge: 15 * time.Minute})
	s.now = func() time.Time { return now }
	res, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Result{StuckEvents: 3, Redriven: 1, AwaitingClaim: 1, UnsentStatusEvents: 2, Published: 1, Errors: 3}
	if res != want {
		t.Errorf("Run() = %+v, want %+v", res, want)
	}
	// The undecodable item is never handed to the processor.
	if !reflect.DeepEqual(p.processed, []string{"e1", "e2"}) || !reflect.DeepEqual(p.redriven, []string{"w1"}) ||
		!reflect.DeepEqual(p.published, []string{"s1", "s2"}) {
		t.Errorf("processed %v redriven %v published %v", p.processed, p.redriven, p.published)
	}
	for _, c := range l.cutoffs {
		if !c.Equal(now.Add(-15 * time.Minute)) {
			t.Errorf("cutoff = %v, want %v", c, now.Add(-15*time.Minute))
		}
	}
}

func TestRunListFailureIsReturned(t *testing.T) {
	l := &fakeLister{err: errors.New("throttled")}
	if _, err := New(l, &fakeProcessor{}, nil, Config{}).Run(context.Background()); err == nil {
		t.Error("Run() = nil error, want the listing failure")
	}
}

// Every page of the events awaiting a claim is re-driven, not only the first: a re-drive
// leaves an unclaimed event in place, so the oldest page would otherwise hide the rest.
func TestRunPagesThroughAwaitingEvents(t *testing.T) {
	l := &fakeLister{}
	var want []string
	for i := range 25 {
		id := "w" + strconv.Itoa(i)
		l.awaiting = append(l.awaiting, event(id))
		want = append(want, id)
	}
	p := &fakeProcessor{}
	res, err := New(l, p, nil, Config{Limit: 10}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.AwaitingClaim != 25 || !reflect.DeepEqual(p.redriven, want) {
		t.Errorf("Run() awaiting = %d, redriven %v; want 25, %v", res.AwaitingClaim, p.redriven, want)
	}
}
