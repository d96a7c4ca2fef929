package compose

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// loadIDWisePolicy reads the IDWise policy settings of issue 19: RENEWAL_POLICY (template
// RenewalPolicy: grace, the default, or strict), RENEWAL_GRACE_DAYS (RenewalGraceDays,
// default 14: the due date of a renewal whose steps give no deadline) and
// AML_CLEAR_RESTORES (AmlClearRestores, default true: an AML update back to clear restores
// APPROVED on a profile an AML update put in review).
func loadIDWisePolicy(getenv Getenv, c *ProcessingConfig) error {
	switch v := strings.ToLower(strings.TrimSpace(getenv("RENEWAL_POLICY"))); v {
	case "", idwise.RenewalGrace:
		c.Policy.Renewal = idwise.RenewalGrace
	case idwise.RenewalStrict:
		c.Policy.Renewal = idwise.RenewalStrict
	default:
		return fmt.Errorf("RENEWAL_POLICY must be grace or strict, got %q", v)
	}
	c.Policy.RenewalGracePeriod = idwise.DefaultRenewalGrace
	if v := strings.TrimSpace(getenv("RENEWAL_GRACE_DAYS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return fmt.Errorf("RENEWAL_GRACE_DAYS must be 1..365 days, got %q", v)
		}
		c.Policy.RenewalGracePeriod = time.Duration(n) * 24 * time.Hour
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("AML_CLEAR_RESTORES"))); v {
	case "", "true":
		c.Policy.AMLKeepReview = false
	case "false":
		c.Policy.AMLKeepReview = true
	default:
		return fmt.Errorf("AML_CLEAR_RESTORES must be true or false, got %q", v)
	}
	return nil
}
