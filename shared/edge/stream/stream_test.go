package stream

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

type fakeProcessor struct {
	processed []string
	claims    []string
	counted   []string
	fail      map[string]bool
}

func (f *fakeProcessor) Process(_ context.Context, e inbox.Event) error {
	if f.fail[e.EventID] {
		return errors.New("conflict")
	}
	f.processed = append(f.processed, e.EventID)
	return nil
}

func (f *fakeProcessor) ClaimArrived(_ context.Context, c kyc.Claim) error {
	if f.fail[c.JourneyID] {
		return errors.New("down")
	}
	f.claims = append(f.claims, c.JourneyID)
	return nil
}

func (f *fakeProcessor) Count(_ context.Context, name string, e inbox.Event) {
	f.counted = append(f.counted, name+":"+e.EventID)
}

// record is a stream record whose new image carries kind ("event", "claim", "junk") and id.
func record(seq, kind, id string) events.DynamoDBEventRecord {
	var r events.DynamoDBEventRecord
	r.EventID = "rec-" + seq
	r.Change.SequenceNumber = seq
	r.Change.NewImage = map[string]events.DynamoDBAttributeValue{
		"kind": events.NewStringAttribute(kind), "id": events.NewStringAttribute(id)}
	return r
}

func decodeEvent(img map[string]events.DynamoDBAttributeValue) (inbox.Event, error) {
	if img["kind"].String() != "event" {
		return inbox.Event{}, errors.New("not an inbox event")
	}
	return inbox.Event{Provider: "idwise", EventID: img["id"].String(), JourneyID: "j"}, nil
}

func decodeClaim(img map[string]events.DynamoDBAttributeValue) (kyc.Claim, bool, error) {
	switch img["kind"].String() {
	case "claim":
		return kyc.Claim{Provider: "idwise", JourneyID: img["id"].String()}, true, nil
	case "badclaim":
		return kyc.Claim{}, false, errors.New("undecodable")
	}
	return kyc.Claim{}, false, nil
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name          string
		records       []events.DynamoDBEventRecord
		fail          map[string]bool
		wantProcessed []string
		wantClaims    []string
		wantFailures  []string
		wantCounted   []string
	}{
		{name: "every record processed in order",
			records:       []events.DynamoDBEventRecord{record("1", "event", "e1"), record("2", "claim", "j1"), record("3", "event", "e2")},
			wantProcessed: []string{"e1", "e2"}, wantClaims: []string{"j1"}},
		{name: "undecodable records are skipped, not retried",
			records:       []events.DynamoDBEventRecord{record("1", "junk", "x"), record("2", "badclaim", "y"), record("3", "event", "e1")},
			wantProcessed: []string{"e1"}},
		{name: "the first failing event is reported and the batch stops there",
			records:       []events.DynamoDBEventRecord{record("1", "event", "e1"), record("2", "event", "e2"), record("3", "event", "e3")},
			fail:          map[string]bool{"e2": true},
			wantProcessed: []string{"e1"}, wantFailures: []string{"2"}, wantCounted: []string{"EventsRetried:e2"}},
		{name: "a failing claim is reported and the batch stops there",
			records:      []events.DynamoDBEventRecord{record("1", "claim", "j1"), record("2", "event", "e1")},
			fail:         map[string]bool{"j1": true},
			wantFailures: []string{"1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakeProcessor{fail: tt.fail}
			resp, err := New(p, decodeEvent).WithClaims(decodeClaim).Handle(context.Background(), events.DynamoDBEvent{Records: tt.records})
			if err != nil {
				t.Fatalf("Handle() error = %v", err)
			}
			var failures []string
			for _, f := range resp.BatchItemFailures {
				failures = append(failures, f.ItemIdentifier)
			}
			if !reflect.DeepEqual(failures, tt.wantFailures) || !reflect.DeepEqual(p.processed, tt.wantProcessed) ||
				!reflect.DeepEqual(p.claims, tt.wantClaims) || !reflect.DeepEqual(p.counted, tt.wantCounted) {
				t.Errorf("Handle() failures %v processed %v claims %v counted %v, want %v %v %v %v",
					failures, p.processed, p.claims, p.counted, tt.wantFailures, tt.wantProcessed, tt.wantClaims, tt.wantCounted)
			}
		})
	}
}

// TestHandleWithoutClaims: without a claim decoder every record is read as an inbox event.
func TestHandleWithoutClaims(t *testing.T) {
	p := &fakeProcessor{}
	if _, err := New(p, decodeEvent).Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("1", "claim", "j1"), record("2", "event", "e1")}}); err != nil {
		t.Fatal(err)
	}
	if len(p.claims) != 0 || !reflect.DeepEqual(p.processed, []string{"e1"}) {
		t.Errorf("claims %v processed %v, want none and [e1]", p.claims, p.processed)
	}
}
