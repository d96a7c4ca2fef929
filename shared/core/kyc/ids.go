package kyc

import (
	"fmt"
	"strings"
)

// MaxIDLength bounds a journeyId or referenceNo: well under DynamoDB's 2 KB partition key
// limit once prefixed, and short enough for a log line.
const MaxIDLength = 256

// IDError names the id field that is wrong and why (never the value itself).
type IDError struct {
	Field   string
	Message string
}

func (e *IDError) Error() string { return e.Field + " " + e.Message }

// FieldName names the offending field (edges put it in their 400 answer).
func (e *IDError) FieldName() string { return e.Field }

// CheckID checks a journeyId or referenceNo, from the app or from a vendor: 1 to
// MaxIDLength characters of letters, digits and . _ - : @ | + = (what vendor ids and OIDC
// subjects use), safe in a key, a path and a log line. No NUL, no newline, no slash.
func CheckID(field, s string) error {
	if s == "" {
		return &IDError{Field: field, Message: "is required"}
	}
	if len(s) > MaxIDLength {
		return &IDError{Field: field, Message: fmt.Sprintf("must be at most %d characters", MaxIDLength)}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-:@|+=", c) >= 0) {
			return &IDError{Field: field, Message: "may only contain letters, digits and . _ - : @ | + ="}
		}
	}
	return nil
}
