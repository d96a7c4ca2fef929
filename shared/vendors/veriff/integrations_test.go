package veriff

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// Issue 19 item 5: the Veriff secret holds integrations; a delivery is checked against the
// integration its X-AUTH-CLIENT names, with that integration's shared secret only. Veriff
// runs proof of address as its own integration on the same decision webhook
// (https://devdocs.veriff.com/v1/docs/proof-of-address-verification: "using the API keys
// and the BaseURL of your PoA integration"; no separate webhook).
func TestIntegrationSelection(t *testing.T) {
	idv := Integration{Name: "idv", Product: ProductIdentity, APIKey: "key-idv", SharedSecret: "secret-idv"}
	poa := Integration{Name: "poa", Product: ProductProofOfAddress, APIKey: "key-poa", SharedSecret: "secret-poa", PreviousSharedSecret: "secret-poa-old"}
	idvNew := Integration{Name: "idv-2", Product: ProductIdentity, APIKey: "key-idv-2", SharedSecret: "secret-idv-2"}
	two := Credentials{Integrations: []Integration{idv, poa}}
	vrf := func(key, sig string) webhookauth.Request {
		return webhookauth.Request{Headers: map[string]string{HeaderVRFAuthClient: key, HeaderVRFHMACSignature: sig}, Body: body}
	}
	tests := []struct {
		name     string
		creds    Credentials
		req      webhookauth.Request
		want     string // integration name, "" for refused
		wantProd Product
	}{
		{"identity integration", two, signed("key-idv", Sign("secret-idv", body), body), "idv", ProductIdentity},
		{"proof-of-address integration", two, signed("key-poa", Sign("secret-poa", body), body), "poa", ProductProofOfAddress},
		{"vrf- headers", two, vrf("key-poa", Sign("secret-poa", body)), "poa", ProductProofOfAddress},
		{"previous secret of the integration", two, signed("key-poa", Sign("secret-poa-old", body), body), "poa", ProductProofOfAddress},
		{"identity key signed with the PoA secret", two, signed("key-idv", Sign("secret-poa", body), body), "", ""},
		{"PoA key signed with the identity secret", two, signed("key-poa", Sign("secret-idv", body), body), "", ""},
		{"unknown key", two, signed("key-other", Sign("secret-idv", body), body), "", ""},
		{"a shared secret as the key", two, signed("secret-idv", Sign("secret-idv", body), body), "", ""},
		{"rotation by two integrations: old key", Credentials{Integrations: []Integration{idv, idvNew}}, signed("key-idv", Sign("secret-idv", body), body), "idv", ProductIdentity},
		{"rotation by two integrations: new key", Credentials{Integrations: []Integration{idv, idvNew}}, signed("key-idv-2", Sign("secret-idv-2", body), body), "idv-2", ProductIdentity},
		{"older secret shape", Credentials{APIKey: "k", SharedSecret: "s"}, signed("k", Sign("s", body), body), LegacyIntegrationName, ProductIdentity},
		{"product left out reads identity", Credentials{Integrations: []Integration{{Name: "x", APIKey: "k", SharedSecret: "s"}}}, signed("k", Sign("s", body), body), "x", ProductIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAuthenticator(&fakeSource{creds: tt.creds}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			in, err := a.Integration(context.Background(), tt.req)
			if tt.want == "" {
				if !errors.Is(err, webhookauth.ErrUnauthenticated) {
					t.Errorf("Integration() = %+v, %v; want ErrUnauthenticated", in, err)
				}
				return
			}
			if err != nil || in.Name != tt.want || in.Product != tt.wantProd {
				t.Errorf("Integration() = %q %q, %v; want %q %q", in.Name, in.Product, err, tt.want, tt.wantProd)
			}
			attrs, err := a.Attributes(context.Background(), tt.req)
			if err != nil || attrs[AttrIntegration] != tt.want || attrs[AttrProduct] != string(tt.wantProd) {
				t.Errorf("Attributes() = %v, %v; want integration %q product %q", attrs, err, tt.want, tt.wantProd)
			}
		})
	}
}

// A secret the webhook cannot tell deliveries apart with is a fault on our side (500, Veriff
// retries), named precisely, never a 401.
func TestIntegrationsValidate(t *testing.T) {
	tests := []struct {
		name       string
		creds      Credentials
		needSecret bool
		ok         bool
	}{
		{"two integrations", Credentials{Integrations: []Integration{{Name: "a", APIKey: "k1", SharedSecret: "s"}, {Name: "b", Product: ProductProofOfAddress, APIKey: "k2", SharedSecret: "s2"}}}, true, true},
		{"empty secret", Credentials{}, true, false},
		{"no shared secret", Credentials{Integrations: []Integration{{Name: "a", APIKey: "k1"}}}, true, false},
		{"API keys only, for the app API", Credentials{Integrations: []Integration{{Name: "a", APIKey: "k1"}}}, false, true},
		{"same API key twice", Credentials{Integrations: []Integration{{Name: "a", APIKey: "k", SharedSecret: "s"}, {Name: "b", APIKey: "k", SharedSecret: "t"}}}, true, false},
		{"same name twice", Credentials{Integrations: []Integration{{Name: "a", APIKey: "k", SharedSecret: "s"}, {Name: "a", APIKey: "k2", SharedSecret: "t"}}}, true, false},
		{"unknown product", Credentials{Integrations: []Integration{{Name: "a", Product: "aml", APIKey: "k", SharedSecret: "s"}}}, true, false},
		{"no name", Credentials{Integrations: []Integration{{APIKey: "k", SharedSecret: "s"}}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.creds.Validate(tt.needSecret); (err == nil) != tt.ok {
				t.Errorf("Validate(%v) = %v, want ok %v", tt.needSecret, err, tt.ok)
			}
		})
	}
	if _, err := ParseIntegrations(`{"integrations":[{"name":"idv","product":"identity","apiKey":"k","sharedSecret":"s"}]}`); err != nil {
		t.Errorf("ParseIntegrations(valid) = %v, want nil", err)
	}
	if _, err := ParseIntegrations(`{"integrations":[`); err == nil {
		t.Error("ParseIntegrations(truncated) = nil, want an error")
	}
	keys := Credentials{APIKey: "k", SharedSecret: "s", PreviousSharedSecret: "p"}.APIKeys()
	for _, in := range keys.List() {
		if in.SharedSecret != "" || in.PreviousSharedSecret != "" || in.APIKey != "k" {
			t.Errorf("APIKeys() = %+v, want the API key without any shared secret", keys)
		}
	}
}
