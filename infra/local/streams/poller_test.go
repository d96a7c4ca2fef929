package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/kycbackend/kyc/infra/local/provision"
)

// deadline bounds every wait for the stream to deliver: generous, never asserted.
const deadline = 20 * time.Second

// local is a table on DynamoDB Local made from an inline template whose Processor function
// has one DynamoDB event with the given properties.
type local struct {
	ctx    context.Context
	cfg    aws.Config
	db     *dynamodb.Client
	table  string
	source provision.StreamSource
}

// emulators returns a context and SDK config for the emulators, or skips the test outside
// infra/local/with-emulators.sh.
func emulators(t *testing.T) (context.Context, aws.Config) {
	t.Helper()
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("KYC_EMULATORS is not 1: run through infra/local/with-emulators.sh (CI does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return ctx, cfg
}

// createTables creates the template's tables under a prefix unique to the test and
// deletes them when it ends.
func createTables(t *testing.T, ctx context.Context, cfg aws.Config, tpl *provision.Template) map[string]string {
	t.Helper()
	prefix := fmt.Sprintf("streams-%s-%d-", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	names, err := tpl.CreateTables(ctx, cfg, prefix)
	if err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	db := dynamodb.NewFromConfig(cfg)
	t.Cleanup(func() {
		for _, name := range names {
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	return names
}

// newLocal creates the table, or skips the test outside infra/local/with-emulators.sh.
func newLocal(t *testing.T, eventProperties string) *local {
	t.Helper()
	ctx, cfg := emulators(t)
	tmpl := `
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  ProcessorDLQ:
    Type: AWS::SQS::Queue
  Processor:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
` + indent(eventProperties, "            ")
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := provision.Load(path)
	if err != nil {
		t.Fatalf("provision.Load: %v", err)
	}
	sources := tpl.StreamSources()
	if len(sources) != 1 {
		t.Fatalf("StreamSources() = %+v, want one", sources)
	}
	names := createTables(t, ctx, cfg, tpl)
	return &local{ctx: ctx, cfg: cfg, db: dynamodb.NewFromConfig(cfg), table: names["Table"], source: sources[0]}
}

// indent removes the lines' common leading white space and prefixes them with by.
func indent(s, by string) string {
	var lines []string
	common := -1
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, l)
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if common < 0 || n < common {
			common = n
		}
	}
	for i, l := range lines {
		lines[i] = by + l[common:]
	}
	return strings.Join(lines, "\n") + "\n"
}

// put writes an item with key pk, sk "ITEM" and kind.
func (l *local) put(t *testing.T, pk, kind string, extra map[string]ddbtypes.AttributeValue) {
	t.Helper()
	item := map[string]ddbtypes.AttributeValue{
		"pk":   &ddbtypes.AttributeValueMemberS{Value: pk},
		"sk":   &ddbtypes.AttributeValueMemberS{Value: "ITEM"},
		"kind": &ddbtypes.AttributeValueMemberS{Value: kind},
	}
	for k, v := range extra {
		item[k] = v
	}
	if _, err := l.db.PutItem(l.ctx, &dynamodb.PutItemInput{TableName: aws.String(l.table), Item: item}); err != nil {
		t.Fatalf("PutItem(%s): %v", pk, err)
	}
}

// recorder is a handler that records what it receives and answers with respond.
type recorder struct {
	mu       sync.Mutex
	batches  [][]events.DynamoDBEventRecord
	invs     []Invocation
	failures []failure
	respond  func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

func (r *recorder) handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	r.mu.Lock()
	r.batches = append(r.batches, ev.Records)
	call := len(r.batches)
	r.mu.Unlock()
	if r.respond == nil {
		return events.DynamoDBEventResponse{}, nil
	}
	return r.respond(call, ev)
}

// batchKeys returns the pk of every record of every batch received so far.
func (r *recorder) batchKeys() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]string, len(r.batches))
	for i, b := range r.batches {
		out[i] = keysOf(b)
	}
	return out
}

