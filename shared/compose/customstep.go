package compose

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/s3images"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// DefaultReferenceImageKeyTemplate is the default key of a reference image in its bucket.
const DefaultReferenceImageKeyTemplate = "faces/{referenceNo}.jpg"

// loadCustomStep reads the IDWise custom journey step's configuration (off unless
// IDWISE_CUSTOM_STEP_ID is set): IDWISE_CUSTOM_STEP_TYPE, IDWISE_REFERENCE_IMAGE_BUCKET
// (empty: every step is completed without an image), IDWISE_REFERENCE_IMAGE_KEY_TEMPLATE,
// IDWISE_REFERENCE_IMAGE_MAX_BYTES.
func loadCustomStep(getenv Getenv, c *ProcessingConfig) error {
	c.CustomStep = idwise.CustomStepConfig{
		StepID:      strings.TrimSpace(getenv("IDWISE_CUSTOM_STEP_ID")),
		StepType:    strings.TrimSpace(getenv("IDWISE_CUSTOM_STEP_TYPE")),
		KeyTemplate: strings.TrimSpace(getenv("IDWISE_REFERENCE_IMAGE_KEY_TEMPLATE")),
	}
	c.ReferenceImageBucket = strings.TrimSpace(getenv("IDWISE_REFERENCE_IMAGE_BUCKET"))
	if c.CustomStep.StepID == "" {
		return nil
	}
	if c.CustomStep.KeyTemplate == "" {
		c.CustomStep.KeyTemplate = DefaultReferenceImageKeyTemplate
	}
	if v := strings.TrimSpace(getenv("IDWISE_REFERENCE_IMAGE_MAX_BYTES")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("IDWISE_REFERENCE_IMAGE_MAX_BYTES must be a positive number of bytes, got %q", v)
		}
		c.CustomStep.MaxImageBytes = n
	}
	if err := c.CustomStep.Validate(); err != nil {
		return fmt.Errorf("IDWISE_CUSTOM_STEP_ID / IDWISE_REFERENCE_IMAGE_KEY_TEMPLATE: %w", err)
	}
	return nil
}

// newCustomStep builds the custom step, or nil when none is configured. Reference images
// are read from S3 with path-style addressing when an endpoint is configured (moto,
// LocalStack: no bucket subdomains there).
func newCustomStep(rt Runtime, c ProcessingConfig, api *idwise.Client, store *dynamo.Store) (*idwise.CustomStep, error) {
	if c.CustomStep.StepID == "" {
		return nil, nil
	}
	var images idwise.ImageStore
	if c.ReferenceImageBucket != "" {
		client := s3.NewFromConfig(rt.AWS, func(o *s3.Options) {
			o.UsePathStyle = o.BaseEndpoint != nil
			o.DisableLogOutputChecksumValidationSkipped = true // objects uploaded without a checksum: not worth a log line each
		})
		images = s3images.New(client, c.ReferenceImageBucket)
	}
	cs, err := idwise.NewCustomStep(c.CustomStep, api, images, store)
	if err != nil {
		return nil, fmt.Errorf("custom step: %w", err)
	}
	return cs, nil
}
