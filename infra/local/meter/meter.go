// Package meter counts what the product's functions consume when they run locally (make
// run): invocations and billed milliseconds, AWS requests, DynamoDB capacity units as
// DynamoDB reports them, HTTP API and IDWise API requests. The runner serves it at
// GET /_local/usage; make bench computes the cost per million webhooks from it.
package meter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Meter meters, per function of the template: invocations and their billed duration
// (rounded up to the millisecond, as Lambda bills), AWS requests by service and
// operation, and the DynamoDB capacity units they consumed as DynamoDB reports them
// (ReturnConsumedCapacity INDEXES, so index writes are included). Also the HTTP API
// requests and the IDWise API requests. Memory only, counters since start.
type Meter struct {
	mu           sync.Mutex
	functions    map[string]*Function
	httpAPI      int
	idwise       int
	unattributed int64 // log bytes written outside any invocation (start-up)
}

// Function is what one function consumed.
type Function struct {
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
	// LogBytes is what the function wrote to its log during invocations, as CloudWatch
	// Logs would ingest it: its log records encoded as JSON (the template's LogFormat) and
	// its EMF metric lines. Lambda's own platform lines are not included.
	LogBytes int64 `json:"logBytes"`
}

// Report is what the functions consumed (GET /_local/usage's answer).
type Report struct {
	HTTPAPIRequests int                  `json:"httpApiRequests"`
	IDWiseRequests  int                  `json:"idwiseRequests"`
	Functions       map[string]*Function `json:"functions"`
	// UnattributedLogBytes were logged outside any invocation (start-up).
	UnattributedLogBytes int64 `json:"unattributedLogBytes"`
}

// New returns a Meter with nothing counted.
func New() *Meter { return &Meter{functions: map[string]*Function{}} }

func (u *Meter) fn(id string) *Function {
	f, ok := u.functions[id]
	if !ok {
		f = &Function{Requests: map[string]int{}, Units: map[string]float64{}}
		u.functions[id] = f
	}
	return f
}

// APIOption is an aws.Config APIOptions entry for the clients of function id: it asks
// DynamoDB for the consumed capacity of every request and adds it up.
func (u *Meter) APIOption(id string) func(*middleware.Stack) error {
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

// Invoked records one invocation of function id that took d.
func (u *Meter) Invoked(id string, d time.Duration) {
	billed := int64(math.Ceil(float64(d) / float64(time.Millisecond)))
	u.mu.Lock()
	f := u.fn(id)
	f.Invocations++
	f.BilledMs += billed
	u.mu.Unlock()
}

// HTTPRequest counts one HTTP API request.
func (u *Meter) HTTPRequest() {
	u.mu.Lock()
	u.httpAPI++
	u.mu.Unlock()
}

// IDWiseRequest counts one IDWise API request.
func (u *Meter) IDWiseRequest() {
	u.mu.Lock()
	u.idwise++
	u.mu.Unlock()
}

// Report returns a copy of the counters.
func (u *Meter) Report() Report {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := Report{HTTPAPIRequests: u.httpAPI, IDWiseRequests: u.idwise, Functions: map[string]*Function{},
		UnattributedLogBytes: u.unattributed}
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

// ServeHTTP answers with the Report, as JSON.
func (u *Meter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(u.Report())
}

// Minus is what f consumed since b was read.
func (f Function) Minus(b Function) Function {
	d := Function{Invocations: f.Invocations - b.Invocations, BilledMs: f.BilledMs - b.BilledMs,
		ReadUnits: f.ReadUnits - b.ReadUnits, WriteUnits: f.WriteUnits - b.WriteUnits,
		FailedConditionalWrites: f.FailedConditionalWrites - b.FailedConditionalWrites, LogBytes: f.LogBytes - b.LogBytes,
		Requests: map[string]int{}, Units: map[string]float64{}}
	for k, v := range f.Requests {
		if n := v - b.Requests[k]; n != 0 {
			d.Requests[k] = n
		}
	}
	for k, v := range f.Units {
		if n := v - b.Units[k]; n != 0 {
			d.Units[k] = n
		}
	}
	return d
}

// Minus is what was consumed since b was read.
func (r Report) Minus(b Report) Report {
	d := Report{HTTPAPIRequests: r.HTTPAPIRequests - b.HTTPAPIRequests, IDWiseRequests: r.IDWiseRequests - b.IDWiseRequests,
		Functions: map[string]*Function{}, UnattributedLogBytes: r.UnattributedLogBytes - b.UnattributedLogBytes}
	for id, f := range r.Functions {
		var before Function
		if bf := b.Functions[id]; bf != nil {
			before = *bf
		}
		m := f.Minus(before)
		d.Functions[id] = &m
	}
	return d
}

type functionKey struct{}

// WithFunction marks ctx as an invocation of function id: what is logged with it counts
// as that function's.
func WithFunction(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, functionKey{}, id)
}

func (u *Meter) logged(id string, n int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if id == "" {
		u.unattributed += n
		return
	}
	u.fn(id).LogBytes += n
}

// MetricsWriter is the EMF output of function id: it counts the bytes and drops them.
func (u *Meter) MetricsWriter(id string) io.Writer { return countingWriter{m: u, id: id} }

type countingWriter struct {
	m  *Meter
	id string
}

func (w countingWriter) Write(p []byte) (int, error) {
	w.m.logged(w.id, int64(len(p)))
	return len(p), nil
}

// LogHandler passes every record on to next and counts the bytes of its JSON encoding
// (what the functions' logger writes in Lambda) for the function whose invocation's
// context it is logged with (WithFunction).
func (u *Meter) LogHandler(next slog.Handler) slog.Handler { return &logTee{m: u, next: next} }

type logTee struct {
	m    *Meter
	next slog.Handler
	with []func(slog.Handler) slog.Handler // WithAttrs and WithGroup calls, in order
}

func (h *logTee) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *logTee) Handle(ctx context.Context, r slog.Record) error {
	var n byteCount
	var j slog.Handler = slog.NewJSONHandler(&n, nil)
	for _, w := range h.with {
		j = w(j)
	}
	_ = j.Handle(ctx, r)
	id, _ := ctx.Value(functionKey{}).(string)
	h.m.logged(id, int64(n))
	return h.next.Handle(ctx, r)
}

func (h *logTee) WithAttrs(as []slog.Attr) slog.Handler {
	return &logTee{m: h.m, next: h.next.WithAttrs(as),
		with: append(slices.Clip(h.with), func(j slog.Handler) slog.Handler { return j.WithAttrs(as) })}
}

func (h *logTee) WithGroup(g string) slog.Handler {
	return &logTee{m: h.m, next: h.next.WithGroup(g),
		with: append(slices.Clip(h.with), func(j slog.Handler) slog.Handler { return j.WithGroup(g) })}
}

type byteCount int64

func (n *byteCount) Write(p []byte) (int, error) {
	*n += byteCount(len(p))
	return len(p), nil
}

// Path is where the local runner serves the Report (never deployed).
const Path = "/_local/usage"

// Fetch reads the Report a runner at base serves.
func Fetch(ctx context.Context, c *http.Client, base string) (Report, error) {
	var r Report
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+Path, nil)
	if err != nil {
		return r, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return r, fmt.Errorf("GET %s: %w", Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("GET %s: %d", Path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("decode %s: %w", Path, err)
	}
	return r, nil
}
