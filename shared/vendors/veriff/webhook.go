// Package veriff holds what the product knows about Veriff: its event and decision
// webhooks, their codes, the reasons of end-user flow events, the HMAC that signs every
// delivery, and the mapping to profile statuses. It has no AWS or HTTP dependencies.
package veriff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/vendors/webhookjson"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Provider is the name this vendor is stored and published under.
const Provider = "veriff"

// Kind tells the webhooks Veriff sends apart (see kinds.go for the shapes).
type Kind string

const (
	// KindEvent is the event webhook: session progress (7001, 7002) and, for customers
	// who opted in, end-user flow events of the web flow (7007-7010).
	KindEvent Kind = "event"
	// KindDecision is the decision webhook: {status, verification: {...}}.
	KindDecision Kind = "decision"
	// KindFullAuto is the Full Auto webhook of the Essential plan: {eventType: "fullauto",
	// sessionId, attemptId, data: {verification: {decision, decisionScore, ...}}}, the only
	// result webhook of that plan, without decision or reason codes.
	KindFullAuto Kind = "fullauto"
	// KindWatchlist is the watchlist-screening webhook (PEP, sanctions, adverse media and
	// their ongoing monitoring): {checkType, matchStatus, sessionId, attemptId, hits, ...}.
	KindWatchlist Kind = "watchlist"
	// KindUserDefined is the user-defined statuses webhook: a status that someone set on
	// an attempt in the Veriff Customer Portal: {data: {verification: {id,
	// userDefinedData}}, eventType, attemptId, time}.
	KindUserDefined Kind = "user_defined"
	// KindUnknown is valid JSON of a kind this version does not know (INE, CURP, proof of
	// address ...): stored, not processable.
	KindUnknown Kind = "unknown"
)

// Event webhook codes.
const (
	CodeStarted   = 7001
	CodeSubmitted = 7002
	// End-user flow events (web flow, opt-in). Their action says what happened.
	CodeFlowFirst = 7007
	CodeFlowLast  = 7010
)

// Decision webhook codes (verification.code).
const (
	CodeApproved              = 9001
	CodeDeclined              = 9102
	CodeResubmissionRequested = 9103
	CodeExpired               = 9104 // verification.status expired or abandoned
	CodeReview                = 9121
)

// Actions of event webhooks.
const (
	ActionStarted         = "started"
	ActionSubmitted       = "submitted"
	ActionWaitingComplete = "waiting_complete"
	ActionFlowFinished    = "flow_finished"
	ActionFlowCancelled   = "flow_cancelled"
)

// Reasons (context.reason) of end-user flow events, from Veriff's end-user flow events
// table (https://devdocs.veriff.com/docs/event-webhook, "Additional info about end-user events").
const (
	ReasonFinalDecisionReceived           = "final_decision_received"
	ReasonFinalDecisionReceivedFromSocket = "final_decision_received_from_socket"
	ReasonWaitingDecisionContinueClicked  = "waiting_decision_continue_clicked"
	ReasonFinishedScreenConfirmedClicked  = "finished_screen_confirmed_clicked"
	ReasonQuitSessionConfirmed            = "quit_session_confirmed"
	ReasonErrorScreenExitClicked          = "error_screen_exit_clicked"
	ReasonConsentScreenCancelPressed      = "consent_screen_cancel_pressed"
	ReasonMobileHandoverScreenShown       = "mobile_handover_screen_shown"
)

// FlowReason describes a recognised context.reason: the action it comes with and what
// the end user did.
type FlowReason struct {
	Action      string
	Description string
}

var flowReasons = map[string]FlowReason{
	ReasonFinalDecisionReceived:           {ActionWaitingComplete, "the session got a final decision"},
	ReasonFinalDecisionReceivedFromSocket: {ActionWaitingComplete, "the session got a final decision (websocket)"},
	ReasonWaitingDecisionContinueClicked:  {ActionWaitingComplete, "the end user clicked Continue after the final decision"},
	ReasonFinishedScreenConfirmedClicked:  {ActionFlowFinished, "the end user confirmed in the leave session dialog"},
	ReasonQuitSessionConfirmed:            {ActionFlowCancelled, "the end user clicked Exit in the leave session dialog"},
	ReasonErrorScreenExitClicked:          {ActionFlowCancelled, "the end user clicked Exit on the error screen"},
	ReasonConsentScreenCancelPressed:      {ActionFlowCancelled, "the end user clicked Cancel on the consent screen"},
	ReasonMobileHandoverScreenShown:       {ActionFlowCancelled, "mobile handover screen shown on desktop, or the camera failed"},
}

