// Command sweeper runs on a schedule: it re-drives stuck inbox events and publishes
// status events left in the outbox. It only wires: see shared/compose.
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
	h, err := compose.Schedule(compose.Runtime{AWS: awsCfg, Getenv: os.Getenv})
	if err != nil {
		slog.Error("configure sweeper function", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
