package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/push"
	"github.com/kycbackend/kyc/shared/core/push/pushtest"
)

// fakes records every call: one struct plays devices and sender; the ledger is the
// contract-proven pushtest.MemLedger.
type fakes struct {
	*pushtest.MemLedger
	mu       sync.Mutex
	devices  map[string][]devices.Device // by referenceNo
	sent     []string                    // endpoint ARNs, in order
	messages map[string]string           // endpoint ARN -> last message
	deleted  []string                    // endpoint ARNs deleted

	gone      map[string]bool  // endpoints that are disabled
	failSends map[string]error // endpoint -> error of Send
	listErr   error
}

func newFakes(list ...devices.Device) *fakes {
	f := &fakes{MemLedger: pushtest.NewMemLedger(), devices: map[string][]devices.Device{}, messages: map[string]string{},
		gone: map[string]bool{}, failSends: map[string]error{}}
	for _, d := range list {
		f.devices[d.ReferenceNo] = append(f.devices[d.ReferenceNo], d)
	}
	return f
}

func (f *fakes) Devices(_ context.Context, ref string) ([]devices.Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.devices[ref]), f.listErr
}

func (f *fakes) DeleteDevice(_ context.Context, ref, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devices[ref] = slices.DeleteFunc(f.devices[ref], func(d devices.Device) bool { return d.DeviceID == id })
	return nil
}

func (f *fakes) Send(_ context.Context, arn, msg string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone[arn] {
		return "", fmt.Errorf("sns: %w", push.ErrEndpointGone)
	}
	if err := f.failSends[arn]; err != nil {
		return "", err
	}
	f.sent = append(f.sent, arn)
	f.messages[arn] = msg
	return "msg-" + arn, nil
}

func (f *fakes) DeleteEndpoint(_ context.Context, arn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, arn)
	return nil
}

type counter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *counter) Count(_ context.Context, name string, _ map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[name]++
}

func device(ref, id string, p devices.Platform, locale string) devices.Device {
	return devices.Device{ReferenceNo: ref, DeviceID: id, Platform: p, EndpointARN: "arn:endpoint/" + id, Locale: locale}
}

func statusEvent(id, ref string, st kyc.Status) kyc.StatusEvent {
	return kyc.StatusEvent{Type: kyc.EventType, Version: 1, ID: id, Provider: "idwise", ReferenceNo: ref,
		JourneyID: "journey-" + ref, PreviousStatus: kyc.PendingVerification, Status: st, Reasons: []string{}}
}

func newNotifier(t *testing.T, f *fakes, cfg push.Config) (*push.Notifier, *counter) {
	t.Helper()
	c := &counter{}
	return push.New(f, f, f, defaultTemplates(t), c, cfg), c
}

