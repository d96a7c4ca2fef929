// Package jwt signs and verifies RS256 JSON Web Tokens with the standard library, for the
// local run only: the runner's dev key signs tokens (GET /_local/token) and Verifier
// checks them the way API Gateway's JWT authorizer does (signature, exp, nbf, iss, and
// aud or client_id), then hands the claims to the route as API Gateway would. Deployed,
// API Gateway does all of this against the issuer's JWKS; the api function only reads
// the claims.
package jwt

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
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

var b64 = base64.RawURLEncoding

// Sign returns an RS256 JWT of claims signed with key; kid names the key in the header.
func Sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", fmt.Errorf("encode header: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return signing + "." + b64.EncodeToString(sig), nil
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
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrMalformed
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, ErrMalformed
	}
	if header.Alg != "RS256" {
		return nil, ErrAlgorithm
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, ErrMalformed
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(v.Key, crypto.SHA256, sum[:], sig); err != nil {
		return nil, ErrSignature
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, ErrMalformed
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now().Unix()
	exp, ok := numeric(claims["exp"])
	if !ok {
		return nil, ErrMissingExpiry
	}
	if t >= exp {
		return nil, ErrExpired
	}
	if nbf, ok := numeric(claims["nbf"]); ok && t < nbf {
		return nil, ErrNotYetValid
	}
	if iss, _ := claims["iss"].(string); iss != v.Issuer {
		return nil, ErrIssuer
	}
	if !v.audienceOK(claims) {
		return nil, ErrAudience
	}
	return claims, nil
}

// audienceOK: aud (a string or a list) holds one of the audiences; a token without aud
// is checked on client_id, as API Gateway does for Cognito access tokens.
func (v *Verifier) audienceOK(claims map[string]any) bool {
	var auds []string
	switch a := claims["aud"].(type) {
	case string:
		auds = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				auds = append(auds, s)
			}
		}
	case nil:
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

func decodeSegment(s string, v any) error {
	b, err := b64.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func numeric(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}
