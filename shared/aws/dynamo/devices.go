package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/core/devices"
)

// Item kinds of the device registry.
const (
	KindDevice      = "device"
	KindDeviceToken = "deviceToken"
)

var _ devices.Store = (*Store)(nil)

// DeviceKey is the primary key of a device: in the profile's partition.
func DeviceKey(referenceNo, deviceID string) map[string]types.AttributeValue {
	return key(ProfilePK(referenceNo), "DEVICE#"+deviceID)
}

// TokenKey is the primary key of a token index entry: who holds a device token now.
func TokenKey(p devices.Platform, tokenHash string) map[string]types.AttributeValue {
	return key("TOKEN#"+string(p)+"#"+tokenHash, "TOKEN")
}

type deviceItem struct {
	Kind         string `dynamodbav:"kind"`
	ReferenceNo  string `dynamodbav:"referenceNo"`
	DeviceID     string `dynamodbav:"deviceId"`
	Platform     string `dynamodbav:"platform"`
	EndpointARN  string `dynamodbav:"endpointArn"`
	Locale       string `dynamodbav:"locale,omitempty"`
	TokenHash    string `dynamodbav:"tokenHash"`
	CreatedAt    string `dynamodbav:"createdAt"`
	RegisteredAt string `dynamodbav:"registeredAt"`
}

type tokenItem struct {
	Kind        string `dynamodbav:"kind"`
	ReferenceNo string `dynamodbav:"referenceNo"`
	DeviceID    string `dynamodbav:"deviceId"`
	EndpointARN string `dynamodbav:"endpointArn"`
}

func (it deviceItem) device() devices.Device {
	created, _ := time.Parse(time.RFC3339Nano, it.CreatedAt)
	registered, err := time.Parse(time.RFC3339Nano, it.RegisteredAt)
	if err != nil {
		registered = created
	}
	locale := it.Locale
	if locale == "" {
		locale = devices.DefaultLocale
	}
	return devices.Device{ReferenceNo: it.ReferenceNo, DeviceID: it.DeviceID, Platform: devices.Platform(it.Platform),
		EndpointARN: it.EndpointARN, Locale: locale, TokenHash: it.TokenHash, CreatedAt: created, RegisteredAt: registered}
}

// Devices lists the devices of a profile (one Query of its partition).
func (s *Store) Devices(ctx context.Context, referenceNo string) ([]devices.Device, error) {
	var out []devices.Device
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :dev)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(ProfilePK(referenceNo)), ":dev": str("DEVICE#")},
		ConsistentRead:            aws.Bool(true),
	}
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query devices: %w", err)
		}
		for _, item := range page.Items {
			var it deviceItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("decode device: %w", err)
			}
			out = append(out, it.device())
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// TokenOwner reads the token index entry of a token.
func (s *Store) TokenOwner(ctx context.Context, p devices.Platform, tokenHash string) (devices.Owner, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: TokenKey(p, tokenHash), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return devices.Owner{}, false, fmt.Errorf("get token owner: %w", err)
	}
	if out.Item == nil {
		return devices.Owner{}, false, nil
	}
	var it tokenItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return devices.Owner{}, false, fmt.Errorf("decode token owner: %w", err)
	}
	return devices.Owner{ReferenceNo: it.ReferenceNo, DeviceID: it.DeviceID, EndpointARN: it.EndpointARN}, true, nil
}

