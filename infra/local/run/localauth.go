package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/kycbackend/kyc/infra/local/httpapi"
	"github.com/kycbackend/kyc/infra/local/jwt"
	"github.com/kycbackend/kyc/infra/local/provision"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// tokenPath is the runner's own route, never deployed: a JWT for a referenceNo, signed
// with the local dev key that the local JWT authorizer accepts.
const tokenPath = "/_local/token"

// The issuer and audience the runner gives the template (JwtIssuer, JwtAudience); the
// local authorizer checks tokens against them as API Gateway would against the real ones.
const (
	localIssuer   = "https://auth.kyc.local"
	localAudience = "kyc-local-app"
	localKeyID    = "kyc-local-dev-key"
	localTokenTTL = time.Hour
)

// localAuth stands in for the OIDC provider of the app's users: a fresh RSA key per run
// (the "local dev key"), tokens from GET /_local/token, and the JWT authorizer of the
// template's routes.
type localAuth struct {
	key   *rsa.PrivateKey
	claim string // the template's ReferenceNoClaim
	now   func() time.Time
}

func newLocalAuth() (*localAuth, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate local dev key: %w", err)
	}
	return &localAuth{key: key, claim: "sub", now: time.Now}, nil
}

// parameters are the template parameters of the local issuer.
func (a *localAuth) parameters() map[string]string {
	return map[string]string{"JwtIssuer": localIssuer, "JwtAudience": localAudience}
}

// authorizer returns the local authorizer of route r (nil when r has none), configured
// from the template's JwtConfiguration resolved in env. A non-JWT authorizer cannot be
// emulated: the runner refuses to serve such a route rather than leave it open.
func (a *localAuth) authorizer(r provision.Route, env provision.Env) (httpapi.Authorizer, error) {
	if r.Authorizer == "" {
		return nil, nil
	}
	if r.JWT == nil {
		return nil, fmt.Errorf("route %s %s: authorizer %s is not a JWT authorizer (not emulated locally)", r.Method, r.Path, r.Authorizer)
	}
	iss, aud, err := r.JWT.Resolve(env)
	if err != nil {
		return nil, fmt.Errorf("route %s %s: %w", r.Method, r.Path, err)
	}
	v := &jwt.Verifier{Key: &a.key.PublicKey, Issuer: iss, Audience: aud, Now: a.now}
	return v.Authorize, nil
}

// ServeHTTP answers GET /_local/token?referenceNo=...: the JWT as application/jwt, valid
// for an hour, with the referenceNo in the template's ReferenceNoClaim.
func (a *localAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("referenceNo")
	if err := kyc.CheckReference("referenceNo", ref); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"error":{"code":"invalid_field","message":%q,"field":"referenceNo"}}`, err.Error())
		return
	}
	now := a.now()
	claims := map[string]any{
		"iss": localIssuer, "aud": localAudience, "iat": now.Unix(), "exp": now.Add(localTokenTTL).Unix(),
		"sub": ref, "token_use": "id",
	}
	claims[a.claim] = ref
	tok, err := jwt.Sign(a.key, localKeyID, claims)
	if err != nil {
		http.Error(w, "sign token", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = fmt.Fprint(w, tok)
}

// platformApps creates the SNS platform applications of the three push platforms on moto
// and returns the template parameters that name them. moto does not check credentials;
// in AWS these come from the APNs key and the FCM service account.
func platformApps(ctx context.Context, awsCfg aws.Config) (map[string]string, error) {
	client := sns.NewFromConfig(awsCfg)
	params := map[string]string{}
	for _, app := range []struct{ param, name, platform string }{
		{"ApnsPlatformApplicationArn", prefix + "apns", "APNS"},
		{"ApnsSandboxPlatformApplicationArn", prefix + "apns-sandbox", "APNS_SANDBOX"},
		{"FcmPlatformApplicationArn", prefix + "fcm", "GCM"},
	} {
		out, err := client.CreatePlatformApplication(ctx, &sns.CreatePlatformApplicationInput{
			Name: aws.String(app.name), Platform: aws.String(app.platform),
			Attributes: map[string]string{"PlatformCredential": "local-credential", "PlatformPrincipal": "local-principal", "Enabled": "true"}, // Enabled: as AWS sets it (moto does not)
		})
		if err != nil {
			return nil, fmt.Errorf("create platform application %s: %w", app.name, err)
		}
		params[app.param] = aws.ToString(out.PlatformApplicationArn)
	}
	return params, nil
}
