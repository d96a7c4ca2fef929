// Package secrets reads JSON secrets from AWS Secrets Manager.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/idwise"
	"github.com/kycbackend/kyc/shared/webhookauth"
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

// WebhookCredentials loads webhook credentials from one secret.
type WebhookCredentials struct {
	Client GetSecretValueAPI
	ID     string
}

var _ webhookauth.SecretSource = WebhookCredentials{}

// Credentials implements webhookauth.SecretSource.
func (w WebhookCredentials) Credentials(ctx context.Context) (webhookauth.Credentials, error) {
	var c webhookauth.Credentials
	err := JSON(ctx, w.Client, w.ID, &c)
	return c, err
}

// IDWiseAPI loads the IDWise API key and secret from one secret,
// {"apiKey":"...","apiSecret":"..."}, and caches them for TTL (a rotation is picked up
// within TTL without a cold start).
type IDWiseAPI struct {
	client GetSecretValueAPI
	id     string
	ttl    time.Duration
	now    func() time.Time

	mu       sync.Mutex
	key, sec string
	loadedAt time.Time
}

var _ idwise.Credentials = (*IDWiseAPI)(nil)

// NewIDWiseAPI returns the credentials source for secret id.
func NewIDWiseAPI(client GetSecretValueAPI, id string, ttl time.Duration) *IDWiseAPI {
	return &IDWiseAPI{client: client, id: id, ttl: ttl, now: time.Now}
}

// APICredentials implements idwise.Credentials.
func (s *IDWiseAPI) APICredentials(ctx context.Context) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != "" && s.now().Sub(s.loadedAt) < s.ttl {
		return s.key, s.sec, nil
	}
	var v struct {
		APIKey    string `json:"apiKey"`
		APISecret string `json:"apiSecret"`
	}
	if err := JSON(ctx, s.client, s.id, &v); err != nil {
		return "", "", err
	}
	if v.APIKey == "" || v.APISecret == "" {
		return "", "", fmt.Errorf("secret %s: apiKey and apiSecret must be set", s.id)
	}
	s.key, s.sec, s.loadedAt = v.APIKey, v.APISecret, s.now()
	return s.key, s.sec, nil
}
