package markerstest_test

import (
	"testing"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/markerstest"
)

// TestMemMarkersContract proves the fake by the suite that proves dynamo.Store
// (shared/aws/dynamo/customstep_test.go).
func TestMemMarkersContract(t *testing.T) {
	markerstest.RunMarkersContract(t, func(t *testing.T) idwise.Markers { return &markerstest.MemMarkers{} })
}