// delivered returns the pk of every record received, in order.
func (r *recorder) delivered() []string {
	var all []string
	for _, b := range r.batchKeys() {
		all = append(all, b...)
	}
	return all
}

func (r *recorder) failed() []failure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.failures)
}

// start runs a poller for l's table with r as the handler until the test ends, and waits
// until it is positioned on the stream.
func (l *local) start(t *testing.T, r *recorder) {
	t.Helper()
	p, err := New(dynamodb.NewFromConfig(l.cfg), dynamodbstreams.NewFromConfig(l.cfg), Mapping{
		TableName:    l.table,
		Source:       l.source,
		Handler:      r.handle,
		Region:       l.cfg.Region,
		PollInterval: 50 * time.Millisecond,
		OnInvoke: func(inv Invocation) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.invs = append(r.invs, inv)
		},
		OnFailure: func(ctx context.Context, recs []events.DynamoDBEventRecord, reason error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.failures = append(r.failures, failure{keysOf(recs), reason})
		},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(l.ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		p.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	select {
	case <-p.Ready():
	case <-time.After(deadline):
		t.Fatalf("poller not ready after %s", deadline)
	}
}

// waitDelivered waits until the handler has received a record with key pk.
func (r *recorder) waitDelivered(t *testing.T, pk string) {
	t.Helper()
	waitFor(t, deadline, "record "+pk, func() bool { return slices.Contains(r.delivered(), pk) })
}

func TestFilteredDeliveryInOrder(t *testing.T) {
	l := newLocal(t, `
		StartingPosition: TRIM_HORIZON
		BatchSize: 100
		FilterCriteria:
		  Filters:
		    - Pattern: '{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event"]}}}}'
	`)
	r := &recorder{}
	l.start(t, r)

	attrs := map[string]ddbtypes.AttributeValue{
		"count":  &ddbtypes.AttributeValueMemberN{Value: "42.50"},
		"raw":    &ddbtypes.AttributeValueMemberB{Value: []byte{0, 1, 0xfe, 0xff}},
		"done":   &ddbtypes.AttributeValueMemberBOOL{Value: true},
		"body":   &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"journeyId": &ddbtypes.AttributeValueMemberS{Value: "j-1"}, "n": &ddbtypes.AttributeValueMemberN{Value: "7"}}},
		"steps":  &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberS{Value: "selfie"}}},
		"absent": &ddbtypes.AttributeValueMemberNULL{Value: true},
	}
	var want []string
	for i := range 6 {
		if i%2 == 0 {
			pk := fmt.Sprintf("event-%d", i)
			l.put(t, pk, "event", attrs)
			want = append(want, pk)
		} else {
			l.put(t, fmt.Sprintf("other-%d", i), "journey", attrs)
		}
	}
	// A MODIFY of a matching item is filtered out too (eventName).
	l.put(t, "event-0", "event", map[string]ddbtypes.AttributeValue{"processed": &ddbtypes.AttributeValueMemberBOOL{Value: true}})
	// Records of a shard come in order: once the last one is in, the earlier ones have
	// all been either delivered or filtered out.
	l.put(t, "event-last", "event", nil)
	want = append(want, "event-last")
	r.waitDelivered(t, "event-last")

	if got := r.delivered(); !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}

	r.mu.Lock()
	rec := r.batches[0][0]
	var seqs []string
	for _, b := range r.batches {
		for _, x := range b {
			seqs = append(seqs, x.Change.SequenceNumber)
		}
	}
	r.mu.Unlock()
	desc, err := l.db.DescribeTable(l.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(l.table)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	img := rec.Change.NewImage
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"eventName", rec.EventName, "INSERT"},
		{"eventSource", rec.EventSource, "aws:dynamodb"},
		{"eventVersion", rec.EventVersion, "1.1"},
		{"awsRegion", rec.AWSRegion, l.cfg.Region},
		{"eventSourceARN", rec.EventSourceArn, aws.ToString(desc.Table.LatestStreamArn)},
		{"eventID set", rec.EventID != "", true},
		{"view type", rec.Change.StreamViewType, "NEW_IMAGE"},
		{"creation time set", rec.Change.ApproximateCreationDateTime.IsZero(), false},
		{"size set", rec.Change.SizeBytes > 0, true},
		{"keys", []string{rec.Change.Keys["pk"].String(), rec.Change.Keys["sk"].String()}, []string{"event-0", "ITEM"}},
		{"string", img["kind"].String(), "event"},
		{"number as a string", img["count"].Number(), "42.5"},
		{"binary", img["raw"].Binary(), []byte{0, 1, 0xfe, 0xff}},
		{"bool", img["done"].Boolean(), true},
		{"map", img["body"].Map()["journeyId"].String(), "j-1"},
		{"number in a map", img["body"].Map()["n"].Number(), "7"},
		{"list", img["steps"].List()[0].String(), "selfie"},
		{"null", img["absent"].IsNull(), true},
		{"sequence numbers ascending", slices.IsSorted(seqs), true},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestBatchSize(t *testing.T) {
	l := newLocal(t, `
		StartingPosition: TRIM_HORIZON
		BatchSize: 10
	`)
	for i := range 25 {
		l.put(t, fmt.Sprintf("k%02d", i), "event", nil)
	}
	r := &recorder{}
	l.start(t, r) // after the writes: the first read returns all 25 records
	r.waitDelivered(t, "k24")
	var sizes []int
	for _, b := range r.batchKeys() {
		sizes = append(sizes, len(b))
	}
	if want := []int{10, 10, 5}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("batch sizes = %v, want %v", sizes, want)
	}
	if got := r.delivered(); len(got) != 25 || !slices.IsSorted(got) {
		t.Errorf("delivered %v, want k00..k24 in order", got)
	}
}

