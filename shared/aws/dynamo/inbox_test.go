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
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/inbox/inboxtest"
	"github.com/kycbackend/kyc/shared/core/processor"
)

func TestInboxContract(t *testing.T) {
	inboxtest.StoreContract(t, func(t *testing.T) (inbox.Store, inboxtest.Reader) {
		client, table := dynamotest.NewTable(t)
		s := dynamo.NewInbox(client, table)
		return s, s
	})
}

func TestInboxItemLayout(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	s := dynamo.NewInbox(client, table)
	ctx := context.Background()

	known := inboxtest.NewEvent("layout-1")
	unknown := inboxtest.NewEvent("layout-2")
	unknown.Name, unknown.Processable = "Journey Archived", false
	for _, e := range []inbox.Event{known, unknown} {
		if err := s.Put(ctx, e); err != nil {
			t.Fatalf("Put(%s) = %v", e.EventID, err)
		}
	}

	t.Run("ttl attribute holds epoch seconds", func(t *testing.T) {
		pk, sk := dynamo.EventKey("idwise", "layout-1")
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}})
		if err != nil {
			t.Fatal(err)
		}
		n, ok := out.Item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("%s = %#v, want a number", dynamo.AttrExpiresAt, out.Item[dynamo.AttrExpiresAt])
		}
		if got, _ := strconv.ParseInt(n.Value, 10, 64); got != known.ExpiresAt.Unix() {
			t.Errorf("%s = %d, want %d", dynamo.AttrExpiresAt, got, known.ExpiresAt.Unix())
		}
		ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(ttl.TimeToLiveDescription.AttributeName); got != dynamo.AttrExpiresAt {
			t.Errorf("table TTL attribute = %q, want %q (what the code writes)", got, dynamo.AttrExpiresAt)
		}
	})

	t.Run("only processable events are in the Unprocessed index", func(t *testing.T) {
		out, err := client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(table),
			IndexName:                 aws.String(dynamo.IndexUnprocessed),
			KeyConditionExpression:    aws.String("#p = :p"),
			ExpressionAttributeNames:  map[string]string{"#p": dynamo.AttrPendingKey},
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: dynamo.PendingValue}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := dynamo.EventKey("idwise", "layout-1")
		if len(out.Items) != 1 || out.Items[0]["pk"].(*types.AttributeValueMemberS).Value != want {
			t.Errorf("Unprocessed index = %v, want only %s", out.Items, want)
		}
	})

	t.Run("events join their journey's timeline when processed", func(t *testing.T) {
		byJourney := func() int {
			t.Helper()
			out, err := client.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(table),
				IndexName:                 aws.String(dynamo.IndexByJourney),
				KeyConditionExpression:    aws.String("#j = :j"),
				ExpressionAttributeNames:  map[string]string{"#j": dynamo.AttrJourneyKey},
				ExpressionAttributeValues: map[string]types.AttributeValue{":j": &types.AttributeValueMemberS{Value: dynamo.JourneyKey("idwise", "j-1")}},
			})
			if err != nil {
				t.Fatal(err)
			}
			return len(out.Items)
		}
		// Not on the acknowledgement path: one index write less per delivery.
		if n := byJourney(); n != 0 {
			t.Errorf("ByJourney after the webhook's write = %d items, want 0", n)
		}
		store := dynamo.NewStore(client, table, time.Hour)
		if err := store.Mark(ctx, known, processor.Processed, "test"); err != nil {
			t.Fatal(err)
		}
		if err := store.Mark(ctx, unknown, processor.Skipped, "test"); err != nil {
			t.Fatal(err)
		}
		if n := byJourney(); n != 2 {
			t.Errorf("ByJourney after both were marked = %d items, want 2", n)
		}
	})

	t.Run("read back", func(t *testing.T) {
		got, ok, err := s.Event(ctx, "idwise", "layout-2")
		if err != nil || !ok {
			t.Fatalf("Event() = %v, %v", ok, err)
		}
		if got.Processable || got.Name != "Journey Archived" || time.Since(got.ReceivedAt) > time.Hour {
			t.Errorf("Event() = %+v, want the unprocessable Journey Archived event", got)
		}
	})
}
