// Command api is the Lambda behind the app API routes (POST /v1/journeys, GET
// /v1/profiles/{referenceNo}, POST /v1/devices, DELETE /v1/devices/{deviceId}), behind
// API Gateway's JWT authorizer. It only wires: see shared/compose and shared/edge/appapi.
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
	h, err := compose.API(compose.Runtime{AWS: awsCfg, Getenv: os.Getenv})
	if err != nil {
		slog.Error("configure api function", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
