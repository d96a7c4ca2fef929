package meter

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestConsumed(t *testing.T) {
	cc := func(u float64) *types.ConsumedCapacity { return &types.ConsumedCapacity{CapacityUnits: aws.Float64(u)} }
	tests := []struct {
		name        string
		out         any
		read, write float64
	}{
		{"put", &dynamodb.PutItemOutput{ConsumedCapacity: cc(2)}, 0, 2},
		{"update", &dynamodb.UpdateItemOutput{ConsumedCapacity: cc(3)}, 0, 3},
		{"transaction, per table", &dynamodb.TransactWriteItemsOutput{ConsumedCapacity: []types.ConsumedCapacity{*cc(4), *cc(2)}}, 0, 6},
		{"get", &dynamodb.GetItemOutput{ConsumedCapacity: cc(1)}, 1, 0},
		{"query", &dynamodb.QueryOutput{ConsumedCapacity: cc(0.5)}, 0.5, 0},
		{"no capacity reported", &dynamodb.PutItemOutput{}, 0, 0},
		{"not DynamoDB", "sns output", 0, 0},
	}
	for _, tt := range tests {
		r, w := consumed(tt.out)
		if r != tt.read || w != tt.write {
			t.Errorf("%s: consumed = %v read, %v write; want %v, %v", tt.name, r, w, tt.read, tt.write)
		}
	}
}

func TestFailedWrite(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		failed int
		units  float64
	}{
		{"condition failed", fmt.Errorf("put: %w", &types.ConditionalCheckFailedException{}), 1, 1},
		{"transaction of 2 cancelled", &types.TransactionCanceledException{CancellationReasons: make([]types.CancellationReason, 2)}, 1, 4},
		{"other error", fmt.Errorf("throttled"), 0, 0},
		{"no error", nil, 0, 0},
	}
	for _, tt := range tests {
		n, u := failedWrite(tt.err)
		if n != tt.failed || u != tt.units {
			t.Errorf("%s: failedWrite = %d, %v; want %d, %v", tt.name, n, u, tt.failed, tt.units)
		}
	}
}

func TestInvokedBillsWholeMilliseconds(t *testing.T) {
	m := New()
	m.Invoked("F", 1100*time.Microsecond) // billed 2 ms
	m.Invoked("F", 3*time.Millisecond)    // billed 3 ms
	before := m.Report()
	m.Invoked("F", time.Microsecond) // billed 1 ms
	m.HTTPRequest()
	got := m.Report().Minus(before)
	if f := got.Functions["F"]; f.Invocations != 1 || f.BilledMs != 1 || got.HTTPAPIRequests != 1 {
		t.Errorf("since the first report: %+v, %d HTTP requests; want 1 invocation, 1 ms, 1 request", *f, got.HTTPAPIRequests)
	}
	if f := before.Functions["F"]; f.Invocations != 2 || f.BilledMs != 5 {
		t.Errorf("first report: %+v, want 2 invocations, 5 ms", *f)
	}
}

func TestLogBytesAreCountedPerFunction(t *testing.T) {
	m := New()
	var text bytes.Buffer
	attrs := []slog.Attr{slog.String("provider", "idwise")}
	h := m.LogHandler(slog.NewTextHandler(&text, nil)).WithAttrs(attrs)
	ctx := WithFunction(context.Background(), "WebhookFunction")
	record := func(msg string) slog.Record {
		r := slog.NewRecord(time.Date(2026, 11, 23, 15, 4, 5, 123456789, time.UTC), slog.LevelInfo, msg, 0)
		r.AddAttrs(slog.String("eventId", "ev-1"))
		return r
	}
	asJSON := func(r slog.Record) int64 { // as the functions' JSON logger writes it
		var b bytes.Buffer
		_ = slog.NewJSONHandler(&b, nil).WithAttrs(attrs).Handle(ctx, r)
		return int64(b.Len())
	}

	_ = h.Handle(ctx, record("webhook accepted"))
	_ = h.Handle(context.Background(), record("starting")) // no invocation: unattributed
	_, _ = m.MetricsWriter("ProcessorFunction").Write([]byte(`{"_aws":{}}` + "\n"))

	r := m.Report()
	tests := []struct {
		name      string
		got, want int64
	}{
		{"webhook log bytes", r.Functions["WebhookFunction"].LogBytes, asJSON(record("webhook accepted"))},
		{"processor EMF bytes", r.Functions["ProcessorFunction"].LogBytes, 12},
		{"unattributed", r.UnattributedLogBytes, asJSON(record("starting"))},
	}
	for _, tt := range tests {
		if tt.got != tt.want || tt.got == 0 {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if !strings.Contains(text.String(), "provider=idwise eventId=ev-1") {
		t.Errorf("the next handler did not get the record with its attributes: %q", text.String())
	}
}