func TestLatestSkipsEarlierChanges(t *testing.T) {
	l := newLocal(t, `
		StartingPosition: LATEST
	`)
	l.put(t, "before", "event", nil)
	r := &recorder{}
	l.start(t, r)
	l.put(t, "after", "event", nil)
	r.waitDelivered(t, "after")
	if got := r.delivered(); !reflect.DeepEqual(got, []string{"after"}) {
		t.Errorf("delivered %v, want [after]", got)
	}
}

func TestReportBatchItemFailures(t *testing.T) {
	tests := []struct {
		name string
		// report returns the identifiers the first invocation reports, from its records.
		report      func(recs []events.DynamoDBEventRecord) []string
		wantBatches [][]string
		wantRetry   Result // the first invocation's result
	}{
		{
			name: "retried from the lowest failed record",
			report: func(recs []events.DynamoDBEventRecord) []string {
				return []string{recs[4].Change.SequenceNumber, recs[2].Change.SequenceNumber}
			},
			wantBatches: [][]string{{"k0", "k1", "k2", "k3", "k4"}, {"k2", "k3", "k4"}},
			wantRetry:   PartiallyFailed,
		},
		{
			name:        "empty list is a success",
			report:      func([]events.DynamoDBEventRecord) []string { return nil },
			wantBatches: [][]string{{"k0", "k1", "k2", "k3", "k4"}},
			wantRetry:   Succeeded,
		},
		{
			name:        "identifier not in the batch fails it all",
			report:      func([]events.DynamoDBEventRecord) []string { return []string{"not-a-sequence-number"} },
			wantBatches: [][]string{{"k0", "k1", "k2", "k3", "k4"}, {"k0", "k1", "k2", "k3", "k4"}},
			wantRetry:   Failed,
		},
		{
			name:        "empty identifier fails it all",
			report:      func([]events.DynamoDBEventRecord) []string { return []string{""} },
			wantBatches: [][]string{{"k0", "k1", "k2", "k3", "k4"}, {"k0", "k1", "k2", "k3", "k4"}},
			wantRetry:   Failed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLocal(t, `
				StartingPosition: TRIM_HORIZON
				BatchSize: 10
				MaximumRetryAttempts: 5
				FunctionResponseTypes: [ReportBatchItemFailures]
			`)
			for i := range 5 {
				l.put(t, fmt.Sprintf("k%d", i), "event", nil)
			}
			r := &recorder{respond: func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				var resp events.DynamoDBEventResponse
				if call == 1 {
					for _, id := range tt.report(ev.Records) {
						resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: id})
					}
				}
				return resp, nil
			}}
			l.start(t, r)
			r.waitDelivered(t, "k4")
			// A later record shows that nothing else was (re)delivered before it.
			l.put(t, "k5", "event", nil)
			r.waitDelivered(t, "k5")

			want := append(slices.Clone(tt.wantBatches), []string{"k5"})
			if got := r.batchKeys(); !reflect.DeepEqual(got, want) {
				t.Errorf("batches = %v, want %v", got, want)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if got := r.invs[0].Result; got != tt.wantRetry {
				t.Errorf("first invocation result = %v, want %v", got, tt.wantRetry)
			}
			if len(r.invs) > 2 && r.invs[1].Retry != 1 {
				t.Errorf("second invocation Retry = %d, want 1", r.invs[1].Retry)
			}
			if len(r.failures) != 0 {
				t.Errorf("OnFailure calls = %+v, want none", r.failures)
			}
		})
	}
}

