package dynamo

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// KindCheck is a check beside a profile's status (kyc.Check): PROFILE#<referenceNo> /
// CHECK#<name>, in the profile's partition, so erasure removes it with the profile and the
// status write never touches it.
const KindCheck = "check"

// CheckSKPrefix starts the sort key of every check item.
const CheckSKPrefix = "CHECK#"

var _ processor.Checks = (*Store)(nil)

// CheckKey is the primary key of a profile's check.
func CheckKey(referenceNo, name string) map[string]types.AttributeValue {
	return key(ProfilePK(referenceNo), CheckSKPrefix+name)
}

type checkItem struct {
	ReferenceNo string `dynamodbav:"referenceNo"`
	Name        string `dynamodbav:"check"`
	Decision    string `dynamodbav:"decision"`
	SessionID   string `dynamodbav:"sessionId"`
	DecidedAt   string `dynamodbav:"decidedAt"`
	Version     int64  `dynamodbav:"version"`
}

// PutCheck implements processor.Checks: one conditional put, refused (ErrConflict) when
// the stored check is as new or newer.
func (s *Store) PutCheck(ctx context.Context, c kyc.Check) error {
	item, err := attributevalue.MarshalMap(checkItem{ReferenceNo: c.ReferenceNo, Name: c.Name, Decision: c.Decision,
		SessionID: c.SessionID, DecidedAt: c.DecidedAt.UTC().Format(time.RFC3339Nano), Version: c.Version})
	if err != nil {
		return fmt.Errorf("encode check: %w", err)
	}
	for k, v := range CheckKey(c.ReferenceNo, c.Name) {
		item[k] = v
	}
	item[AttrKind] = str(KindCheck)
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #v < :v"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#v": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(c.Version)},
	})
	return conflictOr(err, "put check")
}

// Checks reads the checks of a profile (a query of its partition's CHECK# items), by name.
func (s *Store) Checks(ctx context.Context, referenceNo string) ([]kyc.Check, error) {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :check)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(ProfilePK(referenceNo)), ":check": str(CheckSKPrefix)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("query checks: %w", err)
	}
	var checks []kyc.Check
	for _, item := range out.Items {
		var it checkItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, fmt.Errorf("decode check: %w", err)
		}
		at, _ := time.Parse(time.RFC3339Nano, it.DecidedAt)
		checks = append(checks, kyc.Check{ReferenceNo: it.ReferenceNo, Name: it.Name, Decision: it.Decision,
			SessionID: it.SessionID, DecidedAt: at, Version: it.Version})
	}
	sort.Slice(checks, func(i, j int) bool { return checks[i].Name < checks[j].Name })
	return checks, nil
}
