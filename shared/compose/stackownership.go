package compose

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// OwnershipParameterName is the SSM parameter in which a stack records its JourneyOwnership
// (template.yaml JourneyOwnershipParameter, `/${AWS::StackName}/kyc/journey-ownership`; make
// run writes the same for its stack kyc-local). The operator tool reads it so that it applies
// the stack's rule, not one of its own environment.
func OwnershipParameterName(stack string) string { return "/" + stack + "/kyc/journey-ownership" }

// StackOwnership reads the stack's JourneyOwnership from its SSM parameter.
func StackOwnership(ctx context.Context, cfg aws.Config, stack string) (kyc.Ownership, error) {
	name := OwnershipParameterName(stack)
	out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	var nf *ssmtypes.ParameterNotFound
	if errors.As(err, &nf) {
		return "", fmt.Errorf("stack %s: no SSM parameter %s (is the stack deployed with this template, in this region?)", stack, name)
	}
	if err != nil {
		return "", fmt.Errorf("stack %s: read SSM parameter %s (needs ssm:GetParameter): %w", stack, name, err)
	}
	o, err := kyc.ParseOwnership(aws.ToString(out.Parameter.Value))
	if err != nil {
		return "", fmt.Errorf("stack %s: SSM parameter %s: %w", stack, name, err)
	}
	return o, nil
}

// PutStackOwnership records o as the stack's JourneyOwnership (make run; a deployment's
// template does it with its own resource).
func PutStackOwnership(ctx context.Context, cfg aws.Config, stack string, o kyc.Ownership) error {
	_, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(OwnershipParameterName(stack)), Value: aws.String(string(o)),
		Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("put SSM parameter %s: %w", OwnershipParameterName(stack), err)
	}
	return nil
}
