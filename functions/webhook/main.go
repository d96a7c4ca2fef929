// Command webhook is the Lambda behind POST /webhooks/idwise and POST /webhooks/veriff
// (dispatched by route key). It only wires: see shared/compose for the configuration and
// shared/edge/webhook for the behaviour.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/kycbackend/kyc/shared/compose"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		slog.Error("load aws config", "error", err)
		os.Exit(1)
	}
	h, err := compose.Webhooks(compose.Runtime{AWS: awsCfg, Getenv: os.Getenv})
	if err != nil {
		slog.Error("configure webhook function", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
