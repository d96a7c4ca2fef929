package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// alarmQueue stands for the on-call tool a deployment subscribes to AlarmTopic (AlarmEmail,
// or any subscriber): a queue kyc-local-alarms on moto, so that kycctl doctor's "alarm
// topic has a subscriber" holds on make run as it must on a deployment.
func alarmQueue(ctx context.Context, cfg aws.Config, topicARN string) error {
	q, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(prefix + "alarms")})
	if err != nil {
		return fmt.Errorf("alarm queue: %w", err)
	}
	attrs, err := sqs.NewFromConfig(cfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return fmt.Errorf("alarm queue: %w", err)
	}
	_, err = sns.NewFromConfig(cfg).Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(attrs.Attributes["QueueArn"])})
	if err != nil {
		return fmt.Errorf("subscribe the alarm queue: %w", err)
	}
	return nil
}