// Reason returns what the product knows of a flow event reason. Unknown reasons are not
// an error: Veriff adds values, and they are stored and passed on as they came.
func Reason(reason string) (FlowReason, bool) {
	r, ok := flowReasons[reason]
	return r, ok
}

// Reasons lists the recognised flow event reasons.
func Reasons() []string {
	out := make([]string, 0, len(flowReasons))
	for r := range flowReasons {
		out = append(out, r)
	}
	return out
}

// Known reports whether the product knows how to process code.
func Known(code int) bool {
	switch code {
	case CodeStarted, CodeSubmitted, CodeApproved, CodeDeclined, CodeResubmissionRequested, CodeExpired, CodeReview:
		return true
	}
	return IsFlowEvent(code)
}

// IsFlowEvent reports whether code is an end-user flow event (7007-7010).
func IsFlowEvent(code int) bool { return code >= CodeFlowFirst && code <= CodeFlowLast }

// ErrMalformed is wrapped by every error Parse returns.
var ErrMalformed = errors.New("malformed webhook")

// Webhook is one Veriff delivery, event or decision. Fields the product does not use are
// ignored (the decision webhook's person and document data among them); optional fields
// may be absent or null, which leaves them empty.
type Webhook struct {
	Kind       Kind
	SessionID  string // id, or verification.id
	AttemptID  string
	Code       int
	Action     string // event webhook
	Feature    string // event webhook
	Reason     string // event: context.reason; decision: verification.reason
	State      string // event: context.state (open-ended list, stored as it came)
	Status     string // decision: verification.status
	ReasonCode string // decision: verification.reasonCode
	VendorData string
	EndUserID  string
	// DecisionTime is verification.decisionTime exactly as sent (RFC 3339 when valid);
	// for Full Auto, the webhook's time.
	DecisionTime string

	// Full Auto: DecisionScore is data.verification.decisionScore as sent (0 to 1), empty
	// when absent; Status holds data.verification.decision and Code its decision code.
	DecisionScore string
	// Watchlist screening: the check type (initial_result, updated_result ...), the match
	// status (possible_match, no_match) and how many hits it listed. The hits themselves
	// (names, dates of birth, listings) are never kept.
	CheckType   string
	MatchStatus string
	Hits        int
	// EventType is the eventType of Full Auto and user-defined status webhooks.
	EventType string

	// Integration and Product name the Veriff integration that signed the delivery (the
	// webhook edge adds them from the authenticator): a proof-of-address integration's
	// decisions are a check beside the status, never the identity status. Empty Product
	// (an event stored before integrations) is identity.
	Integration string
	Product     Product
}

// ProofOfAddress reports whether w came from a proof-of-address integration.
func (w Webhook) ProofOfAddress() bool { return w.Product == ProductProofOfAddress }

// Processable reports whether the processor has a rule for this webhook.
func (w Webhook) Processable() bool {
	switch w.Kind {
	case KindEvent, KindDecision:
		return Known(w.Code)
	case KindFullAuto, KindWatchlist, KindUserDefined:
		return true
	}
	return false
}

// IsDecision reports whether w carries a verification decision (decision or Full Auto).
func (w Webhook) IsDecision() bool { return w.Kind == KindDecision || w.Kind == KindFullAuto }

// Name is the event name stored in the inbox and shown on the timeline: the code and,
// when it is a plain identifier, the action or decision status ("7002 submitted",
// "9001 approved").
func (w Webhook) Name() string {
	label := w.Action
	name := strconv.Itoa(w.Code)
	switch w.Kind {
	case KindDecision:
		label = w.Status
	case KindFullAuto:
		name, label = "fullauto", w.Status
	case KindWatchlist:
		name, label = "watchlist", w.MatchStatus
	case KindUserDefined:
		return "user_defined_status"
	case KindUnknown:
		return "unknown"
	}
	if plainLabel(label) {
		name += " " + label
	}
	return name
}

