package dynamo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/core/inbox"
)

// receivedAt is the sort key of the indexes ByJourney and Unprocessed: events must sort
// by time whatever their fraction of a second, including none (RFC3339Nano drops trailing
// zeros, so "10:00:01Z" sorted after "10:00:01.5Z" and ".12Z" after ".123Z").
func TestReceivedAtSortsByTime(t *testing.T) {
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	in, op, store := dynamo.NewInbox(client, table), dynamo.NewOperator(client, table, time.Hour), dynamo.NewStore(client, table, time.Hour)
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	offsets := map[string]time.Duration{"e-1": time.Second, "e-1.5": 1500 * time.Millisecond,
		"e-2.12": 2120 * time.Millisecond, "e-2.123": 2123 * time.Millisecond}
	for id, d := range offsets {
		body := []byte(id)
		e := inbox.Event{Provider: "idwise", EventID: id, Name: "Finished Journey", JourneyID: "j-1", Processable: true,
			Body: body, BodyHash: inbox.Hash(body), ReceivedAt: at.Add(d), ExpiresAt: time.Now().Add(time.Hour)}
		if err := in.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(events []opstore.Event) []string {
		out := []string{}
		for _, e := range events {
			out = append(out, e.Event.EventID)
		}
		return out
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"all, oldest first", time.Time{}, at.Add(time.Hour), []string{"e-1", "e-1.5", "e-2.12", "e-2.123"}},
		{"to a whole second", time.Time{}, at.Add(time.Second), []string{"e-1"}},
		{"from a fraction", at.Add(1200 * time.Millisecond), at.Add(2122 * time.Millisecond), []string{"e-1.5", "e-2.12"}},
	}
	for _, tt := range tests {
		got, err := op.Unprocessed(ctx, opstore.Pending, tt.from, tt.to, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("%s: Unprocessed(pending) = %v, want %v", tt.name, ids(got), tt.want)
		}
	}
	stuck, err := store.StuckEvents(ctx, at.Add(time.Second+time.Nanosecond), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(stuck) != 1 || stuck[0].Value.EventID != "e-1" {
		t.Errorf("StuckEvents(before 10:00:01.000000001) = %+v, want e-1 only", stuck)
	}
}
