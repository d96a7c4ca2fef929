package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/kycbackend/kyc/infra/local/provision"
)

// fakeTable is a table whose stream is fakeStream's.
type fakeTable struct{}

func (fakeTable) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{
		TableName:       in.TableName,
		LatestStreamArn: aws.String(testStreamARN),
		KeySchema:       []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
	}}, nil
}

// fakeStream is a stream of one open shard; an iterator is the index of the next record.
type fakeStream struct {
	mu      sync.Mutex
	records []types.Record
	served  int // records returned by GetRecords so far
}

func (f *fakeStream) servedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.served
}

func (f *fakeStream) add(pk string, created time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq := fmt.Sprintf("%021d", len(f.records)+1)
	f.records = append(f.records, types.Record{
		EventID:   aws.String("id-" + seq),
		EventName: types.OperationTypeInsert,
		Dynamodb: &types.StreamRecord{
			ApproximateCreationDateTime: &created,
			Keys:                        map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
			NewImage:                    map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
			SequenceNumber:              aws.String(seq),
			SizeBytes:                   aws.Int64(10),
			StreamViewType:              types.StreamViewTypeNewImage,
		},
	})
}

func (f *fakeStream) DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &types.StreamDescription{
		StreamArn: in.StreamArn,
		Shards: []types.Shard{{
			ShardId:             aws.String("shard-1"),
			SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String(fmt.Sprintf("%021d", 1))},
		}},
	}}, nil
}

func (f *fakeStream) GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := 0
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeLatest:
		i = len(f.records)
	case types.ShardIteratorTypeAfterSequenceNumber:
		n, _ := strconv.Atoi(aws.ToString(in.SequenceNumber))
		i = n
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(strconv.Itoa(i))}, nil
}

func (f *fakeStream) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := strconv.Atoi(aws.ToString(in.ShardIterator))
	if err != nil || i > len(f.records) {
		return nil, &types.ExpiredIteratorException{Message: aws.String("bad iterator")}
	}
	j := min(len(f.records), i+int(aws.ToInt32(in.Limit)))
	f.served = max(f.served, j)
	return &dynamodbstreams.GetRecordsOutput{Records: f.records[i:j], NextShardIterator: aws.String(strconv.Itoa(j))}, nil
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSource is the template's defaults with TRIM_HORIZON, as provision would give them.
func fakeSource() provision.StreamSource {
	return provision.StreamSource{
		FunctionLogicalID:         "Fn",
		TableLogicalID:            "Table",
		Enabled:                   true,
		StartingPosition:          "TRIM_HORIZON",
		BatchSize:                 10,
		MaximumRetryAttempts:      -1,
		MaximumRecordAgeInSeconds: -1,
		ParallelizationFactor:     1,
	}
}

type failure struct {
	keys   []string
	reason error
}

// runFake runs a poller over stream until done returns true (or 10 s pass).
func runFake(t *testing.T, stream *fakeStream, m Mapping, c *clock, done func() bool) {
	t.Helper()
	m.TableName = "fake"
	m.PollInterval = 5 * time.Millisecond
	p, err := New(fakeTable{}, stream, m)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if c != nil {
		p.now = c.now
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		p.Run(ctx)
	}()
	defer func() {
		cancel()
		<-stopped
	}()
	waitFor(t, 10*time.Second, "the expected deliveries", done)
}

func keysOf(recs []events.DynamoDBEventRecord) []string {
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = r.Change.Keys["pk"].String()
	}
	return keys
}

