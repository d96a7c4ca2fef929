package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// KindLimit is a per-user request counter of one fixed window: PROFILE#<referenceNo> /
// LIMIT#<action>#<window start, epoch seconds>, attribute n, expiring after the window.
// It lives in the profile's partition, so an erasure deletes it with the rest.
const KindLimit = "limit"

// LimitSKPrefix starts the sort key of every rate-limit counter.
const LimitSKPrefix = "LIMIT#"

// Allow counts one request of action by referenceNo in the current window of length
// window and reports whether it is within limit; when it is not, it also returns how long
// until the window ends. One conditional UpdateItem: concurrent requests cannot both
// take the last slot.
func (s *Store) Allow(ctx context.Context, referenceNo, action string, limit int, window time.Duration) (bool, time.Duration, error) {
	now := s.now().UTC()
	start := now.Truncate(window)
	end := start.Add(window)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(ProfilePK(referenceNo), LimitSKPrefix+action+"#"+strconv.FormatInt(start.Unix(), 10)),
		UpdateExpression:         aws.String("SET #kind = :kind, #exp = :exp ADD #n :one"),
		ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n < :limit"),
		ExpressionAttributeNames: map[string]string{"#kind": AttrKind, "#exp": AttrExpiresAt, "#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":kind": str(KindLimit), ":exp": epoch(end.Add(time.Hour)),
			":one": num(1), ":limit": num(int64(limit))},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, end.Sub(now), nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("count %s request: %w", action, err)
	}
	return true, 0, nil
}
