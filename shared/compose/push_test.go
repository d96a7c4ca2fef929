package compose_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/push"
	"github.com/kycbackend/kyc/shared/edge/queue"
)

// pushWorld is the push function against the emulators: the table on DynamoDB Local,
// platform applications and endpoints on moto. moto accepts Publish to an endpoint but
// keeps what it "sent" internal, so the pushes are observed on the SNS client itself: an
// APIOptions middleware records every Publish with a TargetArn that SNS (moto) accepted,
// and can fail the ones to chosen endpoints before they are sent.
type pushWorld struct {
	t     *testing.T
	cfg   aws.Config
	ddb   *dynamodb.Client
	table string
	sns   *sns.Client
	apps  map[string]string // platform -> application ARN

	mu    sync.Mutex
	sent  []sentPush
	fail  map[string]error // endpoint ARN -> injected Publish error
	token int
}

type sentPush struct {
	EndpointARN string
	Message     map[string]string // MessageStructure json
}

func newPushWorld(t *testing.T) *pushWorld {
	t.Helper()
	cfg := dynamotest.AWSConfig(t)
	client, table := dynamotest.NewTable(t)
	w := &pushWorld{t: t, ddb: client, table: table, apps: map[string]string{}, fail: map[string]error{}}
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("recordPushes",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				pin, ok := in.Parameters.(*sns.PublishInput)
				if awsmiddleware.GetServiceID(ctx) != "SNS" || !ok || pin.TargetArn == nil {
					return next.HandleInitialize(ctx, in)
				}
				w.mu.Lock()
				injected := w.fail[*pin.TargetArn]
				w.mu.Unlock()
				if injected != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, injected
				}
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil {
					var m map[string]string
					if aws.ToString(pin.MessageStructure) != "json" || json.Unmarshal([]byte(aws.ToString(pin.Message)), &m) != nil {
						t.Errorf("Publish to %s: message %q is not MessageStructure json", *pin.TargetArn, aws.ToString(pin.Message))
					}
					w.mu.Lock()
					w.sent = append(w.sent, sentPush{EndpointARN: *pin.TargetArn, Message: m})
					w.mu.Unlock()
				}
				return out, md, err
			}), middleware.Before)
	})
	w.cfg = cfg
	w.sns = sns.NewFromConfig(cfg)
	ctx := context.Background()
	for _, p := range []string{"APNS", "APNS_SANDBOX", "GCM"} {
		app, err := w.sns.CreatePlatformApplication(ctx, &sns.CreatePlatformApplicationInput{
			Name: aws.String(table + "-" + p), Platform: aws.String(p),
			Attributes: map[string]string{"PlatformCredential": "local", "PlatformPrincipal": "local"}})
		if err != nil {
			t.Fatalf("create platform application %s: %v", p, err)
		}
		w.apps[p] = aws.ToString(app.PlatformApplicationArn)
	}
	return w
}

// handler builds the push function as functions/push/main.go does.
func (w *pushWorld) handler(kv ...string) *queue.Handler {
	w.t.Helper()
	h, err := compose.Push(compose.Runtime{AWS: w.cfg, Metrics: io.Discard,
		Getenv: getenv(with(map[string]string{"TABLE_NAME": w.table}, kv...))})
	if err != nil {
		w.t.Fatalf("compose.Push() error = %v", err)
	}
	return h
}

// device registers a device as the app API stores it (the contract of shared/aws/dynamo/devices.go):
// an SNS endpoint on moto and the device item in the profile's partition.
func (w *pushWorld) device(ref, id, platform, locale string) string {
	w.t.Helper()
	w.mu.Lock()
	w.token++
	token := fmt.Sprintf("%s%s%d", w.table, id, w.token)
	w.mu.Unlock()
	snsPlatform := platform
	if platform == "FCM" {
		snsPlatform = "GCM"
	}
	ep, err := w.sns.CreatePlatformEndpoint(context.Background(), &sns.CreatePlatformEndpointInput{
		PlatformApplicationArn: aws.String(w.apps[snsPlatform]), Token: aws.String(token)})
	if err != nil {
		w.t.Fatalf("create endpoint: %v", err)
	}
	arn := aws.ToString(ep.EndpointArn)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	if _, err := w.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(w.table), Item: map[string]types.AttributeValue{
		"pk": s("PROFILE#" + ref), "sk": s("DEVICE#" + id), "kind": s("device"), "referenceNo": s(ref), "deviceId": s(id),
		"platform": s(platform), "endpointArn": s(arn), "locale": s(locale), "tokenHash": s("hash-" + token),
		"createdAt": s(now), "registeredAt": s(now),
	}}); err != nil {
		w.t.Fatalf("put device: %v", err)
	}
	return arn
}