func plainLabel(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

type eventBody struct {
	ID         *json.RawMessage  `json:"id"`
	Code       *json.RawMessage  `json:"code"`
	AttemptID  webhookjson.Loose `json:"attemptId"`
	Feature    webhookjson.Loose `json:"feature"`
	Action     webhookjson.Loose `json:"action"`
	VendorData webhookjson.Loose `json:"vendorData"`
	EndUserID  webhookjson.Loose `json:"endUserId"`
	Context    json.RawMessage   `json:"context"`
}

type flowContext struct {
	Reason webhookjson.Loose `json:"reason"`
	State  webhookjson.Loose `json:"state"`
}

type decisionEnvelope struct {
	Verification *json.RawMessage `json:"verification"`
}

type verification struct {
	ID           *json.RawMessage  `json:"id"`
	Code         *json.RawMessage  `json:"code"`
	AttemptID    webhookjson.Loose `json:"attemptId"`
	Status       webhookjson.Loose `json:"status"`
	Reason       webhookjson.Loose `json:"reason"`
	ReasonCode   webhookjson.Loose `json:"reasonCode"`
	VendorData   webhookjson.Loose `json:"vendorData"`
	EndUserID    webhookjson.Loose `json:"endUserId"`
	DecisionTime webhookjson.Loose `json:"decisionTime"`
}

// Parse reads a Veriff webhook body. The kind comes from its shape (kindOf): a decision
// webhook when it carries "verification", Full Auto, watchlist screening and user-defined
// status by their own fields, an event webhook when it carries a code (or an id and an
// action), and any other JSON object is KindUnknown (stored, not processable). Each known
// kind requires its session id (and events and decisions their code); everything else is
// optional, tolerant of nulls and odd types, and unknown fields are ignored. Errors are
// *kyc.FieldError values that wrap ErrMalformed.
func Parse(raw []byte) (Webhook, error) {
	var root map[string]json.RawMessage
	if err := webhookjson.Strict(raw, &root); err != nil || root == nil {
		return Webhook{}, &kyc.FieldError{Field: "(root)", Message: "must be a JSON object", Err: ErrMalformed}
	}
	switch kindOf(root) {
	case KindDecision:
		return parseDecision(raw)
	case KindFullAuto:
		return parseFullAuto(raw)
	case KindWatchlist:
		return parseWatchlist(raw)
	case KindUserDefined:
		return parseUserDefined(raw)
	case KindEvent:
		return parseEvent(raw)
	}
	return parseUnknown(root), nil
}

func parseEvent(raw []byte) (Webhook, error) {
	var b eventBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return Webhook{}, &kyc.FieldError{Field: "(root)", Message: "must be a JSON object", Err: ErrMalformed}
	}
	w := Webhook{Kind: KindEvent}
	var err error
	if w.SessionID, err = requiredID("id", b.ID); err != nil {
		return Webhook{}, err
	}
	if w.Code, err = requiredCode("code", b.Code); err != nil {
		return Webhook{}, err
	}
	w.AttemptID = string(b.AttemptID)
	w.Feature = string(b.Feature)
	w.Action = string(b.Action)
	w.VendorData = string(b.VendorData)
	w.EndUserID = string(b.EndUserID)
	var c flowContext
	if len(b.Context) > 0 && json.Unmarshal(b.Context, &c) == nil { // a context of another shape is ignored
		w.Reason = string(c.Reason)
		w.State = string(c.State)
	}
	return w, nil
}

