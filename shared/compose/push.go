package compose

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/metrics"
	"github.com/kycbackend/kyc/shared/aws/sns"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/push"
	"github.com/kycbackend/kyc/shared/edge/queue"
)

// PushConfig is the push function's configuration.
type PushConfig struct {
	Table     string
	Statuses  []kyc.Status  // PUSH_STATUSES: the statuses that notify; empty = all
	Retention time.Duration // RAW_EVENT_RETENTION_DAYS: how long push markers (the dedup) live
}

// LoadPushConfig reads and checks the push function's environment.
func LoadPushConfig(getenv Getenv) (PushConfig, error) {
	c := PushConfig{Table: getenv("TABLE_NAME"), Retention: 30 * 24 * time.Hour}
	if c.Table == "" {
		return c, fmt.Errorf("TABLE_NAME is required")
	}
	for _, s := range strings.Split(getenv("PUSH_STATUSES"), ",") {
		st := kyc.Status(strings.ToUpper(strings.TrimSpace(s)))
		if st == "" {
			continue
		}
		if !st.Valid() {
			return c, fmt.Errorf("PUSH_STATUSES: unknown status %q (one of %v)", s, kyc.Statuses)
		}
		if !slices.Contains(c.Statuses, st) {
			c.Statuses = append(c.Statuses, st)
		}
	}
	var err error
	if c.Retention, err = days(getenv, "RAW_EVENT_RETENTION_DAYS", c.Retention); err != nil {
		return c, err
	}
	return c, nil
}

// Push builds the queue handler of the push function from its environment.
func Push(rt Runtime) (*queue.Handler, error) {
	c, err := LoadPushConfig(rt.Getenv)
	if err != nil {
		return nil, err
	}
	tpl, err := push.DefaultTemplates()
	if err != nil {
		return nil, fmt.Errorf("push templates: %w", err)
	}
	rt.AWS, _ = traced(rt)
	store := dynamo.NewStore(dynamodb.NewFromConfig(rt.AWS), c.Table, c.Retention)
	sender := sns.NewSender(awssns.NewFromConfig(rt.AWS), sns.DefaultSendTimeout)
	n := push.New(store, store, sender, tpl, metrics.New(rt.Metrics, "push"), push.Config{
		Statuses: c.Statuses, MinTimeLeft: sns.DefaultSendTimeout + 2*time.Second})
	return queue.New(n), nil
}