func (w *pushWorld) deviceExists(ref, id string) bool {
	w.t.Helper()
	out, err := w.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(w.table),
		Key: dynamo.DeviceKey(ref, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.Item != nil
}

func (w *pushWorld) endpointExists(arn string) bool {
	w.t.Helper()
	_, err := w.sns.GetEndpointAttributes(context.Background(), &sns.GetEndpointAttributesInput{EndpointArn: aws.String(arn)})
	var nf *snstypes.NotFoundException
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return true
}

func (w *pushWorld) marker(eventID, deviceID string) map[string]types.AttributeValue {
	w.t.Helper()
	out, err := w.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(w.table),
		Key: dynamo.PushKey(eventID, deviceID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.Item
}

// sentTo returns how many pushes each endpoint got, and takes them.
func (w *pushWorld) take() []sentPush {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.sent
	w.sent = nil
	return out
}

func countByEndpoint(list []sentPush) map[string]int {
	m := map[string]int{}
	for _, s := range list {
		m[s.EndpointARN]++
	}
	return m
}

var msgSeq struct {
	sync.Mutex
	n int
}

// queueEvent wraps status events as the push queue delivers them (raw message delivery).
func queueEvent(t *testing.T, evs ...kyc.StatusEvent) events.SQSEvent {
	t.Helper()
	var out events.SQSEvent
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		msgSeq.Lock()
		msgSeq.n++
		id := fmt.Sprintf("msg-%d", msgSeq.n)
		msgSeq.Unlock()
		out.Records = append(out.Records, events.SQSMessage{MessageId: id, Body: string(b), EventSource: "aws:sqs",
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
	}
	return out
}

func change(ref string, st kyc.Status, version int64) kyc.StatusEvent {
	return kyc.NewStatusEvent(kyc.Change{ReferenceNo: ref, JourneyID: "journey-" + ref, Provider: "idwise", Status: st,
		Version: version, OccurredAt: time.Now()}, kyc.PendingVerification)
}

func failedIDs(resp events.SQSEventResponse) []string {
	var out []string
	for _, f := range resp.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	return out
}

// TestStatusChangeReachesEveryDeviceOfTheUserAndNoOther: one push per device of the
// profile, on its platform, in its language; none to another profile's devices.
func TestStatusChangeReachesEveryDeviceOfTheUserAndNoOther(t *testing.T) {
	w := newPushWorld(t)
	aliceIOS := w.device("alice", "alice-ios", "APNS", "en")
	aliceDev := w.device("alice", "alice-dev", "APNS_SANDBOX", "ar")
	aliceAndroid := w.device("alice", "alice-android", "FCM", "ar")
	bob := w.device("bob", "bob-ios", "APNS", "en")
	// A profile whose referenceNo starts like alice's: the device query must not spill.
	aliceTwo := w.device("alice2", "alice2-ios", "APNS", "en")

	ev := change("alice", kyc.Approved, 1)
	resp, err := w.handler().Handle(context.Background(), queueEvent(t, ev))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle() = %+v, %v, want no failure", resp, err)
	}
	sent := w.take()
	got := countByEndpoint(sent)
	want := map[string]int{aliceIOS: 1, aliceDev: 1, aliceAndroid: 1}
	if len(got) != len(want) || got[aliceIOS] != 1 || got[aliceDev] != 1 || got[aliceAndroid] != 1 {
		t.Errorf("pushes by endpoint = %v, want one to each of alice's devices %v", got, want)
	}
	if got[bob] != 0 || got[aliceTwo] != 0 {
		t.Errorf("pushes by endpoint = %v: another profile's device was pushed", got)
	}

	tpl, err := push.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		endpoint, key, locale string
	}{
		{aliceIOS, "APNS", "en"},
		{aliceDev, "APNS_SANDBOX", "ar"},
		{aliceAndroid, "GCM", "ar"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			i := slices.IndexFunc(sent, func(s sentPush) bool { return s.EndpointARN == tt.endpoint })
			if i < 0 {
				t.Fatalf("no push to %s", tt.endpoint)
			}
			msg := sent[i].Message
			text, _ := tpl.Render(tt.locale, ev)
			if msg["default"] != text.Body || !strings.Contains(msg[tt.key], text.Title) {
				t.Errorf("message = %v, want the %s text %+v under default and %s", msg, tt.locale, text, tt.key)
			}
			if !strings.Contains(msg[tt.key], `"status":"APPROVED"`) || !strings.Contains(msg[tt.key], `"journeyId":"journey-alice"`) {
				t.Errorf("%s payload = %s, want status and journey id as data", tt.key, msg[tt.key])
			}
		})
	}
	m := w.marker(ev.ID, "alice-ios")
	if st, _ := m["state"].(*types.AttributeValueMemberS); st == nil || st.Value != dynamo.PushSent || m["messageId"] == nil || m["expiresAt"] == nil {
		t.Errorf("push marker = %v, want state sent with messageId and expiresAt (TTL)", m)
	}
}

