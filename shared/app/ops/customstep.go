package ops

import (
	"context"
	"fmt"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// CompleteStepEventPrefix starts the id of every event kycctl records for complete-step.
const CompleteStepEventPrefix = "kycctl-complete-step-"

// CompleteStepResult is what complete-step did.
type CompleteStepResult struct {
	Provider     string           `json:"provider"`
	JourneyID    string           `json:"journeyId"`
	ReferenceNo  string           `json:"referenceNo"`
	StepID       string           `json:"stepId"`
	WithoutImage bool             `json:"withoutImage"`
	Before       idwise.StepState `json:"before"`  // the step's marker before ("" none)
	After        idwise.StepState `json:"after"`   // and after
	EventID      string           `json:"eventId"` // the operator event recorded in the journey's timeline
	State        string           `json:"state"`   // where that event ended: processed, failed, pending
	Note         string           `json:"note"`
}

// CompleteStep completes a journey's IDWise custom step now (the seed allows it at any
// time: IDWise then decides with what it has and sends Finished Journey). Unless
// withoutImage, the profile's reference image is submitted first if it was not yet. It
// goes through the processor: an operator event (idwise.CompleteCustomStepEvent) is
// recorded in the journey's timeline and processed, so the step's exactly-once markers are
// the processor's own: a step already completed is not completed again, an image already
// submitted is not submitted again. If IDWise is down, the event stays pending and the
// sweeper finishes it.
func (o *Ops) CompleteStep(ctx context.Context, provider, journeyID string, withoutImage bool) (CompleteStepResult, error) {
	res := CompleteStepResult{Provider: provider, JourneyID: journeyID, StepID: o.stepID, WithoutImage: withoutImage}
	if o.proc == nil {
		return res, fmt.Errorf("complete-step: processor %w", ErrNotConfigured)
	}
	if o.stepID == "" {
		return res, fmt.Errorf("complete-step: custom step %w (IDWISE_CUSTOM_STEP_ID)", ErrNotConfigured)
	}
	if provider != idwise.Provider {
		return res, fmt.Errorf("complete-step: provider %q not supported (idwise only)", provider)
	}
	stored, found, err := o.tbl.Journey(ctx, provider, journeyID)
	if err != nil {
		return res, err
	}
	res.ReferenceNo = stored.ReferenceNo
	if !found { // the journey may be unknown here (no webhook yet): the events may name the profile
		events, err := o.tbl.JourneyTimeline(ctx, provider, journeyID)
		if err != nil {
			return res, err
		}
		for _, it := range events {
			if ref := it.Event.ReferenceNo; ref != "" {
				res.ReferenceNo = ref
			}
		}
	}
	before, _, err := o.tbl.Step(ctx, journeyID, o.stepID)
	if err != nil {
		return res, err
	}
	res.Before = before.State

	now := o.now().UTC()
	attrs := map[string]string{"operator": "complete-step", "stepId": o.stepID}
	if withoutImage {
		attrs["image"] = "none"
	}
	e := inbox.Event{Provider: provider, EventID: CompleteStepEventPrefix + now.Format("20060102T150405.000000000Z"),
		Name: idwise.CompleteCustomStepEvent, JourneyID: journeyID, ReferenceNo: res.ReferenceNo, Attributes: attrs,
		Processable: true, ReceivedAt: now, ExpiresAt: now.Add(o.retention)}
	res.EventID = e.EventID
	if err := o.tbl.PutOperatorEvent(ctx, e); err != nil {
		return res, fmt.Errorf("record complete-step event: %w", err)
	}
	perr := o.proc.Process(ctx, e)
	item, _, err := o.tbl.StoredEvent(ctx, provider, e.EventID)
	if err != nil {
		return res, err
	}
	res.State, res.Note = item.State, item.Note
	after, _, err := o.tbl.Step(ctx, journeyID, o.stepID)
	if err != nil {
		return res, err
	}
	res.After = after.State
	switch {
	case perr != nil:
		return res, fmt.Errorf("complete-step %s: %w (left pending for the sweeper)", journeyID, perr)
	case res.State == string(processor.Failed):
		return res, fmt.Errorf("complete-step %s failed: %s", journeyID, res.Note)
	}
	return res, nil
}
