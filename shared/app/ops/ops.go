// Package ops is what operators do by hand, behind the kycctl command: list the events that
// need a person (failed, stuck, quarantined) and say why, replay events through the
// processor, re-fetch a journey from the vendor, show a profile's status history and a
// journey's timeline, and erase a profile. Everything that changes state goes through the
// processor (processor.Service.Process), so the tool can never do what the product would not.
package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// DB is the slice of the DynamoDB client the tool uses.
type DB interface {
	dynamo.API
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Processor processes one inbox event (processor.Service).
type Processor interface {
	Process(ctx context.Context, e inbox.Event) error
}

// PersonalData deletes a journey's personal data at the vendor (idwise.Client).
type PersonalData interface {
	DeletePersonalData(ctx context.Context, journeyID string) error
}

// JourneyFetcher reads a journey result from the vendor (idwise.Client): erasure asks it
// whose journey it is when the table does not say.
type JourneyFetcher interface {
	Journey(ctx context.Context, journeyID string) (idwise.Journey, error)
}

// ReferenceImages deletes a profile's reference face images (s3images.Remover).
type ReferenceImages interface {
	DeleteReferenceImages(ctx context.Context, referenceNo string, journeyIDs []string) (int, error)
}

// VeriffDecisions fetches a Veriff session's decision (veriffapi.Client): the raw answer,
// in the decision webhook's shape.
type VeriffDecisions interface {
	Decision(ctx context.Context, sessionID string) ([]byte, error)
}

// Endpoints deletes SNS mobile push endpoints (sns.Sender of shared/aws/sns).
type Endpoints interface {
	DeleteEndpoint(ctx context.Context, endpointARN string) error
}

// Config is what the tool works with. Only DB and Table are always needed.
type Config struct {
	DB        DB
	Table     string
	Processor Processor       // replay and refetch
	IDWise    PersonalData    // erase with VendorDelete
	Journeys  JourneyFetcher  // erase: whose journey it is, when the table does not say
	Images    ReferenceImages // erase -reference-image
	Veriff    VeriffDecisions // refetch of Veriff sessions
	Endpoints Endpoints       // erase: the push endpoints of the profile's devices
	Retention time.Duration   // TTL of the events the tool records (refetch); default 30 days
	// CustomStepID is the IDWise custom journey step (complete-step); empty when none.
	CustomStepID string
}

// Ops runs the operator commands.
type Ops struct {
	db        DB
	table     string
	store     *dynamo.Store
	inbox     *dynamo.Inbox
	proc      Processor
	idwise    PersonalData
	journeys  JourneyFetcher
	images    ReferenceImages
	veriff    VeriffDecisions
	endpoints Endpoints
	retention time.Duration
	stepID    string
	now       func() time.Time
}

// ErrNotFound is returned when the event, journey or profile named is not in the table.
var ErrNotFound = errors.New("not found")

// ErrNotConfigured is returned by a command that needs a dependency the tool was not
// given (the processor for replay and refetch, the IDWise API for a vendor deletion).
var ErrNotConfigured = errors.New("not configured")

// New returns the tool.
func New(c Config) *Ops {
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	return &Ops{db: c.DB, table: c.Table, store: dynamo.NewStore(c.DB, c.Table, c.Retention), inbox: dynamo.NewInbox(c.DB, c.Table),
		proc: c.Processor, idwise: c.IDWise, journeys: c.Journeys, images: c.Images, veriff: c.Veriff, endpoints: c.Endpoints, retention: c.Retention, stepID: c.CustomStepID, now: time.Now}
}

// query runs in to the end (or until max items, if max > 0), page by page.
func (o *Ops) query(ctx context.Context, in *dynamodb.QueryInput, max int) ([]map[string]types.AttributeValue, error) {
	in.TableName = aws.String(o.table)
	var items []map[string]types.AttributeValue
	for {
		out, err := o.db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		if max > 0 && len(items) >= max {
			return items[:max], nil
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// get reads one item by key (strongly consistent); nil when there is none.
func (o *Ops) get(ctx context.Context, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := o.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(o.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", s(k, dynamo.AttrPK), err)
	}
	return out.Item, nil
}

// primaryKey is the table key of item.
func primaryKey(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{dynamo.AttrPK: item[dynamo.AttrPK], dynamo.AttrSK: item[dynamo.AttrSK]}
}

func eventKey(provider, eventID string) map[string]types.AttributeValue {
	pk, sk := dynamo.EventKey(provider, eventID)
	return map[string]types.AttributeValue{dynamo.AttrPK: str(pk), dynamo.AttrSK: str(sk)}
}

// s is the string attribute name of item, or "".
func s(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// stringMap is the map-of-strings attribute name of item.
func stringMap(item map[string]types.AttributeValue, name string) map[string]string {
	m, ok := item[name].(*types.AttributeValueMemberM)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m.Value))
	for k, v := range m.Value {
		if sv, ok := v.(*types.AttributeValueMemberS); ok {
			out[k] = sv.Value
		}
	}
	return out
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func parseTime(v string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, v)
	return t
}
