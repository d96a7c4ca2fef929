// Package idwise holds what the product knows about IDWise: its webhook envelope, its
// event names and decisions. It has no AWS or HTTP dependencies.
package idwise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kycbackend/kyc/shared/inbox"
	"strconv"
	"strings"
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
}

// Known reports whether name is an event the product knows how to process.
func Known(name string) bool { return knownEvents[name] }

// Limits on the ids IDWise sends. They are generous: the point is to refuse garbage that
// would make a bad DynamoDB key, not to second-guess the vendor's id format.
const maxIDLength = 256

// ErrMalformed is wrapped by every error Parse returns.
var ErrMalformed = errors.New("malformed webhook")

// FieldError names the field that made a webhook body unusable.
type FieldError struct {
	Field  string // JSON path, for example "body.eventId"
	Reason string // "is required", "must be a string", ...
}

func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// Is makes errors.Is(err, ErrMalformed) true for every FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrMalformed }

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
	StepID           string // Finished Step only
	OngoingCheckID   string // Finished Ongoing Check only
	AMLVersion       int64  // AML Monitor Update only: updatedAMLVersionNumber
	PreviousSystem   string // AML Monitor Update only: previousSystemDecision
	ReviewDecision   string // Updated Journey / Manual Review: manualReviewDetails.journeyReviewDecision
	ReviewReasonCode string
	ResubmitSteps    []string // steps a reviewer asked to resubmit
}

// Processable reports whether the processor has a rule for this event.
func (w Webhook) Processable() bool { return Known(w.Event) }

type envelope struct {
	Event *json.RawMessage `json:"event"`
	Body  *json.RawMessage `json:"body"`
}

type body struct {
	EventID             *json.RawMessage `json:"eventId"`
	JourneyID           *json.RawMessage `json:"journeyId"`
	ReferenceNo         looseString      `json:"referenceNo"`
	SystemDecision      looseString      `json:"systemDecision"`
	ManualDecision      looseString      `json:"manualDecision"`
	FinalDecision       looseString      `json:"finalDecision"`
	Action              looseString      `json:"action"`
	StepID              looseString      `json:"stepId"`
	OngoingCheckID      looseString      `json:"ongoingCheckId"`
	PreviousSystem      looseString      `json:"previousSystemDecision"`
	AMLVersion          looseInt         `json:"updatedAMLVersionNumber"`
	ManualReviewDetails json.RawMessage  `json:"manualReviewDetails"`
}

type reviewDetails struct {
	JourneyReviewDecision   looseString `json:"journeyReviewDecision"`
	JourneyReviewReasonCode looseString `json:"journeyReviewReasonCode"`
	ReviewedSteps           []struct {
		StepID   looseString `json:"stepId"`
		Decision looseString `json:"decision"`
	} `json:"reviewedSteps"`
}

// looseString takes a JSON string or number and leaves anything else (null, objects)
// empty: an optional field of an unexpected type must not cost us the event.
type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = looseString(strings.TrimSpace(v))
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*s = looseString(b)
	}
	return nil
}

// looseInt takes a JSON number or a numeric string; anything else leaves it zero.
type looseInt int64

func (n *looseInt) UnmarshalJSON(b []byte) error {
	var s looseString
	_ = s.UnmarshalJSON(b)
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err == nil {
		*n = looseInt(v)
	}
	return nil
}

// Parse reads an IDWise webhook body. It requires "event", "body.eventId" and
// "body.journeyId"; everything else is optional, tolerant of nulls and odd types, and
// unknown fields are ignored. Errors are *FieldError values that wrap ErrMalformed.
func Parse(raw []byte) (Webhook, error) {
	var env envelope
	if err := strictJSON(raw, &env); err != nil {
		return Webhook{}, &FieldError{Field: "(root)", Reason: "must be a JSON object"}
	}
	name, err := requiredString("event", env.Event)
	if err != nil {
		return Webhook{}, err
	}
	if env.Body == nil || bytes.Equal(bytes.TrimSpace(*env.Body), []byte("null")) {
		return Webhook{}, &FieldError{Field: "body", Reason: "is required"}
	}
	var b body
	if err := json.Unmarshal(*env.Body, &b); err != nil {
		return Webhook{}, &FieldError{Field: "body", Reason: "must be a JSON object"}
	}
	w := Webhook{Event: name}
	if w.EventID, err = requiredID("body.eventId", b.EventID); err != nil {
		return Webhook{}, err
	}
	if w.JourneyID, err = requiredID("body.journeyId", b.JourneyID); err != nil {
		return Webhook{}, err
	}
	w.ReferenceNo = string(b.ReferenceNo)
	w.SystemDecision = string(b.SystemDecision)
	w.ManualDecision = string(b.ManualDecision)
	w.FinalDecision = string(b.FinalDecision)
	w.Action = string(b.Action)
	w.PreviousSystem = string(b.PreviousSystem)
	w.StepID = string(b.StepID)
	w.OngoingCheckID = string(b.OngoingCheckID)
	w.AMLVersion = int64(b.AMLVersion)
	var d reviewDetails
	if len(b.ManualReviewDetails) > 0 && json.Unmarshal(b.ManualReviewDetails, &d) == nil {
		w.ReviewDecision = string(d.JourneyReviewDecision)
		w.ReviewReasonCode = string(d.JourneyReviewReasonCode)
		for _, st := range d.ReviewedSteps {
			if strings.EqualFold(string(st.Decision), "Resubmit") && st.StepID != "" {
				w.ResubmitSteps = append(w.ResubmitSteps, string(st.StepID))
			}
		}
	}
	return w, nil
}

// strictJSON decodes one JSON object and refuses trailing data.
func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON object")
	}
	return nil
}

func requiredString(field string, raw *json.RawMessage) (string, error) {
	if raw == nil || bytes.Equal(bytes.TrimSpace(*raw), []byte("null")) {
		return "", &FieldError{Field: field, Reason: "is required"}
	}
	var s string
	if err := json.Unmarshal(*raw, &s); err != nil {
		return "", &FieldError{Field: field, Reason: "must be a string"}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &FieldError{Field: field, Reason: "must not be empty"}
	}
	if len(s) > maxIDLength {
		return "", &FieldError{Field: field, Reason: fmt.Sprintf("must be at most %d characters", maxIDLength)}
	}
	return s, nil
}

// requiredID accepts a string id, or a number (some SDK samples send numeric ids), and
// refuses control characters so the id is safe as part of a key and in a log line.
func requiredID(field string, raw *json.RawMessage) (string, error) {
	if raw != nil {
		if n := bytes.TrimSpace(*raw); len(n) > 0 && (n[0] == '-' || (n[0] >= '0' && n[0] <= '9')) {
			if len(n) > maxIDLength {
				return "", &FieldError{Field: field, Reason: fmt.Sprintf("must be at most %d characters", maxIDLength)}
			}
			return string(n), nil
		}
	}
	s, err := requiredString(field, raw)
	if err != nil {
		return "", err
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", &FieldError{Field: field, Reason: "must not contain control characters"}
		}
	}
	return s, nil
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
	return inbox.Event{
		Provider:    Provider,
		EventID:     w.EventID,
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

// FieldName names the offending field (the webhook edge puts it in the 400 answer).
func (e *FieldError) FieldName() string { return e.Field }
