package dynamo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// A contender record is keyed CONTENDER#<referenceNo> in the journey's claim partition: a
// reference the rule allows (1,000 four-byte runes) passes DynamoDB's 1,024-byte sort key,
// so it goes through the same key rule as the profile partition (hashed when too long).
// On DynamoDB Local, which enforces the key limits.
func TestContenderOfEveryAllowedReference(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	ctx := context.Background()
	s := dynamo.NewStore(client, table, time.Hour)
	refs := []string{"alice", strings.Repeat("🙂", kyc.MaxReferenceLength), strings.Repeat("🙂", kyc.MaxReferenceLength-1) + "a"}
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for i, ref := range refs {
		if err := kyc.CheckReference("referenceNo", ref); err != nil {
			t.Fatalf("CheckReference(ref %d) = %v, want an allowed reference", i, err)
		}
		c := kyc.Claim{Provider: "idwise", JourneyID: "j-long", ReferenceNo: ref, Source: kyc.ClaimByApp, ClaimedAt: at}
		if err := s.PutContender(ctx, c); err != nil {
			t.Fatalf("PutContender(ref %d) = %v", i, err)
		}
	}
	for i, ref := range refs {
		got, ok, err := s.Contender(ctx, "idwise", "j-long", ref)
		if err != nil || !ok || got.ReferenceNo != ref {
			t.Errorf("Contender(ref %d) = %d-rune reference, %v, %v; want its own record", i, len([]rune(got.ReferenceNo)), ok, err)
		}
	}
}
