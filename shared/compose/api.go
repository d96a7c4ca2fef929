package compose

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/metrics"
	"github.com/kycbackend/kyc/shared/aws/sns"
	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/edge/appapi"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffapi"
)

// APIConfig is the app API function's configuration.
type APIConfig struct {
	Table            string
	TopicARN         string
	ReferenceNoClaim string
	PlatformApps     map[devices.Platform]string // platform application ARN by platform; absent = refused
	MaxDevices       int
	Retention        time.Duration
	Limits           appapi.Limits
	CallbackHosts    []string // VERIFF_CALLBACK_HOSTS: hosts a Veriff session callback may name
}

// customClaim is a custom claim's name as Cognito issues one (custom:<attribute>).
var customClaim = regexp.MustCompile(`^custom:[A-Za-z0-9_-]{1,20}$`)

// checkReferenceClaim is an allow-list: the user's referenceNo comes from sub (issued by
// the identity provider, never changed) or from a custom claim the operator declares
// immutable (REFERENCE_NO_CLAIM_IMMUTABLE=true; in Cognito a custom attribute created with
// Mutable false, which cannot be changed after the user is created). Anything else
// (email, phone_number, nickname, username, client_id: editable by the user, or the same
// for every user) would let one user move onto another user's profile.
func checkReferenceClaim(claim string, immutable bool) error {
	if claim == "sub" {
		return nil
	}
	if !customClaim.MatchString(claim) {
		return fmt.Errorf("REFERENCE_NO_CLAIM (template ReferenceNoClaim) %q is not allowed: use sub, or a custom:<name> claim that users cannot change together with REFERENCE_NO_CLAIM_IMMUTABLE=true (template ReferenceNoClaimImmutable)", claim)
	}
	if !immutable {
		return fmt.Errorf("REFERENCE_NO_CLAIM (template ReferenceNoClaim) %q needs REFERENCE_NO_CLAIM_IMMUTABLE=true (template ReferenceNoClaimImmutable): declare that users can never change it (Cognito: a custom attribute with Mutable false), or use sub", claim)
	}
	return nil
}

// LoadAPIConfig reads and checks the app API function's environment.
func LoadAPIConfig(getenv Getenv) (APIConfig, error) {
	c := APIConfig{
		Table:            getenv("TABLE_NAME"),
		TopicARN:         getenv("STATUS_TOPIC_ARN"),
		ReferenceNoClaim: strings.TrimSpace(getenv("REFERENCE_NO_CLAIM")),
		PlatformApps:     map[devices.Platform]string{},
		MaxDevices:       devices.DefaultMaxPerProfile,
		Retention:        30 * 24 * time.Hour,
		Limits:           appapi.DefaultLimits,
	}
	for name, v := range map[string]string{"TABLE_NAME": c.Table, "STATUS_TOPIC_ARN": c.TopicARN} {
		if v == "" {
			return c, fmt.Errorf("%s is required", name)
		}
	}
	if c.ReferenceNoClaim == "" {
		c.ReferenceNoClaim = "sub"
	}
	immutable, err := strconv.ParseBool(strings.TrimSpace(getenvOr(getenv, "REFERENCE_NO_CLAIM_IMMUTABLE", "false")))
	if err != nil {
		return c, fmt.Errorf("REFERENCE_NO_CLAIM_IMMUTABLE must be true or false, got %q", getenv("REFERENCE_NO_CLAIM_IMMUTABLE"))
	}
	if err := checkReferenceClaim(c.ReferenceNoClaim, immutable); err != nil {
		return c, err
	}
	if err := loadLimits(getenv, &c.Limits); err != nil {
		return c, err
	}
	if err := loadPlatformApps(getenv, c.PlatformApps); err != nil {
		return c, err
	}
	if c.CallbackHosts, err = appapi.ParseCallbackHosts(getenv("VERIFF_CALLBACK_HOSTS")); err != nil {
		return c, fmt.Errorf("VERIFF_CALLBACK_HOSTS: %w", err)
	}
	if v := strings.TrimSpace(getenv("MAX_DEVICES_PER_PROFILE")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			return c, fmt.Errorf("MAX_DEVICES_PER_PROFILE must be 1..50, got %q", v)
		}
		c.MaxDevices = n
	}
	if c.Retention, err = days(getenv, "RAW_EVENT_RETENTION_DAYS", c.Retention); err != nil {
		return c, err
	}
	return c, nil
}

