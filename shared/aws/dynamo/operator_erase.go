package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
)

// The erasure's queries (ops.Erase): what a profile's items are, by key and kind.

// Tombstone writes the erased profile's tombstone (at) unless there is one, and returns
// the tombstone's time.
func (o *Operator) Tombstone(ctx context.Context, referenceNo string, at time.Time) (time.Time, error) {
	item := TombstoneKey(referenceNo)
	item[AttrKind] = str(KindTombstone)
	item["erasedAt"] = str(at.UTC().Format(time.RFC3339Nano))
	_, err := o.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(o.table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return parseTime(attrString(ccf.Item, "erasedAt")), nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("write tombstone: %w", err)
	}
	return at.UTC(), nil
}

// ProfileItems lists every item of the profile's partition (strongly consistent): the
// profile (naming its journey), its status events (naming theirs), its devices, rate
// limits and tombstone (kind opstore.KindTombstone).
func (o *Operator) ProfileItems(ctx context.Context, referenceNo string) ([]opstore.Item, error) {
	items, err := o.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": ProfileKey(referenceNo)[AttrPK]},
		ConsistentRead:            aws.Bool(true),
	}, 0)
	if err != nil {
		return nil, fmt.Errorf("query profile partition: %w", err)
	}
	out := make([]opstore.Item, 0, len(items))
	for _, it := range items {
		k := itemKey(it)
		if attrString(it, AttrKind) == KindTombstone {
			k.Kind = opstore.KindTombstone
		}
		item := opstore.Item{Key: k}
		switch k.Kind {
		case opstore.KindProfile:
			item.Provider, item.JourneyID = attrString(it, "provider"), attrString(it, "journeyId")
		case opstore.KindStatusEvents:
			item.StatusEventID = strings.TrimPrefix(k.SK, OutboxSKPrefix)
			if ev, err := DecodeOutbox(it); err == nil {
				item.Provider, item.JourneyID = ev.Provider, ev.JourneyID
			}
		}
		out = append(out, item)
	}
	return out, nil
}

// NamingItems returns the inbox events, journeys, claims (and contending claims, and claims
// rejected in favour of ref) whose referenceNo is ref,
// with their provider and journeyId, from a strongly consistent Scan of the table. There is
// no index by profile on purpose: it would cost an index write on every delivery, for a
// request that comes rarely (a Scan reads the whole table: about 0.25 read units per KB of
// table, and a few minutes for tens of GB).
func (o *Operator) NamingItems(ctx context.Context, referenceNo string) ([]opstore.Item, error) {
	in := &dynamodb.ScanInput{
		TableName:      aws.String(o.table),
		ConsistentRead: aws.Bool(true),
		// A claim rejected for naming the profile as the vendor's reference names it too.
		FilterExpression:         aws.String("(referenceNo = :ref AND #kind IN (:event, :operator, :journey, :claim, :token, :contender)) OR (vendorReferenceNo = :ref AND #kind = :claim)"),
		ProjectionExpression:     aws.String("#pk, #sk, provider, journeyId, deviceId, endpointArn"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK, "#kind": AttrKind},
		ExpressionAttributeValues: map[string]types.AttributeValue{":ref": str(referenceNo), ":event": str(KindEvent),
			":operator": str(KindOperatorEvent), ":journey": str(KindJourney), ":claim": str(KindClaim),
			":token": str(KindDeviceToken), ":contender": str(KindClaimContender)},
	}
	var out []opstore.Item
	for {
		page, err := o.client.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("scan for the profile's events and journeys: %w", err)
		}
		for _, it := range page.Items {
			out = append(out, opstore.Item{Key: itemKey(it), Provider: attrString(it, "provider"), JourneyID: attrString(it, "journeyId"),
				ReferenceNo: referenceNo, DeviceID: attrString(it, "deviceId"), EndpointARN: attrString(it, "endpointArn")})
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// JourneyItem reads the journey's details item (strongly consistent): its key and the
// referenceNo it names.
func (o *Operator) JourneyItem(ctx context.Context, provider, journeyID string) (opstore.Item, bool, error) {
	return o.item(ctx, JourneyItemKey(provider, journeyID), provider, journeyID)
}

// ClaimItem reads the journey's claim (strongly consistent): its key and the referenceNo
// that claimed it.
func (o *Operator) ClaimItem(ctx context.Context, provider, journeyID string) (opstore.Item, bool, error) {
	return o.item(ctx, ClaimKey(provider, journeyID), provider, journeyID)
}

func (o *Operator) item(ctx context.Context, k map[string]types.AttributeValue, provider, journeyID string) (opstore.Item, bool, error) {
	it, err := o.get(ctx, k)
	if err != nil || it == nil {
		return opstore.Item{}, false, err
	}
	return opstore.Item{Key: itemKey(k), Provider: provider, JourneyID: journeyID, ReferenceNo: attrString(it, "referenceNo")}, true, nil
}

// JourneyItems lists the keys of a journey's own items: its events (index ByJourney), its
// custom-step markers, its claim and its details (the last two whether they exist or not).
func (o *Operator) JourneyItems(ctx context.Context, provider, journeyID string) ([]opstore.ItemKey, error) {
	events, err := o.journeyItems(ctx, provider, journeyID)
	if err != nil {
		return nil, err
	}
	steps, err := o.partition(ctx, "CUSTOMSTEP#"+provider+"#"+journeyID)
	if err != nil {
		return nil, err
	}
	keys := make([]opstore.ItemKey, 0, len(events)+len(steps)+2)
	for _, it := range append(events, steps...) {
		keys = append(keys, itemKey(it))
	}
	return append(keys, itemKey(ClaimKey(provider, journeyID)), itemKey(JourneyItemKey(provider, journeyID))), nil
}

// PushMarkers lists the keys of a status event's push markers (PUSH#<statusEventId>):
// they name the profile's devices.
func (o *Operator) PushMarkers(ctx context.Context, statusEventID string) ([]opstore.ItemKey, error) {
	items, err := o.partition(ctx, "PUSH#"+statusEventID)
	if err != nil {
		return nil, err
	}
	keys := make([]opstore.ItemKey, 0, len(items))
	for _, it := range items {
		keys = append(keys, itemKey(it))
	}
	return keys, nil
}

// partition lists the keys of every item of partition pk (strongly consistent).
func (o *Operator) partition(ctx context.Context, pk string) ([]map[string]types.AttributeValue, error) {
	items, err := o.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ProjectionExpression:      aws.String("#pk, #sk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
		ConsistentRead:            aws.Bool(true),
	}, 0)
	if err != nil {
		return nil, fmt.Errorf("query partition %s: %w", strings.SplitN(pk, "#", 2)[0], err)
	}
	return items, nil
}

// Exists reports whether the item k is there (strongly consistent).
func (o *Operator) Exists(ctx context.Context, k opstore.ItemKey) (bool, error) {
	it, err := o.get(ctx, key(k.PK, k.SK))
	return it != nil, err
}

// Delete deletes the item k and reports whether it was there.
func (o *Operator) Delete(ctx context.Context, k opstore.ItemKey) (bool, error) {
	out, err := o.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(o.table), Key: key(k.PK, k.SK),
		ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return false, fmt.Errorf("delete %s: %w", k.PK, err)
	}
	return len(out.Attributes) > 0, nil
}
