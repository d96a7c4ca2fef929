package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/app/sweeper"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

var _ sweeper.Lister = (*Store)(nil)

// StuckEvents lists inbox events still PENDING, received before cutoff (sweeper.Lister).
func (s *Store) StuckEvents(ctx context.Context, cutoff time.Time, limit int32) ([]sweeper.Pending[inbox.Event], error) {
	return pending(ctx, s, PendingValue, cutoff, limit, DecodeEvent)
}

// AwaitingClaimSince lists one page of inbox events waiting for their journey's claim
// (sweeper.Lister).
func (s *Store) AwaitingClaimSince(ctx context.Context, cutoff time.Time, limit int32, cursor string) ([]sweeper.Pending[inbox.Event], string, error) {
	items, next, err := s.PendingPage(ctx, AwaitingValue, cutoff, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	return decodeAll(items, DecodeEvent), next, nil
}

// UnsentStatusEvents lists status events left in the outbox (sweeper.Lister).
func (s *Store) UnsentStatusEvents(ctx context.Context, cutoff time.Time, limit int32) ([]sweeper.Pending[kyc.StatusEvent], error) {
	return pending(ctx, s, OutboxValue, cutoff, limit, DecodeOutbox)
}

func pending[T any](ctx context.Context, s *Store, partition string, cutoff time.Time, limit int32,
	decode func(map[string]types.AttributeValue) (T, error)) ([]sweeper.Pending[T], error) {
	items, err := s.Pending(ctx, partition, cutoff, limit)
	if err != nil {
		return nil, err
	}
	return decodeAll(items, decode), nil
}

func decodeAll[T any](items []map[string]types.AttributeValue, decode func(map[string]types.AttributeValue) (T, error)) []sweeper.Pending[T] {
	out := make([]sweeper.Pending[T], 0, len(items))
	for _, item := range items {
		v, err := decode(item)
		out = append(out, sweeper.Pending[T]{Value: v, Err: err})
	}
	return out
}
