// Package dynamotest gives integration tests a fresh table on DynamoDB Local, created from
// the table's declaration in Go (dynamo.TableInput, which template.yaml is tested to equal),
// so that tests need neither the template nor the local runtime.
package dynamotest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/logging"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
)

// AWSConfig returns the SDK configuration for the emulators started by
// infra/local/with-emulators.sh (it exports the standard AWS_ENDPOINT_URL_* variables).
// Without them the test is skipped; `make test` always sets them.
func AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("emulators not running: use `make test` or infra/local/with-emulators.sh go test ./...")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithLogger(LocalLogger{}))
	if err != nil {
		t.Fatalf("load aws config: %v", err)
	}
	return cfg
}

// LocalLogger is the SDK logger for clients of the emulators: it drops the one SDK warning
// DynamoDB Local causes and DynamoDB does not ("failed to close HTTP response body ...
// response did not match expected checksum": DynamoDB Local sends no X-Amz-Crc32 header
// with its error answers, a refused conditional write among them, and the SDK then checks
// the body against 0; aws/aws-sdk-go-v2#3545) and prints every other SDK message on stderr.
type LocalLogger struct{}

// Logf implements the SDK's logging.Logger.
func (LocalLogger) Logf(c logging.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "did not match expected checksum") {
		return
	}
	fmt.Fprintf(os.Stderr, "SDK %s %s\n", c, msg)
}

var seq atomic.Int64

// TemplatePath is the repository's template.yaml.
func TemplatePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "template.yaml")
}

// NewTable creates the declared table under a unique name and deletes it when the test
// ends. It returns a client and the table name.
func NewTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	cfg := AWSConfig(t)
	name := fmt.Sprintf("t%d-%d-Table", time.Now().UnixNano()%1e9, seq.Add(1))
	client := dynamodb.NewFromConfig(cfg)
	if err := dynamo.EnsureTable(context.Background(), client, dynamo.TableInput(name), dynamo.TTLAttribute); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return client, name
}
