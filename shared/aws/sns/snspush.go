package sns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/kycbackend/kyc/shared/core/push"
)

// SenderAPI is the slice of the SNS client the sender needs.
type SenderAPI interface {
	Publish(ctx context.Context, in *awssns.PublishInput, optFns ...func(*awssns.Options)) (*awssns.PublishOutput, error)
	DeleteEndpoint(ctx context.Context, in *awssns.DeleteEndpointInput, optFns ...func(*awssns.Options)) (*awssns.DeleteEndpointOutput, error)
}

var (
	_ SenderAPI   = (*awssns.Client)(nil)
	_ push.Sender = (*Sender)(nil)
)

// DefaultSendTimeout bounds one SNS call, well under the push function's timeout, so that a
// slow SNS is a failed send (claim released, retried) rather than a function timeout.
const DefaultSendTimeout = 5 * time.Second

// Sender is the SNS adapter of push: it publishes to SNS mobile platform endpoints and
// deletes them.
type Sender struct {
	client  SenderAPI
	timeout time.Duration
}

// NewSender returns a Sender; timeout <= 0 means DefaultSendTimeout.
func NewSender(client SenderAPI, timeout time.Duration) *Sender {
	if timeout <= 0 {
		timeout = DefaultSendTimeout
	}
	return &Sender{client: client, timeout: timeout}
}

// Send publishes message, built by push.Message, with MessageStructure json. An endpoint
// that SNS reports disabled (EndpointDisabled: APNs or FCM refused the token), missing
// (NotFound), or that SNS calls an invalid target (InvalidParameter on TargetArn) wraps
// push.ErrEndpointGone. Other errors are transient, or a bug that retries end in the
// dead-letter queue: an InvalidParameter about the message itself does not remove the
// device.
func (s *Sender) Send(ctx context.Context, endpointARN, message string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.client.Publish(ctx, &awssns.PublishInput{
		TargetArn:        aws.String(endpointARN),
		Message:          aws.String(message),
		MessageStructure: aws.String("json"),
	})
	if err != nil {
		if gone(err) {
			return "", fmt.Errorf("sns publish: %w: %w", push.ErrEndpointGone, err)
		}
		return "", fmt.Errorf("sns publish: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

func gone(err error) bool {
	var disabled *types.EndpointDisabledException
	var notFound *types.NotFoundException
	var invalid *types.InvalidParameterException
	switch {
	case errors.As(err, &disabled), errors.As(err, &notFound):
		return true
	case errors.As(err, &invalid):
		// "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified"
		return strings.Contains(invalid.ErrorMessage(), "TargetArn")
	}
	return false
}

// DeleteEndpoint deletes an endpoint (SNS: deleting a missing endpoint succeeds).
func (s *Sender) DeleteEndpoint(ctx context.Context, endpointARN string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.client.DeleteEndpoint(ctx, &awssns.DeleteEndpointInput{EndpointArn: aws.String(endpointARN)}); err != nil {
		return fmt.Errorf("sns delete endpoint: %w", err)
	}
	return nil
}
