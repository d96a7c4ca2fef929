package compose

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// loadIDWiseRecovery reads the IDWise settings of issue 14: the Get Spot Check Result path
// (IDWISE_PATH_SPOT_CHECK_RESULT), the custom step's field names
// (IDWISE_FIELD_JOURNEY_ID, IDWISE_FIELD_STEP_ID, IDWISE_FIELD_STEP_TYPE,
// IDWISE_FIELD_IMAGE, IDWISE_FIELD_COMPLETE_JOURNEY_ID; empty: snake_case defaults), how
// long a 404 is retried (IDWISE_NOT_FOUND_RETRY_MINUTES, default 30, 0 = fail at once) and
// the spot check decisions that put an approved profile in review
// (IDWISE_SPOT_CHECK_REVIEW_DECISIONS, comma-separated, default Refer,Rejected; "none" =
// spot checks never change a status).
func loadIDWiseRecovery(getenv Getenv, c *ProcessingConfig) error {
	c.IDWisePaths.SpotCheckResult = strings.TrimSpace(getenv("IDWISE_PATH_SPOT_CHECK_RESULT"))
	c.IDWiseFields = idwise.FormFields{
		JourneyID:         getenv("IDWISE_FIELD_JOURNEY_ID"),
		StepID:            getenv("IDWISE_FIELD_STEP_ID"),
		StepType:          getenv("IDWISE_FIELD_STEP_TYPE"),
		Image:             getenv("IDWISE_FIELD_IMAGE"),
		CompleteJourneyID: getenv("IDWISE_FIELD_COMPLETE_JOURNEY_ID"),
	}
	for name, v := range map[string]string{"IDWISE_FIELD_JOURNEY_ID": c.IDWiseFields.JourneyID, "IDWISE_FIELD_STEP_ID": c.IDWiseFields.StepID,
		"IDWISE_FIELD_STEP_TYPE": c.IDWiseFields.StepType, "IDWISE_FIELD_IMAGE": c.IDWiseFields.Image,
		"IDWISE_FIELD_COMPLETE_JOURNEY_ID": c.IDWiseFields.CompleteJourneyID} {
		if strings.ContainsAny(v, "\"\r\n") {
			return fmt.Errorf("%s must be a plain field name, got %q", name, v)
		}
	}
	c.NotFoundRetry = idwise.DefaultNotFoundRetry
	if v := strings.TrimSpace(getenv("IDWISE_NOT_FOUND_RETRY_MINUTES")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 7*24*60 {
			return fmt.Errorf("IDWISE_NOT_FOUND_RETRY_MINUTES must be 0..10080 minutes, got %q", v)
		}
		c.NotFoundRetry = time.Duration(n) * time.Minute
	}
	switch v := strings.TrimSpace(getenv("IDWISE_SPOT_CHECK_REVIEW_DECISIONS")); {
	case v == "":
	case strings.EqualFold(v, "none"):
		c.Policy.SpotCheckReview = []string{}
	default:
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				c.Policy.SpotCheckReview = append(c.Policy.SpotCheckReview, d)
			}
		}
	}
	return nil
}
