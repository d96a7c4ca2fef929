package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// cancelling answers every TransactWriteItems with a cancellation of the given reason.
type cancelling struct {
	dynamo.API
	code string
}

func (c cancelling) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return nil, &types.TransactionCanceledException{Message: aws.String("cancelled"),
		CancellationReasons: []types.CancellationReason{{Code: aws.String("None")}, {Code: aws.String(c.code)}}}
}

// A status transaction cancelled because another transaction touched the same items at the
// same time (real DynamoDB, not DynamoDB Local, answers TransactionConflict) is a lost race
// the processor retries after reading again, like a failed condition; other cancellations are
// errors.
func TestApplyStatusCancellations(t *testing.T) {
	tests := []struct {
		code         string
		wantConflict bool
	}{
		{"ConditionalCheckFailed", true},
		{"TransactionConflict", true},
		{"ThrottlingError", false},
		{"ValidationError", false},
	}
	for _, tt := range tests {
		s := dynamo.NewStore(cancelling{code: tt.code}, "t", time.Hour)
		err := s.ApplyStatus(context.Background(), kyc.Change{ReferenceNo: "r", JourneyID: "j", Status: kyc.Approved, Version: 2},
			kyc.Profile{Version: 1}, true, nil)
		if got := errors.Is(err, processor.ErrConflict); got != tt.wantConflict || err == nil {
			t.Errorf("ApplyStatus cancelled with %s = %v, conflict %v, want conflict %v", tt.code, err, got, tt.wantConflict)
		}
	}
}
