package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/infra/local/httpapi"
	"github.com/kycbackend/kyc/infra/local/invoke"
	"github.com/kycbackend/kyc/infra/local/meter"
	"github.com/kycbackend/kyc/infra/local/queues"
	"github.com/kycbackend/kyc/infra/local/streams"
	"github.com/kycbackend/kyc/shared/compose"
)

// function is one template function as the runner drives it: behind HTTP API routes, on
// a stream, on a queue, or on a schedule.
type function struct {
	http     httpapi.Handler
	stream   streams.Handler
	queue    queues.Handler
	schedule func(ctx context.Context) error
}

// functions maps each function of template.yaml to the constructor its main.go uses. A
// function in the template without an entry here stops the runner, so local and deployed
// wiring cannot silently drift.
var functions = map[string]func(compose.Runtime) (function, error){
	"WebhookFunction": func(rt compose.Runtime) (function, error) {
		h, err := compose.Webhooks(rt)
		if err != nil {
			return function{}, err
		}
		return function{http: h.Handle}, nil
	},
	"ProcessorFunction": func(rt compose.Runtime) (function, error) {
		h, err := compose.Processor(rt)
		if err != nil {
			return function{}, err
		}
		return function{stream: h.Handle}, nil
	},
	"ApiFunction": func(rt compose.Runtime) (function, error) {
		h, err := compose.API(rt)
		if err != nil {
			return function{}, err
		}
		return function{http: h.Handle}, nil
	},
	"PushFunction": func(rt compose.Runtime) (function, error) {
		h, err := compose.Push(rt)
		if err != nil {
			return function{}, err
		}
		return function{queue: h.Handle}, nil
	},
	"SweeperFunction": func(rt compose.Runtime) (function, error) {
		s, err := compose.Sweeper(rt)
		if err != nil {
			return function{}, err
		}
		return function{schedule: func(ctx context.Context) error { _, err := s.Run(ctx); return err }}, nil
	},
}

// functionARN is the ARN of function id in the local stack.
func functionARN(id string) string {
	return "arn:aws:lambda:us-east-1:123456789012:function:" + prefix + id
}

// bounded invokes fn's HTTP and schedule handlers as Lambda does (infra/local/invoke): the
// template's Timeout as the context deadline, a lambdacontext, a panic as an error. Its
// stream and queue handlers get the same from their pollers, which call invoke.Call too.
func bounded(fn function, f invoke.Function) function {
	if h := fn.http; h != nil {
		fn.http = func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			resp, _, err := invoke.Call(ctx, f, h, req)
			return resp, err
		}
	}
	if h := fn.schedule; h != nil {
		fn.schedule = func(ctx context.Context) error {
			_, _, err := invoke.Call(ctx, f, func(ctx context.Context, _ struct{}) (struct{}, error) { return struct{}{}, h(ctx) }, struct{}{})
			return err
		}
	}
	return fn
}

// metered wraps each handler of fn so that m counts and times its invocations as
// function id's, and counts what they log.
func metered(m *meter.Meter, id string, fn function) function {
	timed := func(start time.Time) { m.Invoked(id, time.Since(start)) }
	if h := fn.http; h != nil {
		fn.http = func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			defer timed(time.Now())
			return h(meter.WithFunction(ctx, id), req)
		}
	}
	if h := fn.stream; h != nil {
		fn.stream = func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			defer timed(time.Now())
			return h(meter.WithFunction(ctx, id), ev)
		}
	}
	if h := fn.queue; h != nil {
		fn.queue = func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			defer timed(time.Now())
			return h(meter.WithFunction(ctx, id), ev)
		}
	}
	if h := fn.schedule; h != nil {
		fn.schedule = func(ctx context.Context) error {
			defer timed(time.Now())
			return h(meter.WithFunction(ctx, id))
		}
	}
	return fn
}
