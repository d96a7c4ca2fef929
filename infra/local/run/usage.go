package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// usagePath is the runner's own route, never deployed: what the functions consumed, the
// figures the cost per million webhooks in BENCHMARKS.md is computed from.
const usagePath = "/_local/usage"

// usage meters, per function of the template: invocations and their billed duration
// (rounded up to the millisecond, as Lambda bills), AWS requests by service and
// operation, and the DynamoDB capacity units they consumed as DynamoDB reports them
// (ReturnConsumedCapacity INDEXES, so index writes are included). Also the HTTP API
// requests and the IDWise API requests. Memory only, counters since start.
type usage struct {
	mu        sync.Mutex
	functions map[string]*functionUsage
	httpAPI   int
	idwise    int
}

type functionUsage struct {
	Invocations int            `json:"invocations"`
	BilledMs    int64          `json:"billedMs"`
	Requests    map[string]int `json:"requests"` // "DynamoDB.PutItem": n
	// Units are the DynamoDB capacity units (read and write) by operation.
	Units map[string]float64 `json:"units"`
	// ReadUnits and WriteUnits are DynamoDB's consumed capacity. A conditional write whose
	// condition fails reports none but is billed (at least one write unit, by the size of
	// the item it read): counted here as one per ConditionalCheckFailed, two per item of a
	// cancelled transaction.
	ReadUnits  float64 `json:"readUnits"`
	WriteUnits float64 `json:"writeUnits"`
	// FailedConditionalWrites is the number of those conditional failures.
	FailedConditionalWrites int `json:"failedConditionalWrites"`
}

// usageReport is GET /_local/usage's answer.
type usageReport struct {
	HTTPAPIRequests int                       `json:"httpApiRequests"`
	IDWiseRequests  int                       `json:"idwiseRequests"`
	Functions       map[string]*functionUsage `json:"functions"`
}

func newUsage() *usage { return &usage{functions: map[string]*functionUsage{}} }

func (u *usage) fn(id string) *functionUsage {
	f, ok := u.functions[id]
	if !ok {
		f = &functionUsage{Requests: map[string]int{}, Units: map[string]float64{}}
		u.functions[id] = f
	}
	return f
}

// apiOption is an aws.Config APIOptions entry for the clients of function id: it asks
// DynamoDB for the consumed capacity of every request and adds it up.
func (u *usage) apiOption(id string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("localUsage",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				askCapacity(in.Parameters)
				out, md, err := next.HandleInitialize(ctx, in)
				op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
				r, w := consumed(out.Result)
				failed, failedUnits := failedWrite(err)
				u.mu.Lock()
				f := u.fn(id)
				f.Requests[op]++
				if r+w+failedUnits > 0 {
					f.Units[op] += r + w + failedUnits
				}
				f.ReadUnits += r
				f.WriteUnits += w + failedUnits
				f.FailedConditionalWrites += failed
				u.mu.Unlock()
				return out, md, err
			}), middleware.After)
	}
}

// askCapacity sets ReturnConsumedCapacity INDEXES on the DynamoDB inputs that take it.
func askCapacity(p any) {
	const all = types.ReturnConsumedCapacityIndexes
	switch in := p.(type) {
	case *dynamodb.PutItemInput:
		in.ReturnConsumedCapacity = all
	case *dynamodb.UpdateItemInput:
		in.ReturnConsumedCapacity = all
	case *dynamodb.DeleteItemInput:
		in.ReturnConsumedCapacity = all
	case *dynamodb.GetItemInput:
		in.ReturnConsumedCapacity = all
	case *dynamodb.QueryInput:
		in.ReturnConsumedCapacity = all
	case *dynamodb.ScanInput:
		in.ReturnConsumedCapacity = all
	case *dynamodb.TransactWriteItemsInput:
		in.ReturnConsumedCapacity = all
	case *dynamodb.TransactGetItemsInput:
		in.ReturnConsumedCapacity = all
	case *dynamodb.BatchWriteItemInput:
		in.ReturnConsumedCapacity = all
	case *dynamodb.BatchGetItemInput:
		in.ReturnConsumedCapacity = all
	}
}