func TestNotify(t *testing.T) {
	alice := []devices.Device{
		device("alice", "a-ios", devices.APNS, "en"),
		device("alice", "a-android", devices.FCM, "ar"),
	}
	bob := device("bob", "b-ios", devices.APNSSandbox, "en")
	errBoom := errors.New("throttled")
	tests := []struct {
		name       string
		cfg        push.Config
		setup      func(f *fakes)
		ev         kyc.StatusEvent
		wantSent   []string
		wantOut    push.Outcome
		wantErr    error // errors.Is; nil: success
		wantDevice []string
		wantEPDel  []string
	}{
		{
			name:       "every device of the profile, no other",
			ev:         statusEvent("e1", "alice", kyc.Approved),
			wantSent:   []string{"arn:endpoint/a-ios", "arn:endpoint/a-android"},
			wantOut:    push.Outcome{Devices: 2, Sent: 2},
			wantDevice: []string{"a-ios", "a-android"},
		},
		{
			name:       "a profile without devices",
			ev:         statusEvent("e1", "carol", kyc.Approved),
			wantOut:    push.Outcome{},
			wantDevice: []string{"a-ios", "a-android"},
		},
		{
			name:       "status not configured to notify",
			cfg:        push.Config{Statuses: []kyc.Status{kyc.Rejected}},
			ev:         statusEvent("e1", "alice", kyc.Approved),
			wantOut:    push.Outcome{Skipped: true},
			wantDevice: []string{"a-ios", "a-android"},
		},
		{
			name:       "status configured to notify",
			cfg:        push.Config{Statuses: []kyc.Status{kyc.Rejected, kyc.Approved}},
			ev:         statusEvent("e1", "alice", kyc.Approved),
			wantSent:   []string{"arn:endpoint/a-ios", "arn:endpoint/a-android"},
			wantOut:    push.Outcome{Devices: 2, Sent: 2},
			wantDevice: []string{"a-ios", "a-android"},
		},
		{
			name:       "disabled endpoint: device and endpoint removed, others pushed",
			setup:      func(f *fakes) { f.gone["arn:endpoint/a-ios"] = true },
			ev:         statusEvent("e1", "alice", kyc.Approved),
			wantSent:   []string{"arn:endpoint/a-android"},
			wantOut:    push.Outcome{Devices: 2, Sent: 1, Removed: 1},
			wantDevice: []string{"a-android"},
			wantEPDel:  []string{"arn:endpoint/a-ios"},
		},
		{
			name:       "transient failure: retry asked, device kept",
			setup:      func(f *fakes) { f.failSends["arn:endpoint/a-android"] = errBoom },
			ev:         statusEvent("e1", "alice", kyc.Approved),
			wantSent:   []string{"arn:endpoint/a-ios"},
			wantOut:    push.Outcome{Devices: 2, Sent: 1, Failed: 1},
			wantErr:    push.ErrRetry,
			wantDevice: []string{"a-ios", "a-android"},
		},
		{
			name:       "devices cannot be read",
			setup:      func(f *fakes) { f.listErr = errBoom },
			ev:         statusEvent("e1", "alice", kyc.Approved),
			wantErr:    errBoom,
			wantDevice: []string{"a-ios", "a-android"},
		},
		{
			name:       "claim fails: nothing sent, retry",
			setup:      func(f *fakes) { f.ClaimErr = errBoom },
			ev:         statusEvent("e1", "alice", kyc.Approved),
			wantOut:    push.Outcome{Devices: 2, Failed: 2},
			wantErr:    push.ErrRetry,
			wantDevice: []string{"a-ios", "a-android"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakes(append(slices.Clone(alice), bob)...)
			if tt.setup != nil {
				tt.setup(f)
			}
			n, _ := newNotifier(t, f, tt.cfg)
			out, err := n.Notify(context.Background(), tt.ev)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Notify() error = %v, want %v", err, tt.wantErr)
			}
			if out != tt.wantOut {
				t.Errorf("Notify() = %+v, want %+v", out, tt.wantOut)
			}
			if !slices.Equal(f.sent, tt.wantSent) {
				t.Errorf("sent to %v, want %v", f.sent, tt.wantSent)
			}
			var ids []string
			for _, d := range f.devices["alice"] {
				ids = append(ids, d.DeviceID)
			}
			if !slices.Equal(ids, tt.wantDevice) {
				t.Errorf("alice's devices = %v, want %v", ids, tt.wantDevice)
			}
			if len(f.devices["bob"]) != 1 {
				t.Errorf("bob's devices = %v, want untouched", f.devices["bob"])
			}
			if !slices.Equal(f.deleted, tt.wantEPDel) {
				t.Errorf("deleted endpoints %v, want %v", f.deleted, tt.wantEPDel)
			}
		})
	}
}

