package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kycbackend/kyc/infra/local/meter"
)

// checkUsage reads GET /_local/usage after TestRunServesTheReadmeCurl's three deliveries
// (accepted, duplicate, refused) and the processing of the first: the figures the cost
// in BENCHMARKS.md is computed from.
func checkUsage(t *testing.T, base string) {
	t.Helper()
	// The status event is on the topic before the processor's invocation returns (it
	// still marks the event): wait for the invocation to end, within a bound.
	var u meter.Report
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		u = readUsageReport(t, base)
		if p := u.Functions["ProcessorFunction"]; (p != nil && p.Invocations > 0) || time.Now().After(deadline) {
			break
		}
	}
	wh, proc := u.Functions["WebhookFunction"], u.Functions["ProcessorFunction"]
	if wh == nil || proc == nil {
		t.Fatalf("usage has no webhook or processor function: %+v", u.Functions)
	}
	tests := []struct {
		name      string
		got, want float64
		atLeast   bool
	}{
		// the journey's claim (POST /v1/journeys), the delivery, its retry, the refused one
		{"HTTP API requests", float64(u.HTTPAPIRequests), 4, false},
		{"webhook invocations", float64(wh.Invocations), 3, false},
		{"webhook PutItem requests", float64(wh.Requests["DynamoDB.PutItem"]), 2, false},
		{"webhook failed conditional writes (the duplicate)", float64(wh.FailedConditionalWrites), 1, false},
		// The cost in BENCHMARKS.md rests on these: the accepted item (1 unit) and its entry in
		// the Unprocessed index (1), nothing else; the refused duplicate (1).
		{"webhook write units", wh.WriteUnits, 3, false},
		{"webhook read units", wh.ReadUnits, 0, false},
		{"processor transactions (status and outbox)", float64(proc.Requests["DynamoDB.TransactWriteItems"]), 1, true},
		// a transactional write is billed double: the profile (2) and the outbox record with
		// its Unprocessed index entry (4), no other index
		{"processor transaction write units", proc.Units["DynamoDB.TransactWriteItems"], 6, false},
		{"processor read units", proc.ReadUnits, 1, true},
		{"processor publishes", float64(proc.Requests["SNS.Publish"]), 1, false},
		{"processor invocations", float64(proc.Invocations), 1, true},
		{"processor billed ms", float64(proc.BilledMs), 1, true},
		{"IDWise API requests", float64(u.IDWiseRequests), 1, true},
		// at least one JSON log line each (accepted, duplicate, refused; status changed)
		{"webhook log bytes", float64(wh.LogBytes), 3 * 100, true},
		{"processor log bytes (log lines and EMF)", float64(proc.LogBytes), 200, true},
	}
	for _, tt := range tests {
		if tt.atLeast && tt.got < tt.want || !tt.atLeast && tt.got != tt.want {
			t.Errorf("%s = %v, want %v%s", tt.name, tt.got, tt.want, map[bool]string{true: " or more"}[tt.atLeast])
		}
	}
}

func readUsageReport(t *testing.T, base string) meter.Report {
	t.Helper()
	u, err := meter.Fetch(context.Background(), http.DefaultClient, base)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