// TestDuplicateDeliveryPushesOnce: the same status event delivered again, in a later
// batch, in the same batch, or by two concurrent invocations, pushes each device once.
func TestDuplicateDeliveryPushesOnce(t *testing.T) {
	w := newPushWorld(t)
	ios := w.device("carol", "carol-ios", "APNS", "en")
	android := w.device("carol", "carol-android", "FCM", "en")
	h := w.handler()
	ev := change("carol", kyc.Rejected, 7)

	deliveries := []events.SQSEvent{queueEvent(t, ev), queueEvent(t, ev), queueEvent(t, ev, ev)}
	var wg sync.WaitGroup
	for range 4 {
		deliveries = append(deliveries, queueEvent(t, ev))
	}
	for i, d := range deliveries {
		if i < 3 { // sequential first, then concurrent
			if resp, err := h.Handle(context.Background(), d); err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("Handle(delivery %d) = %+v, %v", i, resp, err)
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := h.Handle(context.Background(), d); err != nil || len(resp.BatchItemFailures) != 0 {
				t.Errorf("concurrent Handle() = %+v, %v", resp, err)
			}
		}()
	}
	wg.Wait()
	if got := countByEndpoint(w.take()); len(got) != 2 || got[ios] != 1 || got[android] != 1 {
		t.Errorf("pushes by endpoint = %v, want exactly one to each of %s, %s", got, ios, android)
	}
	// A new status event (another id) for the same profile pushes again.
	if _, err := h.Handle(context.Background(), queueEvent(t, change("carol", kyc.Approved, 8))); err != nil {
		t.Fatal(err)
	}
	if got := countByEndpoint(w.take()); got[ios] != 1 || got[android] != 1 {
		t.Errorf("pushes for a new status event = %v, want one per device", got)
	}
}

