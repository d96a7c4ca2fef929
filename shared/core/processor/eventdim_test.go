package processor_test

import (
	"context"
	"sync"
	"testing"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/core/processor/processortest"
)

// dims records the dimensions of every count.
type dims struct {
	mu   sync.Mutex
	seen []map[string]string
}

func (d *dims) Count(_ context.Context, _ string, m map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, m)
}

func (d *dims) Put(context.Context, string, float64, string, map[string]string) {}

// cataloged is a resolver with a catalogue of the names it knows.
type cataloged struct {
	scripted
	known map[string]bool
}

func (c cataloged) KnownEvent(name string) bool { return c.known[name] }

// An authenticated vendor (or whoever holds its secret) sends event names of its choice:
// only the catalogued ones become a metric dimension, the rest count as "other", so the
// number of CloudWatch metrics stays bounded (issue 13, item 9).
func TestEventDimensionOnlyFromTheKnownList(t *testing.T) {
	tests := []struct {
		name     string
		resolver processor.Resolver
		event    string
		want     string
	}{
		{"known name", cataloged{known: map[string]bool{"Finished Journey": true}}, "Finished Journey", "Finished Journey"},
		{"unknown name", cataloged{known: map[string]bool{"Finished Journey": true}}, "Finished Journey 8f3a1c-unique-per-request", processor.OtherEvent},
		{"resolver without a catalogue", scripted{}, "Finished Journey", processor.OtherEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, d := processortest.NewMemStore(), &dims{}
			svc := processor.New(map[string]processor.Resolver{"v": tt.resolver},
				processor.Deps{Journeys: m, Profiles: m, Outbox: m, Publisher: &pub{}, Events: m, Metrics: d})
			// Not processable: skipped and counted, before any resolver runs.
			_ = svc.Process(context.Background(), inbox.Event{Provider: "v", EventID: "e", Name: tt.event})
			if len(d.seen) == 0 {
				t.Fatalf("nothing counted, want EventsSkipped")
			}
			for _, m := range d.seen {
				if got := m["event"]; got != tt.want {
					t.Errorf("event dimension of %q = %q, want %q", tt.event, got, tt.want)
				}
			}
		})
	}
}
