package streams

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/smithy-go"
)

// getRecordsLimit is the most records one GetRecords call returns (the API's maximum).
const getRecordsLimit = 1000

// describeShards lists all shards of the stream, following DescribeStream's pages.
func (p *Poller) describeShards(ctx context.Context, arn string) ([]types.Shard, error) {
	var shards []types.Shard
	var start *string
	for {
		out, err := p.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn), ExclusiveStartShardId: start})
		if err != nil {
			return nil, err
		}
		if out.StreamDescription == nil {
			return shards, nil
		}
		shards = append(shards, out.StreamDescription.Shards...)
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return shards, nil
		}
	}
}

// shardReader reads one shard to its end and hands the matching records to the lanes
// that invoke the handler.
type shardReader struct {
	p       *Poller
	arn     string
	id      string
	hashKey string                  // the table's partition key attribute
	pos     types.ShardIteratorType // where to start when nothing has been read yet

	positioned bool
	iter       *string // nil once positioned: the shard is closed and read to its end
	lastSeq    string  // the sequence number of the last record read
}

// position gets a shard iterator just after the last record read, or at r.pos before the
// first. It returns false when ctx is done or the shard no longer exists.
func (r *shardReader) position(ctx context.Context) bool {
	var b backoff
	for {
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(r.arn), ShardId: aws.String(r.id), ShardIteratorType: r.pos}
		if r.lastSeq != "" {
			in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
			in.SequenceNumber = aws.String(r.lastSeq)
		}
		out, err := r.p.streams.GetShardIterator(ctx, in)
		if err == nil {
			r.iter, r.positioned = out.ShardIterator, true
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		var notFound *types.ResourceNotFoundException
		if errors.As(err, &notFound) {
			r.p.log.WarnContext(ctx, "streams: shard is gone", "shard", r.id, "err", err)
			return false
		}
		var trimmed *types.TrimmedDataAccessException
		if errors.As(err, &trimmed) && r.lastSeq != "" {
			// The records after the last one read expired from the stream: go on with
			// the oldest left.
			r.p.log.WarnContext(ctx, "streams: records trimmed from the stream", "shard", r.id, "after", r.lastSeq)
			r.lastSeq, r.pos = "", types.ShardIteratorTypeTrimHorizon
			continue
		}
		r.p.log.WarnContext(ctx, "streams: get shard iterator", "shard", r.id, "err", err)
		if !b.wait(ctx) {
			return false
		}
	}
}

// run reads the shard until it is closed and read to its end (then waits for the lanes to
// deliver what they hold) or until ctx is done.
func (r *shardReader) run(ctx context.Context) {
	p := r.p
	lanes := make([]*lane, p.m.Source.ParallelizationFactor)
	var wg sync.WaitGroup
	for i := range lanes {
		lanes[i] = &lane{p: p, shardID: r.id, streamARN: r.arn, in: make(chan []record, 1)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lanes[i].run(ctx)
		}()
	}
	defer func() {
		for _, l := range lanes {
			close(l.in)
		}
		wg.Wait()
	}()

	if !r.positioned && !r.position(ctx) {
		return
	}
	var b backoff
	for r.iter != nil {
		out, err := p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: r.iter, Limit: aws.Int32(getRecordsLimit)})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.WarnContext(ctx, "streams: get records", "shard", r.id, "err", err)
			if !b.wait(ctx) {
				return
			}
			if needsNewIterator(err) && !r.position(ctx) {
				return
			}
			continue
		}
		b.reset()
		readAt := p.now()
		perLane := make([][]record, len(lanes))
		for _, sr := range out.Records {
			if sr.Dynamodb != nil {
				r.lastSeq = aws.ToString(sr.Dynamodb.SequenceNumber)
			}
			rec, ok := r.convert(ctx, sr, readAt)
			if !ok {
				continue // filtered out: checkpointed, never delivered
			}
			i := 0
			if len(lanes) > 1 {
				h := fnv.New32a()
				h.Write(rec.key)
				i = int(h.Sum32() % uint32(len(lanes)))
			}
			perLane[i] = append(perLane[i], rec)
		}
		for i, recs := range perLane {
			if len(recs) == 0 {
				continue
			}
			select {
			case lanes[i].in <- recs:
			case <-ctx.Done():
				return
			}
		}
		r.iter = out.NextShardIterator
		if len(out.Records) == 0 && r.iter != nil && !sleep(ctx, p.m.PollInterval) {
			return
		}
	}
}

// needsNewIterator reports whether a GetRecords error is about the iterator itself
// (expired, trimmed, unknown), so that reading goes on with a fresh one.
func needsNewIterator(err error) bool {
	var expired *types.ExpiredIteratorException
	var trimmed *types.TrimmedDataAccessException
	var notFound *types.ResourceNotFoundException
	var api smithy.APIError
	return errors.As(err, &expired) || errors.As(err, &trimmed) || errors.As(err, &notFound) ||
		(errors.As(err, &api) && api.ErrorCode() == "ValidationException")
}

// convert returns the record as Lambda delivers it, and whether it passes the filters.
func (r *shardReader) convert(ctx context.Context, sr types.Record, readAt time.Time) (record, bool) {
	p := r.p
	raw, err := lambdaJSON(sr, r.arn, p.m.Region)
	if err != nil {
		p.log.ErrorContext(ctx, "streams: skipping a record that cannot be converted", "shard", r.id, "err", err)
		return record{}, false
	}
	if len(p.filters) > 0 {
		doc, err := decodeJSON(raw)
		if err != nil {
			p.log.ErrorContext(ctx, "streams: skipping a record that cannot be decoded", "shard", r.id, "err", err)
			return record{}, false
		}
		if !p.filters.match(doc) {
			return record{}, false
		}
	}
	d := sr.Dynamodb
	rec := record{raw: raw, seq: aws.ToString(d.SequenceNumber), created: readAt}
	if t := d.ApproximateCreationDateTime; t != nil {
		rec.arrival = *t
		if t.Add(creationSlack).Before(readAt) {
			rec.created = t.Add(creationSlack)
		}
	}
	if v, ok := d.Keys[r.hashKey]; ok {
		if j, err := attributeJSON(v); err == nil {
			rec.key, _ = json.Marshal(j)
		}
	}
	return rec, true
}

// backoff is the delay between retries of a failing API call: 100 ms doubling to 5 s.
type backoff struct{ d time.Duration }

func (b *backoff) wait(ctx context.Context) bool {
	switch {
	case b.d == 0:
		b.d = 100 * time.Millisecond
	case b.d < 5*time.Second:
		b.d = min(2*b.d, 5*time.Second)
	}
	return sleep(ctx, b.d)
}

func (b *backoff) reset() { b.d = 0 }

// sleep waits for d; it returns false when ctx is done first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