func TestRecordAge(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		readAt      time.Time // the clock when the poller reads the record
		step        time.Duration
		wantInvokes int
	}{
		// Read as written: the age counts from the read (DynamoDB Local truncates the
		// creation time to the minute). Failed at age 0, 30 s, 60 s; given up at 90 s.
		{name: "fresh record", readAt: t0.Add(10 * time.Second), step: 30 * time.Second, wantInvokes: 3},
		// Read ten minutes late: older than 60 s already, never delivered.
		{name: "backlog", readAt: t0.Add(10 * time.Minute), step: time.Second, wantInvokes: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := &fakeStream{}
			stream.add("a", t0)
			c := &clock{t: tt.readAt}
			handlerErr := errors.New("boom")
			var mu sync.Mutex
			invokes := 0
			var failures []failure
			src := fakeSource()
			src.MaximumRecordAgeInSeconds = 60
			m := Mapping{
				Source: src,
				Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
					mu.Lock()
					defer mu.Unlock()
					invokes++
					c.advance(tt.step)
					return events.DynamoDBEventResponse{}, handlerErr
				},
				OnFailure: func(ctx context.Context, recs []events.DynamoDBEventRecord, reason error) {
					mu.Lock()
					defer mu.Unlock()
					failures = append(failures, failure{keysOf(recs), reason})
				},
			}
			runFake(t, stream, m, c, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(failures) > 0
			})
			mu.Lock()
			defer mu.Unlock()
			if invokes != tt.wantInvokes {
				t.Errorf("invocations = %d, want %d", invokes, tt.wantInvokes)
			}
			if len(failures) != 1 || len(failures[0].keys) != 1 || failures[0].keys[0] != "a" {
				t.Fatalf("OnFailure calls = %+v, want one with record a", failures)
			}
			if !errors.Is(failures[0].reason, ErrRecordAgeExceeded) {
				t.Errorf("reason = %v, want %v", failures[0].reason, ErrRecordAgeExceeded)
			}
			if got := errors.Is(failures[0].reason, handlerErr); got != (tt.wantInvokes > 0) {
				t.Errorf("reason %v wraps the handler error = %v, want %v", failures[0].reason, got, tt.wantInvokes > 0)
			}
			var f *Failure
			if !errors.As(failures[0].reason, &f) || f.Condition != ConditionRecordAgeExceeded || f.InvokeCount != tt.wantInvokes {
				t.Fatalf("reason = %#v, want a *Failure, %s after %d invocations", failures[0].reason, ConditionRecordAgeExceeded, tt.wantInvokes)
			}
			doc, err := f.InvocationRecord()
			if err != nil {
				t.Fatalf("InvocationRecord: %v", err)
			}
			var rec map[string]any
			if err := json.Unmarshal(doc, &rec); err != nil {
				t.Fatalf("decode %s: %v", doc, err)
			}
			if _, ok := rec["responseContext"]; ok != (tt.wantInvokes > 0) {
				t.Errorf("invocation record %s: has responseContext = %v, want %v (only after an invocation)", doc, ok, tt.wantInvokes > 0)
			}
		})
	}
}

func TestBatchingWindow(t *testing.T) {
	t.Run("a batch fills up before the window ends", func(t *testing.T) {
		stream := &fakeStream{}
		src := fakeSource()
		src.BatchSize = 2
		src.MaximumBatchingWindowInSeconds = 300
		batches := make(chan []string, 10)
		m := Mapping{Source: src, Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			batches <- keysOf(ev.Records)
			return events.DynamoDBEventResponse{}, nil
		}}
		var got []string
		stream.add("a", time.Now())
		added := false
		runFake(t, stream, m, nil, func() bool {
			if !added && stream.servedCount() == 1 {
				stream.add("b", time.Now()) // read in a later GetRecords call
				added = true
			}
			select {
			case got = <-batches:
				return true
			default:
				return false
			}
		})
		if want := []string{"a", "b"}; !slices.Equal(got, want) {
			t.Errorf("first batch = %v, want %v (gathered over two reads)", got, want)
		}
	})
	t.Run("the window ends with a partial batch", func(t *testing.T) {
		stream := &fakeStream{}
		stream.add("a", time.Now())
		src := fakeSource()
		src.MaximumBatchingWindowInSeconds = 1
		delivered := make(chan []string, 10)
		m := Mapping{Source: src, Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			delivered <- keysOf(ev.Records)
			return events.DynamoDBEventResponse{}, nil
		}}
		var got []string
		runFake(t, stream, m, nil, func() bool {
			select {
			case got = <-delivered:
				return true
			default:
				return false
			}
		})
		if want := []string{"a"}; !slices.Equal(got, want) {
			t.Errorf("batch = %v, want %v", got, want)
		}
	})
}

