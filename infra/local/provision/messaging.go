package provision

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Topics returns the logical IDs of the template's AWS::SNS::Topic resources.
func (t *Template) Topics() []string { return slices.Clone(t.topics) }

// Queues returns the logical IDs of the template's AWS::SQS::Queue resources.
func (t *Template) Queues() []string { return slices.Clone(t.queues) }

// Queue is a created SQS queue.
type Queue struct{ URL, ARN string }

// CreateTopics creates every topic of the template as prefix+logical ID (idempotent:
// CreateTopic returns the existing topic) and returns their ARNs by logical ID.
func (t *Template) CreateTopics(ctx context.Context, cfg aws.Config, prefix string) (map[string]string, error) {
	client := sns.NewFromConfig(cfg)
	out := map[string]string{}
	for _, id := range t.topics {
		res, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(prefix + id)})
		if err != nil {
			return nil, fmt.Errorf("create topic %s: %w", id, err)
		}
		out[id] = aws.ToString(res.TopicArn)
	}
	return out, nil
}

// CreateQueues creates every queue of the template as prefix+logical ID (idempotent) and
// returns them by logical ID.
func (t *Template) CreateQueues(ctx context.Context, cfg aws.Config, prefix string) (map[string]Queue, error) {
	out := map[string]Queue{}
	for _, id := range t.queues {
		q, err := CreateQueue(ctx, cfg, prefix+id)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", id, err)
		}
		out[id] = q
	}
	return out, nil
}

// CreateQueue creates (or finds) the SQS queue name.
func CreateQueue(ctx context.Context, cfg aws.Config, name string) (Queue, error) {
	client := sqs.NewFromConfig(cfg)
	res, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return Queue{}, fmt.Errorf("create queue %s: %w", name, err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: res.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return Queue{}, fmt.Errorf("queue %s arn: %w", name, err)
	}
	return Queue{URL: aws.ToString(res.QueueUrl), ARN: attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]}, nil
}
