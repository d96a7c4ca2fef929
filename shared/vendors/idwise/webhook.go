// Package idwise holds what the product knows about IDWise: its webhook envelope, its
// event names and decisions. It has no AWS or HTTP dependencies.
package idwise

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/vendors/webhookjson"
	"strconv"
	"strings"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Provider is the name this vendor is stored and published under.
const Provider = "idwise"

// Event names IDWise sends in the envelope's "event" field.
const (
	FinishedUserSteps    = "Finished User Steps"
	FinishedJourney      = "Finished Journey"
	ManuallyReviewed     = "Manually Reviewed"
	UpdatedJourney       = "Updated Journey"
	AMLMonitorUpdate     = "AML Monitor Update"
	FinishedStep         = "Finished Step"
	FinishedOngoingCheck = "Finished Ongoing Check"

	// StepSubmittedEvent is the step webhooks' one event (a document or selfie step was
	// submitted): journeyId, referenceNo, stepId, stepType Document or Selfie, and no
	// eventId (https://developers.idwise.com/step-webhooks.html). On the timeline only.
	StepSubmittedEvent = "Step Submitted"

	// FinishedSpotCheck: a selfie spot check (re-authentication against the last accepted
	// onboarding journey) finished. Its body names spotCheckJourneyId and no journeyId.
	FinishedSpotCheck = "Finished Spot Check"
	// VerificationUpdateRequired: the user must resubmit steps (a reviewer asked, or a KYC
	// renewal is due); body.trigger and body.requiredSteps[{stepId, reasonCode}].
	VerificationUpdateRequired = "Verification Update Required"
	// KYCRenewalDeadlineExceeded: a KYC renewal was not done in time;
	// body.requiredSteps[{stepId, renewalDeadline}].
	KYCRenewalDeadlineExceeded = "KYC Renewal Deadline Exceeded"
)

// knownEvents are the event names the processor understands. IDWise adds events over
// time; an unknown name is stored but not processed.
var knownEvents = map[string]bool{
	FinishedUserSteps:    true,
	FinishedJourney:      true,
	ManuallyReviewed:     true,
	UpdatedJourney:       true,
	AMLMonitorUpdate:     true,
	FinishedStep:         true,
	FinishedOngoingCheck: true,
	StepSubmittedEvent:   true,

	FinishedSpotCheck:          true,
	VerificationUpdateRequired: true,
	KYCRenewalDeadlineExceeded: true,
}

// Known reports whether name is an event the product knows how to process.
func Known(name string) bool { return knownEvents[name] }

// ErrMalformed is wrapped by every error Parse returns.
var ErrMalformed = errors.New("malformed webhook")

// Webhook is one IDWise webhook delivery. Fields the product does not use are ignored;
// decisions may be null, which leaves them empty.
type Webhook struct {
	Event            string
	EventID          string
	JourneyID        string
	ReferenceNo      string
	SystemDecision   string
	ManualDecision   string
	FinalDecision    string
	Action           string // Updated Journey only
	StepID           string // Finished Step, Step Submitted
	StepType         string // Step Submitted: Document or Selfie
	OngoingCheckID   string // Finished Ongoing Check only
	AMLVersion       int64  // AML Monitor Update only: updatedAMLVersionNumber
	PreviousSystem   string // AML Monitor Update only: previousSystemDecision
	ReviewDecision   string // Updated Journey / Manual Review: manualReviewDetails.journeyReviewDecision
	ReviewReasonCode string
	ResubmitSteps    []string // steps a reviewer asked to resubmit
	ResubmitReasons  []string // their reviewedSteps[].reasonCode values, distinct

	// Finished Spot Check: the spot check's own journey id (also in JourneyID, under which
	// the event is stored) and the onboarding journey id, when IDWise sends one.
	SpotCheckJourneyID string
	OnboardingJourney  string
	Trigger            string         // Verification Update Required only
	RequiredSteps      []RequiredStep // Verification Update Required, KYC Renewal Deadline Exceeded

	// EventIDFromBody: the delivery had no eventId (the older generic template, the step
	// webhooks); EventID stays empty and InboxEvent, which has the raw body, uses its
	// SHA-256 hex as the event id, as for Veriff: a retry carries the same bytes and is a
	// duplicate. Set by Parse.
	EventIDFromBody bool
}

// RequiredStep is one step the user must resubmit.
type RequiredStep struct {
	StepID          string `json:"stepId"`
	ReasonCode      string `json:"reasonCode,omitempty"`      // Verification Update Required
	RenewalDeadline string `json:"renewalDeadline,omitempty"` // KYC Renewal Deadline Exceeded
}

// AttrEventIDFrom is the attribute that says where the event id came from when IDWise
// sent none: EventIDFromBodyHash (the SHA-256 hex of the raw body).
const (
	AttrEventIDFrom     = "eventIdFrom"
	EventIDFromBodyHash = "bodyHash"
)

// Processable reports whether the processor has a rule for this event.
func (w Webhook) Processable() bool { return Known(w.Event) }