func TestHandlerPanicIsAFunctionError(t *testing.T) {
	stream := &fakeStream{}
	stream.add("a", time.Now())
	var mu sync.Mutex
	var invs []Invocation
	calls := 0
	m := Mapping{
		Source: fakeSource(),
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			mu.Lock()
			calls++
			first := calls == 1
			mu.Unlock()
			if first {
				panic("nil map")
			}
			return events.DynamoDBEventResponse{}, nil
		},
		OnInvoke: func(inv Invocation) {
			mu.Lock()
			defer mu.Unlock()
			invs = append(invs, inv)
		},
	}
	runFake(t, stream, m, nil, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(invs) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	if invs[0].Result != Failed || invs[0].Err == nil || invs[1].Result != Succeeded || invs[1].Retry != 1 {
		t.Errorf("invocations = %+v, want a failed one (the panic) then a succeeded retry", invs)
	}
}

func TestHandlerContext(t *testing.T) {
	stream := &fakeStream{}
	stream.add("a", time.Now())
	type seen struct {
		requestID, arn string
		deadline       bool
	}
	got := make(chan seen, 1)
	m := Mapping{
		Source:      fakeSource(),
		FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:kyc-processor",
		Timeout:     time.Minute,
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			var s seen
			if lc, ok := lambdacontext.FromContext(ctx); ok {
				s.requestID, s.arn = lc.AwsRequestID, lc.InvokedFunctionArn
			}
			_, s.deadline = ctx.Deadline()
			select {
			case got <- s:
			default:
			}
			return events.DynamoDBEventResponse{}, nil
		},
	}
	var s seen
	runFake(t, stream, m, nil, func() bool {
		select {
		case s = <-got:
			return true
		default:
			return false
		}
	})
	if len(s.requestID) != 36 || s.arn != m.FunctionARN || !s.deadline {
		t.Errorf("handler context = %+v, want a request id, the function ARN and a deadline", s)
	}
}

func TestTimeoutIsAFunctionError(t *testing.T) {
	stream := &fakeStream{}
	stream.add("a", time.Now())
	var mu sync.Mutex
	var failures []failure
	src := fakeSource()
	src.MaximumRetryAttempts = 0
	m := Mapping{
		Source:  src,
		Timeout: 10 * time.Millisecond,
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			<-ctx.Done() // outlasts the timeout, then claims success
			return events.DynamoDBEventResponse{}, nil
		},
		OnFailure: func(ctx context.Context, recs []events.DynamoDBEventRecord, reason error) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, failure{keysOf(recs), reason})
		},
	}
	runFake(t, stream, m, nil, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(failures) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(failures[0].reason, ErrRetriesExhausted) {
		t.Errorf("reason = %v, want %v", failures[0].reason, ErrRetriesExhausted)
	}
}

func TestNewRejects(t *testing.T) {
	ok := Mapping{TableName: "t", Source: fakeSource(), Handler: func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return events.DynamoDBEventResponse{}, nil
	}}
	tests := []struct {
		name   string
		change func(m *Mapping)
	}{
		{"no handler", func(m *Mapping) { m.Handler = nil }},
		{"no table", func(m *Mapping) { m.TableName = "" }},
		{"batch size 0", func(m *Mapping) { m.Source.BatchSize = 0 }},
		{"no starting position", func(m *Mapping) { m.Source.StartingPosition = "" }},
		{"record age 0", func(m *Mapping) { m.Source.MaximumRecordAgeInSeconds = 0 }},
		{"retries -2", func(m *Mapping) { m.Source.MaximumRetryAttempts = -2 }},
		{"bad filter", func(m *Mapping) { m.Source.FilterPatterns = []string{`{"eventName": "INSERT"}`} }},
	}
	if _, err := New(fakeTable{}, &fakeStream{}, ok); err != nil {
		t.Fatalf("New(valid mapping): %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			m.Source.FilterPatterns = nil
			tt.change(&m)
			if _, err := New(fakeTable{}, &fakeStream{}, m); err == nil {
				t.Errorf("New error = nil, want one")
			}
		})
	}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
