package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// TestLocalMessagesShowsStatusEventThenPush runs the whole path under `make run`: an IDWise
// webhook, the processor on the stream, the status event on the topic, the push queue
// (the template's subscription), the push function, a push to the profile's device; then
// GET /_local/messages lists the status event and, after it, the push.
func TestLocalMessagesShowsStatusEventThenPush(t *testing.T) {
	s := settings{Port: "0", SimPort: "0", Template: "../../../template.yaml", AuthMode: "bearer", Secret: "push-test-secret",
		Username: "idwise", Header: "X-IDWise-Token", APIKey: "k", APISecret: "s", SweepInterval: time.Hour, QueueRetry: time.Second}
	r := startRunner(t, s)
	base, simURL, banner := r.base, r.simURL, r.banner
	if !strings.Contains(banner, base+messagesPath) {
		t.Errorf("banner does not show %s:\n%s", messagesPath, banner)
	}
	pushLines := make(chan string, 100)
	go func() {
		for l := range r.lines {
			if strings.Contains(l, " push ") {
				select {
				case pushLines <- l:
				default:
				}
			}
		}
	}()

	// A device of the profile, as the app API registers it.
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprint(time.Now().UnixNano())
	ref, journey := "push-customer-"+suffix, "push-journey-"+suffix
	snsc := sns.NewFromConfig(awsCfg)
	// The stack's own APNS application (the runner's ApnsPlatformApplicationArn): the push
	// function may publish only to its endpoints (iamcheck refuses any other).
	apps, err := platformApps(context.Background(), awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	app := &sns.CreatePlatformApplicationOutput{PlatformApplicationArn: aws.String(apps["ApnsPlatformApplicationArn"])}
	ep, err := snsc.CreatePlatformEndpoint(context.Background(), &sns.CreatePlatformEndpointInput{
		PlatformApplicationArn: app.PlatformApplicationArn, Token: aws.String("token-" + suffix)})
	if err != nil {
		t.Fatal(err)
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := dynamodb.NewFromConfig(awsCfg).PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(prefix + "Table"), Item: map[string]types.AttributeValue{
			"pk": str("PROFILE#" + ref), "sk": str("DEVICE#d-" + suffix), "kind": str("device"), "referenceNo": str(ref),
			"deviceId": str("d-" + suffix), "platform": str("APNS"), "endpointArn": str(aws.ToString(ep.EndpointArn)),
			"locale": str("ar"), "tokenHash": str("h-" + suffix), "createdAt": str(now), "registeredAt": str(now)}}); err != nil {
		t.Fatal(err)
	}

	result := fmt.Sprintf(`{"journey_id":%q,"reference_number":%q,"system_decision":"Complete","final_decision":"Complete"}`, journey, ref)
	put, _ := http.NewRequest(http.MethodPut, simURL+"/_sim/journeys/"+journey, strings.NewReader(result))
	if resp, err := http.DefaultClient.Do(put); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("PUT journey on the simulator: %v %v", resp, err)
	}
	r.claim(t, ref, journey)
	webhook := fmt.Sprintf(`{"event":"Finished Journey","body":{"eventId":"evt-%s","journeyId":%q,"referenceNo":%q,"systemDecision":"Complete","finalDecision":"Complete"}}`,
		suffix, journey, ref)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/idwise", strings.NewReader(webhook))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer push-test-secret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST webhook: %v %v", resp, err)
	}

	type listed struct {
		Seq       int             `json:"seq"`
		Kind      string          `json:"kind"`
		Topic     string          `json:"topic"`
		TargetARN string          `json:"targetArn"`
		Error     string          `json:"error"`
		Message   json.RawMessage `json:"message"`
	}
	var event, pushed *listed
	deadline := time.Now().Add(30 * time.Second) // a bound, not a timing assertion
	for pushed == nil && time.Now().Before(deadline) {
		resp, err := http.Get(base + messagesPath)
		if err != nil {
			t.Fatal(err)
		}
		var page struct{ Messages []listed }
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %v (%s)", messagesPath, err, resp.Header.Get("Content-Type"))
		}
		for i, m := range page.Messages {
			if i > 0 && m.Seq <= page.Messages[i-1].Seq {
				t.Errorf("messages not oldest first: seq %d after %d", m.Seq, page.Messages[i-1].Seq)
			}
			switch {
			// The claim's PENDING_VERIFICATION comes first; the decision is the one to follow.
			case m.Kind == kindStatusEvent && strings.Contains(string(m.Message), journey) && strings.Contains(string(m.Message), "APPROVED"):
				event = &m
			case m.Kind == kindPush && m.TargetARN == aws.ToString(ep.EndpointArn) && strings.Contains(string(m.Message), "APPROVED"):
				pushed = &m
			}
		}
		if pushed == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if event == nil || pushed == nil {
		t.Fatalf("GET %s: status event %v, push %v; want both within 30 s", messagesPath, event, pushed)
	}
	var ev struct{ ID, Status string }
	_ = json.Unmarshal(event.Message, &ev)
	var msg struct {
		Default string `json:"default"`
		APNS    struct {
			APS struct {
				Alert struct{ Title string } `json:"alert"`
			} `json:"aps"`
			StatusEventID string `json:"statusEventId"`
			Status        string `json:"status"`
		} `json:"APNS"`
	}
	if err := json.Unmarshal(pushed.Message, &msg); err != nil {
		t.Fatalf("push message %s: %v", pushed.Message, err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"status event on StatusTopic", event.Topic, "StatusTopic"},
		{"status", ev.Status, "APPROVED"},
		{"push after the status event", pushed.Seq > event.Seq, true},
		{"push accepted", pushed.Error, ""},
		{"push carries the status event id", msg.APNS.StatusEventID, ev.ID},
		{"push carries the status", msg.APNS.Status, "APPROVED"},
		{"push in the device's language (ar)", strings.ContainsAny(msg.Default, "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"), true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	timeline := time.After(5 * time.Second)
	for seen := false; !seen; {
		select {
		case l := <-pushLines:
			seen = strings.Contains(l, "APPROVED") // the claim's PENDING_VERIFICATION push may come first
		case <-timeline:
			t.Errorf("no push line with the status APPROVED on the timeline")
			seen = true
		}
	}
	// Only the runner's GET route is local; anything else still goes to the template's routes.
	resp, err := http.Post(base+messagesPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s = %d, want 404 or 405 from the HTTP API", messagesPath, resp.StatusCode)
	}
}
