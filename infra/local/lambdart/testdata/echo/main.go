// Command echo is a test bootstrap for package lambdart, built with the functions' flags.
// Its handler answers by the payload: {"echo":X} returns X, {"env":NAME} returns the
// variable NAME, {"context":true} returns the invocation's Lambda context, {"fail":MSG}
// returns an error, {"panic":MSG} panics (the runtime reports it and exits), {"exit":N}
// exits with status N, {"deadline":true} returns the milliseconds left until the
// invocation's deadline, {"sleep":true} sleeps until well past it. With LAMBDART_TEST_INIT_ERROR set it posts an init error first,
// as a runtime whose initialization failed does, and exits.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Echo     json.RawMessage `json:"echo"`
	Env      string          `json:"env"`
	Context  bool            `json:"context"`
	Fail     string          `json:"fail"`
	Panic    string          `json:"panic"`
	Exit     *int            `json:"exit"`
	Deadline bool            `json:"deadline"`
	Sleep    bool            `json:"sleep"`
}

func handle(ctx context.Context, req request) (any, error) {
	switch {
	case req.Echo != nil:
		return req.Echo, nil
	case req.Env != "":
		v, ok := os.LookupEnv(req.Env)
		return map[string]any{"value": v, "set": ok}, nil
	case req.Context:
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		return map[string]any{"requestId": lc.AwsRequestID, "functionArn": lc.InvokedFunctionArn,
			"deadlineInFuture": time.Until(deadline) > 0, "traceId": ctx.Value("x-amzn-trace-id")}, nil
	case req.Fail != "":
		return nil, errors.New(req.Fail)
	case req.Panic != "":
		panic(req.Panic)
	case req.Exit != nil:
		os.Exit(*req.Exit)
	case req.Deadline:
		d, ok := ctx.Deadline()
		return map[string]any{"set": ok, "leftMs": time.Until(d).Milliseconds()}, nil
	case req.Sleep:
		<-ctx.Done()
		time.Sleep(time.Minute) // past the deadline: the emulator ends the invocation
		return "woke up", nil
	}
	return nil, errors.New("unknown request")
}

func main() {
	if msg := os.Getenv("LAMBDART_TEST_INIT_ERROR"); msg != "" {
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"errorMessage":"`+msg+`","errorType":"Runtime.ConfigError"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	lambda.Start(handle)
}
