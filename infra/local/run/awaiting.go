package main

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
	"github.com/kycbackend/kyc/shared/compose"
)

// awaitingClaims puts on the timeline each event that waits for its journey's claim
// (JourneyOwnership claimed, the default): without it a webhook is accepted, the batch is
// "ok", and nothing says why no status changed. Read from the table's Unprocessed index
// (AWAITING) after each processor batch; each event is shown once.
type awaitingClaims struct {
	tbl interface {
		Unprocessed(ctx context.Context, q opstore.Queue, from, to time.Time, limit int) ([]opstore.Event, error)
	}
	out  io.Writer
	mu   sync.Mutex
	seen map[string]bool
}

func newAwaitingClaims(cfg aws.Config, table string, out io.Writer) *awaitingClaims {
	return &awaitingClaims{tbl: compose.OperatorTable(cfg, table, 0), out: out, seen: map[string]bool{}}
}

// report prints the events newly waiting for a claim.
func (a *awaitingClaims) report() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	items, err := a.tbl.Unprocessed(ctx, opstore.Awaiting, time.Time{}, time.Now().Add(time.Minute), 100)
	if err != nil {
		return // the timeline is a view: the table is what counts
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, it := range items {
		id := it.Event.Provider + "#" + it.Event.EventID
		if a.seen[id] {
			continue
		}
		a.seen[id] = true
		timeline(a.out, "claim", "%s %s of journey %s/%s awaits claim: the app claims it with POST /v1/journeys (JourneyOwnership=claimed)",
			it.Event.Name, it.Event.EventID, it.Event.Provider, it.Event.JourneyID)
	}
}
