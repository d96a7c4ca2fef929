// Package queues feeds a Lambda handler from an SQS queue the way an AWS Lambda event
// source mapping does, for local runs and tests on moto: it receives up to BatchSize
// messages (waiting up to MaximumBatchingWindowInSeconds to fill a batch), hands them to
// the handler as an events.SQSEvent, and then
//
//   - on success, deletes every message of the batch;
//   - with ReportBatchItemFailures, deletes every message except the reported ones, which
//     become visible again after the queue's visibility timeout (or Mapping.RetryDelay);
//     a reported identifier that is empty or not in the batch fails the whole batch;
//   - on an error, a panic or a timeout, deletes nothing: the whole batch is received again.
//
// A message received more than its queue's maxReceiveCount times moves to the
// dead-letter queue of the queue's RedrivePolicy: SQS (and moto) do that on receive, not
// the poller. Unlike Lambda, one Poller runs one batch at a time (no concurrent batches,
// ScalingConfig is ignored) and long-polls for at most a second so that Run stops promptly.
package queues

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/kycbackend/kyc/infra/local/invoke"
	"github.com/kycbackend/kyc/infra/local/provision"
)

// API is the part of the SQS client (*sqs.Client) the poller uses.
type API interface {
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, params *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, params *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

var _ API = (*sqs.Client)(nil)

// Handler is a Lambda handler for SQS events, e.g. a function's Handle method.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// ErrInvalidItemFailure: a reported batch item failure is empty or names no message of
// the batch, so Lambda counts the whole batch as failed.
var ErrInvalidItemFailure = errors.New("batch item failure is not a message id of the batch")

// Mapping says what a Poller reads and whom it invokes.
type Mapping struct {
	QueueURL string
	QueueARN string              // the eventSourceARN of delivered messages
	Source   provision.SQSSource // the event source mapping settings, from the template
	Handler  Handler

	// Region is the awsRegion of delivered messages.
	Region string
	// FunctionARN is the InvokedFunctionArn in the handler's lambdacontext.
	FunctionARN string
	// Timeout, when positive, is the function timeout: the handler's context has that
	// deadline and an invocation that outlasts it has failed.
	Timeout time.Duration
	// RetryDelay, when positive, makes failed messages visible again after this delay
	// instead of the queue's visibility timeout (a local speed-up: Lambda leaves them
	// in flight until the visibility timeout ends).
	RetryDelay time.Duration
	// OnInvoke, when set, is called after each invocation of Handler.
	OnInvoke func(Invocation)
	Logger   *slog.Logger // default slog.Default()
}

// Result is the outcome of one invocation.
type Result int

// Outcomes of an invocation.
const (
	Succeeded       Result = iota // every message deleted
	Failed                        // nothing deleted: the whole batch comes back
	PartiallyFailed               // all but the reported messages deleted
)

func (r Result) String() string {
	switch r {
	case Succeeded:
		return "succeeded"
	case Failed:
		return "failed"
	case PartiallyFailed:
		return "partially failed"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Invocation describes one call of the handler, for Mapping.OnInvoke.
type Invocation struct {
	Messages          int
	Result            Result
	Err               error    // the handler's error, or why the response counts as a failure
	BatchItemFailures []string // the message ids the handler reported, when enabled
	Duration          time.Duration
}

// Poller is one event source mapping: Run receives from the queue and invokes the handler.
type Poller struct {
	client API
	m      Mapping
	log    *slog.Logger
}

// New checks m and returns its Poller.
func New(client API, m Mapping) (*Poller, error) {
	switch {
	case m.Handler == nil:
		return nil, errors.New("queues: no handler")
	case m.QueueURL == "":
		return nil, errors.New("queues: no queue URL")
	case m.Source.BatchSize < 1:
		return nil, fmt.Errorf("queues: BatchSize %d: must be at least 1", m.Source.BatchSize)
	case m.Source.MaximumBatchingWindowInSeconds < 0:
		return nil, fmt.Errorf("queues: MaximumBatchingWindowInSeconds %d: must not be negative", m.Source.MaximumBatchingWindowInSeconds)
	}
	log := m.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Poller{client: client, m: m, log: log.With("queue", m.QueueURL, "function", m.Source.FunctionLogicalID)}, nil
}

// Run polls until ctx ends. Errors of the queue API are logged and retried after a second.
func (p *Poller) Run(ctx context.Context) {
	for ctx.Err() == nil {
		msgs, err := p.receive(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("receive messages", "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		if _, err := p.Deliver(ctx, msgs); err != nil && ctx.Err() == nil {
			p.log.Warn("settle batch", "error", err)
		}
	}
}

// receive returns the next batch: up to BatchSize messages, gathered for at most the
// batching window (one receive when there is none).
func (p *Poller) receive(ctx context.Context) ([]types.Message, error) {
	var out []types.Message
	deadline := time.Now().Add(time.Duration(p.m.Source.MaximumBatchingWindowInSeconds) * time.Second)
	for {
		n := min(p.m.Source.BatchSize-len(out), 10)
		res, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.m.QueueURL),
			MaxNumberOfMessages:         int32(n),
			WaitTimeSeconds:             1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return out, err
		}
		out = append(out, res.Messages...)
		if len(out) >= p.m.Source.BatchSize || !time.Now().Before(deadline) || ctx.Err() != nil {
			return out, nil
		}
	}
}

// Deliver invokes the handler with msgs (received from the queue) and settles them as
// Lambda does: it deletes the messages that succeeded and, with RetryDelay, makes the
// failed ones visible again after it. It returns the invocation and the first error of
// the settling calls.
func (p *Poller) Deliver(ctx context.Context, msgs []types.Message) (Invocation, error) {
	ev := p.event(msgs)
	resp, d, herr := invoke.Call(ctx, invoke.Function{ARN: p.m.FunctionARN, Timeout: p.m.Timeout}, p.m.Handler, ev)
	inv := Invocation{Messages: len(msgs), Duration: d, Err: herr}

	failed := map[string]bool{}
	switch {
	case inv.Err != nil:
		inv.Result = Failed
	case p.m.Source.ReportsBatchItemFailures() && len(resp.BatchItemFailures) > 0:
		inv.Result = PartiallyFailed
		for _, f := range resp.BatchItemFailures {
			inv.BatchItemFailures = append(inv.BatchItemFailures, f.ItemIdentifier)
			if !slices.ContainsFunc(msgs, func(m types.Message) bool { return aws.ToString(m.MessageId) == f.ItemIdentifier }) || f.ItemIdentifier == "" {
				inv.Result, inv.Err = Failed, fmt.Errorf("%w: %q", ErrInvalidItemFailure, f.ItemIdentifier)
				break
			}
			failed[f.ItemIdentifier] = true
		}
	default:
		inv.Result = Succeeded
	}
	var done, retry []types.Message
	for _, m := range msgs {
		if inv.Result == Failed || failed[aws.ToString(m.MessageId)] {
			retry = append(retry, m)
		} else {
			done = append(done, m)
		}
	}
	if p.m.OnInvoke != nil {
		p.m.OnInvoke(inv)
	}
	return inv, errors.Join(p.delete(ctx, done), p.retry(ctx, retry))
}

func (p *Poller) event(msgs []types.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		rec := events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             m.Attributes,
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         p.m.QueueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              p.m.Region,
		}
		for k, v := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{
				StringValue: v.StringValue, BinaryValue: v.BinaryValue, DataType: aws.ToString(v.DataType),
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

func (p *Poller) delete(ctx context.Context, msgs []types.Message) error {
	for chunk := range slices.Chunk(msgs, 10) {
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
		}
		res, err := p.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.m.QueueURL), Entries: entries})
		if err != nil {
			return fmt.Errorf("delete messages: %w", err)
		}
		if len(res.Failed) > 0 {
			return fmt.Errorf("delete messages: %d failed (%s)", len(res.Failed), aws.ToString(res.Failed[0].Code))
		}
	}
	return nil
}

func (p *Poller) retry(ctx context.Context, msgs []types.Message) error {
	if p.m.RetryDelay <= 0 {
		return nil
	}
	for chunk := range slices.Chunk(msgs, 10) {
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)),
				ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: int32(p.m.RetryDelay / time.Second)}
		}
		if _, err := p.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{
			QueueUrl: aws.String(p.m.QueueURL), Entries: entries}); err != nil {
			return fmt.Errorf("change message visibility: %w", err)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
