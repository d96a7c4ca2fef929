package pushtest_test

import (
	"testing"

	"github.com/kycbackend/kyc/shared/core/push"
	"github.com/kycbackend/kyc/shared/core/push/pushtest"
)

// TestMemLedgerContract proves the fake by the suite that proves dynamo.Store
// (shared/aws/dynamo/contract_test.go).
func TestMemLedgerContract(t *testing.T) {
	pushtest.RunLedgerContract(t, func(t *testing.T) (push.Ledger, pushtest.MarkerReader) {
		l := pushtest.NewMemLedger()
		return l, l
	})
}
