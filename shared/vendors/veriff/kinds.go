package veriff

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/kycbackend/kyc/shared/vendors/webhookjson"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Decision values (verification.status of the decision webhook, data.verification.decision
// of Full Auto) and the decision code each stands for.
const (
	StatusApproved              = "approved"
	StatusDeclined              = "declined"
	StatusResubmissionRequested = "resubmission_requested"
	StatusExpired               = "expired"
	StatusAbandoned             = "abandoned"
	StatusReview                = "review"
)

var decisionCodes = map[string]int{
	StatusApproved:              CodeApproved,
	StatusDeclined:              CodeDeclined,
	StatusResubmissionRequested: CodeResubmissionRequested,
	StatusExpired:               CodeExpired,
	StatusAbandoned:             CodeExpired,
	StatusReview:                CodeReview,
}

// DecisionCode is the decision code a decision value stands for: Full Auto sends the
// value without a code, and the same policy maps both. 0 for a value we do not know.
func DecisionCode(decision string) int {
	return decisionCodes[strings.ToLower(strings.TrimSpace(decision))]
}

// Watchlist match statuses (matchStatus).
const (
	MatchPossible = "possible_match"
	MatchNone     = "no_match"
)

// EventTypeFullAuto is the eventType of the Full Auto webhook.
const EventTypeFullAuto = "fullauto"

// kindOf tells the kind of a webhook from the fields its root carries. Each vendor
// webhook kind has its own URL setting in Veriff's portal, but customers commonly point
// them all at one URL, so the shape decides.
func kindOf(root map[string]json.RawMessage) Kind {
	present := func(k string) bool { v, ok := root[k]; return ok && !webhookjson.IsNull(v) }
	if present("verification") {
		return KindDecision
	}
	var et webhookjson.Loose
	if v, ok := root["eventType"]; ok {
		_ = et.UnmarshalJSON(v)
	}
	dv := dataVerification(root)
	switch {
	case strings.EqualFold(string(et), EventTypeFullAuto):
		return KindFullAuto
	case dv != nil && (hasKey(dv, "decision") || hasKey(dv, "decisionScore")) && present("sessionId"):
		return KindFullAuto
	case present("matchStatus") || present("checkType"):
		return KindWatchlist
	case dv != nil && hasKey(dv, "userDefinedData"):
		return KindUserDefined
	case present("code"), present("id") && present("action"):
		return KindEvent
	}
	return KindUnknown
}

// dataVerification is root.data.verification as an object, nil when there is none.
func dataVerification(root map[string]json.RawMessage) map[string]json.RawMessage {
	var data struct {
		Verification map[string]json.RawMessage `json:"verification"`
	}
	if d, ok := root["data"]; !ok || json.Unmarshal(d, &data) != nil {
		return nil
	}
	return data.Verification
}

func hasKey(m map[string]json.RawMessage, k string) bool { _, ok := m[k]; return ok }

type fullAutoBody struct {
	SessionID  *json.RawMessage  `json:"sessionId"`
	AttemptID  webhookjson.Loose `json:"attemptId"`
	VendorData webhookjson.Loose `json:"vendorData"`
	EndUserID  webhookjson.Loose `json:"endUserId"`
	EventType  webhookjson.Loose `json:"eventType"`
	Time       webhookjson.Loose `json:"time"`
	Data       struct {
		Verification struct {
			ID            *json.RawMessage  `json:"id"`
			Decision      json.RawMessage   `json:"decision"`
			DecisionScore webhookjson.Loose `json:"decisionScore"`
			DecisionTime  webhookjson.Loose `json:"decisionTime"`
		} `json:"verification"`
	} `json:"data"`
}

// parseFullAuto reads the Full Auto webhook. Its decision is a string in the published
// samples; an object {"value": "..."} (the shape of its extracted fields) is read too.
func parseFullAuto(raw []byte) (Webhook, error) {
	var b fullAutoBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return Webhook{}, &kyc.FieldError{Field: "data.verification", Message: "must be a JSON object", Err: ErrMalformed}
	}
	w := Webhook{Kind: KindFullAuto}
	idField, id := "sessionId", b.SessionID
	if id == nil && b.Data.Verification.ID != nil {
		idField, id = "data.verification.id", b.Data.Verification.ID
	}
	var err error
	if w.SessionID, err = requiredID(idField, id); err != nil {
		return Webhook{}, err
	}
	w.AttemptID, w.VendorData, w.EndUserID = string(b.AttemptID), string(b.VendorData), string(b.EndUserID)
	w.EventType = string(b.EventType)
	w.Status = decisionValue(b.Data.Verification.Decision)
	w.Code = DecisionCode(w.Status)
	w.DecisionScore = string(b.Data.Verification.DecisionScore)
	w.DecisionTime = firstNonEmpty(string(b.Data.Verification.DecisionTime), string(b.Time))
	return w, nil
}

