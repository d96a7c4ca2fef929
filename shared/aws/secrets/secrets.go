// Package secrets reads JSON secrets from AWS Secrets Manager: the one secrets adapter of
// every vendor (IDWise's webhook credentials and API key, Veriff's webhook and API
// credentials).
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwiseauth"
	"github.com/kycbackend/kyc/shared/vendors/secretcache"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffapi"
)

// GetSecretValueAPI is the slice of the Secrets Manager client this package needs.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// JSON reads secret id and decodes its string value into v. Errors never carry the value.
func JSON(ctx context.Context, client GetSecretValueAPI, id string, v any) error {
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("get secret %s: %w", id, err)
	}
	if out.SecretString == nil {
		return fmt.Errorf("secret %s: %w", id, errors.New("no string value"))
	}
	if err := json.Unmarshal([]byte(*out.SecretString), v); err != nil {
		return fmt.Errorf("secret %s: value is not the expected JSON object", id)
	}
	return nil
}

// Credentials loads a vendor's credentials, a JSON object decoded into T, from one secret:
// the secret source of every vendor authenticator (uncached: the authenticators keep them
// in a secretcache.Cache).
type Credentials[T any] struct {
	Client GetSecretValueAPI
	ID     string
}

// Credentials reads and decodes the secret.
func (s Credentials[T]) Credentials(ctx context.Context) (T, error) {
	var c T
	err := JSON(ctx, s.Client, s.ID, &c)
	return c, err
}

// IDWiseWebhookCredentials loads IDWise's webhook credentials (username, secret,
// previousSecret) from one secret.
type IDWiseWebhookCredentials = Credentials[idwiseauth.Credentials]

// VeriffWebhookCredentials loads the Veriff webhook credentials (apiKey, sharedSecret,
// previousSharedSecret) from one secret.
type VeriffWebhookCredentials = Credentials[veriff.Credentials]

var (
	_ idwiseauth.SecretSource = IDWiseWebhookCredentials{}
	_ veriff.SecretSource     = VeriffWebhookCredentials{}
)

// IDWiseAPI loads the IDWise API key and secret from one secret,
// {"apiKey":"...","apiSecret":"..."}, and caches them for at most ttl in a
// secretcache.Cache, the cache every vendor secret goes through (a rotation or a
// revocation is picked up within ttl without a cold start).
type IDWiseAPI struct {
	cache *secretcache.Cache[idwiseAPIKey]
	now   func() time.Time
}

type idwiseAPIKey struct {
	APIKey    string `json:"apiKey"`
	APISecret string `json:"apiSecret"`
}

var _ idwise.Credentials = (*IDWiseAPI)(nil)

// NewIDWiseAPI returns the credentials source for secret id; ttl 0 means
// secretcache.DefaultMaxAge.
func NewIDWiseAPI(client GetSecretValueAPI, id string, ttl time.Duration) *IDWiseAPI {
	s := &IDWiseAPI{now: time.Now}
	s.cache = secretcache.New(func(ctx context.Context) (idwiseAPIKey, error) {
		var v idwiseAPIKey
		if err := JSON(ctx, client, id, &v); err != nil {
			return v, err
		}
		if v.APIKey == "" || v.APISecret == "" {
			// Not cached: the processor retries the event, and the operator may be filling it in.
			return v, fmt.Errorf("secret %s: apiKey and apiSecret must be set", id)
		}
		return v, nil
	}, secretcache.Options[idwiseAPIKey]{MaxAge: ttl, Now: func() time.Time { return s.now() }})
	return s
}

// APICredentials implements idwise.Credentials.
func (s *IDWiseAPI) APICredentials(ctx context.Context) (string, string, error) {
	v, _, err := s.cache.Get(ctx)
	if err != nil {
		return "", "", err
	}
	return v.APIKey, v.APISecret, nil
}

// VeriffAPICredentials reads an integration's API key and shared secret (the current one:
// the API signs with it) from a Veriff secret: the Veriff secret itself (kycctl, which
// re-fetches decisions and signs), or the API keys secret of the app API, which holds no
// shared secret (session creation needs the API key only). Both have the integrations
// shape of veriff.Credentials.
type VeriffAPICredentials struct {
	Client GetSecretValueAPI
	ID     string
}

var (
	_ veriffapi.CredentialSource = VeriffAPICredentials{}
	_ veriffapi.ProductSource    = VeriffAPICredentials{}
)

// Credentials implements veriffapi.CredentialSource: the identity integration's.
func (v VeriffAPICredentials) Credentials(ctx context.Context) (veriffapi.Credentials, error) {
	return v.ProductCredentials(ctx, veriff.ProductIdentity)
}

// ProductCredentials implements veriffapi.ProductSource: the first integration of p.
func (v VeriffAPICredentials) ProductCredentials(ctx context.Context, p veriff.Product) (veriffapi.Credentials, error) {
	c, err := VeriffWebhookCredentials(v).Credentials(ctx)
	if err != nil {
		return veriffapi.Credentials{}, fmt.Errorf("read veriff secret: %w", err)
	}
	in, ok := c.For(p)
	if !ok {
		return veriffapi.Credentials{}, fmt.Errorf("veriff secret %s: no %s integration", v.ID, p)
	}
	return veriffapi.Credentials{APIKey: in.APIKey, SharedSecret: in.SharedSecret}, nil
}
