package dynamo

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

// TTLAttribute is the table's time-to-live attribute (epoch seconds), the one every
// expiring item carries.
const TTLAttribute = AttrExpiresAt

// TableInput is the single table as the code needs it, declared once: keys pk/sk, the
// indexes ByJourney (all attributes, the journey timeline) and Unprocessed (sparse, keys
// only), on-demand billing and a stream of new images; with TTLAttribute for the
// time to live, which CreateTable cannot set. template.yaml's Table resource must equal it
// (TestTemplateTableIsTheDeclaration); the test tables are made from it (dynamotest).
func TableInput(name string) *dynamodb.CreateTableInput {
	s := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{s(AttrPK), s(AttrSK), s(AttrJourneyKey), s(AttrPendingKey), s(AttrReceivedAt)},
		KeySchema:            keys(AttrPK, AttrSK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String(IndexByJourney), KeySchema: keys(AttrJourneyKey, AttrReceivedAt),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}},
			// Sparse: only unprocessed inbox events, unsent outbox records and failed
			// events carry pendingKey.
			{IndexName: aws.String(IndexUnprocessed), KeySchema: keys(AttrPendingKey, AttrReceivedAt),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}},
		},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	}
}

// TableAPI is the slice of the DynamoDB client EnsureTable uses.
type TableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DeleteTable(ctx context.Context, in *dynamodb.DeleteTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// tableWait bounds the wait for a table to become ACTIVE or to be gone.
const tableWait = 30 * time.Second

// EnsureTable makes the table of in exist with in's keys, indexes and stream, and TTL on
// ttlAttribute (none when empty): for the emulators (tests, the local runner), never in
// a deployment. A table that exists with the same keys, indexes and stream is kept with
// its items; one that differs (the declaration changed) is deleted and re-created.
func EnsureTable(ctx context.Context, client TableAPI, in *dynamodb.CreateTableInput, ttlAttribute string) error {
	name := in.TableName
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: name})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		// create below
	case err != nil:
		return fmt.Errorf("describe: %w", err)
	case SameTable(in, out.Table):
		return ensureTTL(ctx, client, aws.ToString(name), ttlAttribute)
	default:
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: name}); err != nil {
			return fmt.Errorf("delete outdated table: %w", err)
		}
		w := dynamodb.NewTableNotExistsWaiter(client)
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: name}, tableWait); err != nil {
			return fmt.Errorf("wait for deletion: %w", err)
		}
	}
	if _, err := client.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	w := dynamodb.NewTableExistsWaiter(client)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: name}, tableWait); err != nil {
		return fmt.Errorf("wait until active: %w", err)
	}
	return ensureTTL(ctx, client, aws.ToString(name), ttlAttribute)
}

// ensureTTL turns on TTL on attr unless it is on already.
func ensureTTL(ctx context.Context, client TableAPI, name, attr string) error {
	if attr == "" {
		return nil
	}
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe ttl: %w", err)
	}
	if d := out.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attr &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("update ttl on %s: %w", attr, err)
	}
	return nil
}

// SameTable reports whether an existing table has the keys, secondary indexes and stream
// of in (attribute definitions follow from those).
func SameTable(in *dynamodb.CreateTableInput, d *types.TableDescription) bool {
	if d == nil || !sameKeys(in.KeySchema, d.KeySchema) || streamView(in.StreamSpecification) != streamView(d.StreamSpecification) {
		return false
	}
	var want, got []index
	for _, g := range in.GlobalSecondaryIndexes {
		want = append(want, index{aws.ToString(g.IndexName), g.KeySchema, g.Projection})
	}
	for _, g := range d.GlobalSecondaryIndexes {
		got = append(got, index{aws.ToString(g.IndexName), g.KeySchema, g.Projection})
	}
	var wantL, gotL []index
	for _, l := range in.LocalSecondaryIndexes {
		wantL = append(wantL, index{aws.ToString(l.IndexName), l.KeySchema, l.Projection})
	}
	for _, l := range d.LocalSecondaryIndexes {
		gotL = append(gotL, index{aws.ToString(l.IndexName), l.KeySchema, l.Projection})
	}
	return sameIndexes(want, got) && sameIndexes(wantL, gotL)
}

type index struct {
	name       string
	keys       []types.KeySchemaElement
	projection *types.Projection
}

func sameIndexes(want, got []index) bool {
	if len(want) != len(got) {
		return false
	}
	for _, w := range want {
		i := slices.IndexFunc(got, func(g index) bool { return g.name == w.name })
		if i < 0 || !sameKeys(w.keys, got[i].keys) || !sameProjection(w.projection, got[i].projection) {
			return false
		}
	}
	return true
}

func sameProjection(a, b *types.Projection) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ProjectionType == b.ProjectionType &&
		slices.Equal(slices.Sorted(slices.Values(a.NonKeyAttributes)), slices.Sorted(slices.Values(b.NonKeyAttributes)))
}

func sameKeys(a, b []types.KeySchemaElement) bool {
	return slices.EqualFunc(a, b, func(x, y types.KeySchemaElement) bool {
		return aws.ToString(x.AttributeName) == aws.ToString(y.AttributeName) && x.KeyType == y.KeyType
	})
}

func streamView(s *types.StreamSpecification) types.StreamViewType {
	if s == nil || !aws.ToBool(s.StreamEnabled) {
		return ""
	}
	return s.StreamViewType
}
