package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tableWait bounds the wait for a table to become ACTIVE or to be gone.
const tableWait = 30 * time.Second

// CreateTables creates every table of the template on the DynamoDB endpoint of cfg (with
// with-emulators.sh: DynamoDB Local, through AWS_ENDPOINT_URL_DYNAMODB) and returns the
// table names by logical ID. A table is named prefix + logical ID (e.g. "kyc-local-Table"),
// is on-demand (PAY_PER_REQUEST), and has the template's keys, indexes, stream and TTL.
//
// It is idempotent: a table that already exists with the same keys, indexes and stream is
// kept with its items; one that differs (the template changed) is deleted and re-created.
func (t *Template) CreateTables(ctx context.Context, cfg aws.Config, prefix string) (map[string]string, error) {
	client := dynamodb.NewFromConfig(cfg)
	names := make(map[string]string, len(t.tables))
	for _, tbl := range t.tables {
		name := prefix + tbl.LogicalID
		if err := ensureTable(ctx, client, tbl, name); err != nil {
			return nil, fmt.Errorf("table %s (%s): %w", tbl.LogicalID, name, err)
		}
		names[tbl.LogicalID] = name
	}
	return names, nil
}

func ensureTable(ctx context.Context, client *dynamodb.Client, tbl Table, name string) error {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		// create below
	case err != nil:
		return fmt.Errorf("describe: %w", err)
	case sameTable(tbl, out.Table):
		return ensureTTL(ctx, client, tbl, name)
	default:
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			return fmt.Errorf("delete outdated table: %w", err)
		}
		w := dynamodb.NewTableNotExistsWaiter(client)
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableWait); err != nil {
			return fmt.Errorf("wait for deletion: %w", err)
		}
	}

	if _, err := client.CreateTable(ctx, createTableInput(tbl, name)); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	w := dynamodb.NewTableExistsWaiter(client)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableWait); err != nil {
		return fmt.Errorf("wait until active: %w", err)
	}
	return ensureTTL(ctx, client, tbl, name)
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

// ensureTTL turns on TTL on the template's attribute unless it is on already.
func ensureTTL(ctx context.Context, client *dynamodb.Client, tbl Table, name string) error {
	if tbl.TTLAttribute == "" {
		return nil
	}
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe ttl: %w", err)
	}
	if d := out.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == tbl.TTLAttribute &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(tbl.TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("update ttl on %s: %w", tbl.TTLAttribute, err)
	}
	return nil
}

// sameTable reports whether an existing table has the template's keys, secondary indexes
// and stream, so that it can be kept.
func sameTable(tbl Table, d *types.TableDescription) bool {
	if d == nil || !sameKeys(tbl.Keys, d.KeySchema) {
		return false
	}
	stream := ""
	if s := d.StreamSpecification; s != nil && aws.ToBool(s.StreamEnabled) {
		stream = string(s.StreamViewType)
	}
	if stream != tbl.StreamViewType {
		return false
	}
	gsis := make([]indexDescription, len(d.GlobalSecondaryIndexes))
	for i, g := range d.GlobalSecondaryIndexes {
		gsis[i] = indexDescription{g.IndexName, g.KeySchema, g.Projection}
	}
	lsis := make([]indexDescription, len(d.LocalSecondaryIndexes))
	for i, l := range d.LocalSecondaryIndexes {
		lsis[i] = indexDescription{l.IndexName, l.KeySchema, l.Projection}
	}
	return sameIndexes(tbl.GSIs, gsis) && sameIndexes(tbl.LSIs, lsis)
}

type indexDescription struct {
	name       *string
	keys       []types.KeySchemaElement
	projection *types.Projection
}

func sameIndexes(want []Index, got []indexDescription) bool {
	if len(want) != len(got) {
		return false
	}
	for _, w := range want {
		i := slices.IndexFunc(got, func(g indexDescription) bool { return aws.ToString(g.name) == w.Name })
		if i < 0 || !sameKeys(w.Keys, got[i].keys) || got[i].projection == nil {
			return false
		}
		p := got[i].projection
		if string(p.ProjectionType) != w.Projection.Type {
			return false
		}
		if !slices.Equal(slices.Sorted(slices.Values(p.NonKeyAttributes)), slices.Sorted(slices.Values(w.Projection.NonKeyAttributes))) {
			return false
		}
	}
	return true
}

func sameKeys(want []Key, got []types.KeySchemaElement) bool {
	return slices.EqualFunc(want, got, func(w Key, g types.KeySchemaElement) bool {
		return w.Name == aws.ToString(g.AttributeName) && w.Type == string(g.KeyType)
	})
}