// consumed adds up the read and write units a DynamoDB output reports.
func consumed(res any) (read, write float64) {
	var ccs []types.ConsumedCapacity
	isWrite := false
	switch out := res.(type) {
	case *dynamodb.PutItemOutput:
		ccs, isWrite = one(out.ConsumedCapacity), true
	case *dynamodb.UpdateItemOutput:
		ccs, isWrite = one(out.ConsumedCapacity), true
	case *dynamodb.DeleteItemOutput:
		ccs, isWrite = one(out.ConsumedCapacity), true
	case *dynamodb.TransactWriteItemsOutput:
		ccs, isWrite = out.ConsumedCapacity, true
	case *dynamodb.BatchWriteItemOutput:
		ccs, isWrite = out.ConsumedCapacity, true
	case *dynamodb.GetItemOutput:
		ccs = one(out.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		ccs = one(out.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		ccs = one(out.ConsumedCapacity)
	case *dynamodb.TransactGetItemsOutput:
		ccs = out.ConsumedCapacity
	case *dynamodb.BatchGetItemOutput:
		ccs = out.ConsumedCapacity
	}
	for _, cc := range ccs {
		units := 0.0
		if cc.CapacityUnits != nil {
			units = *cc.CapacityUnits
		}
		if isWrite {
			write += units
		} else {
			read += units
		}
	}
	return read, write
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

// failedWrite reports a conditional write refused by its condition and the write units
// it is billed for (DynamoDB returns no consumed capacity with the error).
func failedWrite(err error) (int, float64) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return 1, 1
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		return 1, 2 * float64(len(tce.CancellationReasons))
	}
	return 0, 0
}

// invoked records one invocation of function id that took d.
func (u *usage) invoked(id string, d time.Duration) {
	billed := int64(math.Ceil(float64(d) / float64(time.Millisecond)))
	u.mu.Lock()
	f := u.fn(id)
	f.Invocations++
	f.BilledMs += billed
	u.mu.Unlock()
}

func (u *usage) httpRequest() {
	u.mu.Lock()
	u.httpAPI++
	u.mu.Unlock()
}

func (u *usage) idwiseRequest() {
	u.mu.Lock()
	u.idwise++
	u.mu.Unlock()
}

// metered wraps each handler of fn so that its invocations are counted and timed.
func (u *usage) metered(id string, fn function) function {
	timed := func(start time.Time) { u.invoked(id, time.Since(start)) }
	if h := fn.http; h != nil {
		fn.http = func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			defer timed(time.Now())
			return h(ctx, req)
		}
	}
	if h := fn.stream; h != nil {
		fn.stream = func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			defer timed(time.Now())
			return h(ctx, ev)
		}
	}
	if h := fn.queue; h != nil {
		fn.queue = func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			defer timed(time.Now())
			return h(ctx, ev)
		}
	}
	if h := fn.schedule; h != nil {
		fn.schedule = func(ctx context.Context) error {
			defer timed(time.Now())
			return h(ctx)
		}
	}
	return fn
}

func (u *usage) report() usageReport {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := usageReport{HTTPAPIRequests: u.httpAPI, IDWiseRequests: u.idwise, Functions: map[string]*functionUsage{}}
	for id, f := range u.functions {
		c := *f
		c.Requests = make(map[string]int, len(f.Requests))
		for k, v := range f.Requests {
			c.Requests[k] = v
		}
		c.Units = make(map[string]float64, len(f.Units))
		for k, v := range f.Units {
			c.Units[k] = v
		}
		r.Functions[id] = &c
	}
	return r
}

// ServeHTTP answers GET /_local/usage with the counters since start.
func (u *usage) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(u.report())
}
