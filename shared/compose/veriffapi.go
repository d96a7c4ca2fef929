package compose

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kycbackend/kyc/shared/aws/secrets"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffapi"
)

// VeriffAPI builds the Veriff REST client (session creation, decision re-fetch) from
// VERIFF_API_KEYS_SECRET_ARN (the app API: the integrations' API keys, no shared secret)
// or else VERIFF_SECRET_ARN (kycctl: the Veriff secret, whose shared secret signs the
// decision re-fetch), and VERIFF_API_BASE_URL (default https://stationapi.veriff.com;
// https only, except a loopback host). false, and no error, when neither is set: Veriff
// is not configured.
func VeriffAPI(rt Runtime) (*veriffapi.Client, bool, error) {
	id := strings.TrimSpace(rt.Getenv("VERIFF_API_KEYS_SECRET_ARN"))
	if id == "" {
		id = strings.TrimSpace(rt.Getenv("VERIFF_SECRET_ARN"))
	}
	if id == "" {
		return nil, false, nil
	}
	rt.AWS, _ = traced(rt)
	src := secrets.VeriffAPICredentials{Client: secretsmanager.NewFromConfig(rt.AWS), ID: id}
	c, err := veriffapi.New(veriffapi.Config{BaseURL: rt.Getenv("VERIFF_API_BASE_URL")}, src, nil)
	if err != nil {
		return nil, true, fmt.Errorf("VERIFF_API_BASE_URL: %w", err)
	}
	return c, true, nil
}

// LoadVeriffPolicy reads the Veriff status policy of the processor:
// VERIFF_DECISION_SCORE_THRESHOLD (Full Auto without a decision; empty: IN_REVIEW) and
// VERIFF_WATCHLIST_MATCH_STATUS (IN_REVIEW by default, REJECTED, or NONE).
func LoadVeriffPolicy(getenv Getenv) (veriff.Policy, error) {
	p := veriff.DefaultPolicy
	p.Decisions = map[int]kyc.Status{}
	for k, v := range veriff.DefaultPolicy.Decisions {
		p.Decisions[k] = v
	}
	var err error
	if p.ScoreThreshold, err = veriff.ParseScoreThreshold(getenv("VERIFF_DECISION_SCORE_THRESHOLD")); err != nil {
		return p, fmt.Errorf("VERIFF_DECISION_SCORE_THRESHOLD: %w", err)
	}
	if p.WatchlistMatch, err = veriff.ParseWatchlistMatch(getenv("VERIFF_WATCHLIST_MATCH_STATUS")); err != nil {
		return p, fmt.Errorf("VERIFF_WATCHLIST_MATCH_STATUS: %w", err)
	}
	return p, nil
}
