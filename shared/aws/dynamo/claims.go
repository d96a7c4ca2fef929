package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// KindClaim is a journey's claim: CLAIM#<provider>#<journeyId> / CLAIM, with the owner's
// referenceNo, the claim's source and time. It does not expire: it is the ownership of
// the journey's details. The stream passes new claims to the processor (template filter),
// which then processes the journey's events that waited for it.
const KindClaim = "claim"

// AwaitingValue is the partition of the Unprocessed index that holds the events waiting
// for their journey's claim (state awaiting_claim), for the sweeper and operators.
const AwaitingValue = "AWAITING"

var _ processor.Claims = (*Store)(nil)

// ClaimKey is the primary key of a journey's claim.
func ClaimKey(provider, journeyID string) map[string]types.AttributeValue {
	return key("CLAIM#"+provider+"#"+journeyID, "CLAIM")
}

// PutClaim records c unless the journey is claimed already (one conditional write: the
// first claim wins). It returns the journey's claim, c or the earlier one, and whether c
// was written.
func (s *Store) PutClaim(ctx context.Context, c kyc.Claim) (kyc.Claim, bool, error) {
	item := claimAttrs(ClaimKey(c.Provider, c.JourneyID), KindClaim, c)
	if c.State != kyc.ClaimUnverified {
		item["claimState"] = str(string(c.State))
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": AttrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return DecodeClaim(ccf.Item), false, nil
	}
	if err != nil {
		return kyc.Claim{}, false, fmt.Errorf("put claim of journey %s: %w", c.JourneyID, err)
	}
	return c, true, nil
}

// Claim reads a journey's claim (strongly consistent).
func (s *Store) Claim(ctx context.Context, provider, journeyID string) (kyc.Claim, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: ClaimKey(provider, journeyID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return kyc.Claim{}, false, fmt.Errorf("get claim of journey %s: %w", journeyID, err)
	}
	if out.Item == nil {
		return kyc.Claim{}, false, nil
	}
	return DecodeClaim(out.Item), true, nil
}

// DecodeClaim reads a claim item (from GetItem or a stream image).
func DecodeClaim(item map[string]types.AttributeValue) kyc.Claim {
	at, _ := time.Parse(time.RFC3339Nano, attrString(item, "claimedAt"))
	return kyc.Claim{Provider: attrString(item, "provider"), JourneyID: attrString(item, "journeyId"),
		ReferenceNo: attrString(item, "referenceNo"), Source: kyc.ClaimSource(attrString(item, "source")), ClaimedAt: at,
		State: kyc.ClaimState(attrString(item, "claimState")), VendorReferenceNo: attrString(item, "vendorReferenceNo")}
}

// KindClaimContender is a user who claimed a journey someone else had claimed first:
// CLAIM#<provider>#<journeyId> / CONTENDER#<referenceNo>. If the vendor names the
// contender, the processor hands the journey over (ReplaceClaim). Not on the stream.
const KindClaimContender = "claimContender"

func contenderKey(provider, journeyID, referenceNo string) map[string]types.AttributeValue {
	return key("CLAIM#"+provider+"#"+journeyID, referenceKey("CONTENDER#", referenceNo, maxSortKey))
}

// claimAttrs adds to key the attributes a claim and a contender record share.
func claimAttrs(key map[string]types.AttributeValue, kind string, c kyc.Claim) map[string]types.AttributeValue {
	key[AttrKind] = str(kind)
	key["provider"] = str(c.Provider)
	key["journeyId"] = str(c.JourneyID)
	key["referenceNo"] = str(c.ReferenceNo)
	key["source"] = str(string(c.Source))
	key["claimedAt"] = str(c.ClaimedAt.UTC().Format(time.RFC3339Nano))
	return key
}

var _ processor.ClaimReviews = (*Store)(nil)

// ConfirmClaim records that the vendor named c's claimer (unless the journey's claim is
// someone else's by now).
func (s *Store) ConfirmClaim(ctx context.Context, c kyc.Claim) error {
	return s.setClaimState(ctx, c, kyc.ClaimConfirmed, "")
}

// RejectClaim records that the vendor named vendorRef, not c's claimer. A confirmed claim
// is never rejected.
func (s *Store) RejectClaim(ctx context.Context, c kyc.Claim, vendorRef string) error {
	return s.setClaimState(ctx, c, kyc.ClaimRejected, vendorRef)
}

