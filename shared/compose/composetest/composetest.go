// Package composetest provisions on the emulators what the processing side needs in tests:
// a table from template.yaml (DynamoDB Local), the status topic with a subscribed queue and
// the IDWise API secret (moto), and the IDWise simulator, with a switch that takes SNS
// Publish down. Only tests import it.
package composetest

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
)

// Simulator credentials, as the API secret holds them.
const (
	APIKey    = "sim-key"
	APISecret = "sim-secret"
)

// Emulated is what New created.
type Emulated struct {
	DB       *dynamodb.Client
	Table    string
	SNS      *sns.Client
	SQS      *sqs.Client
	TopicARN string
	QueueURL string // subscribed to the topic, raw message delivery
	Sim      *idwisesim.Server
	// Env is the processing side's environment: TABLE_NAME, STATUS_TOPIC_ARN,
	// IDWISE_API_SECRET_ARN, IDWISE_API_BASE_URL, IDWISE_API_TIMEOUT_SECONDS, and
	// JOURNEY_OWNERSHIP=vendor (tests of journey ownership override it).
	Env map[string]string
	// SNSDown, while true, fails every SNS Publish of the clients built from the config
	// given to New, before the request is sent, as an outage would.
	SNSDown *atomic.Bool
}

// New creates the resources and adds the SNS outage switch to cfg's APIOptions: clients
// built from cfg afterwards see it. Everything is removed or stopped when t ends.
func New(t testing.TB, cfg *aws.Config) *Emulated {
	t.Helper()
	ctx := context.Background()
	e := &Emulated{SNSDown: &atomic.Bool{}}
	e.DB, e.Table = dynamotest.NewTable(t)
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("snsOutage",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetServiceID(ctx) == "SNS" && awsmiddleware.GetOperationName(ctx) == "Publish" && e.SNSDown.Load() {
					return middleware.InitializeOutput{}, middleware.Metadata{}, errors.New("injected SNS outage")
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})

	e.SNS = sns.NewFromConfig(*cfg)
	topic, err := e.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(e.Table + "-status")})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	e.TopicARN = aws.ToString(topic.TopicArn)
	e.SQS = sqs.NewFromConfig(*cfg)
	q, err := e.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(e.Table + "-status")})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	e.QueueURL = aws.ToString(q.QueueUrl)
	qa, err := e.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	if _, err := e.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}

	sec, err := secretsmanager.NewFromConfig(*cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(e.Table + "/idwise-api"),
		SecretString: aws.String(`{"apiKey":"` + APIKey + `","apiSecret":"` + APISecret + `"}`)})
	if err != nil {
		t.Fatalf("create api secret: %v", err)
	}
	e.Sim = idwisesim.New(idwisesim.Config{APIKey: APIKey, APISecret: APISecret})
	srv := httptest.NewServer(e.Sim.Handler())
	t.Cleanup(srv.Close)
	e.Env = map[string]string{
		"TABLE_NAME": e.Table, "STATUS_TOPIC_ARN": e.TopicARN,
		"IDWISE_API_SECRET_ARN": aws.ToString(sec.ARN), "IDWISE_API_BASE_URL": srv.URL + "/",
		"IDWISE_API_TIMEOUT_SECONDS": "5",
		// Tests of processing play vendor mode; the ownership tests set claimed.
		"JOURNEY_OWNERSHIP": "vendor",
	}
	return e
}
