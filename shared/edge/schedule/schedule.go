// Package schedule is the Lambda edge of the sweeper function, fed by an EventBridge
// schedule: each invocation runs one bounded sweep.
package schedule

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/app/sweeper"
)

// Sweeper is what the handler needs of sweeper.Sweeper.
type Sweeper interface {
	Run(ctx context.Context) (sweeper.Result, error)
}

// Handler is the Lambda handler for the schedule.
type Handler struct {
	sweeper Sweeper
}

// New returns the schedule handler.
func New(s Sweeper) *Handler { return &Handler{sweeper: s} }

// Handle runs one sweep; the event carries nothing the sweep needs.
func (h *Handler) Handle(ctx context.Context, _ events.EventBridgeEvent) (sweeper.Result, error) {
	return h.sweeper.Run(ctx)
}
