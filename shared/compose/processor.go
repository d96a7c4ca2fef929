package compose

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/kycbackend/kyc/shared/app/sweeper"
	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/metrics"
	"github.com/kycbackend/kyc/shared/aws/secrets"
	"github.com/kycbackend/kyc/shared/aws/sns"
	"github.com/kycbackend/kyc/shared/aws/tracing"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/edge/schedule"
	"github.com/kycbackend/kyc/shared/edge/stream"
	"github.com/kycbackend/kyc/shared/vendors/endpoint"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// ProcessingConfig is the configuration shared by the processor and the sweeper.
type ProcessingConfig struct {
	Table            string
	TopicARN         string
	IDWiseSecretID   string
	IDWiseRegion     idwise.Region
	IDWiseBaseURL    string
	IDWisePaths      idwise.Paths
	IDWiseTimeout    time.Duration
	Policy           idwise.Policy
	DetailFields     []string
	Retention        time.Duration
	SweepMinAge      time.Duration
	SweepLimit       int32
	CredentialsCache time.Duration
	JourneyRetention time.Duration // JOURNEY_DETAIL_RETENTION_DAYS; 0 keeps journey details
	Ownership        kyc.Ownership // JOURNEY_OWNERSHIP: claimed (default) or vendor
	ClaimWait        time.Duration // CLAIM_WAIT_DAYS: how long an outcome waits for its claim

	CustomStep           idwise.CustomStepConfig // StepID empty: no custom journey step (customstep.go)
	ReferenceImageBucket string

	IDWiseFields  idwise.FormFields // custom step field names (idwise.go)
	NotFoundRetry time.Duration     // IDWISE_NOT_FOUND_RETRY_MINUTES
}

// LoadProcessingConfig reads the processor's (and sweeper's) environment.
func LoadProcessingConfig(getenv Getenv) (ProcessingConfig, error) {
	c := ProcessingConfig{
		Table:          getenv("TABLE_NAME"),
		TopicARN:       getenv("STATUS_TOPIC_ARN"),
		IDWiseSecretID: getenv("IDWISE_API_SECRET_ARN"),
		IDWiseRegion:   idwise.Region(strings.ToLower(getenv("IDWISE_REGION"))),
		IDWiseBaseURL:  getenv("IDWISE_API_BASE_URL"),
		IDWisePaths: idwise.Paths{
			Journey:            getenv("IDWISE_PATH_JOURNEY_RESULT"),
			ProcessCustomStep:  getenv("IDWISE_PATH_PROCESS_CUSTOM_STEP"),
			CompleteCustomStep: getenv("IDWISE_PATH_COMPLETE_CUSTOM_STEP"),
			DeletePersonalData: getenv("IDWISE_PATH_DELETE_PERSONAL_DATA"),
		},
		Policy:           idwise.DefaultPolicy,
		Retention:        30 * 24 * time.Hour,
		SweepMinAge:      10 * time.Minute,
		SweepLimit:       100,
		CredentialsCache: 5 * time.Minute,
		ClaimWait:        processor.DefaultClaimWait,
	}
	for name, v := range map[string]string{"TABLE_NAME": c.Table, "STATUS_TOPIC_ARN": c.TopicARN, "IDWISE_API_SECRET_ARN": c.IDWiseSecretID} {
		if v == "" {
			return c, fmt.Errorf("%s is required", name)
		}
	}
	if err := loadIDWiseAPI(getenv, &c); err != nil {
		return c, err
	}
	for _, f := range strings.Split(getenv("JOURNEY_DETAIL_FIELDS"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			c.DetailFields = append(c.DetailFields, f)
		}
	}
	var err error
	if c.Retention, err = days(getenv, "RAW_EVENT_RETENTION_DAYS", c.Retention); err != nil {
		return c, err
	}
	if c.Ownership, err = kyc.ParseOwnership(strings.TrimSpace(getenv("JOURNEY_OWNERSHIP"))); err != nil {
		return c, fmt.Errorf("JOURNEY_OWNERSHIP: %w", err)
	}
	if c.ClaimWait, err = days(getenv, "CLAIM_WAIT_DAYS", c.ClaimWait); err != nil {
		return c, err
	}
	if err := loadSweep(getenv, &c); err != nil {
		return c, err
	}
	if c.JourneyRetention, err = journeyRetention(getenv); err != nil {
		return c, err
	}
	if err := loadCustomStep(getenv, &c); err != nil {
		return c, err
	}
	if err := loadIDWiseRecovery(getenv, &c); err != nil {
		return c, err
	}
	if err := loadIDWisePolicy(getenv, &c); err != nil {
		return c, err
	}
	return c, nil
}

