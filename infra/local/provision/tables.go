package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
)

// CreateTables creates every table of the template on the DynamoDB endpoint of cfg (with
// with-emulators.sh: DynamoDB Local, through AWS_ENDPOINT_URL_DYNAMODB) and returns the
// table names by logical ID. A table is named prefix + logical ID (e.g. "kyc-local-Table"),
// is on-demand (PAY_PER_REQUEST), and has the template's keys, indexes, stream and TTL
// (the product's table is tested to equal its declaration, dynamo.TableInput).
//
// It is idempotent (dynamo.EnsureTable): a table that already exists with the same keys,
// indexes and stream is kept with its items; one that differs is deleted and re-created.
func (t *Template) CreateTables(ctx context.Context, cfg aws.Config, prefix string) (map[string]string, error) {
	client := dynamodb.NewFromConfig(cfg)
	names := make(map[string]string, len(t.tables))
	for _, tbl := range t.tables {
		name := prefix + tbl.LogicalID
		if err := dynamo.EnsureTable(ctx, client, createTableInput(tbl, name), tbl.TTLAttribute); err != nil {
			return nil, fmt.Errorf("table %s (%s): %w", tbl.LogicalID, name, err)
		}
		names[tbl.LogicalID] = name
	}
	return names, nil
}

func createTableInput(tbl Table, name string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(tbl.Keys),
	}
	for _, a := range tbl.Attributes {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.Name),
			AttributeType: types.ScalarAttributeType(a.Type),
		})
	}
	for _, ix := range tbl.GSIs {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  keySchema(ix.Keys),
			Projection: projection(ix.Projection),
		})
	}
	for _, ix := range tbl.LSIs {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  keySchema(ix.Keys),
			Projection: projection(ix.Projection),
		})
	}
	if tbl.StreamViewType != "" {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(tbl.StreamViewType),
		}
	}
	return in
}

func keySchema(keys []Key) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, len(keys))
	for i, k := range keys {
		out[i] = types.KeySchemaElement{AttributeName: aws.String(k.Name), KeyType: types.KeyType(k.Type)}
	}
	return out
}

func projection(p Projection) *types.Projection {
	out := &types.Projection{ProjectionType: types.ProjectionType(p.Type)}
	if len(p.NonKeyAttributes) > 0 {
		out.NonKeyAttributes = p.NonKeyAttributes
	}
	return out
}
