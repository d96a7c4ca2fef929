package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// PutSecret creates the Secrets Manager secret name with value, or gives an existing one
// that new current value, on the Secrets Manager endpoint of cfg (with with-emulators.sh:
// moto, through AWS_ENDPOINT_URL). It returns the secret's ARN.
func PutSecret(ctx context.Context, cfg aws.Config, name, value string) (string, error) {
	client := secretsmanager.NewFromConfig(cfg)
	created, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		SecretString: aws.String(value),
	})
	if err == nil {
		return aws.ToString(created.ARN), nil
	}
	var exists *types.ResourceExistsException
	if !errors.As(err, &exists) {
		return "", fmt.Errorf("create secret %s: %w", name, err)
	}
	put, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(name),
		SecretString: aws.String(value),
	})
	if err != nil {
		return "", fmt.Errorf("put secret value %s: %w", name, err)
	}
	return aws.ToString(put.ARN), nil
}