// SaveDevice writes d and its token index entry in one transaction, conditional on the
// entry being prev (absent when prev is nil). The device item of a token that moved from
// another profile and the evicted devices (each conditional on its registeredAt, so a
// device registered again meanwhile is not dropped) are deleted in the same transaction;
// the evicted devices' token index entries right after.
func (s *Store) SaveDevice(ctx context.Context, d devices.Device, prev *devices.Owner, evict []devices.Device) error {
	dev, err := attributevalue.MarshalMap(deviceItem{Kind: KindDevice, ReferenceNo: d.ReferenceNo, DeviceID: d.DeviceID,
		Platform: string(d.Platform), EndpointARN: d.EndpointARN, Locale: d.Locale, TokenHash: d.TokenHash,
		CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339Nano), RegisteredAt: d.RegisteredAt.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return fmt.Errorf("encode device: %w", err)
	}
	tok, err := attributevalue.MarshalMap(tokenItem{Kind: KindDeviceToken, ReferenceNo: d.ReferenceNo, DeviceID: d.DeviceID, EndpointARN: d.EndpointARN})
	if err != nil {
		return fmt.Errorf("encode token owner: %w", err)
	}
	for k, v := range DeviceKey(d.ReferenceNo, d.DeviceID) {
		dev[k] = v
	}
	for k, v := range TokenKey(d.Platform, d.TokenHash) {
		tok[k] = v
	}
	tokPut := &types.Put{TableName: aws.String(s.table), Item: tok}
	if prev == nil {
		tokPut.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		tokPut.ExpressionAttributeNames = map[string]string{"#pk": AttrPK}
	} else {
		tokPut.ConditionExpression = aws.String("referenceNo = :ref AND deviceId = :id AND endpointArn = :arn")
		tokPut.ExpressionAttributeValues = map[string]types.AttributeValue{
			":ref": str(prev.ReferenceNo), ":id": str(prev.DeviceID), ":arn": str(prev.EndpointARN)}
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: dev}},
		{Put: tokPut},
	}
	if prev != nil && prev.ReferenceNo != d.ReferenceNo {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table),
			Key: DeviceKey(prev.ReferenceNo, prev.DeviceID)}})
	}
	for _, e := range evict {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName:                 aws.String(s.table),
			Key:                       DeviceKey(e.ReferenceNo, e.DeviceID),
			ConditionExpression:       aws.String("registeredAt = :at"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(e.RegisteredAt.UTC().Format(time.RFC3339Nano))},
		}})
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err = transactConflictOr(err); err != nil {
		return err
	}
	for _, e := range evict {
		if err := s.deleteTokenEntry(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// RemoveDevice deletes a device and, if it still points to that device, its token index
// entry. It returns the deleted device; found is false when there was none.
func (s *Store) RemoveDevice(ctx context.Context, referenceNo, deviceID string) (devices.Device, bool, error) {
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table),
		Key: DeviceKey(referenceNo, deviceID), ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return devices.Device{}, false, fmt.Errorf("delete device: %w", err)
	}
	if len(out.Attributes) == 0 {
		return devices.Device{}, false, nil
	}
	var it deviceItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return devices.Device{}, false, fmt.Errorf("decode device: %w", err)
	}
	d := it.device()
	if err := s.deleteTokenEntry(ctx, d); err != nil {
		return d, true, err
	}
	return d, true, nil
}

// DeleteDevice deletes a device and its token index entry; a missing device is not an
// error. The caller deletes the SNS endpoint if it wants to.
func (s *Store) DeleteDevice(ctx context.Context, referenceNo, deviceID string) error {
	_, _, err := s.RemoveDevice(ctx, referenceNo, deviceID)
	return err
}

// deleteTokenEntry deletes the token index entry of d unless the token has moved on.
func (s *Store) deleteTokenEntry(ctx context.Context, d devices.Device) error {
	if d.TokenHash == "" {
		return nil
	}
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       TokenKey(d.Platform, d.TokenHash),
		ConditionExpression:       aws.String("referenceNo = :ref AND deviceId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":ref": str(d.ReferenceNo), ":id": str(d.DeviceID)},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("delete token owner: %w", err)
	}
	return nil
}

// transactConflictOr maps a transaction cancelled by a condition or a concurrent
// transaction to devices.ErrConflict.
func transactConflictOr(err error) error {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if c := aws.ToString(r.Code); c == "ConditionalCheckFailed" || c == "TransactionConflict" {
				return devices.ErrConflict
			}
		}
	}
	var tcf *types.TransactionConflictException
	if errors.As(err, &tcf) {
		return devices.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("transact device: %w", err)
	}
	return nil
}
