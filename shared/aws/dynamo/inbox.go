// Package dynamo is the DynamoDB adapter: the single-table layout and the stores built on it.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/core/inbox"
)

// Attribute names shared with template.yaml (TTL, stream filter, indexes). Change them
// in both places or not at all.
const (
	AttrPK           = "pk"
	AttrSK           = "sk"
	AttrKind         = "kind"
	AttrExpiresAt    = "expiresAt"  // TTL attribute (epoch seconds)
	AttrPendingKey   = "pendingKey" // Unprocessed index partition key; absent once processed
	AttrReceivedAt   = "receivedAt" // sort key of ByJourney and Unprocessed
	AttrJourneyKey   = "journeyKey" // ByJourney index partition key
	IndexByJourney   = "ByJourney"
	IndexUnprocessed = "Unprocessed"

	KindEvent      = "event"
	KindQuarantine = "quarantine"

	// PendingValue is the single partition of the sparse Unprocessed index. KYC volumes
	// stay far below one partition's write limit; shard the value if that ever changes.
	PendingValue = "PENDING"
)

// InboxAPI is the slice of the DynamoDB client the inbox needs.
type InboxAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Inbox stores inbox events and quarantined bodies, each with one conditional PutItem.
type Inbox struct {
	client InboxAPI
	table  string
}

var _ inbox.Store = (*Inbox)(nil)

// NewInbox returns an Inbox on table.
func NewInbox(client InboxAPI, table string) *Inbox { return &Inbox{client: client, table: table} }

// EventKey is the primary key of an inbox event: the dedup key.
func EventKey(provider, eventID string) (pk, sk string) {
	return "EVENT#" + provider + "#" + eventID, "EVENT"
}

// JourneyKey is the ByJourney partition value for a journey.
func JourneyKey(provider, journeyID string) string { return provider + "#" + journeyID }

// Put writes e if its event id is new. On a duplicate it returns *inbox.DuplicateError
// carrying the stored body hash, read from the same request (ReturnValuesOnConditionCheckFailure).
func (s *Inbox) Put(ctx context.Context, e inbox.Event) error {
	return s.put(ctx, eventItem(e))
}

// eventItem is the inbox item of e (kind event).
func eventItem(e inbox.Event) map[string]types.AttributeValue {
	pk, sk := EventKey(e.Provider, e.EventID)
	item := map[string]types.AttributeValue{
		AttrPK:         str(pk),
		AttrSK:         str(sk),
		AttrKind:       str(KindEvent),
		"provider":     str(e.Provider),
		"eventId":      str(e.EventID),
		"eventName":    str(e.Name),
		"journeyId":    str(e.JourneyID),
		"processable":  &types.AttributeValueMemberBOOL{Value: e.Processable},
		"bodyHash":     str(e.BodyHash),
		AttrReceivedAt: sortKeyTime(e.ReceivedAt),
		AttrExpiresAt:  epoch(e.ExpiresAt),
	}
	if len(e.Body) > 0 {
		item["body"] = &types.AttributeValueMemberB{Value: e.Body}
	}
	if e.ReferenceNo != "" {
		item["referenceNo"] = str(e.ReferenceNo)
	}
	if len(e.Attributes) > 0 {
		m := make(map[string]types.AttributeValue, len(e.Attributes))
		for k, v := range e.Attributes {
			m[k] = str(v)
		}
		item["attributes"] = &types.AttributeValueMemberM{Value: m}
	}
	if e.Processable {
		item[AttrPendingKey] = str(PendingValue)
		item["state"] = str("pending")
	} else {
		item["state"] = str("unprocessable")
	}
	return item
}

// put writes an inbox item if its key is new.
func (s *Inbox) put(ctx context.Context, item map[string]types.AttributeValue) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": AttrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		dup := &inbox.DuplicateError{}
		if v, ok := ccf.Item["bodyHash"].(*types.AttributeValueMemberS); ok {
			dup.ExistingHash = v.Value
		}
		return dup
	}
	if err != nil {
		return fmt.Errorf("put event item: %w", err)
	}
	return nil
}