// TestDisabledOrDeletedEndpointIsRemoved: SNS refuses a disabled endpoint
// (EndpointDisabled; moto too, after SetEndpointAttributes Enabled=false) or a deleted one
// (NotFound): the device item and the endpoint are removed, the other devices pushed, and
// the status event is not retried for it.
func TestDisabledOrDeletedEndpointIsRemoved(t *testing.T) {
	w := newPushWorld(t)
	ok := w.device("dave", "dave-ok", "APNS", "en")
	disabled := w.device("dave", "dave-disabled", "FCM", "en")
	deleted := w.device("dave", "dave-deleted", "APNS", "ar")
	ctx := context.Background()
	if _, err := w.sns.SetEndpointAttributes(ctx, &sns.SetEndpointAttributesInput{EndpointArn: aws.String(disabled),
		Attributes: map[string]string{"Enabled": "false"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sns.DeleteEndpoint(ctx, &sns.DeleteEndpointInput{EndpointArn: aws.String(deleted)}); err != nil {
		t.Fatal(err)
	}
	resp, err := w.handler().Handle(ctx, queueEvent(t, change("dave", kyc.Approved, 1)))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle() = %+v, %v, want no failure (gone endpoints are not retried)", resp, err)
	}
	if got := countByEndpoint(w.take()); len(got) != 1 || got[ok] != 1 {
		t.Errorf("pushes by endpoint = %v, want only %s", got, ok)
	}
	tests := []struct {
		name, id, arn string
		want          bool
	}{
		{"enabled device kept", "dave-ok", ok, true},
		{"disabled device removed", "dave-disabled", disabled, false},
		{"device of a deleted endpoint removed", "dave-deleted", deleted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.deviceExists("dave", tt.id); got != tt.want {
				t.Errorf("device %s exists = %v, want %v", tt.id, got, tt.want)
			}
			if got := w.endpointExists(tt.arn); got != tt.want {
				t.Errorf("endpoint of %s exists = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

// TestTransientFailureRetriesOnlyTheFailedDevice: a Publish error that is not about the
// endpoint reports the message as failed (the queue redelivers it); the redelivery pushes
// only the device that failed.
func TestTransientFailureRetriesOnlyTheFailedDevice(t *testing.T) {
	w := newPushWorld(t)
	good := w.device("erin", "erin-good", "APNS", "en")
	flaky := w.device("erin", "erin-flaky", "FCM", "en")
	w.mu.Lock()
	w.fail[flaky] = &snstypes.ThrottledException{Message: aws.String("rate exceeded")}
	w.mu.Unlock()
	h := w.handler()
	ev := change("erin", kyc.InReview, 3)
	delivery := queueEvent(t, ev)
	resp, err := h.Handle(context.Background(), delivery)
	if err != nil || !slices.Equal(failedIDs(resp), []string{delivery.Records[0].MessageId}) {
		t.Fatalf("Handle() = %+v, %v, want the message reported as failed", resp, err)
	}
	if st, _ := w.marker(ev.ID, "erin-flaky")["state"].(*types.AttributeValueMemberS); st == nil || st.Value != dynamo.PushReleased {
		t.Errorf("marker of the failed device = %v, want released", w.marker(ev.ID, "erin-flaky"))
	}
	w.mu.Lock()
	delete(w.fail, flaky)
	w.mu.Unlock()
	resp, err = h.Handle(context.Background(), delivery)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery Handle() = %+v, %v, want success", resp, err)
	}
	if got := countByEndpoint(w.take()); len(got) != 2 || got[good] != 1 || got[flaky] != 1 {
		t.Errorf("pushes by endpoint = %v, want one each (the good device not twice)", got)
	}
	if n, _ := w.marker(ev.ID, "erin-flaky")["attempts"].(*types.AttributeValueMemberN); n == nil || n.Value != "2" {
		t.Errorf("attempts of the flaky device = %v, want 2", n)
	}
}

// TestPushStatusesSelectsWhatNotifies: PUSH_STATUSES lists the statuses that notify.
func TestPushStatusesSelectsWhatNotifies(t *testing.T) {
	w := newPushWorld(t)
	ep := w.device("fay", "fay-ios", "APNS", "en")
	tests := []struct {
		name     string
		statuses string
		status   kyc.Status
		want     int
	}{
		{"default: every status", "", kyc.PendingVerification, 1},
		{"listed", "APPROVED, REJECTED", kyc.Rejected, 1},
		{"not listed", "APPROVED,REJECTED", kyc.InReview, 0},
		{"lower case accepted", "in_review", kyc.InReview, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := w.handler("PUSH_STATUSES", tt.statuses)
			resp, err := h.Handle(context.Background(), queueEvent(t, change("fay", tt.status, int64(100+i))))
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("Handle() = %+v, %v", resp, err)
			}
			if got := countByEndpoint(w.take())[ep]; got != tt.want {
				t.Errorf("PUSH_STATUSES=%q, status %s: %d pushes, want %d", tt.statuses, tt.status, got, tt.want)
			}
		})
	}
}

func TestLoadPushConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    []kyc.Status
		wantTTL time.Duration
		wantErr string
	}{
		{"defaults", map[string]string{"TABLE_NAME": "t"}, nil, 30 * 24 * time.Hour, ""},
		{"statuses, spaces and duplicates", map[string]string{"TABLE_NAME": "t", "PUSH_STATUSES": " APPROVED,rejected,,APPROVED "},
			[]kyc.Status{kyc.Approved, kyc.Rejected}, 30 * 24 * time.Hour, ""},
		{"retention", map[string]string{"TABLE_NAME": "t", "RAW_EVENT_RETENTION_DAYS": "8"}, nil, 8 * 24 * time.Hour, ""},
		{"no table", map[string]string{}, nil, 0, "TABLE_NAME"},
		{"unknown status", map[string]string{"TABLE_NAME": "t", "PUSH_STATUSES": "APPROVED,DONE"}, nil, 0, "DONE"},
		{"bad retention", map[string]string{"TABLE_NAME": "t", "RAW_EVENT_RETENTION_DAYS": "x"}, nil, 0, "RAW_EVENT_RETENTION_DAYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := compose.LoadPushConfig(getenv(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("LoadPushConfig() error = %v, want one mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(c.Statuses, tt.want) || c.Retention != tt.wantTTL {
				t.Errorf("LoadPushConfig() = %+v, %v, want statuses %v, retention %v", c, err, tt.want, tt.wantTTL)
			}
		})
	}
}

// TestSamplePushEvent sends events/push-status-changed.json (what `sam local invoke
// PushFunction -e` would send) through the real wiring: the sample's profile has a device.
func TestSamplePushEvent(t *testing.T) {
	w := newPushWorld(t)
	raw, err := os.ReadFile("../../events/push-status-changed.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("decode sample: %v", err)
	}
	var sev kyc.StatusEvent
	if err := json.Unmarshal([]byte(ev.Records[0].Body), &sev); err != nil {
		t.Fatal(err)
	}
	ep := w.device(sev.ReferenceNo, "sample-device", "APNS", "ar")
	resp, err := w.handler().Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle(sample) = %+v, %v", resp, err)
	}
	if got := countByEndpoint(w.take()); got[ep] != 1 {
		t.Errorf("pushes = %v, want one to the sample profile's device", got)
	}
}
