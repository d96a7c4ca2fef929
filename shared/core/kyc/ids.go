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

// CheckReference checks a referenceNo (IDWise's referenceNo, Veriff's vendorData, a
// token's claim, a path parameter): the one rule for a user's reference everywhere. It
// admits every value the vendors allow: 1 to MaxReferenceLength characters of printable
// Unicode (letters, marks, digits, punctuation, symbols and spaces, so `/ \ , + @ #` and
// `user 42` too), with no leading or trailing space. Refused: invalid UTF-8, control and
// format characters (newlines, NUL, bidirectional overrides: a log line or a key must
// read as what it is), and anything longer. journeyId and session ids keep CheckID.
// Keys stay unambiguous because a reference is always the last part of a key (see
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
		if !unicode.IsGraphic(r) {
			return &FieldError{Field: field, Message: "must be printable characters (no control or format characters)"}
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return &FieldError{Field: field, Message: "must not begin or end with a space"}
	}
	return nil
}
