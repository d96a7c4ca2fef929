// Package webhookauth is what the webhook edge and every vendor's authenticator share: the
// request an authenticator looks at and the errors the edge maps to a status code. The
// authenticators are the vendors' own (idwise/idwiseauth, veriff.Authenticator).
package webhookauth

import "errors"

// Sentinel errors the edge maps to a status code.
var (
	ErrUnauthenticated = errors.New("unauthenticated")     // 401
	ErrForbiddenSource = errors.New("source ip forbidden") // 403
)

// Request is the part of an HTTP request an authenticator looks at. Header names are
// lower case: API Gateway HTTP API payload v2 lower-cases them, and the webhook edge
// passes them through apigw.LowerHeaders, the one header rule, for any other caller.
type Request struct {
	Headers  map[string]string
	SourceIP string
	Body     []byte // the raw body, as received (for authenticators that check a body signature)
}