// API builds the app API handler from its environment. Status changes go through the
// processor service (version check, guard, outbox, status event) exactly as the
// processor's own.
func API(rt Runtime) (*appapi.Handler, error) {
	c, err := LoadAPIConfig(rt.Getenv)
	if err != nil {
		return nil, err
	}
	rt.AWS, _ = traced(rt)
	store := dynamo.NewStore(dynamodb.NewFromConfig(rt.AWS), c.Table, c.Retention)
	snsc := awssns.NewFromConfig(rt.AWS)
	svc := processor.New(nil, processor.Deps{
		Journeys: store, Profiles: store, Outbox: store, Events: store, Erasures: store,
		Metrics:   metrics.New(rt.Metrics, "api"),
		Publisher: sns.NewPublisher(snsc, c.TopicARN),
	})
	devs := devices.New(store, sns.NewRegistry(snsc, c.PlatformApps), c.MaxDevices)
	d := appapi.Deps{Profiles: store, Statuses: svc, Devices: devs, Claims: store, Erasures: store, Limiter: store, Checks: store}
	veriffAPI, ok, err := VeriffAPI(rt)
	if err != nil {
		return nil, err
	}
	if ok {
		d.Sessions = veriffSessions{api: veriffAPI}
	}
	return appapi.New(appapi.Config{ReferenceNoClaim: c.ReferenceNoClaim, Limits: c.Limits, CallbackHosts: c.CallbackHosts}, d), nil
}

// veriffSessions creates Veriff sessions for the app API with the caller as vendorData.
type veriffSessions struct{ api *veriffapi.Client }

var _ appapi.VeriffSessions = veriffSessions{}

func (v veriffSessions) CreateSession(ctx context.Context, referenceNo string, r appapi.SessionRequest) (appapi.Session, error) {
	s, err := v.api.CreateSession(ctx, veriffapi.SessionRequest{VendorData: referenceNo, Lang: r.Lang, Callback: r.Callback,
		Product: veriff.Product(r.Product)})
	if err != nil {
		return appapi.Session{}, err
	}
	return appapi.Session{ID: s.ID, URL: s.URL}, nil
}

func getenvOr(getenv Getenv, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// loadLimits reads the rate limits of the app API (0..10000 an hour, 0 = no limit) over
// their defaults in l.
func loadLimits(getenv Getenv, l *appapi.Limits) error {
	for name, limit := range map[string]*int{
		"JOURNEY_CLAIMS_PER_HOUR":       &l.JourneysPerHour,
		"DEVICE_REGISTRATIONS_PER_HOUR": &l.DevicesPerHour,
		"VERIFF_SESSIONS_PER_HOUR":      &l.VeriffSessionsPerHour,
	} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10000 {
			return fmt.Errorf("%s must be 0..10000 (0 = no limit), got %q", name, v)
		}
		*limit = n
	}
	return nil
}

// loadPlatformApps reads the SNS platform application ARNs of the push platforms
// configured into platformApps.
func loadPlatformApps(getenv Getenv, platformApps map[devices.Platform]string) error {
	for p, name := range map[devices.Platform]string{
		devices.APNS:        "APNS_PLATFORM_APPLICATION_ARN",
		devices.APNSSandbox: "APNS_SANDBOX_PLATFORM_APPLICATION_ARN",
		devices.FCM:         "FCM_PLATFORM_APPLICATION_ARN",
	} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		if !strings.HasPrefix(v, "arn:") || !strings.Contains(v, ":app/") {
			return fmt.Errorf("%s must be an SNS platform application ARN, got %q", name, v)
		}
		platformApps[p] = v
	}
	return nil
}
