// Package jwt signs and verifies RS256 JSON Web Tokens for the local run only, with
// github.com/golang-jwt/jwt/v5: the runner's dev key signs tokens (GET /_local/token) and
// Verifier checks them the way API Gateway's JWT authorizer does (signature, exp, nbf,
// iss, and aud or client_id), then hands the claims to the route as API Gateway would.
// Deployed, API Gateway does all of this against the issuer's JWKS; the api function
// only reads the claims.
//
// The library checks the algorithm, the signature, exp (required), nbf and iss; this
// package adds only what API Gateway does beyond it: a token without aud is checked on
// client_id (Cognito access tokens), and the claims are flattened to strings.
package jwt

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Errors of Verify; each wraps ErrInvalid.
var (
	ErrInvalid       = errors.New("invalid token")
	ErrMissing       = fmt.Errorf("%w: missing", ErrInvalid)
	ErrMalformed     = fmt.Errorf("%w: malformed", ErrInvalid)
	ErrAlgorithm     = fmt.Errorf("%w: algorithm not RS256", ErrInvalid)
	ErrSignature     = fmt.Errorf("%w: bad signature", ErrInvalid)
	ErrExpired       = fmt.Errorf("%w: expired", ErrInvalid)
	ErrNotYetValid   = fmt.Errorf("%w: not yet valid", ErrInvalid)
	ErrIssuer        = fmt.Errorf("%w: wrong issuer", ErrInvalid)
	ErrAudience      = fmt.Errorf("%w: wrong audience", ErrInvalid)
	ErrMissingExpiry = fmt.Errorf("%w: no exp claim", ErrInvalid)
)

// Sign returns an RS256 JWT of claims signed with key; kid names the key in the header.
func Sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	tok := gojwt.NewWithClaims(gojwt.SigningMethodRS256, gojwt.MapClaims(claims))
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return s, nil
}

// Verifier checks tokens of one issuer and audience list.
type Verifier struct {
	Key      *rsa.PublicKey
	Issuer   string
	Audience []string // the token's aud (or, without aud, client_id) must be one of these
	Now      func() time.Time
}

// Verify checks token and returns its claims.
func (v *Verifier) Verify(token string) (map[string]any, error) {
	if token == "" {
		return nil, ErrMissing
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	claims := gojwt.MapClaims{}
	tok, err := gojwt.NewParser(
		gojwt.WithValidMethods([]string{gojwt.SigningMethodRS256.Alg()}),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuer(v.Issuer),
		gojwt.WithTimeFunc(now),
	).ParseWithClaims(token, claims, func(*gojwt.Token) (any, error) { return v.Key, nil })
	if err != nil {
		return nil, classify(tok, err)
	}
	if !v.audienceOK(claims) {
		return nil, ErrAudience
	}
	return claims, nil
}

// classify maps the library's error to this package's, in the order API Gateway reports
// them: a token it cannot read, then the algorithm, the signature, and the claims.
func classify(tok *gojwt.Token, err error) error {
	switch {
	case errors.Is(err, gojwt.ErrTokenMalformed):
		return ErrMalformed
	case tok != nil && tok.Method != nil && tok.Method.Alg() != gojwt.SigningMethodRS256.Alg(),
		errors.Is(err, gojwt.ErrTokenUnverifiable): // an alg the library does not know
		return ErrAlgorithm
	case errors.Is(err, gojwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, gojwt.ErrTokenRequiredClaimMissing): // exp is the only required claim
		return ErrMissingExpiry
	case errors.Is(err, gojwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, gojwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	case errors.Is(err, gojwt.ErrTokenInvalidIssuer):
		return ErrIssuer
	}
	return ErrMalformed // e.g. a claim of the wrong type
}

// audienceOK: aud (a string or a list) holds one of the audiences; a token without aud
// is checked on client_id, as API Gateway does for Cognito access tokens.
func (v *Verifier) audienceOK(claims gojwt.MapClaims) bool {
	auds, err := claims.GetAudience()
	if err != nil {
		return false
	}
	if _, ok := claims["aud"]; !ok {
		if c, ok := claims["client_id"].(string); ok {
			auds = []string{c}
		}
	}
	for _, a := range auds {
		if slices.Contains(v.Audience, a) {
			return true
		}
	}
	return false
}

// Authorize reads the bearer token of r's Authorization header (the identity source
// $request.header.Authorization), verifies it and returns its claims as API Gateway puts
// them in requestContext.authorizer.jwt.claims: strings as they are, other values as text.
func (v *Verifier) Authorize(r *http.Request) (map[string]string, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		h = strings.TrimSpace(h[7:])
	}
	claims, err := v.Verify(h)
	if err != nil {
		return nil, err
	}
	return Flatten(claims), nil
}

// Flatten renders claims as API Gateway does: strings unchanged, numbers in decimal,
// lists as "[a b]", anything else as JSON.
func Flatten(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for k, c := range claims {
		switch x := c.(type) {
		case string:
			out[k] = x
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(x)
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			out[k] = "[" + strings.Join(parts, " ") + "]"
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out
}
