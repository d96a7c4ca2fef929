package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/core/devices/devicestest"
	"github.com/kycbackend/kyc/shared/core/processor/processortest"
	"github.com/kycbackend/kyc/shared/core/push"
	"github.com/kycbackend/kyc/shared/core/push/pushtest"
)

// TestProcessingContract runs the processor's store suite on DynamoDB Local: the same
// suite proves processortest.MemStore.
func TestProcessingContract(t *testing.T) {
	processortest.RunStoreContract(t, func(t *testing.T) processortest.Harness {
		client, table := dynamotest.NewTable(t)
		return processortest.Harness{
			Stores: dynamo.NewStore(client, table, time.Hour),
			Read:   tableReader{client: client, table: table},
			Inbox:  dynamo.NewInbox(client, table),
			Erase:  eraser(client, table),
		}
	})
}

// TestDevicesContract runs the device store suite on DynamoDB Local: the same suite
// proves devicestest.MemStore.
func TestDevicesContract(t *testing.T) {
	devicestest.RunStoreContract(t, func(t *testing.T) devicestest.Harness {
		client, table := dynamotest.NewTable(t)
		return devicestest.Harness{Store: dynamo.NewStore(client, table, time.Hour), Erase: eraser(client, table)}
	})
}

// TestPushLedgerContract runs the push ledger suite on DynamoDB Local: the same suite
// proves pushtest.MemLedger.
func TestPushLedgerContract(t *testing.T) {
	pushtest.RunLedgerContract(t, func(t *testing.T) (push.Ledger, pushtest.MarkerReader) {
		client, table := dynamotest.NewTable(t)
		return dynamo.NewStore(client, table, time.Hour), tableReader{client: client, table: table}
	})
}

// eraser leaves a profile's tombstone, as kycctl erase does.
func eraser(client *dynamodb.Client, table string) func(ctx context.Context, ref string) error {
	return func(ctx context.Context, ref string) error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: dynamo.TombstoneKey(ref)})
		return err
	}
}

// tableReader reads the table's items back for the contract suites.
type tableReader struct {
	client *dynamodb.Client
	table  string
}

func (r tableReader) Outbox(ctx context.Context, referenceNo string) ([]processortest.OutboxRecord, error) {
	out, err := r.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(r.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :outbox)"),
		ExpressionAttributeNames: map[string]string{"#pk": dynamo.AttrPK, "#sk": dynamo.AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.ProfileKey(referenceNo)[dynamo.AttrPK],
			":outbox": &types.AttributeValueMemberS{Value: dynamo.OutboxSKPrefix}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	recs := []processortest.OutboxRecord{}
	for _, it := range out.Items {
		ev, err := dynamo.DecodeOutbox(it)
		if err != nil {
			return nil, err
		}
		_, sent := it["sentAt"]
		recs = append(recs, processortest.OutboxRecord{Event: ev, Sent: sent})
	}
	return recs, nil
}

func (r tableReader) Event(ctx context.Context, provider, eventID string) (processortest.EventRecord, bool, error) {
	pk, sk := dynamo.EventKey(provider, eventID)
	out, err := r.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{dynamo.AttrPK: &types.AttributeValueMemberS{Value: pk}, dynamo.AttrSK: &types.AttributeValueMemberS{Value: sk}}})
	if err != nil || out.Item == nil {
		return processortest.EventRecord{}, false, err
	}
	e, err := dynamo.DecodeEvent(out.Item)
	if err != nil {
		return processortest.EventRecord{}, false, err
	}
	return processortest.EventRecord{Event: e, State: attrS(out.Item, "state"), Note: attrS(out.Item, "note")}, true, nil
}

func (r tableReader) Marker(ctx context.Context, statusEventID, deviceID string) (string, bool, error) {
	out, err := r.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.table), ConsistentRead: aws.Bool(true),
		Key: dynamo.PushKey(statusEventID, deviceID)})
	if err != nil || out.Item == nil {
		return "", false, err
	}
	return attrS(out.Item, "state"), true, nil
}

func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
