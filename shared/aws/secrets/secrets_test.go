package secrets

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffapi"
)

type fakeSM map[string]string

func (f fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := f[aws.ToString(in.SecretId)]
	if !ok {
		return &secretsmanager.GetSecretValueOutput{}, nil
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func TestVendorCredentials(t *testing.T) {
	sm := fakeSM{
		"idwise": `{"username":"u","secret":"s1","previousSecret":"s0"}`,
		"veriff": `{"apiKey":"k","sharedSecret":"shh","previousSharedSecret":"old"}`,
		"broken": `not json, s3cret`,
	}
	ctx := context.Background()
	idw, err := IDWiseWebhookCredentials{Client: sm, ID: "idwise"}.Credentials(ctx)
	if err != nil || idw.Username != "u" || idw.Secret != "s1" || idw.PreviousSecret != "s0" {
		t.Errorf("IDWiseWebhookCredentials = %+v, %v", idw, err)
	}
	vw, err := VeriffWebhookCredentials{Client: sm, ID: "veriff"}.Credentials(ctx)
	if err != nil || vw.APIKey != "k" || vw.SharedSecret != "shh" || vw.PreviousSharedSecret != "old" {
		t.Errorf("VeriffWebhookCredentials = %+v, %v", vw, err)
	}
	va, err := VeriffAPICredentials{Client: sm, ID: "veriff"}.Credentials(ctx)
	if err != nil || va != (veriffapi.Credentials{APIKey: "k", SharedSecret: "shh"}) {
		t.Errorf("VeriffAPICredentials = %+v, %v", va, err)
	}
	for _, id := range []string{"broken", "missing"} {
		_, err := VeriffWebhookCredentials{Client: sm, ID: id}.Credentials(ctx)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Credentials(%s) error = %v, want an error that never carries the value", id, err)
		}
	}
}
