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
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/markerstest"
)

// TestCustomStepMarkersContract runs the custom step marker suite on DynamoDB Local: the
// same suite proves markerstest.MemMarkers.
func TestCustomStepMarkersContract(t *testing.T) {
	markerstest.RunMarkersContract(t, func(t *testing.T) idwise.Markers {
		client, table := dynamotest.NewTable(t)
		return dynamo.NewStore(client, table, time.Hour)
	})
}

// TestCustomStepMarkerItem: a completed marker's item is keyed by journey and step,
// expires (TTL) and holds no claim.
func TestCustomStepMarkerItem(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	s := dynamo.NewStore(client, table, time.Hour)
	ctx := context.Background()
	const j, step = "J-lease", "gov-face"
	if _, err := s.ClaimStep(ctx, j, step, "c", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceStep(ctx, j, step, "c", idwise.StepCompleted, "done"); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: dynamo.CustomStepKey("idwise", j, step)})
	if err != nil {
		t.Fatal(err)
	}
	for attr, want := range map[string]string{"pk": "CUSTOMSTEP#idwise#J-lease", "sk": "STEP#gov-face", "kind": dynamo.KindCustomStep, "state": "completed"} {
		if v, _ := out.Item[attr].(*types.AttributeValueMemberS); v == nil || v.Value != want {
			t.Errorf("item %s = %v, want %q", attr, out.Item[attr], want)
		}
	}
	if _, ok := out.Item[dynamo.TTLAttribute].(*types.AttributeValueMemberN); !ok {
		t.Errorf("item has no %s (TTL)", dynamo.TTLAttribute)
	}
	if _, ok := out.Item["claim"]; ok {
		t.Errorf("completed item still has a claim")
	}
}