// journeyRetention reads JOURNEY_DETAIL_RETENTION_DAYS (template JourneyDetailRetentionDays):
// how long journey details are kept after their last update; 0 or unset keeps them.
func journeyRetention(getenv Getenv) (time.Duration, error) {
	v := strings.TrimSpace(getenv("JOURNEY_DETAIL_RETENTION_DAYS"))
	if v == "" || v == "0" {
		return 0, nil
	}
	return days(getenv, "JOURNEY_DETAIL_RETENTION_DAYS", 0)
}

func days(getenv Getenv, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s must be a positive number of days, got %q", name, v)
	}
	return time.Duration(n) * 24 * time.Hour, nil
}

// Processing is the processor service with its stores, shared by the stream handler, the
// sweeper and the operator tool.
type Processing struct {
	Service *processor.Service
	Store   *dynamo.Store
	IDWise  *idwise.Client // the IDWise API (kycctl erase asks it to delete personal data)
	Config  ProcessingConfig
	// CustomStep is the IDWise custom journey step; nil when not configured.
	CustomStep *idwise.CustomStep
}

// NewProcessing builds the processor service from its environment.
func NewProcessing(rt Runtime, service string) (*Processing, error) {
	c, err := LoadProcessingConfig(rt.Getenv)
	if err != nil {
		return nil, err
	}
	var tracer *tracing.Emitter
	rt.AWS, tracer = traced(rt)
	creds := secrets.NewIDWiseAPI(secretsmanager.NewFromConfig(rt.AWS), c.IDWiseSecretID, c.CredentialsCache)
	api, err := idwise.NewClient(idwise.ClientConfig{Region: c.IDWiseRegion, BaseURL: c.IDWiseBaseURL,
		Paths: c.IDWisePaths, Fields: c.IDWiseFields, Timeout: c.IDWiseTimeout,
		WrapTransport: func(t http.RoundTripper) http.RoundTripper { return tracer.Transport("IDWise", t) }}, creds)
	if err != nil {
		return nil, fmt.Errorf("idwise client: %w", err)
	}
	store := dynamo.NewStore(dynamodb.NewFromConfig(rt.AWS), c.Table, c.Retention).WithJourneyRetention(c.JourneyRetention)
	emf := metrics.New(rt.Metrics, service)
	cs, err := newCustomStep(rt, c, api, store)
	if err != nil {
		return nil, err
	}
	vp, err := LoadVeriffPolicy(rt.Getenv)
	if err != nil {
		return nil, err
	}
	svc := processor.New(withCatalogs(map[string]processor.Resolver{
		idwise.Provider: idwise.NewResolver(measuredFetcher{next: api, metrics: emf}, c.Policy, c.DetailFields).WithHistory(store).WithCustomStep(cs).
			WithMetrics(emf, store).WithNotFoundRetry(c.NotFoundRetry),
		veriff.Provider: veriff.NewResolver(vp).WithProfiles(store),
	}), processor.Deps{
		Journeys: store, Profiles: store, Outbox: store, Events: store, Metrics: emf, Erasures: store,
		Publisher: sns.NewPublisher(awssns.NewFromConfig(rt.AWS), c.TopicARN),
		Ownership: c.Ownership, Claims: store, Reviews: store, ClaimWait: c.ClaimWait, Checks: store,
	})
	return &Processing{Service: svc, Store: store, IDWise: api, Config: c, CustomStep: cs}, nil
}