func parseDecision(raw []byte) (Webhook, error) {
	var env decisionEnvelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return Webhook{}, &kyc.FieldError{Field: "(root)", Message: "must be a JSON object", Err: ErrMalformed}
	}
	var v verification
	if err := json.Unmarshal(*env.Verification, &v); err != nil {
		return Webhook{}, &kyc.FieldError{Field: "verification", Message: "must be a JSON object", Err: ErrMalformed}
	}
	w := Webhook{Kind: KindDecision}
	var err error
	if w.SessionID, err = requiredID("verification.id", v.ID); err != nil {
		return Webhook{}, err
	}
	if w.Code, err = requiredCode("verification.code", v.Code); err != nil {
		return Webhook{}, err
	}
	w.AttemptID = string(v.AttemptID)
	w.Status = string(v.Status)
	w.Reason = string(v.Reason)
	w.ReasonCode = string(v.ReasonCode)
	w.VendorData = string(v.VendorData)
	w.EndUserID = string(v.EndUserID)
	w.DecisionTime = string(v.DecisionTime)
	return w, nil
}

// ReferenceField says which webhook field carries the customer's referenceNo.
type ReferenceField string

const (
	ReferenceVendorData ReferenceField = "vendorData" // default: set when the session is created
	ReferenceEndUserID  ReferenceField = "endUserId"
)

// ParseReferenceField reads the configured field; empty means vendorData.
func ParseReferenceField(s string) (ReferenceField, error) {
	switch ReferenceField(strings.TrimSpace(s)) {
	case "", ReferenceVendorData:
		return ReferenceVendorData, nil
	case ReferenceEndUserID:
		return ReferenceEndUserID, nil
	}
	return "", fmt.Errorf("reference field %q: want vendorData or endUserId", s)
}

// ReferenceNo is the customer's referenceNo in w under field f.
func (w Webhook) ReferenceNo(f ReferenceField) string {
	if f == ReferenceEndUserID {
		return w.EndUserID
	}
	return w.VendorData
}

// Attribute names of Veriff inbox events (inbox.Event.Attributes).
const (
	AttrKind         = "kind"
	AttrCode         = "code"
	AttrAction       = "action"
	AttrAttemptID    = "attemptId"
	AttrFeature      = "feature"
	AttrReason       = "reason"
	AttrState        = "state"
	AttrStatus       = "status"
	AttrReasonCode   = "reasonCode"
	AttrVendorData   = "vendorData"
	AttrEndUserID    = "endUserId"
	AttrDecisionTime = "decisionTime"
	AttrScore        = "decisionScore"
	AttrCheckType    = "checkType"
	AttrMatchStatus  = "matchStatus"
	AttrHits         = "hits" // the number of hits, never the hits
	AttrEventType    = "eventType"
	// The integration that signed the delivery and its product (Authenticator.Attributes).
	AttrIntegration = "integration"
	AttrProduct     = "product"
)

// InboxEvent turns a parsed webhook into the inbox's vendor-neutral event. Veriff sends
// no event id: the event id, the dedup key, is the SHA-256 of raw, the body exactly as
// received (a retry carries the same bytes). The body kept is raw as it came; see
// Parser.ParseEvent for the one without the person's data.
func (w Webhook) InboxEvent(raw []byte, ref ReferenceField) inbox.Event {
	attrs := map[string]string{AttrKind: string(w.Kind), AttrCode: strconv.Itoa(w.Code)}
	put := func(k, v string) {
		if v != "" {
			attrs[k] = v
		}
	}
	put(AttrAction, w.Action)
	put(AttrAttemptID, w.AttemptID)
	put(AttrFeature, w.Feature)
	put(AttrReason, w.Reason)
	put(AttrState, w.State)
	put(AttrStatus, w.Status)
	put(AttrReasonCode, w.ReasonCode)
	put(AttrVendorData, w.VendorData)
	put(AttrEndUserID, w.EndUserID)
	put(AttrDecisionTime, w.DecisionTime)
	put(AttrScore, w.DecisionScore)
	put(AttrCheckType, w.CheckType)
	put(AttrMatchStatus, w.MatchStatus)
	put(AttrEventType, w.EventType)
	put(AttrIntegration, w.Integration)
	put(AttrProduct, string(w.Product))
	if w.Kind == KindWatchlist {
		attrs[AttrHits] = strconv.Itoa(w.Hits)
	}
	hash := inbox.Hash(raw)
	return inbox.Event{
		Provider:    Provider,
		EventID:     hash,
		Name:        w.Name(),
		JourneyID:   w.SessionID,
		ReferenceNo: w.ReferenceNo(ref),
		Attributes:  attrs,
		Processable: w.Processable(),
		Body:        raw,
		BodyHash:    hash,
	}
}

