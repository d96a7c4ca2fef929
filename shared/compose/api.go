package compose

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/kycbackend/kyc/shared/appapi"
	"github.com/kycbackend/kyc/shared/ddb"
	"github.com/kycbackend/kyc/shared/devices"
	"github.com/kycbackend/kyc/shared/endpoints"
	"github.com/kycbackend/kyc/shared/metrics"
	"github.com/kycbackend/kyc/shared/processor"
	"github.com/kycbackend/kyc/shared/topic"
)

// APIConfig is the app API function's configuration.
type APIConfig struct {
	Table            string
	TopicARN         string
	ReferenceNoClaim string
	PlatformApps     map[devices.Platform]string // platform application ARN by platform; absent = refused
	MaxDevices       int
	Retention        time.Duration
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
	}
	for name, v := range map[string]string{"TABLE_NAME": c.Table, "STATUS_TOPIC_ARN": c.TopicARN} {
		if v == "" {
			return c, fmt.Errorf("%s is required", name)
		}
	}
	if c.ReferenceNoClaim == "" {
		c.ReferenceNoClaim = "sub"
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
	if v := strings.TrimSpace(getenv("MAX_DEVICES_PER_PROFILE")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			return c, fmt.Errorf("MAX_DEVICES_PER_PROFILE must be 1..50, got %q", v)
		}
		c.MaxDevices = n
	}
	var err error
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
	store := ddb.NewStore(dynamodb.NewFromConfig(rt.AWS), c.Table, c.Retention)
	snsc := sns.NewFromConfig(rt.AWS)
	svc := processor.New(nil, processor.Deps{
		Journeys: store, Profiles: store, Outbox: store, Events: store, Erasures: store,
		Metrics:   metrics.New(rt.Metrics, "api"),
		Publisher: topic.New(snsc, c.TopicARN),
	})
	devs := devices.New(store, endpoints.New(snsc, c.PlatformApps), c.MaxDevices)
	return appapi.New(appapi.Config{ReferenceNoClaim: c.ReferenceNoClaim}, store, svc, devs), nil
}
