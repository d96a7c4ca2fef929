package jwt

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	v := &Verifier{Key: &key.PublicKey, Issuer: "https://issuer.example", Audience: []string{"app", "web"}, Now: func() time.Time { return now }}
	claims := func(kv ...any) map[string]any {
		c := map[string]any{"iss": "https://issuer.example", "aud": "app", "sub": "customer-1", "exp": now.Unix() + 60, "iat": now.Unix()}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
				continue
			}
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	sign := func(k *rsa.PrivateKey, c map[string]any) string {
		tok, err := Sign(k, "test", c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	noneAlg := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." +
		strings.Split(sign(key, claims()), ".")[1] + "."
	tampered := func() string {
		p := strings.Split(sign(key, claims()), ".")
		p[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://issuer.example","aud":"app","sub":"someone-else","exp":1900000000}`))
		return strings.Join(p, ".")
	}()

	tests := []struct {
		name    string
		token   string
		wantErr error
		wantSub string
	}{
		{name: "valid", token: sign(key, claims()), wantSub: "customer-1"},
		{name: "audience list", token: sign(key, claims("aud", []any{"other", "web"})), wantSub: "customer-1"},
		{name: "cognito access token: client_id", token: sign(key, claims("aud", nil, "client_id", "app")), wantSub: "customer-1"},
		{name: "expired", token: sign(key, claims("exp", now.Unix()-1)), wantErr: ErrExpired},
		{name: "expires now", token: sign(key, claims("exp", now.Unix())), wantErr: ErrExpired},
		{name: "no exp", token: sign(key, claims("exp", nil)), wantErr: ErrMissingExpiry},
		{name: "not yet valid", token: sign(key, claims("nbf", now.Unix()+30)), wantErr: ErrNotYetValid},
		{name: "wrong audience", token: sign(key, claims("aud", "someone-else")), wantErr: ErrAudience},
		{name: "no audience", token: sign(key, claims("aud", nil)), wantErr: ErrAudience},
		{name: "wrong issuer", token: sign(key, claims("iss", "https://evil.example")), wantErr: ErrIssuer},
		{name: "other key", token: sign(other, claims()), wantErr: ErrSignature},
		{name: "tampered claims", token: tampered, wantErr: ErrSignature},
		{name: "alg none", token: noneAlg, wantErr: ErrAlgorithm},
		{name: "two segments", token: "a.b", wantErr: ErrMalformed},
		{name: "garbage", token: "a.b.c", wantErr: ErrMalformed},
		{name: "empty", token: "", wantErr: ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(tt.token)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify() error = %v, want it to wrap ErrInvalid", err)
			}
			if tt.wantErr == nil && got["sub"] != tt.wantSub {
				t.Errorf("Verify() sub = %v, want %s", got["sub"], tt.wantSub)
			}
		})
	}

	t.Run("authorize reads the bearer header and flattens claims", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+sign(key, claims("groups", []any{"a", "b"}, "verified", true)))
		got, err := v.Authorize(r)
		if err != nil {
			t.Fatalf("Authorize() = %v", err)
		}
		want := map[string]string{"sub": "customer-1", "aud": "app", "groups": "[a b]", "verified": "true", "exp": "1800000060"}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("claim %s = %q, want %q", k, got[k], w)
			}
		}
		r.Header.Del("Authorization")
		if _, err := v.Authorize(r); !errors.Is(err, ErrMissing) {
			t.Errorf("Authorize() without a header = %v, want ErrMissing", err)
		}
	})
}
