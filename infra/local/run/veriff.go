package main

import (
	"fmt"
	"os"

	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// loadVeriffIntegrations reads make run's Veriff integrations: VERIFF_INTEGRATIONS, the
// Veriff secret's JSON ({"integrations":[{name, product, apiKey, sharedSecret}]}), or else
// an identity integration of VERIFF_API_KEY / VERIFF_SHARED_SECRET and a proof-of-address
// integration of VERIFF_POA_API_KEY / VERIFF_POA_SHARED_SECRET (local defaults), so that
// make demo plays a proof-of-address decision. The identity integration's key and secret
// become s.VeriffAPIKey / s.VeriffSecret (the banner's curl).
func loadVeriffIntegrations(s settings) (*veriff.Credentials, error) {
	if raw := os.Getenv("VERIFF_INTEGRATIONS"); raw != "" {
		c, err := veriff.ParseIntegrations(raw)
		if err != nil {
			return nil, fmt.Errorf("VERIFF_INTEGRATIONS: %w", err)
		}
		return &c, nil
	}
	return &veriff.Credentials{Integrations: []veriff.Integration{
		{Name: "identity", Product: veriff.ProductIdentity, APIKey: s.VeriffAPIKey, SharedSecret: s.VeriffSecret},
		{Name: "proof-of-address", Product: veriff.ProductProofOfAddress,
			APIKey:       envOr("VERIFF_POA_API_KEY", "local-veriff-poa-api-key"),
			SharedSecret: envOr("VERIFF_POA_SHARED_SECRET", "local-veriff-poa-shared-secret")},
	}}, nil
}

// veriffCreds is the run's Veriff secret: VeriffIntegrations, or the one identity
// integration of VeriffAPIKey / VeriffSecret.
func (s settings) veriffCreds() veriff.Credentials {
	if s.VeriffIntegrations != nil {
		return *s.VeriffIntegrations
	}
	return veriff.Credentials{APIKey: s.VeriffAPIKey, SharedSecret: s.VeriffSecret}
}
