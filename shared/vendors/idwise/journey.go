package idwise

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Journey is IDWise's Get Journey Result (snake_case JSON). Decoding is tolerant:
// unknown fields are ignored, null leaves a field empty, and a field of an unexpected
// type is left empty instead of failing the whole journey. Only malformed JSON fails.
type Journey struct {
	JourneyID       string                     `json:"journey_id"`
	CustomerID      string                     `json:"customer_id,omitempty"`
	FlowID          string                     `json:"flow_id,omitempty"`
	ReferenceNumber string                     `json:"reference_number"`
	StartTime       string                     `json:"start_time"` // ISO 8601, often without a zone
	EndTime         string                     `json:"end_time"`
	SystemDecision  string                     `json:"system_decision"`
	ManualDecision  string                     `json:"manual_decision"`
	FinalDecision   string                     `json:"final_decision"`
	ModelVersion    string                     `json:"model_version,omitempty"`
	Documents       map[string]Document        `json:"documents"` // by step id
	Selfie          *Selfie                    `json:"selfie"`
	RuleResults     map[string]RuleResult      `json:"rule_results"` // by rule key
	Applicant       *Applicant                 `json:"applicant"`
	AML             *AML                       `json:"aml"`
	ScreeningChecks map[string]json.RawMessage `json:"screening_checks"` // by check, e.g. additional_face_db
}

// Document is the processing result of one document step.
type Document struct {
	StepTitle          string                    `json:"step_title,omitempty"`
	Progress           string                    `json:"progress,omitempty"`
	HasPassedRules     NullBool                  `json:"has_passed_rules,omitzero"`
	DocumentType       string                    `json:"document_type"`
	IssuingCountry     string                    `json:"issuing_country"`
	IssuingCountryCode string                    `json:"issuing_country_code,omitempty"`
	ExtractedFields    map[string]ExtractedField `json:"extracted_fields"` // by field name, e.g. "Full Name"
	ValidationResult   json.RawMessage           `json:"validation_result,omitempty"`
	FaceMatchResult    json.RawMessage           `json:"face_match_result,omitempty"`
}

// ExtractedField is one field read from a document. Value is a string in IDWise's
// model; a number is kept as its JSON text.
type ExtractedField struct {
	Value        Text   `json:"value"`
	ReadAccuracy string `json:"read_accuracy,omitempty"`
	Type         string `json:"type,omitempty"`
}

// Selfie is the liveness result.
type Selfie struct {
	Status             string   `json:"status"`
	IsLive             NullBool `json:"is_live"`
	LivenessStatusCode string   `json:"liveness_status_code"`
}

// RuleResult is one business rule's outcome; Details keeps IDWise's per-check list.
type RuleResult struct {
	Name    string          `json:"name"`
	Result  string          `json:"result"`
	Details json.RawMessage `json:"details,omitempty"`
}

// Applicant is the common applicant data.
type Applicant struct {
	ApplicantID    string `json:"applicant_id,omitempty"`
	FullName       string `json:"full_name,omitempty"`
	PersonalNumber string `json:"personal_number,omitempty"`
	BirthDate      string `json:"birth_date,omitempty"`
}

// AML holds the AML screening outcome. Matches keep IDWise's (loosely specified) shape.
type AML struct {
	Applicability string            `json:"applicability"`
	Matches       []json.RawMessage `json:"matches"`
}

// NullBool is an optional JSON boolean, like sql.NullBool: Valid is false when the
// value is null, absent or not a boolean ("true" and "false" strings are accepted).
type NullBool struct {
	Bool  bool
	Valid bool
}

// UnmarshalJSON never fails on well-formed JSON.
func (b *NullBool) UnmarshalJSON(raw []byte) error {
	switch strings.Trim(string(bytes.TrimSpace(raw)), `"`) {
	case "true":
		*b = NullBool{Bool: true, Valid: true}
	case "false":
		*b = NullBool{Valid: true}
	default:
		*b = NullBool{}
	}
	return nil
}

// MarshalJSON writes true, false or null.
func (b NullBool) MarshalJSON() ([]byte, error) {
	if !b.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendBool(nil, b.Bool), nil
}

// Text is a JSON string that also accepts a number or a boolean (kept as JSON text);
// null and other types leave it empty.
type Text string

// UnmarshalJSON never fails on well-formed JSON.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err == nil {
			*t = Text(s)
		}
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9') || b[0] == 't' || b[0] == 'f'):
		*t = Text(b)
	default:
		*t = ""
	}
	return nil
}

// UnmarshalJSON decodes as much of the journey as it can: a value of the wrong type is
// skipped (encoding/json keeps decoding after a type error), malformed JSON fails.
func (j *Journey) UnmarshalJSON(b []byte) error {
	type plain Journey // no methods: no recursion
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return err
		}
		if te.Field == "" { // the journey itself is not an object
			return err
		}
	}
	*j = Journey(p)
	return nil
}

// MaxFieldValue is the length above which a value that looks like base64 is left out
// of Fields.
const MaxFieldValue = 1024

// imageMarkers are the substrings (lower case) of a key that Fields leaves out.
var imageMarkers = []string{"image", "photo", "portrait", "crop", "base64", "selfie_image"}

// Fields flattens the journey into dotted keys, for example
// "documents.0.extracted_fields.Full Name.value", "selfie.is_live",
// "aml.applicability", "screening_checks.additional_face_db.result",
// "aml.matches.0.name". Null and empty values are left out. It never returns image
// data: keys naming an image, photo, portrait, crop or base64 are left out, so are
// extracted fields of type image, data: URLs and any value longer than MaxFieldValue
// that looks like base64. The processor applies its allow-list to these keys.
func (j Journey) Fields() map[string]string {
	raw, err := json.Marshal(j)
	if err != nil {
		return map[string]string{}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return map[string]string{}
	}
	out := map[string]string{}
	flatten(out, "", v)
	return out
}

func flatten(out map[string]string, key string, v any) {
	if key != "" && imageKey(key) {
		return
	}
	join := func(k string) string {
		if key == "" {
			return k
		}
		return key + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		if t, _ := x["type"].(string); strings.EqualFold(t, "image") {
			return
		}
		for k, child := range x {
			flatten(out, join(k), child)
		}
	case []any:
		for i, child := range x {
			flatten(out, join(strconv.Itoa(i)), child)
		}
	case string:
		if x != "" && !binaryValue(x) {
			out[key] = x
		}
	case json.Number:
		out[key] = x.String()
	case bool:
		out[key] = strconv.FormatBool(x)
	}
}

func imageKey(key string) bool {
	k := strings.ToLower(key)
	for _, m := range imageMarkers {
		if strings.Contains(k, m) {
			return true
		}
	}
	return false
}

// binaryValue reports whether s is a data: URL or a long base64 blob.
func binaryValue(s string) bool {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), "data:") {
		return true
	}
	if len(s) <= MaxFieldValue {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '+', c == '/', c == '-', c == '_', c == '=', c == '\n', c == '\r', c == ' ':
		default:
			return false
		}
	}
	return true
}
