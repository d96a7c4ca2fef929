package idwise

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// JourneyFetcher reads a journey result from the IDWise API.
type JourneyFetcher interface {
	Journey(ctx context.Context, journeyID string) (Journey, error)
}

// DefaultDetailFields is the default allow-list of journey result fields kept: what a
// customer needs to act, no images, no raw AML matches.
var DefaultDetailFields = []string{
	"documents.*.document_type",
	"documents.*.issuing_country",
	"documents.*.extracted_fields.*.value",
	"selfie.status",
	"selfie.is_live",
	"aml.applicability",
	"rule_results.*.result",
	"screening_checks.*",
}

// History lists the events received for a journey so far (the journey's timeline).
type History interface {
	JourneyEvents(ctx context.Context, provider, journeyID string) ([]inbox.Event, error)
}

// Resolver is the IDWise processor.Resolver.
type Resolver struct {
	api     JourneyFetcher
	policy  Policy
	fields  []string
	history History
	custom  *CustomStep // nil: no custom journey step
	now     func() time.Time

	metrics       Counter    // nil: no metrics
	firsts        FirstTimes // nil: VendorNotFound counts every 404, not only an event's first
	notFoundRetry time.Duration
}

// WithHistory lets the resolver recognise a resubmission request that arrives after the
// user already resubmitted (see Answered). Without it, such a late request wins until the
// journey's next event.
func (r *Resolver) WithHistory(h History) *Resolver {
	r.history = h
	return r
}

var _ processor.Resolver = (*Resolver)(nil)

// NewResolver returns the IDWise resolver. fields is the allow-list of journey result
// fields to store (glob patterns where * matches anything); nil means DefaultDetailFields.
func NewResolver(api JourneyFetcher, policy Policy, fields []string) *Resolver {
	if fields == nil {
		fields = DefaultDetailFields
	}
	return &Resolver{api: api, policy: policy, fields: fields, now: time.Now, notFoundRetry: DefaultNotFoundRetry}
}

// WithCustomStep makes the resolver run the custom journey step on Finished User Steps
// (and on an operator's CompleteCustomStepEvent). It returns r.
func (r *Resolver) WithCustomStep(cs *CustomStep) *Resolver {
	r.custom = cs
	return r
}

