package veriff

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kycbackend/kyc/shared/vendors/webhookjson"
)

// Product is what a Veriff integration verifies. Veriff runs each product as its own
// integration (its own API key and shared secret, Customer Portal > Integrations); the
// proof-of-address results arrive on the same decision webhook with the same codes
// (devdocs.veriff.com, "Proof of Address"), told apart only by the integration.
type Product string

const (
	ProductIdentity       Product = "identity"
	ProductProofOfAddress Product = "proof_of_address"
)

// ParseProduct reads a product name; empty means identity.
func ParseProduct(s string) (Product, error) {
	switch p := Product(strings.TrimSpace(s)); p {
	case "", ProductIdentity:
		return ProductIdentity, nil
	case ProductProofOfAddress:
		return p, nil
	}
	return "", fmt.Errorf("product %q: want identity or proof_of_address", s)
}

// Integration is one Veriff integration of the Veriff secret.
type Integration struct {
	Name                 string  `json:"name"`
	Product              Product `json:"product"`
	APIKey               string  `json:"apiKey"`
	SharedSecret         string  `json:"sharedSecret"`
	PreviousSharedSecret string  `json:"previousSharedSecret,omitempty"`
}

// LegacyIntegrationName names the one identity integration of a secret in the older
// {apiKey, sharedSecret} shape.
const LegacyIntegrationName = "default"

// Credentials is what the Veriff secret holds:
// {"integrations":[{"name","product","apiKey","sharedSecret","previousSharedSecret"}]};
// the older {"apiKey","sharedSecret","previousSharedSecret"} reads as one identity
// integration (LegacyIntegrationName). The API key is what Veriff sends as X-AUTH-CLIENT,
// the shared secret signs the body; PreviousSharedSecret, when set, stays valid during a
// rotation.
type Credentials struct {
	APIKey               string        `json:"apiKey,omitempty"`
	SharedSecret         string        `json:"sharedSecret,omitempty"`
	PreviousSharedSecret string        `json:"previousSharedSecret,omitempty"`
	Integrations         []Integration `json:"integrations,omitempty"`
}

// List is every integration of c, the older shape as one identity integration; an empty
// product reads as identity.
func (c Credentials) List() []Integration {
	var out []Integration
	if c.APIKey != "" || c.SharedSecret != "" || len(c.Integrations) == 0 {
		out = append(out, Integration{Name: LegacyIntegrationName, Product: ProductIdentity,
			APIKey: c.APIKey, SharedSecret: c.SharedSecret, PreviousSharedSecret: c.PreviousSharedSecret})
	}
	for _, in := range c.Integrations {
		if in.Product == "" {
			in.Product = ProductIdentity
		}
		out = append(out, in)
	}
	return out
}

// Validate reports what is wrong with c as a webhook secret: every integration needs a
// name, a known product, an API key and a shared secret; names and API keys are unique
// (a delivery is told apart by its API key alone). needSecret false checks the API keys
// secret of the app API (no shared secrets).
func (c Credentials) Validate(needSecret bool) error {
	list := c.List()
	var errs []error
	names, keys := map[string]bool{}, map[string]bool{}
	for i, in := range list {
		at := fmt.Sprintf("integrations[%d]", i)
		if in.Name != LegacyIntegrationName || len(c.Integrations) > 0 {
			at = fmt.Sprintf("integration %q", in.Name)
		}
		if strings.TrimSpace(in.Name) == "" {
			errs = append(errs, fmt.Errorf("integrations[%d]: name must be set", i))
		}
		if _, err := ParseProduct(string(in.Product)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
		}
		if in.APIKey == "" || (needSecret && in.SharedSecret == "") {
			if needSecret {
				errs = append(errs, fmt.Errorf("%s: apiKey and sharedSecret must be set", at))
			} else {
				errs = append(errs, fmt.Errorf("%s: apiKey must be set", at))
			}
		}
		if names[in.Name] {
			errs = append(errs, fmt.Errorf("%s: name used twice", at))
		}
		if in.APIKey != "" && keys[in.APIKey] {
			errs = append(errs, fmt.Errorf("%s: apiKey used by another integration", at))
		}
		names[in.Name], keys[in.APIKey] = true, true
	}
	return errors.Join(errs...)
}

// APIKeys is c without its shared secrets: the content of the API keys secret that the
// app API reads (session creation needs the API key only).
func (c Credentials) APIKeys() Credentials {
	var out Credentials
	for _, in := range c.List() {
		out.Integrations = append(out.Integrations, Integration{Name: in.Name, Product: in.Product, APIKey: in.APIKey})
	}
	return out
}

// For returns the first integration of product p (the one new sessions are created with).
func (c Credentials) For(p Product) (Integration, bool) {
	for _, in := range c.List() {
		if in.Product == p {
			return in, true
		}
	}
	return Integration{}, false
}

// ParseIntegrations reads the VERIFF_INTEGRATIONS of make run: the secret's JSON.
func ParseIntegrations(s string) (Credentials, error) {
	var c Credentials
	if err := webhookjson.Strict([]byte(s), &c); err != nil {
		return c, fmt.Errorf("veriff integrations: not the secret's JSON object")
	}
	if err := c.Validate(true); err != nil {
		return c, fmt.Errorf("veriff integrations: %w", err)
	}
	return c, nil
}
