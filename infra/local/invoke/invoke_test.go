package invoke

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// A handler that outlives its timeout sees the deadline on its context, and its late
// answer is a timeout, as in Lambda (issue 13 item 12).
func TestCallDeadline(t *testing.T) {
	const timeout = 50 * time.Millisecond
	var sawDeadline bool
	var remaining time.Duration
	h := func(ctx context.Context, _ string) (string, error) {
		d, ok := ctx.Deadline()
		sawDeadline, remaining = ok, time.Until(d)
		<-ctx.Done() // sleeps past the timeout: ends only because of the deadline
		return "late answer", nil
	}
	got, _, err := Call(context.Background(), Function{ARN: "arn:fn", Timeout: timeout}, h, "ev")
	if !sawDeadline || remaining > timeout {
		t.Errorf("handler deadline = %v (set %v), want at most %v from the call", remaining, sawDeadline, timeout)
	}
	if !errors.Is(err, ErrTimeout) || got != "" {
		t.Errorf("Call() = %q, %v, want \"\", %v", got, err, ErrTimeout)
	}
}

func TestCall(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		fn      Function
		h       func(context.Context, string) (string, error)
		want    string
		wantErr error
	}{
		{name: "answer", fn: Function{Timeout: time.Minute}, h: func(_ context.Context, ev string) (string, error) { return ev + "!", nil }, want: "ev!"},
		{name: "error", h: func(context.Context, string) (string, error) { return "", boom }, wantErr: boom},
		{name: "panic is an error", h: func(context.Context, string) (string, error) { panic("oops") }, wantErr: nil},
		{name: "no timeout: no deadline", h: func(ctx context.Context, _ string) (string, error) {
			if _, ok := ctx.Deadline(); ok {
				return "deadline", nil
			}
			return "none", nil
		}, want: "none"},
		{name: "lambda context", fn: Function{ARN: "arn:aws:lambda:us-east-1:123456789012:function:f"}, h: func(ctx context.Context, _ string) (string, error) {
			lc, ok := lambdacontext.FromContext(ctx)
			if !ok || len(lc.AwsRequestID) != 36 {
				return "", errors.New("no request id")
			}
			return lc.InvokedFunctionArn, nil
		}, want: "arn:aws:lambda:us-east-1:123456789012:function:f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := Call(context.Background(), tt.fn, tt.h, "ev")
			if tt.name == "panic is an error" {
				if err == nil {
					t.Errorf("Call() error = nil, want the panic as an error")
				}
				return
			}
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("Call() = %q, %v, want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