// FromEvent rebuilds the webhook from a stored inbox event's attributes (the processor
// never parses the raw body again).
func FromEvent(e inbox.Event) Webhook {
	a := e.Attributes
	code, _ := strconv.Atoi(a[AttrCode])
	hits, _ := strconv.Atoi(a[AttrHits])
	return Webhook{
		Kind: Kind(a[AttrKind]), SessionID: e.JourneyID, AttemptID: a[AttrAttemptID], Code: code,
		Action: a[AttrAction], Feature: a[AttrFeature], Reason: a[AttrReason], State: a[AttrState],
		Status: a[AttrStatus], ReasonCode: a[AttrReasonCode], VendorData: a[AttrVendorData],
		EndUserID: a[AttrEndUserID], DecisionTime: a[AttrDecisionTime],
		DecisionScore: a[AttrScore], CheckType: a[AttrCheckType], MatchStatus: a[AttrMatchStatus], Hits: hits,
		EventType: a[AttrEventType], Integration: a[AttrIntegration], Product: Product(a[AttrProduct]),
	}
}

// Parser parses Veriff webhooks with the configured referenceNo field.
type Parser struct {
	Reference ReferenceField // empty: vendorData
	// Drop names members removed even where the allow-list keeps them
	// (VERIFF_STRIP_FIELDS, e.g. endUserId).
	Drop []string
}

// ParseEvent parses raw and returns the inbox event: the parser the webhook edge uses.
// The body stored is raw reduced to the allow-list of its kind (Redact); the event id and
// the body hash stay those of raw, the bytes Veriff signed and sends again on a retry.
func (p Parser) ParseEvent(raw []byte) (inbox.Event, error) {
	w, err := Parse(raw)
	if err != nil {
		return inbox.Event{}, err
	}
	e := w.InboxEvent(raw, p.Reference)
	e.Body = Redact(raw, p.Drop...)
	return e, nil
}

// Redact is what the inbox and the quarantine keep of a Veriff body: Redact(raw, p.Drop...).
func (p Parser) Redact(raw []byte) []byte { return Redact(raw, p.Drop...) }

// ParseEvent parses raw with vendorData as the referenceNo.
func ParseEvent(raw []byte) (inbox.Event, error) { return Parser{}.ParseEvent(raw) }

func requiredID(field string, raw *json.RawMessage) (string, error) {
	v, reason := webhookjson.ID(raw)
	if reason != "" {
		return "", &kyc.FieldError{Field: field, Message: reason, Err: ErrMalformed}
	}
	return v, nil
}

// requiredCode accepts a non-negative integer: a JSON number of integral value (7001.0 is
// the number 7001 in JSON, and an integer to JSON Schema), or an integer in a string.
func requiredCode(field string, raw *json.RawMessage) (int, error) {
	if raw == nil || webhookjson.IsNull(*raw) {
		return 0, &kyc.FieldError{Field: field, Message: "is required", Err: ErrMalformed}
	}
	var s webhookjson.Loose
	if err := s.UnmarshalJSON(*raw); err != nil {
		return 0, &kyc.FieldError{Field: field, Message: "must be an integer", Err: ErrMalformed}
	}
	n, err := strconv.Atoi(string(s))
	if trimmed := bytes.TrimSpace(*raw); err != nil && len(trimmed) > 0 && trimmed[0] != '"' {
		n, err = integral(string(s))
	}
	if err != nil || n < 0 {
		return 0, &kyc.FieldError{Field: field, Message: "must be an integer", Err: ErrMalformed}
	}
	return n, nil
}

// integral reads a JSON number of integral value within int64 (7001.0, 7.001e3).
func integral(s string) (int, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= math.MaxInt64 {
		return 0, errors.New("not an integer")
	}
	return int(f), nil
}