// Resolve implements processor.Resolver.
func (r *Resolver) Resolve(ctx context.Context, e inbox.Event, stored processor.Journey, found bool) (processor.Outcome, error) {
	switch e.Name {
	case FinishedStep:
		return processor.Outcome{Note: "step " + e.Attributes["stepId"] + " finished"}, nil
	case StepSubmittedEvent: // the step webhooks: on the timeline, no status change
		return processor.Outcome{Note: "step " + e.Attributes["stepId"] + " submitted (" + e.Attributes["stepType"] + ")"}, nil
	case FinishedOngoingCheck:
		if firstNonEmpty(e.Attributes["finalDecision"], e.Attributes["systemDecision"]) == "" {
			// No decision, nothing to re-check: no API call.
			return processor.Outcome{Note: "ongoing check " + e.Attributes["ongoingCheckId"] + " finished"}, nil
		}
	case AMLMonitorUpdate:
		if note, stale := staleAMLUpdate(e, stored, found); stale {
			return processor.Outcome{Note: note}, nil
		}
	case CompleteCustomStepEvent:
		return r.completeCustomStep(ctx, e, stored)
	}

	j, err := r.fetch(ctx, e)
	if err != nil {
		return processor.Outcome{}, r.fetchError(ctx, e, err)
	}
	fetched := r.now().UTC()
	// The IDWise API, not the webhook body, says whose journey this is (issue 12): the
	// referenceNo is chosen on the phone and the body by whoever holds the webhook
	// credential, so a body naming someone else fails the event and changes nobody.
	ref := j.ReferenceNumber
	if ref == "" {
		return processor.Outcome{}, fmt.Errorf("%w: the IDWise API gave journey %s no reference_number", kyc.ErrPermanent, e.JourneyID)
	}
	if e.ReferenceNo != "" && e.ReferenceNo != ref {
		return processor.Outcome{}, fmt.Errorf("journey %s: %w", e.JourneyID, kyc.ErrReferenceMismatch)
	}
	version := kyc.Version(fetched, e.EventID)
	journey := &processor.Journey{
		Provider: Provider, JourneyID: e.JourneyID, ReferenceNo: ref,
		Decisions: nonEmpty(map[string]string{"systemDecision": j.SystemDecision, "manualDecision": j.ManualDecision, "finalDecision": j.FinalDecision}),
		Details:   allow(j.Fields(), r.fields),
		FetchedAt: fetched, Version: version, AMLVersion: max(stored.AMLVersion, amlVersion(e)),
		AMLReceivedAt: stored.AMLReceivedAt, RequestedAt: stored.RequestedAt,
	}
	if e.Name == AMLMonitorUpdate && e.ReceivedAt.After(journey.AMLReceivedAt) {
		journey.AMLReceivedAt = e.ReceivedAt
	}
	out := processor.Outcome{
		Journey: journey,
		Note:    fmt.Sprintf("journey fetched: system=%s manual=%s final=%s", j.SystemDecision, j.ManualDecision, j.FinalDecision),
	}
	if e.Name == FinishedUserSteps && r.custom != nil {
		// Deferred until the processor has checked that ref owns the journey: the step
		// submits ref's reference face to this journey.
		out.After = func(ctx context.Context) (string, error) {
			res, err := r.custom.Run(ctx, e.JourneyID, ref, RunOptions{})
			if err != nil {
				return "", r.customStepError(ctx, err)
			}
			return res.Note, nil
		}
	}
	d, note, err := r.decide(ctx, e, j, stored, journey)
	if err != nil {
		return processor.Outcome{}, err
	}
	out.Note += note
	if e.Name == FinishedOngoingCheck {
		out.Note = "ongoing check " + e.Attributes["ongoingCheckId"] + " finished: " + firstNonEmpty(e.Attributes["systemDecision"], "no decision")
	}
	if d.Status != "" {
		out.Change = &kyc.Change{ReferenceNo: ref, JourneyID: e.JourneyID, Provider: Provider,
			Status: d.Status, Reasons: d.Reasons, Version: version, OccurredAt: fetched, RenewalDueBy: d.RenewalDueBy}
		out.Guard, out.Undo = d.Guard, d.Undo
	}
	return out, nil
}

// Recheck implements processor.Rechecks: a spot check re-authenticates the owner of the
// onboarding journey under a journey id of its own, which nobody needs to claim.
func (r *Resolver) Recheck(e inbox.Event) bool { return e.Name == FinishedSpotCheck }

// completeCustomStep runs the custom step on an operator's request (kycctl complete-step):
// the reference image is submitted unless it already was or the operator asked for none
// (attribute image=none), then the step is completed. No status changes: IDWise decides
// and sends Finished Journey.
func (r *Resolver) completeCustomStep(ctx context.Context, e inbox.Event, stored processor.Journey) (processor.Outcome, error) {
	if r.custom == nil {
		return processor.Outcome{}, fmt.Errorf("%w: no custom step configured (IDWISE_CUSTOM_STEP_ID)", kyc.ErrPermanent)
	}
	opt := RunOptions{WithoutImage: e.Attributes["image"] == "none"}
	ref := firstNonEmpty(e.ReferenceNo, stored.ReferenceNo)
	if ref == "" && !opt.WithoutImage {
		j, err := r.api.Journey(ctx, e.JourneyID)
		if err != nil {
			return processor.Outcome{}, r.fetchError(ctx, e, err)
		}
		ref = j.ReferenceNumber
	}
	res, err := r.custom.Run(ctx, e.JourneyID, ref, opt)
	if err != nil {
		return processor.Outcome{}, r.customStepError(ctx, err)
	}
	return processor.Outcome{Note: res.Note}, nil
}

// allow keeps the fields matching one of the patterns.
func allow(fields map[string]string, patterns []string) map[string]string {
	out := map[string]string{}
	for k, v := range fields {
		for _, p := range patterns {
			if glob(p, k) {
				out[k] = v
				break
			}
		}
	}
	return out
}

// glob matches s against a pattern where * matches any run of characters.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, part := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, part)
		}
		idx := strings.Index(s, part)
		if idx < 0 {
			return false
		}
		s = s[idx+len(part):]
	}
	return true
}

func nonEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}
