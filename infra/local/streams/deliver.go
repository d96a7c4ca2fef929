package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/infra/local/invoke"
)

// maxPayload is Lambda's limit on a synchronous invocation's payload: a batch stops
// growing before its records would exceed it.
const maxPayload = 6 << 20

// lane batches the records of one shard (or, with ParallelizationFactor above 1, of the
// partition keys hashed to it) and delivers the batches in order.
type lane struct {
	p         *Poller
	shardID   string
	streamARN string
	in        chan []record // closed when the shard is read to its end
}

func (l *lane) run(ctx context.Context) {
	src := l.p.m.Source
	window := time.Duration(src.MaximumBatchingWindowInSeconds) * time.Second
	var buf []record
	var windowStart time.Time
	closed := false
	add := func(recs []record, ok bool) {
		if !ok {
			closed = true
			return
		}
		if len(buf) == 0 {
			windowStart = time.Now()
		}
		buf = append(buf, recs...)
	}
	for {
	drain:
		for !closed {
			select {
			case recs, ok := <-l.in:
				add(recs, ok)
			default:
				break drain
			}
		}
		if len(buf) > 0 {
			n := batchLen(buf, src.BatchSize)
			if window == 0 || closed || n < len(buf) || len(buf) >= src.BatchSize || time.Since(windowStart) >= window {
				l.deliver(ctx, buf[:n])
				if ctx.Err() != nil {
					return
				}
				buf = append([]record(nil), buf[n:]...)
				windowStart = time.Now() // the next window begins when the invocation ends
				continue
			}
		}
		if closed {
			return
		}
		var windowEnd <-chan time.Time
		var timer *time.Timer
		if len(buf) > 0 {
			timer = time.NewTimer(window - time.Since(windowStart))
			windowEnd = timer.C
		}
		select {
		case <-ctx.Done():
		case recs, ok := <-l.in:
			add(recs, ok)
		case <-windowEnd:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// batchLen returns how many of the first records make one batch: at most size, and no
// more than fit in an invocation payload (at least one).
func batchLen(recs []record, size int) int {
	total := len(`{"Records":[]}`)
	for i, r := range recs {
		if i == size {
			return i
		}
		total += len(r.raw) + 1
		if i > 0 && total > maxPayload {
			return i
		}
	}
	return len(recs)
}

// attempt is a part of a batch still to deliver.
type attempt struct {
	recs    []record
	retries int   // failed invocations that counted as retries so far
	invokes int   // invocations that included these records
	lastErr error // why the last invocation failed
}

// deliver invokes the handler with batch until every record of it is either processed or
// given up, following Lambda's rules. It returns early, without giving anything up, when
// ctx is done.
func (l *lane) deliver(ctx context.Context, batch []record) {
	p := l.p
	src := p.m.Source
	queue := []attempt{{recs: batch}}
	for len(queue) > 0 && ctx.Err() == nil {
		cur := &queue[0]
		if src.MaximumRecordAgeInSeconds > 0 {
			maxAge := time.Duration(src.MaximumRecordAgeInSeconds) * time.Second
			now := p.now()
			var fresh, old []record
			for _, r := range cur.recs {
				if now.Sub(r.created) > maxAge {
					old = append(old, r)
				} else {
					fresh = append(fresh, r)
				}
			}
			if len(old) > 0 {
				l.giveUp(ctx, old, ConditionRecordAgeExceeded, cur.invokes, cur.lastErr)
				cur.recs = fresh
			}
			if len(cur.recs) == 0 {
				queue = queue[1:]
				continue
			}
		}

		out := p.invoke(ctx, l.shardID, cur.recs, cur.retries)
		cur.invokes++
		if ctx.Err() != nil {
			return // stopped: the batch is neither done nor failed
		}
		switch out.result {
		case Succeeded:
			queue = queue[1:]
			continue
		case PartiallyFailed:
			// Checkpoint before the lowest failed record, retry from it.
			cur.recs = cur.recs[out.from:]
		case Failed:
			if src.BisectBatchOnFunctionError && len(cur.recs) > 1 {
				// Splitting does not use up a retry attempt.
				h := len(cur.recs) / 2
				left := attempt{recs: cur.recs[:h], retries: cur.retries, invokes: cur.invokes, lastErr: out.err}
				right := attempt{recs: cur.recs[h:], retries: cur.retries, invokes: cur.invokes, lastErr: out.err}
				queue = append([]attempt{left, right}, queue[1:]...)
				continue
			}
		}
		cur.retries++
		cur.lastErr = out.err
		if src.MaximumRetryAttempts >= 0 && cur.retries > src.MaximumRetryAttempts {
			l.giveUp(ctx, cur.recs, ConditionRetryAttemptsExhausted, cur.invokes, cur.lastErr)
			queue = queue[1:]
			continue
		}
		delay := p.m.PollInterval << min(cur.retries-1, 16)
		if !sleep(ctx, min(delay, p.m.MaxRetryDelay)) {
			return
		}
	}
}

// giveUp hands records to OnFailure (Lambda's on-failure destination), or logs them away.
func (l *lane) giveUp(ctx context.Context, recs []record, condition string, invokes int, lastErr error) {
	p := l.p
	f := &Failure{
		Condition:           condition,
		Err:                 lastErr,
		InvokeCount:         invokes,
		FunctionARN:         p.m.FunctionARN,
		At:                  p.now(),
		ShardID:             l.shardID,
		StreamARN:           l.streamARN,
		StartSequenceNumber: recs[0].seq,
		EndSequenceNumber:   recs[len(recs)-1].seq,
		FirstArrival:        recs[0].arrival,
		LastArrival:         recs[len(recs)-1].arrival,
		BatchSize:           len(recs),
	}
	if p.m.OnFailure == nil {
		p.log.WarnContext(ctx, "streams: discarding records (no on-failure destination)", "reason", f)
		return
	}
	ev, err := decodeEvent(recs)
	if err != nil {
		p.log.ErrorContext(ctx, "streams: discarding records", "reason", f, "err", err)
		return
	}
	p.log.InfoContext(ctx, "streams: records to the on-failure destination", "reason", f)
	p.m.OnFailure(ctx, ev.Records, f)
}

type outcome struct {
	result Result
	from   int // PartiallyFailed: index of the lowest failed record
	err    error
}

// invoke calls the handler once with recs, as Lambda would, and classifies the result.
func (p *Poller) invoke(ctx context.Context, shardID string, recs []record, retry int) outcome {
	ev, err := decodeEvent(recs)
	if err != nil {
		// Cannot happen with records lambdaJSON built; counted as a failed invocation.
		return outcome{result: Failed, err: err}
	}
	resp, d, herr := invoke.Call(ctx, invoke.Function{ARN: p.m.FunctionARN, Timeout: p.m.Timeout}, p.m.Handler, ev)

	out := p.classify(recs, resp, herr)
	if p.m.OnInvoke != nil {
		inv := Invocation{
			ShardID:             shardID,
			Records:             len(recs),
			FirstSequenceNumber: recs[0].seq,
			LastSequenceNumber:  recs[len(recs)-1].seq,
			Retry:               retry,
			Result:              out.result,
			Err:                 out.err,
			Duration:            d,
		}
		if p.m.Source.ReportsBatchItemFailures() && herr == nil {
			for _, f := range resp.BatchItemFailures {
				inv.BatchItemFailures = append(inv.BatchItemFailures, f.ItemIdentifier)
			}
		}
		p.m.OnInvoke(inv)
	}
	return out
}

// classify applies Lambda's rules: an error fails the whole batch; without
// ReportBatchItemFailures the response is ignored; an empty list is a success; an
// identifier that is not a sequence number of the batch fails the whole batch; otherwise
// the batch is retried from the lowest failed record.
func (p *Poller) classify(recs []record, resp events.DynamoDBEventResponse, herr error) outcome {
	if herr != nil {
		return outcome{result: Failed, err: herr}
	}
	if !p.m.Source.ReportsBatchItemFailures() || len(resp.BatchItemFailures) == 0 {
		return outcome{result: Succeeded}
	}
	from := len(recs)
	for _, f := range resp.BatchItemFailures {
		i := -1
		for j, r := range recs {
			if r.seq == f.ItemIdentifier {
				i = j
				break
			}
		}
		if i < 0 {
			return outcome{result: Failed, err: fmt.Errorf("%w: %q", ErrInvalidItemFailure, f.ItemIdentifier)}
		}
		from = min(from, i)
	}
	return outcome{result: PartiallyFailed, from: from, err: fmt.Errorf("%w: %d, the first at %s", ErrBatchItemFailures, len(resp.BatchItemFailures), recs[from].seq)}
}
