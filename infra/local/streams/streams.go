// Package streams feeds a Lambda handler from a DynamoDB table's stream the way an AWS
// Lambda event source mapping does, for local runs and tests on DynamoDB Local: it follows
// every shard of the stream (children after their parents), turns each stream record into
// the JSON Lambda delivers, drops the records that match none of the mapping's filter
// patterns, invokes the handler with batches of up to BatchSize records per shard in order,
// and applies Lambda's failure handling (whole-batch retries, BisectBatchOnFunctionError,
// ReportBatchItemFailures, MaximumRetryAttempts, MaximumRecordAgeInSeconds, an on-failure
// destination).
//
// Endpoints come from the AWS SDK's configuration (AWS_ENDPOINT_URL_DYNAMODB and
// AWS_ENDPOINT_URL_DYNAMODB_STREAMS, set by infra/local/with-emulators.sh). Checkpoints are
// kept in memory: a new Poller starts again from the mapping's StartingPosition.
package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/kycbackend/kyc/infra/local/provision"
)

// TableAPI is the part of the DynamoDB client (*dynamodb.Client) the poller uses.
type TableAPI interface {
	DescribeTable(ctx context.Context, params *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// StreamAPI is the part of the DynamoDB Streams client (*dynamodbstreams.Client) the poller uses.
type StreamAPI interface {
	DescribeStream(ctx context.Context, params *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, params *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, params *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var (
	_ TableAPI  = (*dynamodb.Client)(nil)
	_ StreamAPI = (*dynamodbstreams.Client)(nil)
)

// Handler is a Lambda handler for DynamoDB stream events, e.g. a function's Handle method.
type Handler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Why records were given up (wrapped by the reason passed to Mapping.OnFailure).
var (
	ErrRetriesExhausted   = errors.New("retry attempts exhausted")
	ErrRecordAgeExceeded  = errors.New("record age exceeded")
	ErrBatchItemFailures  = errors.New("batch item failures reported")
	ErrInvalidItemFailure = errors.New("batch item failure is not a sequence number of the batch")
)

// Defaults of the Mapping knobs that are not in the template.
const (
	DefaultPollInterval  = 200 * time.Millisecond
	DefaultMaxRetryDelay = 2 * time.Second
)

// Mapping says what a Poller reads and whom it invokes.
type Mapping struct {
	TableName string                 // the physical table name (provision.CreateTables)
	Source    provision.StreamSource // the event source mapping settings, from the template
	Handler   Handler

	// OnFailure receives records given up after MaximumRetryAttempts or
	// MaximumRecordAgeInSeconds; processing then continues after them. reason is a
	// *Failure (errors.Is ErrRetriesExhausted or ErrRecordAgeExceeded, and the last handler
	// error); its InvocationRecord is what Lambda sends to the on-failure destination. Nil
	// discards the records with a warning log.
	OnFailure func(ctx context.Context, records []events.DynamoDBEventRecord, reason error)
	// OnInvoke, when set, is called after each invocation of Handler.
	OnInvoke func(Invocation)

	// Region is the awsRegion of delivered records (DynamoDB Local's own is "ddblocal");
	// empty keeps the stream's.
	Region string
	// FunctionARN is the InvokedFunctionArn in the handler's lambdacontext.
	FunctionARN string
	// Timeout, when positive, is the function timeout: the handler's context has that
	// deadline and an invocation that outlasts it has failed.
	Timeout time.Duration
	// PollInterval is the pause after a GetRecords call that returned nothing (default
	// DefaultPollInterval; Lambda polls each shard four times a second). It is also the
	// first retry delay after a failed invocation, doubled on each retry up to
	// MaxRetryDelay (default DefaultMaxRetryDelay).
	PollInterval  time.Duration
	MaxRetryDelay time.Duration
	Logger        *slog.Logger // default slog.Default()
}

// Result is the outcome of one invocation.
type Result int

// Outcomes of an invocation.
const (
	Succeeded       Result = iota // nothing to retry
	Failed                        // the handler returned an error, or an unusable batch item failure: the whole batch failed
	PartiallyFailed               // the handler reported batch item failures: retried from the lowest one
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
	ShardID             string
	Records             int // batch size
	FirstSequenceNumber string
	LastSequenceNumber  string
	Retry               int // 0 for the first attempt at these records, n for the n-th retry
	Result              Result
	Err                 error    // the handler's error, or why the response counts as a failure
	BatchItemFailures   []string // the identifiers the handler reported, when enabled
	Duration            time.Duration
}

// Poller is one event source mapping: Run reads the stream and invokes the handler.
type Poller struct {
	tables  TableAPI
	streams StreamAPI
	m       Mapping
	filters filters
	log     *slog.Logger
	now     func() time.Time

	ready     chan struct{}
	readyOnce sync.Once
}

// New checks m and returns its Poller. Source must be complete, as provision fills it
// (BatchSize >= 1, StartingPosition TRIM_HORIZON or LATEST, MaximumRetryAttempts >= -1,
// MaximumRecordAgeInSeconds -1 or positive); ParallelizationFactor 0 means 1.
func New(tables TableAPI, streams StreamAPI, m Mapping) (*Poller, error) {
	s := m.Source
	switch {
	case m.Handler == nil:
		return nil, errors.New("streams: no handler")
	case m.TableName == "":
		return nil, errors.New("streams: no table name")
	case s.BatchSize < 1:
		return nil, fmt.Errorf("streams: BatchSize %d: must be at least 1", s.BatchSize)
	case s.StartingPosition != string(types.ShardIteratorTypeTrimHorizon) && s.StartingPosition != string(types.ShardIteratorTypeLatest):
		return nil, fmt.Errorf("streams: StartingPosition %q: must be TRIM_HORIZON or LATEST", s.StartingPosition)
	case s.MaximumRetryAttempts < -1:
		return nil, fmt.Errorf("streams: MaximumRetryAttempts %d: must be -1 or more", s.MaximumRetryAttempts)
	case s.MaximumRecordAgeInSeconds == 0 || s.MaximumRecordAgeInSeconds < -1:
		return nil, fmt.Errorf("streams: MaximumRecordAgeInSeconds %d: must be -1 or positive", s.MaximumRecordAgeInSeconds)
	case s.MaximumBatchingWindowInSeconds < 0:
		return nil, fmt.Errorf("streams: MaximumBatchingWindowInSeconds %d: must not be negative", s.MaximumBatchingWindowInSeconds)
	case s.ParallelizationFactor < 0:
		return nil, fmt.Errorf("streams: ParallelizationFactor %d: must be positive", s.ParallelizationFactor)
	}
	fs, err := compileFilters(s.FilterPatterns)
	if err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	if m.Source.ParallelizationFactor == 0 {
		m.Source.ParallelizationFactor = 1
	}
	if m.PollInterval <= 0 {
		m.PollInterval = DefaultPollInterval
	}
	if m.MaxRetryDelay <= 0 {
		m.MaxRetryDelay = DefaultMaxRetryDelay
	}
	log := m.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("table", m.TableName, "function", s.FunctionLogicalID)
	return &Poller{
		tables:  tables,
		streams: streams,
		m:       m,
		filters: fs,
		log:     log,
		now:     time.Now,
		ready:   make(chan struct{}),
	}, nil
}

// Ready is closed once Run is positioned on the stream: from then on, every change to the
// table is delivered (with LATEST, changes made before may not be).
func (p *Poller) Ready() <-chan struct{} {
	return p.ready
}

// Run follows the stream and invokes the handler until ctx is done. Errors of the table
// and stream APIs are logged and retried with backoff. Call it once.
func (p *Poller) Run(ctx context.Context) {
	arn, hashKey, ok := p.resolveStream(ctx)
	if !ok {
		return
	}
	p.follow(ctx, arn, hashKey)
}

// resolveStream returns the table's latest stream ARN and its partition key attribute,
// retrying until they are known or ctx is done.
func (p *Poller) resolveStream(ctx context.Context) (arn, hashKey string, ok bool) {
	var b backoff
	for {
		out, err := p.tables.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.m.TableName)})
		switch {
		case ctx.Err() != nil:
			return "", "", false
		case err != nil:
			p.log.WarnContext(ctx, "streams: describe table", "err", err)
		case out.Table == nil || out.Table.LatestStreamArn == nil:
			p.log.WarnContext(ctx, "streams: table has no stream")
		default:
			for _, k := range out.Table.KeySchema {
				if k.KeyType == ddbtypes.KeyTypeHash {
					hashKey = aws.ToString(k.AttributeName)
				}
			}
			return aws.ToString(out.Table.LatestStreamArn), hashKey, true
		}
		if !b.wait(ctx) {
			return "", "", false
		}
	}
}

// shardRefresh is how often the shard list is read again to find new shards.
const shardRefresh = time.Second

type shardState struct {
	parent string
	done   bool
}

// follow runs one reader per shard, a child shard only once its parent (when still
// listed) is done, until ctx is done.
func (p *Poller) follow(ctx context.Context, arn, hashKey string) {
	var wg sync.WaitGroup
	defer wg.Wait()
	finished := make(chan string)
	shards := map[string]*shardState{}
	pending := map[string]*shardReader{} // listed, not started yet
	initial := true
	var b backoff
	for {
		list, err := p.describeShards(ctx, arn)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.WarnContext(ctx, "streams: describe stream", "stream", arn, "err", err)
			if !b.wait(ctx) {
				return
			}
			continue
		}
		b.reset()
		for _, sh := range list {
			id := aws.ToString(sh.ShardId)
			if _, ok := shards[id]; ok {
				continue
			}
			st := &shardState{parent: aws.ToString(sh.ParentShardId)}
			shards[id] = st
			// The starting position applies to the shards open when the mapping starts;
			// shards that appear later are read from their beginning. With LATEST, a shard
			// already closed has nothing left to read.
			pos := types.ShardIteratorTypeTrimHorizon
			if initial && p.m.Source.StartingPosition == string(types.ShardIteratorTypeLatest) {
				if sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil {
					st.done = true
					continue
				}
				pos = types.ShardIteratorTypeLatest
			}
			r := &shardReader{p: p, arn: arn, id: id, hashKey: hashKey, pos: pos}
			if pos == types.ShardIteratorTypeLatest {
				// Positioned now, before Ready, so that later changes are all read.
				if !r.position(ctx) {
					if ctx.Err() != nil {
						return
					}
					st.done = true // the shard is gone
					continue
				}
			}
			pending[id] = r
		}
		for id, r := range pending {
			st := shards[id]
			if parent, ok := shards[st.parent]; ok && !parent.done {
				continue // the parent's records come first
			}
			delete(pending, id)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.run(ctx)
				select {
				case finished <- r.id:
				case <-ctx.Done():
				}
			}()
		}
		if initial {
			initial = false
			p.readyOnce.Do(func() { close(p.ready) })
		}

		timer := time.NewTimer(shardRefresh)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case id := <-finished:
			shards[id].done = true // a child may be startable now
			timer.Stop()
		case <-timer.C:
		}
	}
}
