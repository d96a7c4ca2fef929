package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// Items written for operators (kycctl).
const (
	// KindTombstone marks an erased profile: PROFILE#<referenceNo> / ERASED, with no
	// other attribute than the time of the erasure. It never expires.
	KindTombstone = "tombstone"
	// KindOperatorEvent is an inbox event an operator triggered (kycctl refetch). The
	// stream's filter only passes kind=event, so the tool processes it itself; it is in
	// the journey's timeline like a vendor event, and the sweeper retries it if pending.
	KindOperatorEvent = "operator"

	tombstoneSK = "ERASED"
)

var _ processor.Erasures = (*Store)(nil)

// TombstoneKey is the primary key of the tombstone of an erased profile.
func TombstoneKey(referenceNo string) map[string]types.AttributeValue {
	return key(ProfilePK(referenceNo), tombstoneSK)
}

// JourneyItemKey is the primary key of a stored journey snapshot.
func JourneyItemKey(provider, journeyID string) map[string]types.AttributeValue {
	return journeyItemKey(provider, journeyID)
}

// Erased reports whether the profile referenceNo was erased (its tombstone exists).
func (s *Store) Erased(ctx context.Context, referenceNo string) (bool, error) {
	if referenceNo == "" {
		return false, nil
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: TombstoneKey(referenceNo), ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#pk"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK}})
	if err != nil {
		return false, fmt.Errorf("get tombstone: %w", err)
	}
	return out.Item != nil, nil
}

// Forget marks an inbox event skipped with note and removes what it says about the
// person (raw body, referenceNo, decisions), keeping the bare record
// that dedups the vendor's retries. A vanished event is a no-op.
func (s *Store) Forget(ctx context.Context, e inbox.Event, note string) error {
	pk, sk := EventKey(e.Provider, e.EventID)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(pk, sk),
		ConditionExpression: aws.String("attribute_exists(#pk)"),
		UpdateExpression: aws.String("SET #state = :state, note = :note, processedAt = :now, #jk = :jk " +
			"REMOVE body, referenceNo, #attrs, #pending"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#state": "state", "#attrs": "attributes",
			"#pending": AttrPendingKey, "#jk": AttrJourneyKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":state": str(string(processor.Skipped)), ":note": str(note), ":now": str(s.now().UTC().Format(time.RFC3339Nano)),
			":jk": str(JourneyKey(e.Provider, e.JourneyID)),
		},
	})
	if err = conflictOr(err, "forget event"); errors.Is(err, processor.ErrConflict) {
		return nil
	}
	return err
}

// PutOperatorEvent records an event an operator triggered in the inbox (kind
// KindOperatorEvent, pending) if its id is new.
func (s *Inbox) PutOperatorEvent(ctx context.Context, e inbox.Event) error {
	item := eventItem(e)
	item[AttrKind] = str(KindOperatorEvent)
	return s.put(ctx, item)
}
