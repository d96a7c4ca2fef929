// Package sns is the one SNS adapter: it publishes status events to the status topic
// (Publisher, processor.Publisher), manages mobile push platform endpoints (Registry,
// devices.Endpoints) and publishes pushes to them (Sender, push.Sender). All three take
// the same SNS client (or the slice of it they use).
package sns

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// PublishAPI is the slice of the SNS client the publisher needs.
type PublishAPI interface {
	Publish(ctx context.Context, in *awssns.PublishInput, optFns ...func(*awssns.Options)) (*awssns.PublishOutput, error)
}

// Publisher publishes to one topic.
type Publisher struct {
	client   PublishAPI
	topicARN string
}

var _ processor.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher for topicARN.
func NewPublisher(client PublishAPI, topicARN string) *Publisher {
	return &Publisher{client: client, topicARN: topicARN}
}

// Publish sends ev as the version 1 JSON message with its filterable attributes.
func (p *Publisher) Publish(ctx context.Context, ev kyc.StatusEvent) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode status event: %w", err)
	}
	attrs := map[string]types.MessageAttributeValue{}
	for k, v := range ev.Attributes() {
		attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	_, err = p.client.Publish(ctx, &awssns.PublishInput{
		TopicArn:          aws.String(p.topicARN),
		Message:           aws.String(string(body)),
		MessageAttributes: attrs,
	})
	if err != nil {
		return fmt.Errorf("sns publish: %w", err)
	}
	return nil
}
