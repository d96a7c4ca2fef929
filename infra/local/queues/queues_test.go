package queues_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/infra/local/queues"
)

// testTemplate: a topic feeding a queue (raw delivery, filter on type) with a redrive
// policy to a dead-letter queue after 2 receives, consumed by a function.
const testTemplate = `
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
      RedrivePolicy: {deadLetterTargetArn: !GetAtt WorkDLQ.Arn, maxReceiveCount: 2}
  WorkDLQ:
    Type: AWS::SQS::Queue
  Sub:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Work.Arn
      RawMessageDelivery: true
      FilterPolicy: {type: [wanted]}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
`

type world struct {
	t      *testing.T
	cfg    aws.Config
	sqs    *sqs.Client
	sns    *sns.Client
	topic  string
	queue  provision.Queue
	dlq    provision.Queue
	source provision.SQSSource
}

var seq struct {
	sync.Mutex
	n int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("emulators not running: use `make test` or infra/local/with-emulators.sh")
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(testTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := provision.Load(path)
	if err != nil {
		t.Fatalf("load template: %v", err)
	}
	seq.Lock()
	seq.n++
	prefix := fmt.Sprintf("q%d-%d-", time.Now().UnixNano()%1e9, seq.n)
	seq.Unlock()
	topics, err := tpl.CreateTopics(ctx, cfg, prefix)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := tpl.CreateQueues(ctx, cfg, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := tpl.ConfigureQueues(ctx, cfg, qs); err != nil {
		t.Fatalf("ConfigureQueues() = %v", err)
	}
	if _, err := tpl.CreateSubscriptions(ctx, cfg, topics, qs); err != nil {
		t.Fatalf("CreateSubscriptions() = %v", err)
	}
	w := &world{t: t, cfg: cfg, sqs: sqs.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg), topic: topics["Topic"],
		queue: qs["Work"], dlq: qs["WorkDLQ"], source: tpl.SQSSources()[0]}
	t.Cleanup(func() {
		for _, q := range qs {
			_, _ = w.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(q.URL)})
		}
	})
	return w
}

func (w *world) publish(body, typ string) {
	w.t.Helper()
	if _, err := w.sns.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(w.topic), Message: aws.String(body),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"type": {DataType: aws.String("String"), StringValue: aws.String(typ)}},
	}); err != nil {
		w.t.Fatal(err)
	}
}

// receive takes up to n visible messages at once (nothing waits).
func (w *world) receive(q provision.Queue, n int32) []types.Message {
	w.t.Helper()
	out, err := w.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL),
		MaxNumberOfMessages: n, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames: []string{"All"}})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.Messages
}

func bodies(msgs []types.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, aws.ToString(m.Body))
	}
	slices.Sort(out)
	return out
}

