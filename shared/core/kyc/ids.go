package kyc

import (
	"fmt"
	"strings"
)

// MaxIDLength bounds a journeyId or referenceNo: well under DynamoDB's 2 KB partition key
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

// CheckID checks a journeyId or referenceNo, from the app or from a vendor: 1 to
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
