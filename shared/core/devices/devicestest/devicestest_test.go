package devicestest_test

import (
	"context"
	"testing"

	"github.com/kycbackend/kyc/shared/core/devices/devicestest"
)

// TestMemStoreContract proves the fake by the suite that proves dynamo.Store
// (shared/aws/dynamo/contract_test.go).
func TestMemStoreContract(t *testing.T) {
	devicestest.RunStoreContract(t, func(t *testing.T) devicestest.Harness {
		m := devicestest.NewMemStore()
		return devicestest.Harness{Store: m, Erase: func(_ context.Context, ref string) error { m.Erase(ref); return nil }}
	})
}