func (w *world) poller(h queues.Handler) *queues.Poller {
	w.t.Helper()
	p, err := queues.New(w.sqs, queues.Mapping{QueueURL: w.queue.URL, QueueARN: w.queue.ARN, Source: w.source, Handler: h,
		Region: "us-east-1", FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:fn",
		RetryDelay: time.Millisecond}) // failed messages visible again at once
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// TestSubscriptionDeliversRawFilteredMessages: the template's subscription (raw delivery,
// filter policy) as CreateSubscriptions made it, and the SQS event the handler gets.
func TestSubscriptionDeliversRawFilteredMessages(t *testing.T) {
	w := newWorld(t)
	w.publish(`{"n":1}`, "wanted")
	w.publish(`{"n":2}`, "other") // filtered out
	msgs := w.receive(w.queue, 10)
	if got := bodies(msgs); !slices.Equal(got, []string{`{"n":1}`}) {
		t.Fatalf("queue holds %v, want only the raw wanted message", got)
	}
	var got events.SQSEvent
	var lc *lambdacontext.LambdaContext
	inv, err := w.poller(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		got = ev
		lc, _ = lambdacontext.FromContext(ctx)
		return events.SQSEventResponse{}, nil
	}).Deliver(context.Background(), msgs)
	if err != nil || inv.Result != queues.Succeeded {
		t.Fatalf("Deliver() = %+v, %v", inv, err)
	}
	r := got.Records[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"body", r.Body, `{"n":1}`},
		{"event source", r.EventSource, "aws:sqs"},
		{"event source arn", r.EventSourceARN, w.queue.ARN},
		{"region", r.AWSRegion, "us-east-1"},
		{"message attribute from SNS", aws.ToString(r.MessageAttributes["type"].StringValue), "wanted"},
		{"receive count", r.Attributes["ApproximateReceiveCount"], "1"},
		{"function arn in context", lc != nil && lc.InvokedFunctionArn != "", true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if left := w.receive(w.queue, 10); len(left) != 0 {
		t.Errorf("after success the queue still holds %v, want the message deleted", bodies(left))
	}
}

func TestDeliverSettlesLikeLambda(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name       string
		handler    func(ev events.SQSEvent) (events.SQSEventResponse, error)
		wantResult queues.Result
		wantBack   []string // bodies visible again
	}{
		{"success deletes all", func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, nil
		}, queues.Succeeded, nil},
		{"reported failure comes back alone", func(ev events.SQSEvent) (events.SQSEventResponse, error) {
			for _, r := range ev.Records {
				if r.Body == `{"n":"b"}` {
					return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: r.MessageId}}}, nil
				}
			}
			return events.SQSEventResponse{}, nil
		}, queues.PartiallyFailed, []string{`{"n":"b"}`}},
		{"error fails the batch", func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, boom
		}, queues.Failed, []string{`{"n":"a"}`, `{"n":"b"}`}},
		{"panic fails the batch", func(events.SQSEvent) (events.SQSEventResponse, error) {
			panic("bug")
		}, queues.Failed, []string{`{"n":"a"}`, `{"n":"b"}`}},
		{"unknown identifier fails the batch", func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "nope"}}}, nil
		}, queues.Failed, []string{`{"n":"a"}`, `{"n":"b"}`}},
		{"empty identifier fails the batch", func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ""}}}, nil
		}, queues.Failed, []string{`{"n":"a"}`, `{"n":"b"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.publish(`{"n":"a"}`, "wanted")
			w.publish(`{"n":"b"}`, "wanted")
			msgs := w.receive(w.queue, 10)
			if len(msgs) != 2 {
				t.Fatalf("received %d messages, want 2", len(msgs))
			}
			inv, err := w.poller(func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				return tt.handler(ev)
			}).Deliver(context.Background(), msgs)
			if err != nil || inv.Result != tt.wantResult {
				t.Errorf("Deliver() = %+v, %v, want result %s", inv, err, tt.wantResult)
			}
			if got := bodies(w.receive(w.queue, 10)); !slices.Equal(got, tt.wantBack) {
				t.Errorf("visible again = %v, want %v", got, tt.wantBack)
			}
		})
	}
}

// TestWithoutReportBatchItemFailuresTheResponseIsIgnored: a reported failure means
// nothing unless the event source enables ReportBatchItemFailures.
func TestWithoutReportBatchItemFailuresTheResponseIsIgnored(t *testing.T) {
	w := newWorld(t)
	w.source.FunctionResponseTypes = nil
	w.publish(`{"n":1}`, "wanted")
	msgs := w.receive(w.queue, 10)
	inv, err := w.poller(func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[0].MessageId}}}, nil
	}).Deliver(context.Background(), msgs)
	if err != nil || inv.Result != queues.Succeeded {
		t.Errorf("Deliver() = %+v, %v, want succeeded", inv, err)
	}
	if left := w.receive(w.queue, 10); len(left) != 0 {
		t.Errorf("queue holds %v, want the message deleted", bodies(left))
	}
}

// TestRunBatchesAndRedrivesToTheDeadLetterQueue: Run respects BatchSize; a message that
// keeps failing is received maxReceiveCount (2) times, then SQS (moto) moves it to the
// dead-letter queue of the redrive policy that ConfigureQueues set.
func TestRunBatchesAndRedrivesToTheDeadLetterQueue(t *testing.T) {
	w := newWorld(t)
	for i := range 5 {
		w.publish(`{"n":`+strconv.Itoa(i)+`}`, "wanted")
	}
	w.publish(`{"poison":true}`, "wanted")
	var mu sync.Mutex
	done := map[string]bool{}
	poisonSeen, maxBatch := 0, 0
	p := w.poller(func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		maxBatch = max(maxBatch, len(ev.Records))
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if r.Body == `{"poison":true}` {
				poisonSeen++
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				continue
			}
			done[r.Body] = true
		}
		return resp, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	deadline := time.Now().Add(30 * time.Second) // a bound, not a timing assertion
	var inDLQ []types.Message
	for len(inDLQ) == 0 && time.Now().Before(deadline) {
		inDLQ = w.receive(w.dlq, 10)
		if len(inDLQ) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	cancel()
	<-stopped
	if got := bodies(inDLQ); !slices.Equal(got, []string{`{"poison":true}`}) {
		t.Fatalf("dead-letter queue holds %v, want the poison message", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(done) != 5 {
		t.Errorf("handled %d good messages, want 5", len(done))
	}
	if poisonSeen != 2 {
		t.Errorf("poison message delivered %d times, want maxReceiveCount = 2", poisonSeen)
	}
	if maxBatch > 2 {
		t.Errorf("largest batch = %d, want at most BatchSize 2", maxBatch)
	}
	if left := w.receive(w.queue, 10); len(left) != 0 {
		t.Errorf("queue still holds %v", bodies(left))
	}
}
