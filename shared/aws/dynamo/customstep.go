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

	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// KindCustomStep is the kind of a custom step marker: one per (journey, step), the
// exactly-once record of an IDWise custom journey step (idwise.CustomStep).
const KindCustomStep = "customStep"

var _ idwise.Markers = (*Store)(nil)

// CustomStepKey is the primary key of the marker of a journey's custom step.
func CustomStepKey(provider, journeyID, stepID string) map[string]types.AttributeValue {
	return key("CUSTOMSTEP#"+provider+"#"+journeyID, "STEP#"+stepID)
}

func stepKey(journeyID, stepID string) map[string]types.AttributeValue {
	return CustomStepKey(idwise.Provider, journeyID, stepID)
}

// ClaimStep takes the claim of a journey's custom step with one conditional write: it
// succeeds when there is no marker, or the step is not completed and its claim was
// released or its lease ended. The marker starts in state submitting, counts attempts and
// expires with the store's retention. See idwise.Markers.
func (s *Store) ClaimStep(ctx context.Context, journeyID, stepID, token string, leaseUntil time.Time) (idwise.StepMarker, error) {
	now := s.now().UTC()
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       stepKey(journeyID, stepID),
		UpdateExpression: aws.String("SET #kind = :kind, provider = :provider, journeyId = :journey, stepId = :step, " +
			"#state = if_not_exists(#state, :submitting), #claim = :token, #lease = :lease, claimedAt = :now, #exp = :exp " +
			"ADD attempts :one"),
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR (#state <> :completed AND " +
			"(attribute_not_exists(#claim) OR #lease < :nowms))"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#kind": AttrKind, "#state": "state", "#claim": "claim",
			"#lease": "leaseUntil", "#exp": AttrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":kind": str(KindCustomStep), ":provider": str(idwise.Provider), ":journey": str(journeyID), ":step": str(stepID),
			":submitting": str(string(idwise.StepSubmitting)), ":completed": str(string(idwise.StepCompleted)),
			":token": str(token), ":lease": millis(leaseUntil), ":nowms": millis(now),
			":now": str(now.Format(time.RFC3339Nano)), ":exp": epoch(now.Add(s.retention)), ":one": num(1),
		},
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		state := decodeStep(ccf.Item).State
		if ccf.Item == nil { // not every DynamoDB returns the item: read it
			m, _, err := s.Step(ctx, journeyID, stepID)
			if err != nil {
				return idwise.StepMarker{}, err
			}
			state = m.State
		}
		if state == idwise.StepCompleted {
			return idwise.StepMarker{}, idwise.ErrStepCompleted
		}
		return idwise.StepMarker{}, idwise.ErrStepBusy
	}
	if err != nil {
		return idwise.StepMarker{}, fmt.Errorf("claim custom step marker: %w", err)
	}
	old := decodeStep(out.Attributes)
	m := idwise.StepMarker{State: old.State, Attempts: old.Attempts + 1, Note: old.Note}
	if m.State == "" {
		m.State = idwise.StepSubmitting
	}
	_, m.InDoubt = out.Attributes["claim"] // the previous claim was neither released nor finished
	return m, nil
}

// AdvanceStep moves a claimed step to state to; completing it ends the claim.
func (s *Store) AdvanceStep(ctx context.Context, journeyID, stepID, token string, to idwise.StepState, note string) error {
	update := "SET #state = :to, note = :note, #at = :now"
	names := map[string]string{"#state": "state", "#at": string(to) + "At"}
	if to == idwise.StepCompleted {
		update += " REMOVE #claim, #lease"
		names["#lease"] = "leaseUntil"
	}
	return s.settleStep(ctx, journeyID, stepID, token, update, names,
		map[string]types.AttributeValue{":to": str(string(to)), ":note": str(note)}, "advance custom step marker to "+string(to))
}

// ReleaseStep ends a claim without changing the step's state, recording why.
func (s *Store) ReleaseStep(ctx context.Context, journeyID, stepID, token, why string) error {
	return s.settleStep(ctx, journeyID, stepID, token, "SET lastError = :why, releasedAt = :now REMOVE #claim, #lease",
		map[string]string{"#lease": "leaseUntil"},
		map[string]types.AttributeValue{":why": str(why)}, "release custom step marker")
}

// settleStep applies update if token still holds the claim; idwise.ErrStepBusy if not.
func (s *Store) settleStep(ctx context.Context, journeyID, stepID, token, update string, names map[string]string,
	values map[string]types.AttributeValue, what string) error {
	n := map[string]string{"#claim": "claim"}
	for k, v := range names {
		n[k] = v
	}
	values[":token"] = str(token)
	values[":now"] = str(s.now().UTC().Format(time.RFC3339Nano))
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       stepKey(journeyID, stepID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#claim = :token"),
		ExpressionAttributeNames:  n,
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%s: %w", what, idwise.ErrStepBusy)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Step reads the marker of a journey's custom step.
func (s *Store) Step(ctx context.Context, journeyID, stepID string) (idwise.StepMarker, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: stepKey(journeyID, stepID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return idwise.StepMarker{}, false, fmt.Errorf("get custom step marker: %w", err)
	}
	if out.Item == nil {
		return idwise.StepMarker{}, false, nil
	}
	m := decodeStep(out.Item)
	_, m.Claimed = out.Item["claim"]
	return m, true, nil
}

func decodeStep(item map[string]types.AttributeValue) idwise.StepMarker {
	var m idwise.StepMarker
	if v, ok := item["state"].(*types.AttributeValueMemberS); ok {
		m.State = idwise.StepState(v.Value)
	}
	if v, ok := item["note"].(*types.AttributeValueMemberS); ok {
		m.Note = v.Value
	}
	if v, ok := item["attempts"].(*types.AttributeValueMemberN); ok {
		m.Attempts, _ = strconv.Atoi(v.Value)
	}
	return m
}

func millis(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}
