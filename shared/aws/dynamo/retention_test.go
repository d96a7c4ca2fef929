package dynamo_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// JourneyDetailRetentionDays on DynamoDB Local: with a retention the stored journey item
// carries the TTL attribute the table expires (expiresAt, epoch seconds); without one it
// carries none and is kept (issue 13, item 7).
func TestJourneyRetention(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		retention time.Duration
		wantTTL   bool
	}{
		{"kept (0)", 0, false},
		{"90 days", 90 * 24 * time.Hour, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := dynamo.NewStore(client, table, time.Hour).WithJourneyRetention(tt.retention)
			j := processor.Journey{Provider: "idwise", JourneyID: "J-ret-" + strconv.Itoa(i), ReferenceNo: "r-1",
				Details: map[string]string{"documents.1.document_type": "passport"}, FetchedAt: time.Now(), Version: 1}
			before := time.Now()
			if err := s.PutJourney(ctx, j); err != nil {
				t.Fatalf("PutJourney() = %v", err)
			}
			out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
				Key: map[string]types.AttributeValue{
					dynamo.AttrPK: &types.AttributeValueMemberS{Value: "JOURNEY#idwise#" + j.JourneyID},
					dynamo.AttrSK: &types.AttributeValueMemberS{Value: "JOURNEY"}}})
			if err != nil || out.Item == nil {
				t.Fatalf("GetItem() = %v, %v, want the journey item", out, err)
			}
			n, ok := out.Item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
			if ok != tt.wantTTL {
				t.Fatalf("expiresAt present = %v (%v), want %v", ok, out.Item[dynamo.AttrExpiresAt], tt.wantTTL)
			}
			if !ok {
				return
			}
			exp, _ := strconv.ParseInt(n.Value, 10, 64)
			want := before.Add(tt.retention).Unix()
			if exp < want-1 || exp > want+60 {
				t.Errorf("expiresAt = %d, want about %d (now + retention, epoch seconds)", exp, want)
			}
		})
	}
}
