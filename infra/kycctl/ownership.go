package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kycbackend/kyc/shared/compose"
)

// stackOwnership returns the environment the processor is built with: JOURNEY_OWNERSHIP is
// the stack's (KYC_STACK_NAME or -stack: its SSM parameter, compose.StackOwnership), so that
// a replay applies the rule the stack's processor applies. A JOURNEY_OWNERSHIP of kycctl's own
// environment that disagrees with the stack is refused; without a stack it is used as given
// (empty: claimed, the template's default and the stricter rule), with a warning.
func (c *cli) stackOwnership(ctx context.Context, cfg aws.Config) (compose.Getenv, error) {
	stack := c.getenv("KYC_STACK_NAME")
	own := c.getenv("JOURNEY_OWNERSHIP")
	if stack == "" {
		if own == "" {
			own = "claimed"
		}
		fmt.Fprintf(c.stderr, "kycctl: KYC_STACK_NAME not set: applying JourneyOwnership=%s; set it (or -stack) to use the stack's\n", own)
		return c.getenv, nil
	}
	o, err := compose.StackOwnership(ctx, cfg, stack)
	if err != nil {
		return nil, fmt.Errorf("journey ownership: %w", err)
	}
	if own != "" && own != string(o) {
		return nil, fmt.Errorf("JOURNEY_OWNERSHIP=%s, but stack %s runs JourneyOwnership=%s: unset JOURNEY_OWNERSHIP", own, stack, o)
	}
	return func(k string) string {
		if k == "JOURNEY_OWNERSHIP" {
			return string(o)
		}
		return c.getenv(k)
	}, nil
}