// Processor builds the stream handler of the processor function.
func Processor(rt Runtime) (*stream.Handler, error) {
	p, err := NewProcessing(rt, "processor")
	if err != nil {
		return nil, err
	}
	return stream.New(p.Service, dynamo.DecodeStreamEvent).WithClaims(dynamo.DecodeStreamClaim), nil
}

// Sweeper builds the sweeper of the scheduled sweeper function.
func Sweeper(rt Runtime) (*sweeper.Sweeper, error) {
	p, err := NewProcessing(rt, "sweeper")
	if err != nil {
		return nil, err
	}
	return sweeper.New(p.Store, p.Service, metrics.New(rt.Metrics, "sweeper"),
		sweeper.Config{MinAge: p.Config.SweepMinAge, Limit: p.Config.SweepLimit}), nil
}

// Schedule builds the Lambda handler of the scheduled sweeper function: the sweeper behind
// its schedule edge.
func Schedule(rt Runtime) (*schedule.Handler, error) {
	sw, err := Sweeper(rt)
	if err != nil {
		return nil, err
	}
	return schedule.New(sw), nil
}

// measuredFetcher records the IDWise API's latency and errors as metrics.
type measuredFetcher struct {
	next    *idwise.Client
	metrics *metrics.EMF
}

func (f measuredFetcher) Journey(ctx context.Context, journeyID string) (idwise.Journey, error) {
	return f.measure(ctx, journeyID, f.next.Journey)
}

// SpotCheck reads a spot check journey's result (idwise.SpotCheckFetcher).
func (f measuredFetcher) SpotCheck(ctx context.Context, spotCheckJourneyID string) (idwise.Journey, error) {
	return f.measure(ctx, spotCheckJourneyID, f.next.SpotCheck)
}

func (f measuredFetcher) measure(ctx context.Context, id string, get func(context.Context, string) (idwise.Journey, error)) (idwise.Journey, error) {
	start := time.Now()
	j, err := get(ctx, id)
	dims := map[string]string{"provider": idwise.Provider}
	f.metrics.Put(ctx, "VendorAPILatency", float64(time.Since(start).Milliseconds()), "Milliseconds", dims)
	if err != nil {
		f.metrics.Count(ctx, "VendorAPIErrors", dims)
	}
	return j, err
}

// loadIDWiseAPI checks the IDWise API's region or base URL (HTTPS) and reads the status of
// a completed journey (APPROVED or IN_REVIEW).
func loadIDWiseAPI(getenv Getenv, c *ProcessingConfig) error {
	if _, err := idwise.BaseURL(c.IDWiseRegion); err != nil && c.IDWiseBaseURL == "" {
		return fmt.Errorf("IDWISE_REGION: %w", err)
	}
	if c.IDWiseBaseURL != "" {
		// The API key and secret travel in every request: never in clear text, except to
		// the local stack's simulator on loopback.
		if err := endpoint.CheckHTTPS("IDWISE_API_BASE_URL", c.IDWiseBaseURL); err != nil {
			return err
		}
	}
	if v := getenv("IDWISE_COMPLETE_STATUS"); v != "" {
		s := kyc.Status(strings.ToUpper(v))
		if s != kyc.Approved && s != kyc.InReview {
			return fmt.Errorf("IDWISE_COMPLETE_STATUS must be APPROVED or IN_REVIEW, got %q", v)
		}
		c.Policy.Complete = s
	}
	return nil
}

// loadSweep reads the sweeper's minimum age and limit, and the IDWise API timeout.
func loadSweep(getenv Getenv, c *ProcessingConfig) error {
	if v := getenv("SWEEP_MIN_AGE_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("SWEEP_MIN_AGE_SECONDS must be a number of seconds, got %q", v)
		}
		c.SweepMinAge = time.Duration(n) * time.Second
	}
	if v := getenv("SWEEP_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("SWEEP_LIMIT must be 1..1000, got %q", v)
		}
		c.SweepLimit = int32(n)
	}
	if v := getenv("IDWISE_API_TIMEOUT_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("IDWISE_API_TIMEOUT_SECONDS must be a positive number, got %q", v)
		}
		c.IDWiseTimeout = time.Duration(n) * time.Second
	}
	return nil
}
