package dynamo_test

import (
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/app/ops"
	"github.com/kycbackend/kyc/shared/app/ops/opstest"
	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
)

var _ ops.Table = (*dynamo.Operator)(nil)

// TestOperatorContract runs the operator tool's table suite on DynamoDB Local, seeding it
// through the stores the product writes with. There is no in-memory ops.Table to prove
// with it (ops's own tests run on the emulators).
func TestOperatorContract(t *testing.T) {
	opstest.RunTableContract(t, func(t *testing.T) opstest.Harness {
		client, table := dynamotest.NewTable(t)
		store := dynamo.NewStore(client, table, time.Hour)
		return opstest.Harness{
			Table:   dynamo.NewOperator(client, table, time.Hour),
			Inbox:   dynamo.NewInbox(client, table),
			Stores:  store,
			Claims:  store,
			Devices: store,
			Push:    store,
			Steps:   store,
			Limits:  store,
		}
	})
}