func TestRetriesExhaustedGoToOnFailure(t *testing.T) {
	l := newLocal(t, `
		StartingPosition: TRIM_HORIZON
		BatchSize: 10
		MaximumRetryAttempts: 2
	`)
	for _, pk := range []string{"bad-1", "bad-2", "bad-3"} {
		l.put(t, pk, "event", nil)
	}
	errBad := errors.New("vendor API down")
	r := &recorder{respond: func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for _, k := range keysOf(ev.Records) {
			if strings.HasPrefix(k, "bad-") {
				return events.DynamoDBEventResponse{}, errBad
			}
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	l.start(t, r)
	waitFor(t, deadline, "OnFailure", func() bool { return len(r.failed()) > 0 })
	// Processing goes on after the records given up.
	l.put(t, "good", "event", nil)
	r.waitDelivered(t, "good")

	bad := []string{"bad-1", "bad-2", "bad-3"}
	if got, want := r.batchKeys(), [][]string{bad, bad, bad, {"good"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("batches = %v, want %v (1 attempt + 2 retries, then the next record)", got, want)
	}
	f := r.failed()
	if len(f) != 1 || !reflect.DeepEqual(f[0].keys, bad) {
		t.Fatalf("OnFailure calls = %+v, want one with %v", f, bad)
	}
	if !errors.Is(f[0].reason, ErrRetriesExhausted) || !errors.Is(f[0].reason, errBad) {
		t.Errorf("reason = %v, want it to wrap %v and %v", f[0].reason, ErrRetriesExhausted, errBad)
	}
	r.mu.Lock()
	defer r.mu.Unlock()

	// What Lambda would send to the on-failure destination.
	var fail *Failure
	if !errors.As(f[0].reason, &fail) {
		t.Fatalf("reason %T, want a *Failure", f[0].reason)
	}
	desc, err := l.db.DescribeTable(l.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(l.table)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	doc, err := fail.InvocationRecord()
	if err != nil {
		t.Fatalf("InvocationRecord: %v", err)
	}
	var rec struct {
		RequestContext struct {
			Condition              string `json:"condition"`
			ApproximateInvokeCount int    `json:"approximateInvokeCount"`
		} `json:"requestContext"`
		ResponseContext struct {
			FunctionError string `json:"functionError"`
		} `json:"responseContext"`
		Version   string `json:"version"`
		BatchInfo struct {
			ShardID             string `json:"shardId"`
			StartSequenceNumber string `json:"startSequenceNumber"`
			EndSequenceNumber   string `json:"endSequenceNumber"`
			FirstArrival        string `json:"approximateArrivalOfFirstRecord"`
			BatchSize           int    `json:"batchSize"`
			StreamARN           string `json:"streamArn"`
		} `json:"DDBStreamBatchInfo"`
	}
	if err := json.Unmarshal(doc, &rec); err != nil {
		t.Fatalf("decode InvocationRecord %s: %v", doc, err)
	}
	first := r.batches[0]
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"condition", rec.RequestContext.Condition, ConditionRetryAttemptsExhausted},
		{"invoke count", rec.RequestContext.ApproximateInvokeCount, 3},
		{"function error", rec.ResponseContext.FunctionError, "Unhandled"},
		{"version", rec.Version, "1.0"},
		{"shard", rec.BatchInfo.ShardID, r.invs[0].ShardID},
		{"start", rec.BatchInfo.StartSequenceNumber, first[0].Change.SequenceNumber},
		{"end", rec.BatchInfo.EndSequenceNumber, first[2].Change.SequenceNumber},
		{"first arrival", rec.BatchInfo.FirstArrival, first[0].Change.ApproximateCreationDateTime.UTC().Format(time.RFC3339)},
		{"batch size", rec.BatchInfo.BatchSize, 3},
		{"stream", rec.BatchInfo.StreamARN, aws.ToString(desc.Table.LatestStreamArn)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("invocation record %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	var retries []int
	for _, inv := range r.invs {
		retries = append(retries, inv.Retry)
	}
	if want := []int{0, 1, 2, 0}; !reflect.DeepEqual(retries, want) {
		t.Errorf("invocation retries = %v, want %v", retries, want)
	}
}

func TestBisectBatchOnFunctionError(t *testing.T) {
	l := newLocal(t, `
		StartingPosition: TRIM_HORIZON
		BatchSize: 8
		MaximumRetryAttempts: 1
		BisectBatchOnFunctionError: true
	`)
	// k8 comes after the first batch (BatchSize 8), once k0..k7 are dealt with.
	for i := range 9 {
		kind := "event"
		if i == 5 {
			kind = "poison"
		}
		l.put(t, fmt.Sprintf("k%d", i), kind, nil)
	}
	var calls atomic.Int32
	r := &recorder{respond: func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		calls.Add(1)
		for _, rec := range ev.Records {
			if rec.Change.NewImage["kind"].String() == "poison" {
				return events.DynamoDBEventResponse{}, errors.New("cannot parse")
			}
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	l.start(t, r)
	r.waitDelivered(t, "k8")

	want := [][]string{
		{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}, // fails: split (no retry used)
		{"k0", "k1", "k2", "k3"},                         // ok
		{"k4", "k5", "k6", "k7"},                         // fails: split
		{"k4", "k5"},                                     // fails: split
		{"k4"},                                           // ok
		{"k5"},                                           // fails: a single record is retried
		{"k5"},                                           // retry 1 fails: given up
		{"k6", "k7"},                                     // ok
		{"k8"},
	}
	if got := r.batchKeys(); !reflect.DeepEqual(got, want) {
		t.Errorf("batches =\n%v\nwant\n%v", got, want)
	}
	if f := r.failed(); len(f) != 1 || !reflect.DeepEqual(f[0].keys, []string{"k5"}) || !errors.Is(f[0].reason, ErrRetriesExhausted) {
		t.Errorf("OnFailure calls = %+v, want one with [k5], retries exhausted", f)
	}
}

func TestParallelizationFactorKeepsOrderPerKey(t *testing.T) {
	l := newLocal(t, `
		StartingPosition: TRIM_HORIZON
		BatchSize: 5
		ParallelizationFactor: 4
	`)
	// Three versions of each of 8 items: a key's versions must arrive in order.
	for v := range 3 {
		for k := range 8 {
			l.put(t, fmt.Sprintf("item-%d", k), fmt.Sprintf("v%d", v), nil)
		}
	}
	var mu sync.Mutex
	seen := map[string][]string{}
	var active, maxActive atomic.Int32
	r := &recorder{respond: func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		n := active.Add(1)
		defer active.Add(-1)
		for {
			m := maxActive.Load()
			if n <= m || maxActive.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // let the lanes overlap
		mu.Lock()
		defer mu.Unlock()
		for _, rec := range ev.Records {
			pk := rec.Change.Keys["pk"].String()
			seen[pk] = append(seen[pk], rec.Change.NewImage["kind"].String())
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	l.start(t, r)
	waitFor(t, deadline, "24 records processed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, v := range seen {
			n += len(v)
		}
		return n == 24
	})
	mu.Lock()
	defer mu.Unlock()
	for k := range 8 {
		pk := fmt.Sprintf("item-%d", k)
		if got, want := seen[pk], []string{"v0", "v1", "v2"}; !reflect.DeepEqual(got, want) {
			t.Errorf("versions of %s = %v, want %v", pk, got, want)
		}
	}
	if got := maxActive.Load(); got < 2 {
		t.Errorf("most concurrent invocations = %d, want at least 2 with ParallelizationFactor 4", got)
	}
}

// TestTemplateInboxStream runs the processor's mapping of the real template.yaml: only new
// inbox events reach the handler, batched over its batching window.
func TestTemplateInboxStream(t *testing.T) {
	ctx, cfg := emulators(t)
	tpl, err := provision.Load("../../../template.yaml")
	if err != nil {
		t.Fatalf("provision.Load: %v", err)
	}
	var src *provision.StreamSource
	for _, s := range tpl.StreamSources() {
		if s.FunctionLogicalID == "ProcessorFunction" {
			src = &s
		}
	}
	if src == nil {
		t.Fatalf("template.yaml has no DynamoDB event on ProcessorFunction")
	}
	names := createTables(t, ctx, cfg, tpl)
	l := &local{ctx: ctx, cfg: cfg, db: dynamodb.NewFromConfig(cfg), table: names[src.TableLogicalID], source: *src}

	str := func(s string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: s} }
	putItem := func(pk, sk, kind string) {
		t.Helper()
		item := map[string]ddbtypes.AttributeValue{"pk": str(pk), "sk": str(sk), "kind": str(kind), "pendingKey": str("PENDING"), "receivedAt": str("2024-01-01T00:00:00Z")}
		if _, err := l.db.PutItem(l.ctx, &dynamodb.PutItemInput{TableName: aws.String(l.table), Item: item}); err != nil {
			t.Fatalf("PutItem(%s): %v", pk, err)
		}
	}
	putItem("EVENT#idwise#e1", "EVENT", "event")
	putItem("JOURNEY#idwise#j1", "JOURNEY", "journey")
	putItem("EVENT#idwise#e2", "EVENT", "event")
	putItem("PROFILE#ref-1", "PROFILE", "profile")
	putItem("EVENT#idwise#q1", "EVENT", "quarantine")
	// The processor marks an event processed: a MODIFY, not delivered again.
	if _, err := l.db.UpdateItem(l.ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(l.table),
		Key:              map[string]ddbtypes.AttributeValue{"pk": str("EVENT#idwise#e1"), "sk": str("EVENT")},
		UpdateExpression: aws.String("REMOVE pendingKey"),
	}); err != nil {
		t.Fatalf("UpdateItem: %v", err)
	}
	putItem("EVENT#idwise#e3", "EVENT", "event")

	r := &recorder{}
	l.start(t, r)
	r.waitDelivered(t, "EVENT#idwise#e3")
	want := [][]string{{"EVENT#idwise#e1", "EVENT#idwise#e2", "EVENT#idwise#e3"}}
	if got := r.batchKeys(); !reflect.DeepEqual(got, want) {
		t.Errorf("batches = %v, want %v", got, want)
	}
}
