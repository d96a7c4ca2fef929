// Package invoke calls a Lambda handler in process the way the Lambda service invokes a
// function: a lambdacontext with a fresh request id and the function's ARN, the function's
// Timeout (template.yaml, Globals or per function) as the context deadline, a panic
// reported as a function error, and an answer that comes after the deadline treated as
// the timeout it is in Lambda ("Task timed out"). The stream poller, the queue poller and
// the runner's HTTP and schedule invocations all call through Call, so every local
// invocation has the same bounds.
package invoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Function is what an invocation knows of its function.
type Function struct {
	ARN     string        // InvokedFunctionArn in the handler's lambdacontext
	Timeout time.Duration // the function timeout; 0: no deadline (tests)
}

// ErrTimeout is wrapped by Call when the handler answered after its deadline: Lambda
// has ended the invocation by then, whatever the handler returned.
var ErrTimeout = errors.New("task timed out")

// Call invokes h with ev and returns its answer, how long it took, and its error: the
// handler's own, a panic as an error, or ErrTimeout.
func Call[E, R any](ctx context.Context, fn Function, h func(context.Context, E) (R, error), ev E) (R, time.Duration, error) {
	hctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       RequestID(),
		InvokedFunctionArn: fn.ARN,
	})
	cancel := func() {}
	if fn.Timeout > 0 {
		hctx, cancel = context.WithTimeout(hctx, fn.Timeout)
	}
	defer cancel()
	start := time.Now()
	resp, err := call(hctx, h, ev)
	d := time.Since(start)
	if fn.Timeout > 0 && errors.Is(hctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		var zero R
		return zero, d, fmt.Errorf("%w after %s", ErrTimeout, fn.Timeout)
	}
	return resp, d, err
}

// call invokes h; a panic is a function error, as the Lambda runtime reports it.
func call[E, R any](ctx context.Context, h func(context.Context, E) (R, error), ev E) (resp R, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return h(ctx, ev)
}

// RequestID returns a random id in the form of a Lambda request id (a UUID).
func RequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
