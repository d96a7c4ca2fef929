package push

import (
	"encoding/json"
	"fmt"

	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// snsKey is the key of a platform's payload in an SNS message with MessageStructure json.
// SNS still calls FCM "GCM".
func snsKey(platform devices.Platform) (string, error) {
	switch platform {
	case devices.APNS, devices.APNSSandbox:
		return string(platform), nil
	case devices.FCM:
		return "GCM", nil
	}
	return "", fmt.Errorf("unknown platform %q", platform)
}

// Data is the custom data every notification carries, for the app to act on.
type Data struct {
	Type          string `json:"type"`
	StatusEventID string `json:"statusEventId"`
	Status        string `json:"status"`
	JourneyID     string `json:"journeyId"`
	RenewalDueBy  string `json:"renewalDueBy,omitempty"` // profile.renewal_due only
}

func dataOf(ev kyc.StatusEvent) Data {
	return Data{Type: ev.Type, StatusEventID: ev.ID, Status: string(ev.Status), JourneyID: ev.JourneyID, RenewalDueBy: ev.RenewalDueBy}
}

type apnsPayload struct {
	APS struct {
		Alert struct {
			Title string `json:"title"`
			Body  string `json:"body"`
		} `json:"alert"`
		Sound string `json:"sound"`
	} `json:"aps"`
	Data
}

type fcmPayload struct {
	FCMV1Message struct {
		Message struct {
			Notification struct {
				Title string `json:"title"`
				Body  string `json:"body"`
			} `json:"notification"`
			Data    Data `json:"data"`
			Android struct {
				Priority string `json:"priority"`
			} `json:"android"`
		} `json:"message"`
	} `json:"fcmV1Message"`
}

// Message returns the SNS message (to publish with MessageStructure json) for a device
// of platform: "default" is the body text, and the platform's key holds its payload as a
// JSON string, as SNS requires:
//   - APNS / APNS_SANDBOX: {"aps":{"alert":{"title","body"},"sound":"default"}, + Data}
//   - GCM (FCM HTTP v1, which SNS uses for FCM): {"fcmV1Message":{"message":{"notification":
//     {"title","body"},"data":Data,"android":{"priority":"high"}}}}
//
// Data (type, statusEventId, status, journeyId) lets the app refresh the profile.
func Message(platform devices.Platform, text Text, ev kyc.StatusEvent) (string, error) {
	key, err := snsKey(platform)
	if err != nil {
		return "", err
	}
	var payload any
	switch platform {
	case devices.FCM:
		var p fcmPayload
		m := &p.FCMV1Message.Message
		m.Notification.Title, m.Notification.Body = text.Title, text.Body
		m.Data = dataOf(ev)
		m.Android.Priority = "high"
		payload = p
	default:
		var p apnsPayload
		p.APS.Alert.Title, p.APS.Alert.Body = text.Title, text.Body
		p.APS.Sound = "default"
		p.Data = dataOf(ev)
		payload = p
	}
	inner, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("encode %s payload: %w", platform, err)
	}
	outer, err := json.Marshal(map[string]string{"default": text.Body, key: string(inner)})
	if err != nil {
		return "", fmt.Errorf("encode message: %w", err)
	}
	return string(outer), nil
}
