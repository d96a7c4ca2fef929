// Package topic publishes status events to the SNS status topic.
package topic

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// PublishAPI is the slice of the SNS client the publisher needs.
type PublishAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Publisher publishes to one topic.
type Publisher struct {
	client   PublishAPI
	topicARN string
}

var _ processor.Publisher = (*Publisher)(nil)

// New returns a Publisher for topicARN.
func New(client PublishAPI, topicARN string) *Publisher {
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
	_, err = p.client.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(p.topicARN),
		Message:           aws.String(string(body)),
		MessageAttributes: attrs,
	})
	if err != nil {
		return fmt.Errorf("sns publish: %w", err)
	}
	return nil
}