type envelope struct {
	Event *json.RawMessage `json:"event"`
	Body  *json.RawMessage `json:"body"`
}

type body struct {
	EventID             *json.RawMessage     `json:"eventId"`
	JourneyID           *json.RawMessage     `json:"journeyId"`
	ReferenceNo         webhookjson.Loose    `json:"referenceNo"`
	SystemDecision      webhookjson.Loose    `json:"systemDecision"`
	ManualDecision      webhookjson.Loose    `json:"manualDecision"`
	FinalDecision       webhookjson.Loose    `json:"finalDecision"`
	Action              webhookjson.Loose    `json:"action"`
	StepID              webhookjson.Loose    `json:"stepId"`
	StepType            webhookjson.Loose    `json:"stepType"`
	OngoingCheckID      webhookjson.Loose    `json:"ongoingCheckId"`
	PreviousSystem      webhookjson.Loose    `json:"previousSystemDecision"`
	AMLVersion          webhookjson.LooseInt `json:"updatedAMLVersionNumber"`
	ManualReviewDetails json.RawMessage      `json:"manualReviewDetails"`
	SpotCheckJourneyID  *json.RawMessage     `json:"spotCheckJourneyId"`
	Trigger             webhookjson.Loose    `json:"trigger"`
	RequiredSteps       json.RawMessage      `json:"requiredSteps"`
}

type requiredStep struct {
	StepID          webhookjson.Loose `json:"stepId"`
	ReasonCode      webhookjson.Loose `json:"reasonCode"`
	RenewalDeadline webhookjson.Loose `json:"renewalDeadline"`
	Deadline        webhookjson.Loose `json:"deadline"` // read as renewalDeadline when that is absent
}

type reviewDetails struct {
	JourneyReviewDecision   webhookjson.Loose `json:"journeyReviewDecision"`
	JourneyReviewReasonCode webhookjson.Loose `json:"journeyReviewReasonCode"`
	ReviewedSteps           []struct {
		StepID     webhookjson.Loose `json:"stepId"`
		Decision   webhookjson.Loose `json:"decision"`
		ReasonCode webhookjson.Loose `json:"reasonCode"`
	} `json:"reviewedSteps"`
}

// Parse reads an IDWise webhook body. It requires "event" and "body.journeyId"
// ("body.spotCheckJourneyId" instead for Finished Spot Check, whose journey id it
// becomes); "body.eventId" may be absent or null (older accounts' generic template and the
// step webhooks send none): EventID is then empty and EventIDFromBody set, and InboxEvent
// uses the body's SHA-256. Everything else is optional, tolerant of nulls and odd types, and
// unknown fields are ignored. Errors are *kyc.FieldError values that wrap ErrMalformed.
func Parse(raw []byte) (Webhook, error) {
	var env envelope
	if err := webhookjson.Strict(raw, &env); err != nil {
		return Webhook{}, &kyc.FieldError{Field: "(root)", Message: "must be a JSON object", Err: ErrMalformed}
	}
	name, err := requiredString("event", env.Event)
	if err != nil {
		return Webhook{}, err
	}
	if env.Body == nil || bytes.Equal(bytes.TrimSpace(*env.Body), []byte("null")) {
		return Webhook{}, &kyc.FieldError{Field: "body", Message: "is required", Err: ErrMalformed}
	}
	var b body
	if err := json.Unmarshal(*env.Body, &b); err != nil {
		return Webhook{}, &kyc.FieldError{Field: "body", Message: "must be a JSON object", Err: ErrMalformed}
	}
	w := Webhook{Event: name}
	if err := w.parseIDs(&b); err != nil {
		return Webhook{}, err
	}
	w.Trigger = string(b.Trigger)
	w.RequiredSteps = parseRequiredSteps(b.RequiredSteps)
	w.ReferenceNo = string(b.ReferenceNo)
	w.SystemDecision = string(b.SystemDecision)
	w.ManualDecision = string(b.ManualDecision)
	w.FinalDecision = string(b.FinalDecision)
	w.Action = string(b.Action)
	w.PreviousSystem = string(b.PreviousSystem)
	w.StepID = string(b.StepID)
	w.StepType = string(b.StepType)
	w.OngoingCheckID = string(b.OngoingCheckID)
	w.AMLVersion = int64(b.AMLVersion)
	w.parseReview(&b)
	return w, nil
}

// parseRequiredSteps reads body.requiredSteps tolerantly: anything but an array of objects
// is no steps, and entries without a stepId are left out.
func parseRequiredSteps(raw json.RawMessage) []RequiredStep {
	var in []requiredStep
	if len(raw) == 0 || json.Unmarshal(raw, &in) != nil {
		return nil
	}
	var out []RequiredStep
	for _, st := range in {
		if st.StepID != "" {
			out = append(out, RequiredStep{StepID: string(st.StepID), ReasonCode: string(st.ReasonCode),
				RenewalDeadline: firstNonEmpty(string(st.RenewalDeadline), string(st.Deadline))})
		}
	}
	return out
}

