package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Types and event types read by this file.
const (
	typeSubscription = "AWS::SNS::Subscription"
	eventSQS         = "SQS"
)

// Defaults of a Lambda event source mapping for an SQS queue, and of a queue, as AWS
// applies them.
const (
	DefaultSQSBatchSize         = 10
	DefaultVisibilityTimeout    = 30     // seconds
	DefaultMessageRetention     = 345600 // seconds (4 days)
	maxSQSBatchSizeNoWindow     = 10     // a larger batch needs a batching window
	maxSQSBatchSizeStandard     = 10000
	maxVisibilityTimeoutSeconds = 43200
)

// SQSSource is an SQS event of a function: a Lambda event source mapping on a queue of
// the template. Intrinsics are resolved with the parameters' defaults, as for StreamSource.
type SQSSource struct {
	Name              string // the event's name under Events
	FunctionLogicalID string
	QueueLogicalID    string // from Queue: !GetAtt <Queue>.Arn
	Enabled           bool   // default true

	BatchSize                      int      // default 10
	MaximumBatchingWindowInSeconds int      // default 0
	FunctionResponseTypes          []string // e.g. ReportBatchItemFailures
	MaximumConcurrency             int      // ScalingConfig.MaximumConcurrency; 0 when not set
}

// ReportsBatchItemFailures reports whether FunctionResponseTypes has ReportBatchItemFailures.
func (s SQSSource) ReportsBatchItemFailures() bool {
	return slices.Contains(s.FunctionResponseTypes, ReportBatchItemFailures)
}

// QueueSettings are the properties of an AWS::SQS::Queue that change how it delivers.
type QueueSettings struct {
	LogicalID              string
	VisibilityTimeout      int // seconds, default 30
	MessageRetentionPeriod int // seconds, default 4 days
	// DeadLetterQueue is the logical ID named by RedrivePolicy.deadLetterTargetArn
	// (!GetAtt <Queue>.Arn); empty when the queue has no redrive policy.
	DeadLetterQueue string
	MaxReceiveCount int // RedrivePolicy.maxReceiveCount
}

// Subscription is an AWS::SNS::Subscription of a topic of the template.
type Subscription struct {
	LogicalID          string
	TopicLogicalID     string // from TopicArn: !Ref <Topic>
	Protocol           string // only sqs is created locally
	EndpointLogicalID  string // from Endpoint: !GetAtt <Queue>.Arn
	RawMessageDelivery bool
	FilterPolicy       string // JSON text; empty when none
	FilterPolicyScope  string // MessageAttributes (default) or MessageBody
}

// messaging is what the template declares about queues, their consumers and the topic
// subscriptions that feed them.
type messaging struct {
	sqsSources    []SQSSource
	queues        map[string]QueueSettings
	subscriptions []Subscription
}

type rawSQSEvent struct {
	Queue                          json.RawMessage
	BatchSize                      json.RawMessage
	MaximumBatchingWindowInSeconds json.RawMessage
	Enabled                        json.RawMessage
	FunctionResponseTypes          []json.RawMessage
	ScalingConfig                  *struct{ MaximumConcurrency json.RawMessage }
	FilterCriteria                 json.RawMessage
}