func (s *Store) setClaimState(ctx context.Context, c kyc.Claim, st kyc.ClaimState, vendorRef string) error {
	values := map[string]types.AttributeValue{":ref": str(c.ReferenceNo), ":st": str(string(st)), ":confirmed": str(string(kyc.ClaimConfirmed))}
	update := "SET claimState = :st"
	if vendorRef != "" {
		update += ", vendorReferenceNo = :vref"
		values[":vref"] = str(vendorRef)
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       ClaimKey(c.Provider, c.JourneyID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("referenceNo = :ref AND (attribute_not_exists(claimState) OR claimState <> :confirmed)"),
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // another claim by now, or already confirmed: nothing to record
	}
	if err != nil {
		return fmt.Errorf("mark claim of journey %s %s: %w", c.JourneyID, st, err)
	}
	return nil
}

// PutContender records that c's user claimed a journey claimed by someone else.
func (s *Store) PutContender(ctx context.Context, c kyc.Claim) error {
	item := claimAttrs(contenderKey(c.Provider, c.JourneyID, c.ReferenceNo), KindClaimContender, c)
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("put contender of journey %s: %w", c.JourneyID, err)
	}
	return nil
}

// Contender reads referenceNo's contending claim of a journey.
func (s *Store) Contender(ctx context.Context, provider, journeyID, referenceNo string) (kyc.Claim, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: contenderKey(provider, journeyID, referenceNo), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return kyc.Claim{}, false, fmt.Errorf("get contender of journey %s: %w", journeyID, err)
	}
	if out.Item == nil {
		return kyc.Claim{}, false, nil
	}
	return DecodeClaim(out.Item), true, nil
}

// ReplaceClaim hands a journey from old's claimer to c: it deletes old's claim (only if it
// is still old's) and puts c as a new claim, so that the stream sees an INSERT and the
// events waiting for the journey's claim are processed. It reports whether c is now the
// journey's claim; false when someone else's claim stands.
func (s *Store) ReplaceClaim(ctx context.Context, old, c kyc.Claim) (bool, error) {
	if err := s.DeleteClaim(ctx, old); errors.Is(err, processor.ErrConflict) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	got, _, err := s.PutClaim(ctx, c)
	if err != nil {
		return false, err
	}
	return got.ReferenceNo == c.ReferenceNo, nil
}

// DeleteClaim deletes c's claim of its journey if it is still c's (a claim released), and
// c's contender record if any. Gone already is not an error.
func (s *Store) DeleteClaim(ctx context.Context, c kyc.Claim) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       ClaimKey(c.Provider, c.JourneyID),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR referenceNo = :ref"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":ref": str(c.ReferenceNo)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("delete claim of journey %s: %w", c.JourneyID, processor.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("delete claim of journey %s: %w", c.JourneyID, err)
	}
	return nil
}

// AwaitingClaim lists the events of a journey that wait for its claim, oldest first
// (index ByJourney: they join it when marked awaiting).
func (s *Store) AwaitingClaim(ctx context.Context, provider, journeyID string) ([]inbox.Event, error) {
	var out []inbox.Event
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(IndexByJourney),
		KeyConditionExpression:   aws.String("#j = :j"),
		FilterExpression:         aws.String("#state = :awaiting AND #kind = :event"),
		ExpressionAttributeNames: map[string]string{"#j": AttrJourneyKey, "#state": "state", "#kind": AttrKind},
		ExpressionAttributeValues: map[string]types.AttributeValue{":j": str(JourneyKey(provider, journeyID)),
			":awaiting": str(string(processor.AwaitingClaim)), ":event": str(KindEvent)},
	}
	for {
		res, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query journey %s events awaiting its claim: %w", journeyID, err)
		}
		for _, item := range res.Items {
			e, err := DecodeEvent(item)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if res.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// DecodeStreamClaim decodes a claim from a stream record's new image; false when the
// image is not a claim.
func DecodeStreamClaim(img map[string]events.DynamoDBAttributeValue) (kyc.Claim, bool, error) {
	if v, ok := img[AttrKind]; !ok || v.DataType() != events.DataTypeString || v.String() != KindClaim {
		return kyc.Claim{}, false, nil
	}
	item, err := FromStreamImage(img)
	if err != nil {
		return kyc.Claim{}, false, err
	}
	return DecodeClaim(item), true, nil
}

func attrString(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
