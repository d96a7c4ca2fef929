package streams

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// fakeShard is a shard of shardedStream; a closed one ends after its records.
type fakeShard struct {
	id, parent string
	keys       []string
	closed     bool
}

// shardedStream serves several shards, listed in the given order (children may come
// first, as DescribeStream does not promise an order). An iterator is "shard:index".
type shardedStream struct {
	mu     sync.Mutex
	shards []*fakeShard
}

func (s *shardedStream) find(id string) *fakeShard {
	for _, sh := range s.shards {
		if sh.id == id {
			return sh
		}
	}
	return nil
}

func (s *shardedStream) DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &types.StreamDescription{StreamArn: in.StreamArn}
	for _, sh := range s.shards {
		r := &types.SequenceNumberRange{StartingSequenceNumber: aws.String(sh.id + "-000")}
		if sh.closed {
			r.EndingSequenceNumber = aws.String(fmt.Sprintf("%s-%03d", sh.id, len(sh.keys)))
		}
		shard := types.Shard{ShardId: aws.String(sh.id), SequenceNumberRange: r}
		if sh.parent != "" {
			shard.ParentShardId = aws.String(sh.parent)
		}
		d.Shards = append(d.Shards, shard)
	}
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: d}, nil
}

func (s *shardedStream) GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.find(aws.ToString(in.ShardId))
	if sh == nil {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no shard")}
	}
	i := 0
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeLatest:
		i = len(sh.keys)
	case types.ShardIteratorTypeAfterSequenceNumber:
		_, n, _ := strings.Cut(aws.ToString(in.SequenceNumber), "-")
		i, _ = strconv.Atoi(n)
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprintf("%s:%d", sh.id, i))}, nil
}

func (s *shardedStream) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, n, _ := strings.Cut(aws.ToString(in.ShardIterator), ":")
	i, _ := strconv.Atoi(n)
	sh := s.find(id)
	out := &dynamodbstreams.GetRecordsOutput{}
	now := time.Now()
	for j := i; j < len(sh.keys); j++ {
		out.Records = append(out.Records, types.Record{
			EventID:   aws.String(fmt.Sprintf("%s-%d", id, j)),
			EventName: types.OperationTypeInsert,
			Dynamodb: &types.StreamRecord{
				ApproximateCreationDateTime: &now,
				Keys:                        map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: sh.keys[j]}},
				SequenceNumber:              aws.String(fmt.Sprintf("%s-%03d", id, j+1)),
				StreamViewType:              types.StreamViewTypeNewImage,
			},
		})
	}
	if !sh.closed || i < len(sh.keys) {
		out.NextShardIterator = aws.String(fmt.Sprintf("%s:%d", id, len(sh.keys)))
	}
	return out, nil
}

func TestShardLineage(t *testing.T) {
	tests := []struct {
		name     string
		position string
		shards   []*fakeShard
		want     []string
	}{
		{
			name:     "children after their parents, whatever the listing order",
			position: "TRIM_HORIZON",
			shards: []*fakeShard{
				{id: "c", parent: "b", keys: []string{"c1", "c2"}},
				{id: "b", parent: "a", keys: []string{"b1"}, closed: true},
				{id: "a", keys: []string{"a1", "a2"}, closed: true},
			},
			want: []string{"a1", "a2", "b1", "c1", "c2"},
		},
		{
			name:     "a parent trimmed away does not hold its child",
			position: "TRIM_HORIZON",
			shards:   []*fakeShard{{id: "c", parent: "gone", keys: []string{"c1"}}},
			want:     []string{"c1"},
		},
		{
			name:     "LATEST skips closed shards and the past of open ones",
			position: "LATEST",
			shards: []*fakeShard{
				{id: "a", keys: []string{"a1"}, closed: true},
				{id: "b", parent: "a", keys: []string{"b1"}},
			},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := &shardedStream{shards: tt.shards}
			var mu sync.Mutex
			var got []string
			src := fakeSource()
			src.StartingPosition = tt.position
			p, err := New(fakeTable{}, stream, Mapping{
				TableName:    "fake",
				Source:       src,
				PollInterval: 5 * time.Millisecond,
				Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, keysOf(ev.Records)...)
					return events.DynamoDBEventResponse{}, nil
				},
			})
			if err != nil {
				t.Fatalf("New: %v", err)
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
			<-p.Ready()
			// A record added to the open shard now is delivered in every case, after the rest.
			stream.mu.Lock()
			open := stream.shards[slices.IndexFunc(stream.shards, func(s *fakeShard) bool { return !s.closed })]
			open.keys = append(open.keys, "new")
			stream.mu.Unlock()
			waitFor(t, 10*time.Second, "the new record", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return slices.Contains(got, "new")
			})
			mu.Lock()
			defer mu.Unlock()
			if want := append(slices.Clone(tt.want), "new"); !slices.Equal(got, want) {
				t.Errorf("delivered %v, want %v", got, want)
			}
		})
	}
}