func decisionValue(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	var s webhookjson.Loose
	if s.UnmarshalJSON(raw) == nil && s != "" {
		return strings.ToLower(string(s))
	}
	var obj struct {
		Value webhookjson.Loose `json:"value"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return strings.ToLower(string(obj.Value))
	}
	return ""
}

type watchlistBody struct {
	SessionID   *json.RawMessage     `json:"sessionId"`
	AttemptID   webhookjson.Loose    `json:"attemptId"`
	VendorData  webhookjson.Loose    `json:"vendorData"`
	EndUserID   webhookjson.Loose    `json:"endUserId"`
	CheckType   webhookjson.Loose    `json:"checkType"`
	MatchStatus webhookjson.Loose    `json:"matchStatus"`
	TotalHits   webhookjson.LooseInt `json:"totalHits"`
	Hits        json.RawMessage      `json:"hits"`
}

// parseWatchlist reads the watchlist-screening webhook. Only the count of its hits is
// kept (the larger of totalHits and the length of hits).
func parseWatchlist(raw []byte) (Webhook, error) {
	var b watchlistBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return Webhook{}, &kyc.FieldError{Field: "(root)", Message: "must be a JSON object", Err: ErrMalformed}
	}
	w := Webhook{Kind: KindWatchlist}
	var err error
	if w.SessionID, err = requiredID("sessionId", b.SessionID); err != nil {
		return Webhook{}, err
	}
	w.AttemptID, w.VendorData, w.EndUserID = string(b.AttemptID), string(b.VendorData), string(b.EndUserID)
	w.CheckType, w.MatchStatus = string(b.CheckType), strings.ToLower(string(b.MatchStatus))
	var hits []json.RawMessage
	if json.Unmarshal(b.Hits, &hits) == nil {
		w.Hits = len(hits)
	}
	if n := int(b.TotalHits); n > w.Hits {
		w.Hits = n
	}
	return w, nil
}

type userDefinedBody struct {
	AttemptID  webhookjson.Loose `json:"attemptId"`
	EventType  webhookjson.Loose `json:"eventType"`
	VendorData webhookjson.Loose `json:"vendorData"`
	EndUserID  webhookjson.Loose `json:"endUserId"`
	Data       struct {
		Verification struct {
			ID *json.RawMessage `json:"id"`
		} `json:"verification"`
	} `json:"data"`
}

// parseUserDefined reads the user-defined statuses webhook. The status itself
// (userDefinedData) is the customer's own vocabulary: it stays in the stored body only.
func parseUserDefined(raw []byte) (Webhook, error) {
	var b userDefinedBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return Webhook{}, &kyc.FieldError{Field: "data.verification", Message: "must be a JSON object", Err: ErrMalformed}
	}
	w := Webhook{Kind: KindUserDefined}
	var err error
	if w.SessionID, err = requiredID("data.verification.id", b.Data.Verification.ID); err != nil {
		return Webhook{}, err
	}
	w.AttemptID, w.EventType = string(b.AttemptID), string(b.EventType)
	w.VendorData, w.EndUserID = string(b.VendorData), string(b.EndUserID)
	return w, nil
}

// parseUnknown keeps what can be told of a body of an unknown kind: its session id when
// one of the usual fields holds a usable one, and its reference fields.
func parseUnknown(root map[string]json.RawMessage) Webhook {
	w := Webhook{Kind: KindUnknown}
	candidates := []json.RawMessage{root["sessionId"], root["id"]}
	if dv := dataVerification(root); dv != nil {
		candidates = append(candidates, dv["id"])
	}
	for _, c := range candidates {
		if c == nil {
			continue
		}
		// A guess, not a required field: one that cannot be a key (kyc.CheckID) is passed
		// over rather than costing the event.
		if id, reason := webhookjson.ID(&c); reason == "" && kyc.CheckID("sessionId", id) == nil {
			w.SessionID = id
			break
		}
	}
	var s webhookjson.Loose
	if v, ok := root["attemptId"]; ok && s.UnmarshalJSON(v) == nil {
		w.AttemptID = string(s)
	}
	s = ""
	if v, ok := root["vendorData"]; ok && s.UnmarshalJSON(v) == nil {
		w.VendorData = string(s)
	}
	s = ""
	if v, ok := root["eventType"]; ok && s.UnmarshalJSON(v) == nil && plainLabel(string(s)) {
		w.EventType = string(s)
	}
	return w
}
