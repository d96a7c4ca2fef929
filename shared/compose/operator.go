package compose

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
)

// OperatorTable is the table as the operator tool (kycctl) reads and changes it: it
// implements ops.Table. The assertion is in ops' tests (var _ Table = ...): compose may not
// import ops here, since ops' tests import compose.
func OperatorTable(cfg aws.Config, table string, retention time.Duration) *dynamo.Operator {
	return dynamo.NewOperator(dynamodb.NewFromConfig(cfg), table, retention)
}
