package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/push"
)

type fakeNotifier struct {
	got  []kyc.StatusEvent
	fail map[string]bool // status event ids whose push is incomplete
}

func (f *fakeNotifier) Notify(_ context.Context, ev kyc.StatusEvent) (push.Outcome, error) {
	f.got = append(f.got, ev)
	if f.fail[ev.ID] {
		return push.Outcome{Devices: 1, Failed: 1}, errors.New("push failed for some devices")
	}
	return push.Outcome{Devices: 1, Sent: 1}, nil
}

func statusEvent(id, ref string, st kyc.Status) kyc.StatusEvent {
	return kyc.StatusEvent{Type: kyc.EventType, Version: 1, ID: id, ReferenceNo: ref, JourneyID: "journey-" + ref, Status: st}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandleReportsOnlyFailedMessages(t *testing.T) {
	n := &fakeNotifier{fail: map[string]bool{"e-bob": true}}
	alice := mustJSON(t, statusEvent("e-alice", "alice", kyc.Approved))
	envelope := mustJSON(t, map[string]string{"Type": "Notification", "MessageId": "x", "Message": alice})
	tests := []struct {
		name       string
		body       string
		wantFailed bool
	}{
		{"status event", alice, false},
		{"status event in an SNS envelope", envelope, false},
		{"push fails for a device", mustJSON(t, statusEvent("e-bob", "bob", kyc.Rejected)), true},
		{"another event type is ignored", `{"type":"profile.erased","version":1,"id":"x"}`, false},
		{"not json", `{"type":`, true},
		{"unknown version", mustJSON(t, func() kyc.StatusEvent { e := statusEvent("e2", "alice", kyc.Approved); e.Version = 2; return e }()), true},
		{"unknown status", mustJSON(t, statusEvent("e3", "alice", "DONE")), true},
		{"no id", mustJSON(t, statusEvent("", "alice", kyc.Approved)), true},
	}
	var ev events.SQSEvent
	var want []string
	for i, tt := range tests {
		id := fmt.Sprintf("m%d", i)
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: id, Body: tt.body, Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
		if tt.wantFailed {
			want = append(want, id)
		}
	}
	resp, err := New(n).Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle() error = %v, want nil (failures are per message)", err)
	}
	var got []string
	for _, f := range resp.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	if !slices.Equal(got, want) {
		t.Errorf("BatchItemFailures = %v, want %v (%v)", got, want, tests)
	}
	// Only decodable status changes reach the notifier: alice twice (plain, enveloped), bob.
	var ids []string
	for _, e := range n.got {
		ids = append(ids, e.ID)
	}
	if !slices.Equal(ids, []string{"e-alice", "e-alice", "e-bob"}) {
		t.Errorf("notified %v, want [e-alice e-alice e-bob]", ids)
	}
}

// TestSampleEvent: events/push-status-changed.json decodes into the library's SQS event
// and the handler pushes its status event.
func TestSampleEvent(t *testing.T) {
	raw, err := os.ReadFile("../../../events/push-status-changed.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) == 0 {
		t.Fatalf("decode sample: %v (%d records)", err, len(ev.Records))
	}
	n := &fakeNotifier{}
	resp, err := New(n).Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 || len(n.got) != 1 || n.got[0].Status == "" {
		t.Errorf("Handle(sample) = %+v, %v, notified %v; want one status event, no failure", resp, err, n.got)
	}
}
