// Package webhookjson holds the tolerant JSON decoding every vendor's webhook parser
// shares: required ids that are safe as keys and in logs, optional fields that never cost
// an event when their type is unexpected, and one JSON value per body.
package webhookjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxIDLength bounds ids used in keys: generous, to refuse garbage, not to second-guess a
// vendor's id format.
const MaxIDLength = 256

// Strict decodes one JSON value into v and refuses trailing data.
func Strict(raw []byte, v any) error {
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

// IsNull reports whether raw is JSON null.
func IsNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func isNumber(b []byte) bool { return len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) }

// Text reads a required string field. It returns the trimmed value, or why the field is
// unusable ("is required", "must be a string", ...) as the reason, empty when it is fine.
func Text(raw *json.RawMessage) (value, reason string) {
	if raw == nil || IsNull(*raw) {
		return "", "is required"
	}
	var s string
	if err := json.Unmarshal(*raw, &s); err != nil {
		return "", "must be a string"
	}
	return bounded(strings.TrimSpace(s))
}

// ID reads a required id: a string, or a number kept as written (some vendors' samples
// send numeric ids). Control characters are refused so the id is safe in a key and in a
// log line.
func ID(raw *json.RawMessage) (value, reason string) {
	if raw != nil {
		if n := bytes.TrimSpace(*raw); isNumber(n) {
			return bounded(string(n))
		}
	}
	s, reason := Text(raw)
	if reason != "" {
		return "", reason
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", "must not contain control characters"
		}
	}
	return s, ""
}

func bounded(s string) (string, string) {
	switch {
	case s == "":
		return "", "must not be empty"
	case len(s) > MaxIDLength:
		return "", fmt.Sprintf("must be at most %d characters", MaxIDLength)
	}
	return s, ""
}

// Loose takes a JSON string or number and leaves anything else (null, objects) empty: an
// optional field of an unexpected type must not cost the event.
type Loose string

// UnmarshalJSON implements json.Unmarshaler.
func (s *Loose) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = Loose(strings.TrimSpace(v))
	case isNumber(b):
		*s = Loose(b)
	}
	return nil
}

// LooseInt takes a JSON number or a numeric string; anything else leaves it zero.
type LooseInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *LooseInt) UnmarshalJSON(b []byte) error {
	var s Loose
	_ = s.UnmarshalJSON(b)
	if v, err := strconv.ParseInt(string(s), 10, 64); err == nil {
		*n = LooseInt(v)
	}
	return nil
}
