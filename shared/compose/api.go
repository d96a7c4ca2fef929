package compose

import (
	"context"
	"fmt"
	"slices"
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

// mutableClaims are JWT claims a user (or an identity provider's admin flow) can change:
// a referenceNo taken from one would let a user move onto another user's profile.
var mutableClaims = []string{"email", "phone_number", "preferred_username", "username", "name"}

// checkReferenceClaim refuses a mutable claim as the user's referenceNo unless allowed.
func checkReferenceClaim(claim string, allowMutable bool) error {
	if allowMutable {
		return nil
	}
	if slices.Contains(mutableClaims, claim) || strings.HasPrefix(claim, "custom:") {
		return fmt.Errorf("REFERENCE_NO_CLAIM %q is mutable (a user could change it and reach another profile): use an immutable claim such as sub, or set ALLOW_MUTABLE_REFERENCE_CLAIM=true (template AllowMutableReferenceClaim) if your identity provider never lets it change", claim)
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
	allowMutable, err := strconv.ParseBool(strings.TrimSpace(getenvOr(getenv, "ALLOW_MUTABLE_REFERENCE_CLAIM", "false")))
	if err != nil {
		return c, fmt.Errorf("ALLOW_MUTABLE_REFERENCE_CLAIM must be true or false, got %q", getenv("ALLOW_MUTABLE_REFERENCE_CLAIM"))
	}
	if err := checkReferenceClaim(c.ReferenceNoClaim, allowMutable); err != nil {
		return c, err
	}
	for name, limit := range map[string]*int{
		"JOURNEY_CLAIMS_PER_HOUR":       &c.Limits.JourneysPerHour,
		"DEVICE_REGISTRATIONS_PER_HOUR": &c.Limits.DevicesPerHour,
		"VERIFF_SESSIONS_PER_HOUR":      &c.Limits.VeriffSessionsPerHour,
	} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10000 {
			return c, fmt.Errorf("%s must be 0..10000 (0 = no limit), got %q", name, v)
		}
		*limit = n
	}
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
			return c, fmt.Errorf("%s must be an SNS platform application ARN, got %q", name, v)
		}
		c.PlatformApps[p] = v
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