// TestNotifyLanguagePerDevice: each device gets the text of its own locale.
func TestNotifyLanguagePerDevice(t *testing.T) {
	f := newFakes(device("alice", "en-dev", devices.APNS, "en"), device("alice", "ar-dev", devices.APNS, "ar"))
	n, _ := newNotifier(t, f, push.Config{})
	ev := statusEvent("e1", "alice", kyc.Rejected)
	if _, err := n.Notify(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	tpl := defaultTemplates(t)
	for _, tt := range []struct{ dev, locale string }{{"en-dev", "en"}, {"ar-dev", "ar"}} {
		var outer map[string]string
		_ = json.Unmarshal([]byte(f.messages["arn:endpoint/"+tt.dev]), &outer)
		want, _ := tpl.Render(tt.locale, ev)
		if outer["default"] != want.Body {
			t.Errorf("%s got %q, want the %s text %q", tt.dev, outer["default"], tt.locale, want.Body)
		}
	}
}

// TestRetryAfterTransientFailureSendsOnlyTheRest: the second delivery of the same status
// event pushes the device that failed, not the one already pushed.
func TestRetryAfterTransientFailureSendsOnlyTheRest(t *testing.T) {
	f := newFakes(device("alice", "ok", devices.APNS, "en"), device("alice", "flaky", devices.FCM, "en"))
	f.failSends["arn:endpoint/flaky"] = errors.New("throttled")
	n, c := newNotifier(t, f, push.Config{})
	ev := statusEvent("e1", "alice", kyc.Approved)
	if _, err := n.Notify(context.Background(), ev); !errors.Is(err, push.ErrRetry) {
		t.Fatalf("first Notify() error = %v, want ErrRetry", err)
	}
	delete(f.failSends, "arn:endpoint/flaky")
	out, err := n.Notify(context.Background(), ev)
	if err != nil || out.Sent != 1 || out.Duplicates != 1 {
		t.Fatalf("second Notify() = %+v, %v, want 1 sent, 1 duplicate", out, err)
	}
	if want := []string{"arn:endpoint/ok", "arn:endpoint/flaky"}; !slices.Equal(f.sent, want) {
		t.Errorf("sent %v, want %v (each once)", f.sent, want)
	}
	if c.counts["PushesSent"] != 2 || c.counts["PushesFailed"] != 1 || c.counts["PushDuplicates"] != 1 {
		t.Errorf("metrics = %v, want 2 PushesSent, 1 PushesFailed, 1 PushDuplicates", c.counts)
	}
}

// TestReleaseFailureLosesOnlyThatPush: when the claim cannot be released, the retry must
// not push (never twice); the error says so.
func TestReleaseFailureLosesOnlyThatPush(t *testing.T) {
	f := newFakes(device("alice", "flaky", devices.FCM, "en"))
	f.failSends["arn:endpoint/flaky"] = errors.New("throttled")
	f.ReleaseErr = errors.New("dynamodb down")
	n, _ := newNotifier(t, f, push.Config{})
	ev := statusEvent("e1", "alice", kyc.Approved)
	if _, err := n.Notify(context.Background(), ev); !errors.Is(err, push.ErrRetry) || !errors.Is(err, f.ReleaseErr) {
		t.Fatalf("Notify() error = %v, want ErrRetry and the release error", err)
	}
	f.ReleaseErr, f.failSends = nil, map[string]error{}
	out, err := n.Notify(context.Background(), ev)
	if err != nil || out.Sent != 0 || out.Duplicates != 1 {
		t.Errorf("retry Notify() = %+v, %v, want the device skipped (claimed)", out, err)
	}
}

// TestNotEnoughTimeLeftClaimsNothing: near the invocation's deadline nothing is claimed,
// so the retry pushes every device.
func TestNotEnoughTimeLeftClaimsNothing(t *testing.T) {
	f := newFakes(device("alice", "d1", devices.APNS, "en"))
	n, _ := newNotifier(t, f, push.Config{MinTimeLeft: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := n.Notify(ctx, statusEvent("e1", "alice", kyc.Approved))
	if !errors.Is(err, push.ErrRetry) || !errors.Is(err, push.ErrNoTime) || out.Failed != 1 {
		t.Errorf("Notify() = %+v, %v, want ErrRetry wrapping ErrNoTime", out, err)
	}
	if f.Len() != 0 || len(f.sent) != 0 {
		t.Errorf("markers %d, sent %v, want none", f.Len(), f.sent)
	}
}

// TestSampleEventDecodes: the body of events/push-status-changed.json is a status event
// push understands (the queue edge's TestSampleEvent pushes it through the handler).
func TestSampleEventDecodes(t *testing.T) {
	raw, err := os.ReadFile("../../../events/push-status-changed.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Records []struct {
			Body              string `json:"body"`
			MessageAttributes map[string]struct {
				StringValue *string `json:"stringValue"`
			} `json:"messageAttributes"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) == 0 {
		t.Fatalf("decode sample: %v (%d records)", err, len(ev.Records))
	}
	sev, err := push.DecodeStatusEvent([]byte(ev.Records[0].Body))
	if err != nil {
		t.Fatalf("DecodeStatusEvent(sample body) error = %v", err)
	}
	if got := ev.Records[0].MessageAttributes["status"].StringValue; got == nil || *got != string(sev.Status) {
		t.Errorf("message attribute status = %v, want %s (as SNS raw delivery copies it)", got, sev.Status)
	}
}

func TestDecodeStatusEvent(t *testing.T) {
	good := statusEvent("e1", "alice", kyc.Approved)
	raw, _ := json.Marshal(good)
	envelope, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "x", "Message": string(raw)})
	v2 := good
	v2.Version = 2
	rawV2, _ := json.Marshal(v2)
	tests := []struct {
		name string
		body string
		want error
	}{
		{"status event", string(raw), nil},
		{"in an SNS envelope", string(envelope), nil},
		{"another event type", `{"type":"profile.erased","version":1,"id":"x"}`, push.ErrNotStatusChange},
		{"not json", `{"type":`, push.ErrMalformed},
		{"unknown version", string(rawV2), push.ErrMalformed},
	}
	for _, tt := range tests {
		_, err := push.DecodeStatusEvent([]byte(tt.body))
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("DecodeStatusEvent(%s) error = %v, want %v", tt.name, err, tt.want)
		}
	}
}
