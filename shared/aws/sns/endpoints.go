package sns

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/kycbackend/kyc/shared/core/devices"
)

// EndpointAPI is the slice of the SNS client the registry needs.
type EndpointAPI interface {
	CreatePlatformEndpoint(ctx context.Context, in *awssns.CreatePlatformEndpointInput, optFns ...func(*awssns.Options)) (*awssns.CreatePlatformEndpointOutput, error)
	GetEndpointAttributes(ctx context.Context, in *awssns.GetEndpointAttributesInput, optFns ...func(*awssns.Options)) (*awssns.GetEndpointAttributesOutput, error)
	SetEndpointAttributes(ctx context.Context, in *awssns.SetEndpointAttributesInput, optFns ...func(*awssns.Options)) (*awssns.SetEndpointAttributesOutput, error)
	DeleteEndpoint(ctx context.Context, in *awssns.DeleteEndpointInput, optFns ...func(*awssns.Options)) (*awssns.DeleteEndpointOutput, error)
}

// Registry manages SNS mobile push platform endpoints: one per device token, on the
// platform application of its platform (APNS, APNS_SANDBOX, FCM as SNS's GCM); it creates
// and repairs them on the configured platform applications.
type Registry struct {
	client EndpointAPI
	apps   map[devices.Platform]string // platform application ARN by platform
}

var _ devices.Endpoints = (*Registry)(nil)

// NewRegistry returns a Registry; apps maps each configured platform to its platform
// application ARN (a platform without one is refused).
func NewRegistry(client EndpointAPI, apps map[devices.Platform]string) *Registry {
	m := map[devices.Platform]string{}
	for p, arn := range apps {
		if arn != "" {
			m[p] = arn
		}
	}
	return &Registry{client: client, apps: m}
}

// Configured reports whether p has a platform application.
func (r *Registry) Configured(p devices.Platform) bool { return r.apps[p] != "" }

// existingEndpoint finds the endpoint ARN in the error SNS returns when an endpoint with
// the same token but other attributes exists (AWS's documented registration pattern).
var existingEndpoint = regexp.MustCompile(`Endpoint (arn:aws[a-z-]*:sns[^ ]+) already exists with the same [Tt]oken`)

// Register returns an enabled endpoint of p for token, following AWS's recommended
// registration: reuse endpointARN (the one stored for this token) when it still exists,
// else create one (CreatePlatformEndpoint is idempotent per token and returns the
// existing endpoint); then correct the endpoint's token and re-enable it if needed.
func (r *Registry) Register(ctx context.Context, p devices.Platform, token, endpointARN string) (string, error) {
	app := r.apps[p]
	if app == "" {
		return "", fmt.Errorf("platform %s: %w", p, devices.ErrPlatformNotConfigured)
	}
	arn := endpointARN
	for attempt := 0; attempt < 2; attempt++ {
		if arn == "" {
			var err error
			if arn, err = r.create(ctx, app, token); err != nil {
				return "", err
			}
		}
		attrs, err := r.client.GetEndpointAttributes(ctx, &awssns.GetEndpointAttributesInput{EndpointArn: aws.String(arn)})
		var nf *types.NotFoundException
		if errors.As(err, &nf) {
			arn = "" // deleted (by us, or by SNS feedback handling): create it again
			continue
		}
		if err != nil {
			return "", fmt.Errorf("get endpoint attributes: %w", err)
		}
		if attrs.Attributes["Token"] != token || attrs.Attributes["Enabled"] != "true" {
			if _, err := r.client.SetEndpointAttributes(ctx, &awssns.SetEndpointAttributesInput{EndpointArn: aws.String(arn),
				Attributes: map[string]string{"Token": token, "Enabled": "true"}}); err != nil {
				return "", fmt.Errorf("set endpoint attributes: %w", err)
			}
		}
		return arn, nil
	}
	return "", errors.New("endpoint vanished twice while registering")
}

func (r *Registry) create(ctx context.Context, app, token string) (string, error) {
	out, err := r.client.CreatePlatformEndpoint(ctx, &awssns.CreatePlatformEndpointInput{
		PlatformApplicationArn: aws.String(app), Token: aws.String(token)})
	var ip *types.InvalidParameterException
	if errors.As(err, &ip) {
		if m := existingEndpoint.FindStringSubmatch(ip.ErrorMessage()); m != nil {
			return m[1], nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("create platform endpoint: %w", err)
	}
	return aws.ToString(out.EndpointArn), nil
}

// Delete deletes an endpoint; SNS treats a missing one as deleted.
func (r *Registry) Delete(ctx context.Context, endpointARN string) error {
	if _, err := r.client.DeleteEndpoint(ctx, &awssns.DeleteEndpointInput{EndpointArn: aws.String(endpointARN)}); err != nil {
		return fmt.Errorf("delete endpoint: %w", err)
	}
	return nil
}
