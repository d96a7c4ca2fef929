package kyc

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxIDLength bounds a journeyId or a session id: well under DynamoDB's 2 KB partition key
// limit once prefixed, and short enough for a log line.
const MaxIDLength = 256

// FieldError names the input field that is wrong and why (never the value itself): the
// one field error of the product, from the app API, a vendor's webhook parser or the
// devices service. Edges answer 400 naming Field. Err, when set, is the sentinel the error
// wraps (idwise.ErrMalformed, veriff.ErrMalformed, devices.ErrInvalid), for errors.Is.
type FieldError struct {
	Field   string // JSON path or parameter name, for example "body.eventId"
	Message string // "is required", "must be a string", ...
	Err     error
}

func (e *FieldError) Error() string { return e.Field + " " + e.Message }

// FieldName names the offending field (edges put it in their 400 answer).
func (e *FieldError) FieldName() string { return e.Field }

// Unwrap returns the sentinel the error wraps (nil when none).
func (e *FieldError) Unwrap() error { return e.Err }

// CheckID checks a journeyId or a session id, from the app or from a vendor: 1 to
// MaxIDLength characters of letters, digits and . _ - : @ | + = (what vendor ids and OIDC
// subjects use), safe in a key, a path and a log line. No NUL, no newline, no slash.
func CheckID(field, s string) error {
	if s == "" {
		return &FieldError{Field: field, Message: "is required"}
	}
	if len(s) > MaxIDLength {
		return &FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters", MaxIDLength)}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-:@|+=", c) >= 0) {
			return &FieldError{Field: field, Message: "may only contain letters, digits and . _ - : @ | + ="}
		}
	}
	return nil
}

// MaxReferenceLength bounds a referenceNo (Veriff's vendorData) in characters (runes):
// Veriff documents vendorData as up to 1,000 characters, IDWise's reference_no fits in it.
const MaxReferenceLength = 1000

// ReferencePattern is CheckReference as openapi.yaml's pattern of a referenceNo (the
// schema the contract tests generate from, \uXXXX escapes): a first and a last character
// that is neither white space nor refused, and up to 998 characters between that are not
// refused (inner spaces allowed). A test holds the two equal over every code point.
const ReferencePattern = `^[^\u0000-\u0020\u007f-\u00a0\u00ad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff9-\ufffb]` +
	`([^\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]{0,998}` +
	`[^\u0000-\u0020\u007f-\u00a0\u00ad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff9-\ufffb])?$`

// CheckReference checks a referenceNo (IDWise's referenceNo, Veriff's vendorData, a
// token's claim, a path parameter): the one rule for a user's reference everywhere. It
// admits every value the vendors allow: 1 to MaxReferenceLength characters of printable
// Unicode (letters, marks, digits, punctuation, symbols and spaces, so `/ \ , + @ #` and
// `user 42` too), with no white space first or last. Refused: invalid UTF-8, control
// characters (C0, DEL, C1: newlines, NUL) and the invisible format characters that make a
// log line or a key read as something else (refusedInReference), and anything longer.
// The rule is a deny-list of those rather than Go's unicode tables so that a character
// newer than them (a vendor on a newer Unicode) is not refused, and so that openapi.yaml
// can state it exactly (ReferencePattern). journeyId and session ids keep CheckID. Keys
// stay unambiguous because a reference is always the whole rest of its key (see
// dynamo.ProfilePK); the error never repeats the value.
func CheckReference(field, s string) error {
	if s == "" {
		return &FieldError{Field: field, Message: "is required"}
	}
	if !utf8.ValidString(s) {
		return &FieldError{Field: field, Message: "must be UTF-8 text"}
	}
	if utf8.RuneCountInString(s) > MaxReferenceLength {
		return &FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters", MaxReferenceLength)}
	}
	for _, r := range s {
		if refusedInReference(r) {
			return &FieldError{Field: field, Message: "must be printable characters (no control or invisible format characters)"}
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return &FieldError{Field: field, Message: "must not begin or end with white space"}
	}
	return nil
}

// refusedInReference: the control characters (C0, DEL, C1), the line and paragraph
// separators, and the invisible format characters of the Basic Multilingual Plane (soft
// hyphen, Arabic letter mark, Mongolian vowel separator, zero-width characters and joiners,
// bidirectional embeddings, overrides and isolates, word joiner and invisible operators,
// byte order mark, interlinear annotation).
func refusedInReference(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0xad, r == 0x61c, r == 0x180e, r == 0xfeff:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x2028 && r <= 0x202e, r >= 0x2060 && r <= 0x206f, r >= 0xfff9 && r <= 0xfffb:
		return true
	}
	return false
}
