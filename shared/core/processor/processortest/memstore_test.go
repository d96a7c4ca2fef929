package processortest_test

import (
	"context"
	"testing"

	"github.com/kycbackend/kyc/shared/core/processor/processortest"
)

// TestMemStoreContract proves the fake by the suite that proves dynamo.Store
// (shared/aws/dynamo/contract_test.go).
func TestMemStoreContract(t *testing.T) {
	processortest.RunStoreContract(t, func(t *testing.T) processortest.Harness {
		m := processortest.NewMemStore()
		return processortest.Harness{Stores: m, Read: m, Inbox: m.Inbox,
			Erase: func(_ context.Context, ref string) error { m.Erase(ref); return nil }}
	})
}
