package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/core/push"
)

// KindPush is the kind of a push marker: one per (status event, device), the push dedup.
const KindPush = "push"

// States of a push marker.
const (
	PushClaimed  = "claimed"  // being sent, or in doubt after a crash: never sent again
	PushSent     = "sent"     // SNS accepted it (messageId)
	PushReleased = "released" // the send failed: a retry may claim it again
)

var _ push.Ledger = (*Store)(nil)

// PushKey is the primary key of the push marker of (status event, device).
func PushKey(statusEventID, deviceID string) map[string]types.AttributeValue {
	return key("PUSH#"+statusEventID, "DEVICE#"+deviceID)
}

// ClaimPush claims (status event, device) with one conditional write: it succeeds when
// there is no marker or the last attempt released it, and counts attempts. The marker
// expires with the store's retention (TTL), well after any re-delivery of the event.
func (s *Store) ClaimPush(ctx context.Context, statusEventID, deviceID string) (bool, error) {
	now := s.now().UTC()
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       PushKey(statusEventID, deviceID),
		UpdateExpression: aws.String("SET #kind = :kind, statusEventId = :event, deviceId = :device, #state = :claimed, " +
			"claimedAt = :now, #exp = :exp ADD attempts :one"),
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR #state = :released"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#kind": AttrKind, "#state": "state",
			"#exp": AttrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":kind": str(KindPush), ":event": str(statusEventID), ":device": str(deviceID),
			":claimed": str(PushClaimed), ":released": str(PushReleased),
			":now": str(now.Format(time.RFC3339Nano)), ":exp": epoch(now.Add(s.retention)), ":one": num(1),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim push marker: %w", err)
	}
	return true, nil
}

// ReleasePush marks a claimed marker released, so that the next delivery sends again.
func (s *Store) ReleasePush(ctx context.Context, statusEventID, deviceID string) error {
	return s.settlePush(ctx, statusEventID, deviceID, "SET #state = :to, releasedAt = :now", nil, PushReleased)
}

// CompletePush marks a claimed marker sent, with SNS's message id.
func (s *Store) CompletePush(ctx context.Context, statusEventID, deviceID, messageID string) error {
	return s.settlePush(ctx, statusEventID, deviceID, "SET #state = :to, sentAt = :now, messageId = :mid",
		map[string]types.AttributeValue{":mid": str(messageID)}, PushSent)
}

// settlePush moves a claimed marker to state to; a marker no longer claimed is left alone.
func (s *Store) settlePush(ctx context.Context, statusEventID, deviceID, update string, vals map[string]types.AttributeValue, to string) error {
	values := map[string]types.AttributeValue{
		":to": str(to), ":claimed": str(PushClaimed), ":now": str(s.now().UTC().Format(time.RFC3339Nano)),
	}
	for k, v := range vals {
		values[k] = v
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       PushKey(statusEventID, deviceID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#state = :claimed"),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark push %s: %w", to, err)
	}
	return nil
}