type rawQueue struct {
	VisibilityTimeout      json.RawMessage
	MessageRetentionPeriod json.RawMessage
	FifoQueue              json.RawMessage
	RedrivePolicy          *struct {
		DeadLetterTargetArn json.RawMessage `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
}

type rawSubscription struct {
	TopicArn           json.RawMessage
	Protocol           json.RawMessage
	Endpoint           json.RawMessage
	RawMessageDelivery json.RawMessage
	FilterPolicy       json.RawMessage
	FilterPolicyScope  json.RawMessage
}

// parseMessaging reads the queue and subscription resources; other types are ignored.
// It runs for every resource of the template.
func (t *Template) parseMessaging(id, typ string, props json.RawMessage) error {
	p := &eventParser{t: t}
	switch typ {
	case typeQueue:
		q, err := p.queueSettings(id, props)
		if err != nil {
			return err
		}
		if t.messaging.queues == nil {
			t.messaging.queues = map[string]QueueSettings{}
		}
		t.messaging.queues[id] = q
	case typeSubscription:
		s, err := p.subscription(id, props)
		if err != nil {
			return err
		}
		t.messaging.subscriptions = append(t.messaging.subscriptions, s)
	}
	return nil
}

func (p *eventParser) queueSettings(id string, props json.RawMessage) (QueueSettings, error) {
	var raw rawQueue
	if len(props) > 0 {
		if err := decodeJSON(props, &raw); err != nil {
			return QueueSettings{}, fmt.Errorf("decode properties: %w", err)
		}
	}
	q := QueueSettings{LogicalID: id}
	var err error
	if q.VisibilityTimeout, err = p.integer("VisibilityTimeout", raw.VisibilityTimeout, DefaultVisibilityTimeout, 0, maxVisibilityTimeoutSeconds); err != nil {
		return QueueSettings{}, err
	}
	if q.MessageRetentionPeriod, err = p.integer("MessageRetentionPeriod", raw.MessageRetentionPeriod, DefaultMessageRetention, 60, 1209600); err != nil {
		return QueueSettings{}, err
	}
	if fifo, err := p.boolean("FifoQueue", raw.FifoQueue, false); err != nil {
		return QueueSettings{}, err
	} else if fifo {
		return QueueSettings{}, fmt.Errorf("FifoQueue: not supported locally")
	}
	if rp := raw.RedrivePolicy; rp != nil {
		d, err := parseValue(rp.DeadLetterTargetArn)
		if err != nil || d.Kind != KindGetAtt || d.Attribute != "Arn" {
			return QueueSettings{}, fmt.Errorf("RedrivePolicy.deadLetterTargetArn must be !GetAtt <queue>.Arn of this template")
		}
		q.DeadLetterQueue = d.Name
		if q.MaxReceiveCount, err = p.integer("RedrivePolicy.maxReceiveCount", rp.MaxReceiveCount, 0, 1, 1000); err != nil {
			return QueueSettings{}, err
		}
		if q.MaxReceiveCount == 0 {
			return QueueSettings{}, fmt.Errorf("RedrivePolicy.maxReceiveCount: missing")
		}
	}
	return q, nil
}

func (p *eventParser) subscription(id string, props json.RawMessage) (Subscription, error) {
	var raw rawSubscription
	if err := decodeJSON(props, &raw); err != nil {
		return Subscription{}, fmt.Errorf("decode properties: %w", err)
	}
	s := Subscription{LogicalID: id}
	topic, err := parseValue(raw.TopicArn)
	if len(raw.TopicArn) == 0 || err != nil || topic.Kind != KindRef {
		return Subscription{}, fmt.Errorf("TopicArn must be !Ref <topic> of this template")
	}
	s.TopicLogicalID = topic.Name
	if s.Protocol, _, err = p.scalar(raw.Protocol); err != nil || s.Protocol == "" {
		return Subscription{}, fmt.Errorf("property Protocol: missing or unresolved")
	}
	if s.Protocol == "sqs" {
		ep, err := parseValue(raw.Endpoint)
		if len(raw.Endpoint) == 0 || err != nil || ep.Kind != KindGetAtt || ep.Attribute != "Arn" {
			return Subscription{}, fmt.Errorf("property Endpoint of an sqs subscription must be !GetAtt <queue>.Arn of this template")
		}
		s.EndpointLogicalID = ep.Name
	}
	if s.RawMessageDelivery, err = p.boolean("RawMessageDelivery", raw.RawMessageDelivery, false); err != nil {
		return Subscription{}, err
	}
	if len(raw.FilterPolicy) > 0 {
		if s.FilterPolicy, err = p.filterPattern(raw.FilterPolicy); err != nil {
			return Subscription{}, fmt.Errorf("FilterPolicy: %w", err)
		}
	}
	if s.FilterPolicyScope, _, err = p.scalar(raw.FilterPolicyScope); err != nil {
		return Subscription{}, fmt.Errorf("FilterPolicyScope: %w", err)
	}
	return s, nil
}

// errExternalQueue: the SQS event reads a queue that is not a resource of the template
// (a literal ARN or a parameter). A local run cannot feed it; the event is skipped.
var errExternalQueue = errors.New("queue outside the template")

// sqsSource reads an SQS event of function fn (errExternalQueue for a queue that is not
// in the template).
func (p *eventParser) sqsSource(fn, name string, props json.RawMessage) (SQSSource, error) {
	var raw rawSQSEvent
	if len(props) > 0 {
		if err := decodeJSON(props, &raw); err != nil {
			return SQSSource{}, fmt.Errorf("decode properties: %w", err)
		}
	}
	s := SQSSource{Name: name, FunctionLogicalID: fn}
	q, err := parseValue(raw.Queue)
	if len(raw.Queue) == 0 || err != nil {
		return SQSSource{}, fmt.Errorf("Queue: missing or unreadable")
	}
	if q.Kind != KindGetAtt {
		return SQSSource{}, errExternalQueue // a queue of another stack: not run locally
	}
	if q.Attribute != "Arn" {
		return SQSSource{}, fmt.Errorf("Queue must be !GetAtt <queue>.Arn of a queue of this template")
	}
	s.QueueLogicalID = q.Name
	if s.MaximumBatchingWindowInSeconds, err = p.integer("MaximumBatchingWindowInSeconds", raw.MaximumBatchingWindowInSeconds, 0, 0, 300); err != nil {
		return SQSSource{}, err
	}
	if s.BatchSize, err = p.integer("BatchSize", raw.BatchSize, DefaultSQSBatchSize, 1, maxSQSBatchSizeStandard); err != nil {
		return SQSSource{}, err
	}
	if s.BatchSize > maxSQSBatchSizeNoWindow && s.MaximumBatchingWindowInSeconds == 0 {
		return SQSSource{}, fmt.Errorf("BatchSize %d: more than %d needs MaximumBatchingWindowInSeconds of at least 1", s.BatchSize, maxSQSBatchSizeNoWindow)
	}
	if s.Enabled, err = p.boolean("Enabled", raw.Enabled, true); err != nil {
		return SQSSource{}, err
	}
	for _, r := range raw.FunctionResponseTypes {
		v, _, err := p.scalar(r)
		if err != nil {
			return SQSSource{}, fmt.Errorf("FunctionResponseTypes: %w", err)
		}
		if v != ReportBatchItemFailures {
			return SQSSource{}, fmt.Errorf("FunctionResponseTypes %q: only %s exists", v, ReportBatchItemFailures)
		}
		s.FunctionResponseTypes = append(s.FunctionResponseTypes, v)
	}
	if sc := raw.ScalingConfig; sc != nil {
		if s.MaximumConcurrency, err = p.integer("ScalingConfig.MaximumConcurrency", sc.MaximumConcurrency, 0, 2, 1000); err != nil {
			return SQSSource{}, err
		}
	}
	if len(raw.FilterCriteria) > 0 && string(raw.FilterCriteria) != "null" {
		return SQSSource{}, fmt.Errorf("FilterCriteria: not supported locally for SQS events")
	}
	return s, nil
}

// checkMessaging verifies what needs the whole template: sources, dead-letter queues and
// subscriptions name queues and topics of the template.
func (t *Template) checkMessaging() error {
	m := &t.messaging
	for _, s := range m.sqsSources {
		if _, ok := m.queues[s.QueueLogicalID]; !ok {
			return fmt.Errorf("function %s event %s: Queue: no queue %s in the template", s.FunctionLogicalID, s.Name, s.QueueLogicalID)
		}
	}
	for _, q := range m.queues {
		if _, ok := m.queues[q.DeadLetterQueue]; q.DeadLetterQueue != "" && !ok {
			return fmt.Errorf("queue %s: RedrivePolicy: no queue %s in the template", q.LogicalID, q.DeadLetterQueue)
		}
	}
	for _, s := range m.subscriptions {
		if !slices.Contains(t.topics, s.TopicLogicalID) {
			return fmt.Errorf("subscription %s: TopicArn: no topic %s in the template", s.LogicalID, s.TopicLogicalID)
		}
		if _, ok := m.queues[s.EndpointLogicalID]; s.Protocol == "sqs" && !ok {
			return fmt.Errorf("subscription %s: Endpoint: no queue %s in the template", s.LogicalID, s.EndpointLogicalID)
		}
	}
	return nil
}

// SQSSources returns the SQS events of all functions, by function and event name.
func (t *Template) SQSSources() []SQSSource {
	out := slices.Clone(t.messaging.sqsSources)
	for i := range out {
		out[i].FunctionResponseTypes = slices.Clone(out[i].FunctionResponseTypes)
	}
	return out
}

// QueueSettings returns the settings of every queue of the template, by logical ID.
func (t *Template) QueueSettings() map[string]QueueSettings {
	return maps.Clone(t.messaging.queues)
}

// Subscriptions returns the template's AWS::SNS::Subscription resources, by logical ID.
func (t *Template) Subscriptions() []Subscription {
	out := slices.Clone(t.messaging.subscriptions)
	slices.SortFunc(out, func(a, b Subscription) int {
		switch {
		case a.LogicalID < b.LogicalID:
			return -1
		case a.LogicalID > b.LogicalID:
			return 1
		}
		return 0
	})
	return out
}

// ConfigureQueues applies each queue's settings (visibility timeout, retention, redrive
// policy to its dead-letter queue) to the queues CreateQueues created. moto honours the
// redrive policy: a message received maxReceiveCount times moves to the dead-letter queue
// on the next receive, as in SQS.
func (t *Template) ConfigureQueues(ctx context.Context, cfg aws.Config, queues map[string]Queue) error {
	client := sqs.NewFromConfig(cfg)
	for _, id := range slices.Sorted(maps.Keys(t.messaging.queues)) {
		s := t.messaging.queues[id]
		q, ok := queues[id]
		if !ok {
			return fmt.Errorf("queue %s: not created", id)
		}
		attrs := map[string]string{
			string(sqstypes.QueueAttributeNameVisibilityTimeout):      strconv.Itoa(s.VisibilityTimeout),
			string(sqstypes.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(s.MessageRetentionPeriod),
		}
		if s.DeadLetterQueue != "" {
			dlq, ok := queues[s.DeadLetterQueue]
			if !ok {
				return fmt.Errorf("queue %s: dead-letter queue %s not created", id, s.DeadLetterQueue)
			}
			policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlq.ARN, "maxReceiveCount": strconv.Itoa(s.MaxReceiveCount)})
			attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(policy)
		}
		if _, err := client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(q.URL), Attributes: attrs}); err != nil {
			return fmt.Errorf("configure queue %s: %w", id, err)
		}
	}
	return nil
}

// CreateSubscriptions subscribes the queues to the topics as the template's sqs
// subscriptions say (raw delivery, filter policy); it is idempotent (SNS returns the
// existing subscription). Subscriptions of other protocols are skipped. It returns the
// subscription ARNs by logical ID.
func (t *Template) CreateSubscriptions(ctx context.Context, cfg aws.Config, topics map[string]string, queues map[string]Queue) (map[string]string, error) {
	client := sns.NewFromConfig(cfg)
	out := map[string]string{}
	for _, s := range t.Subscriptions() {
		if s.Protocol != "sqs" {
			continue
		}
		topic, q := topics[s.TopicLogicalID], queues[s.EndpointLogicalID]
		if topic == "" || q.ARN == "" {
			return nil, fmt.Errorf("subscription %s: topic %s or queue %s not created", s.LogicalID, s.TopicLogicalID, s.EndpointLogicalID)
		}
		attrs := map[string]string{"RawMessageDelivery": strconv.FormatBool(s.RawMessageDelivery)}
		if s.FilterPolicy != "" {
			attrs["FilterPolicy"] = s.FilterPolicy
			if s.FilterPolicyScope != "" {
				attrs["FilterPolicyScope"] = s.FilterPolicyScope
			}
		}
		res, err := client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
			Endpoint: aws.String(q.ARN), Attributes: attrs, ReturnSubscriptionArn: true})
		if err != nil {
			return nil, fmt.Errorf("subscription %s: %w", s.LogicalID, err)
		}
		out[s.LogicalID] = aws.ToString(res.SubscriptionArn)
	}
	return out, nil
}
