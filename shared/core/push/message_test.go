package push_test

import (
	"encoding/json"
	"testing"

	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/push"
)

// apns and fcm are the payloads as the apps receive them.
type apns struct {
	APS struct {
		Alert struct{ Title, Body string } `json:"alert"`
		Sound string                       `json:"sound"`
	} `json:"aps"`
	Type          string `json:"type"`
	StatusEventID string `json:"statusEventId"`
	Status        string `json:"status"`
	JourneyID     string `json:"journeyId"`
}

type fcm struct {
	FCMV1Message struct {
		Message struct {
			Notification struct{ Title, Body string } `json:"notification"`
			Data         map[string]string            `json:"data"`
			Android      struct {
				Priority string `json:"priority"`
			} `json:"android"`
		} `json:"message"`
	} `json:"fcmV1Message"`
}

func TestMessagePerPlatform(t *testing.T) {
	ev := kyc.StatusEvent{Type: kyc.EventType, ID: "evt-1", Status: kyc.Approved, JourneyID: "journey-1"}
	text := push.Text{Title: "Verified", Body: "All good"}
	for _, tt := range []struct {
		platform devices.Platform
		key      string
	}{
		{devices.APNS, "APNS"},
		{devices.APNSSandbox, "APNS_SANDBOX"},
		{devices.FCM, "GCM"},
	} {
		t.Run(string(tt.platform), func(t *testing.T) {
			msg, err := push.Message(tt.platform, text, ev)
			if err != nil {
				t.Fatalf("Message() error = %v", err)
			}
			var outer map[string]string // MessageStructure json: every value is a string
			if err := json.Unmarshal([]byte(msg), &outer); err != nil {
				t.Fatalf("Message() = %s: not an object of strings: %v", msg, err)
			}
			if len(outer) != 2 || outer["default"] != text.Body || outer[tt.key] == "" {
				t.Fatalf("Message() keys = %v, want default = body and %s", outer, tt.key)
			}
			if tt.platform == devices.FCM {
				var p fcm
				if err := json.Unmarshal([]byte(outer[tt.key]), &p); err != nil {
					t.Fatal(err)
				}
				m := p.FCMV1Message.Message
				want := map[string]string{"type": kyc.EventType, "statusEventId": "evt-1", "status": "APPROVED", "journeyId": "journey-1"}
				if m.Notification.Title != text.Title || m.Notification.Body != text.Body || m.Android.Priority != "high" || !equalMaps(m.Data, want) {
					t.Errorf("FCM payload = %+v, want notification %+v and data %v", m, text, want)
				}
				return
			}
			var p apns
			if err := json.Unmarshal([]byte(outer[tt.key]), &p); err != nil {
				t.Fatal(err)
			}
			if p.APS.Alert.Title != text.Title || p.APS.Alert.Body != text.Body || p.APS.Sound != "default" ||
				p.Status != "APPROVED" || p.JourneyID != "journey-1" || p.StatusEventID != "evt-1" || p.Type != kyc.EventType {
				t.Errorf("APNS payload = %+v, want alert %+v with status, journey and event id", p, text)
			}
		})
	}
	if _, err := push.Message("WNS", text, ev); err == nil {
		t.Errorf("Message(WNS) error = nil, want unknown platform")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
