package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// KindFirst is the kind of a "seen once" marker (idwise.FirstTimes): ids only, no
// personal data, expiring with the store's retention.
const KindFirst = "first"

var _ idwise.FirstTimes = (*Store)(nil)

// First reports whether (kind, id) is new, with one conditional write.
func (s *Store) First(ctx context.Context, kind, id string) (bool, error) {
	now := s.now().UTC()
	item := key("FIRST#"+kind+"#"+id, "FIRST")
	item[AttrKind] = str(KindFirst)
	item["seenAt"] = str(now.Format(time.RFC3339Nano))
	item[AttrExpiresAt] = epoch(now.Add(s.retention))
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record first %s: %w", kind, err)
	}
	return true, nil
}