// QuarantineKey is the primary key of a quarantined body.
func QuarantineKey(bodyHash string) (pk, sk string) { return "QUARANTINE#" + bodyHash, "QUARANTINE" }

// Quarantine writes q once per body hash; inbox.ErrDuplicate if it is already there.
func (s *Inbox) Quarantine(ctx context.Context, q inbox.Quarantined) error {
	pk, sk := QuarantineKey(q.BodyHash)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			AttrPK:         str(pk),
			AttrSK:         str(sk),
			AttrKind:       str(KindQuarantine),
			"provider":     str(q.Provider),
			"reason":       str(q.Reason),
			"body":         &types.AttributeValueMemberB{Value: q.Body},
			"bodyHash":     str(q.BodyHash),
			AttrReceivedAt: sortKeyTime(q.ReceivedAt),
			AttrExpiresAt:  epoch(q.ExpiresAt),
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return inbox.ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("put quarantine item: %w", err)
	}
	return nil
}

// Event reads one inbox event back (a strongly consistent read).
func (s *Inbox) Event(ctx context.Context, provider, eventID string) (inbox.Event, bool, error) {
	pk, sk := EventKey(provider, eventID)
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return inbox.Event{}, false, fmt.Errorf("get event %s: %w", eventID, err)
	}
	if out.Item == nil {
		return inbox.Event{}, false, nil
	}
	e, err := DecodeEvent(out.Item)
	return e, err == nil, err
}

// DecodeEvent turns an inbox item (from GetItem or a stream image) back into an event.
func DecodeEvent(item map[string]types.AttributeValue) (inbox.Event, error) {
	var raw struct {
		Provider    string            `dynamodbav:"provider"`
		EventID     string            `dynamodbav:"eventId"`
		Name        string            `dynamodbav:"eventName"`
		JourneyID   string            `dynamodbav:"journeyId"`
		ReferenceNo string            `dynamodbav:"referenceNo"`
		Attributes  map[string]string `dynamodbav:"attributes"`
		Processable bool              `dynamodbav:"processable"`
		Body        []byte            `dynamodbav:"body"`
		BodyHash    string            `dynamodbav:"bodyHash"`
		ReceivedAt  string            `dynamodbav:"receivedAt"`
		ExpiresAt   int64             `dynamodbav:"expiresAt"`
	}
	if err := attributevalue.UnmarshalMap(item, &raw); err != nil {
		return inbox.Event{}, fmt.Errorf("decode event item: %w", err)
	}
	received, err := time.Parse(time.RFC3339Nano, raw.ReceivedAt)
	if err != nil {
		return inbox.Event{}, fmt.Errorf("decode event item: receivedAt: %w", err)
	}
	return inbox.Event{
		Provider: raw.Provider, EventID: raw.EventID, Name: raw.Name, JourneyID: raw.JourneyID,
		ReferenceNo: raw.ReferenceNo, Attributes: raw.Attributes, Processable: raw.Processable,
		Body: raw.Body, BodyHash: raw.BodyHash, ReceivedAt: received, ExpiresAt: time.Unix(raw.ExpiresAt, 0).UTC(),
	}, nil
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// sortKeyLayout is the layout of receivedAt (the sort key of ByJourney and Unprocessed)
// and of the bounds compared with it: UTC with all nine fractional digits, so that the
// strings sort as the times do. RFC3339Nano drops trailing zeros, and then "10:00:01Z"
// sorts after "10:00:01.5Z" and "10:00:01.12Z" after "10:00:01.123Z". Items written
// before in RFC3339Nano still parse; only their order within one second can be off.
const sortKeyLayout = "2006-01-02T15:04:05.000000000Z07:00"

// sortKeyTime is t as receivedAt (or a bound of a query on it).
func sortKeyTime(t time.Time) types.AttributeValue { return str(t.UTC().Format(sortKeyLayout)) }

func epoch(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}
