package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/infra/local/invoke"
)

// The runner's HTTP and schedule invocations carry the function's timeout as their
// deadline (the runner passes the template's Timeout; issue 13 item 12): a handler that
// sleeps past it sees the deadline and its late answer is a timeout.
func TestBoundedDeadline(t *testing.T) {
	const timeout = 30 * time.Millisecond
	var httpLeft, scheduleLeft time.Duration
	fn := bounded(function{
		http: func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			d, ok := ctx.Deadline()
			if !ok {
				return events.APIGatewayV2HTTPResponse{}, errors.New("no deadline")
			}
			httpLeft = time.Until(d)
			<-ctx.Done()
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
		},
		schedule: func(ctx context.Context) error {
			d, ok := ctx.Deadline()
			if !ok {
				return errors.New("no deadline")
			}
			scheduleLeft = time.Until(d)
			<-ctx.Done()
			return nil
		},
	}, invoke.Function{ARN: functionARN("WebhookFunction"), Timeout: timeout})

	resp, err := fn.http(context.Background(), events.APIGatewayV2HTTPRequest{})
	if !errors.Is(err, invoke.ErrTimeout) || resp.StatusCode != 0 {
		t.Errorf("http = %d, %v, want the timeout %v", resp.StatusCode, err, invoke.ErrTimeout)
	}
	if httpLeft <= 0 || httpLeft > timeout {
		t.Errorf("http handler's deadline was %v away, want within %v", httpLeft, timeout)
	}
	if err := fn.schedule(context.Background()); !errors.Is(err, invoke.ErrTimeout) {
		t.Errorf("schedule = %v, want %v", err, invoke.ErrTimeout)
	}
	if scheduleLeft <= 0 || scheduleLeft > timeout {
		t.Errorf("schedule handler's deadline was %v away, want within %v", scheduleLeft, timeout)
	}
}