func requiredString(field string, raw *json.RawMessage) (string, error) {
	return required(field, raw, webhookjson.Text)
}

// requiredID accepts a string id or a number, safe as part of a key and in a log line.
func requiredID(field string, raw *json.RawMessage) (string, error) {
	return required(field, raw, webhookjson.ID)
}

func required(field string, raw *json.RawMessage, read func(*json.RawMessage) (string, string)) (string, error) {
	v, reason := read(raw)
	if reason != "" {
		return "", &kyc.FieldError{Field: field, Message: reason, Err: ErrMalformed}
	}
	return v, nil
}

// InboxEvent turns a parsed webhook into the inbox's vendor-neutral event. raw is the body
// exactly as received.
func (w Webhook) InboxEvent(raw []byte) inbox.Event {
	attrs := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			attrs[k] = v
		}
	}
	put("systemDecision", w.SystemDecision)
	put("manualDecision", w.ManualDecision)
	put("finalDecision", w.FinalDecision)
	put("action", w.Action)
	put("stepId", w.StepID)
	put("stepType", w.StepType)
	put("ongoingCheckId", w.OngoingCheckID)
	put("previousSystemDecision", w.PreviousSystem)
	put("reviewDecision", w.ReviewDecision)
	put("reviewReasonCode", w.ReviewReasonCode)
	if w.AMLVersion != 0 {
		attrs["amlVersion"] = strconv.FormatInt(w.AMLVersion, 10)
	}
	if len(w.ResubmitSteps) > 0 {
		attrs["resubmitSteps"] = strings.Join(w.ResubmitSteps, ",")
	}
	if len(w.ResubmitReasons) > 0 {
		attrs["resubmitReasonCodes"] = strings.Join(w.ResubmitReasons, ",")
	}
	put("spotCheckJourneyId", w.SpotCheckJourneyID)
	put("onboardingJourneyId", w.OnboardingJourney)
	put("trigger", w.Trigger)
	if len(w.RequiredSteps) > 0 {
		steps, _ := json.Marshal(w.RequiredSteps)
		attrs["requiredSteps"] = string(steps)
	}
	id, bodyHash := w.EventID, ""
	if w.EventIDFromBody || id == "" {
		bodyHash = inbox.Hash(raw)
		id = bodyHash
		attrs[AttrEventIDFrom] = EventIDFromBodyHash
	}
	return inbox.Event{
		Provider:    Provider,
		EventID:     id,
		BodyHash:    bodyHash,
		Name:        w.Event,
		JourneyID:   w.JourneyID,
		ReferenceNo: w.ReferenceNo,
		Attributes:  attrs,
		Processable: w.Processable(),
		Body:        raw,
	}
}

// ParseEvent parses raw and returns the inbox event: the parser the webhook edge uses.
func ParseEvent(raw []byte) (inbox.Event, error) {
	w, err := Parse(raw)
	if err != nil {
		return inbox.Event{}, err
	}
	return w.InboxEvent(raw), nil
}

// parseIDs reads the event id (absent: derived from the body) and the journey ids of b: a
// Finished Spot Check's own journey and the onboarding journey it re-checks, any other's
// journey.
func (w *Webhook) parseIDs(b *body) error {
	var err error
	if b.EventID == nil || webhookjson.IsNull(*b.EventID) {
		w.EventIDFromBody = true
	} else if w.EventID, err = requiredID("body.eventId", b.EventID); err != nil {
		return err
	}
	if w.Event == FinishedSpotCheck {
		if w.SpotCheckJourneyID, err = requiredID("body.spotCheckJourneyId", b.SpotCheckJourneyID); err != nil {
			return err
		}
		w.JourneyID = w.SpotCheckJourneyID
		if b.JourneyID != nil {
			if w.OnboardingJourney, err = requiredID("body.journeyId", b.JourneyID); err != nil {
				return err
			}
		}
	} else if w.JourneyID, err = requiredID("body.journeyId", b.JourneyID); err != nil {
		return err
	}
	return nil
}

// parseReview reads the manual review details of b, when they are well formed: the
// journey's review decision and reason, and the steps to resubmit with their reasons.
func (w *Webhook) parseReview(b *body) {
	var d reviewDetails
	if len(b.ManualReviewDetails) > 0 && json.Unmarshal(b.ManualReviewDetails, &d) == nil {
		w.ReviewDecision = string(d.JourneyReviewDecision)
		w.ReviewReasonCode = string(d.JourneyReviewReasonCode)
		for _, st := range d.ReviewedSteps {
			if strings.EqualFold(string(st.Decision), "Resubmit") && st.StepID != "" {
				w.ResubmitSteps = append(w.ResubmitSteps, string(st.StepID))
				if c := string(st.ReasonCode); c != "" && !slices.Contains(w.ResubmitReasons, c) {
					w.ResubmitReasons = append(w.ResubmitReasons, c)
				}
			}
		}
	}
}
