package compose_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// TestStackOwnership: the mode a stack records (PutStackOwnership, as make run does; the
// template's JourneyOwnershipParameter for a deployment) is the mode kycctl reads, on moto's
// SSM; a stack without the parameter is an error naming it, never a default.
func TestStackOwnership(t *testing.T) {
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("emulators not running: use infra/local/with-emulators.sh")
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stack := "kyc-test-" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
	for _, want := range []kyc.Ownership{kyc.OwnershipVendor, kyc.OwnershipClaimed} {
		if err := compose.PutStackOwnership(ctx, cfg, stack, want); err != nil {
			t.Fatal(err)
		}
		got, err := compose.StackOwnership(ctx, cfg, stack)
		if err != nil || got != want {
			t.Errorf("StackOwnership = %q, %v; want %q", got, err, want)
		}
	}
	_, err = compose.StackOwnership(ctx, cfg, stack+"-missing")
	if err == nil || !strings.Contains(err.Error(), compose.OwnershipParameterName(stack+"-missing")) {
		t.Errorf("StackOwnership of a stack without the parameter = %v, want an error naming it", err)
	}
	if got, want := compose.OwnershipParameterName("kyc-backend"), "/kyc-backend/kyc/journey-ownership"; got != want {
		t.Errorf("OwnershipParameterName = %q, want %q (template.yaml JourneyOwnershipParameter: /${AWS::StackName}/kyc/journey-ownership)", got, want)
	}
}
