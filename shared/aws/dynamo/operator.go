package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/app/ops/opstore"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// OperatorAPI is the slice of the DynamoDB client the operator tool uses: the stores'
// plus Scan (quarantine, and the erasure's search for what names a profile).
type OperatorAPI interface {
	API
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Operator is the table as the operator tool (ops, kycctl) sees it: the processor's store
// plus the operator's queries (ops.Table; the assertion is in compose, which may import
// both).
type Operator struct {
	*Store
	inbox  *Inbox
	client OperatorAPI
}

// NewOperator returns the operator's view of table.
func NewOperator(client OperatorAPI, table string, retention time.Duration) *Operator {
	return &Operator{Store: NewStore(client, table, retention), inbox: NewInbox(client, table), client: client}
}

// PutOperatorEvent records an event an operator triggered (Inbox.PutOperatorEvent).
func (o *Operator) PutOperatorEvent(ctx context.Context, e inbox.Event) error {
	return o.inbox.PutOperatorEvent(ctx, e)
}

// StoredEvent reads one inbox event with its state (strongly consistent).
func (o *Operator) StoredEvent(ctx context.Context, provider, eventID string) (opstore.Event, bool, error) {
	pk, sk := EventKey(provider, eventID)
	it, err := o.get(ctx, key(pk, sk))
	if err != nil || it == nil {
		return opstore.Event{}, false, err
	}
	return storedEvent(it), true, nil
}

// ResetToPending puts a failed event back in the PENDING partition of the Unprocessed
// index; processor.ErrConflict if it is no longer failed.
func (o *Operator) ResetToPending(ctx context.Context, provider, eventID string) error {
	pk, sk := EventKey(provider, eventID)
	_, err := o.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(o.table),
		Key:                      key(pk, sk),
		UpdateExpression:         aws.String("SET #state = :pending, #pk = :p"),
		ConditionExpression:      aws.String("#state = :failed"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#pk": AttrPendingKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pending": str(statePending), ":p": str(PendingValue), ":failed": str(string(processor.Failed)),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return processor.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("reset event %s to pending: %w", eventID, err)
	}
	return nil
}

// statePending is the state of an inbox event not processed yet.
const statePending = "pending"

// JourneyTimeline is every item of a journey in the ByJourney index (its events, vendor
// and operator), oldest first.
func (o *Operator) JourneyTimeline(ctx context.Context, provider, journeyID string) ([]opstore.Event, error) {
	items, err := o.journeyItems(ctx, provider, journeyID)
	if err != nil {
		return nil, err
	}
	out := make([]opstore.Event, 0, len(items))
	for _, it := range items {
		out = append(out, storedEvent(it))
	}
	return out, nil
}

func (o *Operator) journeyItems(ctx context.Context, provider, journeyID string) ([]map[string]types.AttributeValue, error) {
	items, err := o.query(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexByJourney),
		KeyConditionExpression:    aws.String("#j = :j"),
		ExpressionAttributeNames:  map[string]string{"#j": AttrJourneyKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":j": str(JourneyKey(provider, journeyID))},
	}, 0)
	if err != nil {
		return nil, fmt.Errorf("query journey %s events: %w", journeyID, err)
	}
	return items, nil
}

// queuePartitions maps the operator's queues to the Unprocessed index's partitions.
var queuePartitions = map[opstore.Queue]string{opstore.Failed: FailedValue, opstore.Pending: PendingValue, opstore.Awaiting: AwaitingValue}

// Unprocessed lists up to limit events of queue q with from <= receivedAt <= to, oldest
// first, each read again and kept only if still in that queue.
func (o *Operator) Unprocessed(ctx context.Context, q opstore.Queue, from, to time.Time, limit int) ([]opstore.Event, error) {
	partition, ok := queuePartitions[q]
	if !ok {
		return nil, fmt.Errorf("unprocessed: unknown queue %q", q)
	}
	items, err := o.unprocessed(ctx, partition, from, to, limit)
	if err != nil {
		return nil, err
	}
	out := make([]opstore.Event, 0, len(items))
	for _, it := range items {
		out = append(out, storedEvent(it))
	}
	return out, nil
}

// Unsent lists up to limit status events not yet published, recorded in [from, to],
// oldest first.
func (o *Operator) Unsent(ctx context.Context, from, to time.Time, limit int) ([]opstore.StatusRecord, error) {
	items, err := o.unprocessed(ctx, OutboxValue, from, to, limit)
	if err != nil {
		return nil, err
	}
	return statusRecords(items)
}

// StatusHistory lists the profile's outbox records (its status changes), in key order.
func (o *Operator) StatusHistory(ctx context.Context, referenceNo string) ([]opstore.StatusRecord, error) {
	items, err := o.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :outbox)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": ProfileKey(referenceNo)[AttrPK],
			":outbox": str(OutboxSKPrefix)},
		ConsistentRead: aws.Bool(true),
	}, 0)
	if err != nil {
		return nil, fmt.Errorf("query status history: %w", err)
	}
	return statusRecords(items)
}

func statusRecords(items []map[string]types.AttributeValue) ([]opstore.StatusRecord, error) {
	out := make([]opstore.StatusRecord, 0, len(items))
	for _, it := range items {
		ev, err := DecodeOutbox(it)
		if err != nil {
			return nil, err
		}
		r := opstore.StatusRecord{Event: ev, RecordedAt: parseTime(attrString(it, AttrReceivedAt))}
		if v := attrString(it, "sentAt"); v != "" {
			t := parseTime(v)
			r.SentAt = &t
		}
		out = append(out, r)
	}
	return out, nil
}

// unprocessed reads up to limit items of one partition of the Unprocessed index with
// from <= receivedAt <= to, oldest first. The index holds keys only: each item is read.
func (o *Operator) unprocessed(ctx context.Context, partition string, from, to time.Time, limit int) ([]map[string]types.AttributeValue, error) {
	keys, err := o.query(ctx, &dynamodb.QueryInput{
		IndexName:                aws.String(IndexUnprocessed),
		KeyConditionExpression:   aws.String("#p = :p AND #r BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#p": AttrPendingKey, "#r": AttrReceivedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(partition),
			":from": sortKeyTime(from), ":to": sortKeyTime(to)},
	}, limit)
	if err != nil {
		return nil, fmt.Errorf("query %s items: %w", partition, err)
	}
	items := make([]map[string]types.AttributeValue, 0, len(keys))
	for _, k := range keys {
		it, err := o.get(ctx, primaryKey(k))
		if err != nil {
			return nil, err
		}
		if it != nil && attrString(it, AttrPendingKey) == partition { // still there, still in that state
			items = append(items, it)
		}
	}
	return items, nil
}

// ScanQuarantine calls f with each quarantine record (with its body too if withBody)
// until f returns false. It reads the whole table: a full Scan, page by page.
func (o *Operator) ScanQuarantine(ctx context.Context, withBody bool, f func(opstore.Quarantined) bool) error {
	attrs := []string{"provider", "reason", "bodyHash", AttrReceivedAt}
	if withBody {
		attrs = append(attrs, "body")
	}
	names := map[string]string{"#kind": AttrKind, "#pk": AttrPK, "#sk": AttrSK}
	projection := "#pk, #sk"
	for i, a := range attrs {
		p := fmt.Sprintf("#a%d", i)
		names[p] = a
		projection += ", " + p
	}
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(o.table),
		FilterExpression:          aws.String("#kind = :q"),
		ProjectionExpression:      aws.String(projection),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":q": str(KindQuarantine)},
	}
	for {
		out, err := o.client.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("scan quarantine: %w", err)
		}
		for _, it := range out.Items {
			q := opstore.Quarantined{Key: itemKey(it), Provider: attrString(it, "provider"), Reason: attrString(it, "reason"),
				BodyHash: attrString(it, "bodyHash"), ReceivedAt: parseTime(attrString(it, AttrReceivedAt))}
			if b, ok := it["body"].(*types.AttributeValueMemberB); ok {
				q.Body = b.Value
			}
			if !f(q) {
				return nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// query runs in to the end (or until max items, if max > 0), page by page.
func (o *Operator) query(ctx context.Context, in *dynamodb.QueryInput, max int) ([]map[string]types.AttributeValue, error) {
	in.TableName = aws.String(o.table)
	var items []map[string]types.AttributeValue
	for {
		out, err := o.client.Query(ctx, in)
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
func (o *Operator) get(ctx context.Context, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := o.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(o.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", attrString(k, AttrPK), err)
	}
	return out.Item, nil
}

// storedEvent reads an inbox item: the whole event if it decodes, else the fields it has.
func storedEvent(it map[string]types.AttributeValue) opstore.Event {
	e, err := DecodeEvent(it)
	if err != nil {
		e = inbox.Event{Provider: attrString(it, "provider"), EventID: attrString(it, "eventId"), Name: attrString(it, "eventName"),
			JourneyID: attrString(it, "journeyId"), ReferenceNo: attrString(it, "referenceNo"), Attributes: stringMap(it, "attributes"),
			ReceivedAt: parseTime(attrString(it, AttrReceivedAt))}
	}
	return opstore.Event{Key: itemKey(it), Event: e, State: attrString(it, "state"), Note: attrString(it, "note"),
		Operator: attrString(it, AttrKind) == KindOperatorEvent, Err: err}
}

// itemKey is the key of item, with the kind of item it is.
func itemKey(item map[string]types.AttributeValue) opstore.ItemKey {
	pk, sk := attrString(item, AttrPK), attrString(item, AttrSK)
	return opstore.ItemKey{PK: pk, SK: sk, Kind: kindOf(pk, sk)}
}

// primaryKey is the table key of item.
func primaryKey(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: item[AttrPK], AttrSK: item[AttrSK]}
}

// kindOf names the kind of an item by its key, for the erasure's counts.
func kindOf(pk, sk string) string {
	switch {
	case strings.HasPrefix(pk, "PUSH#"):
		return "pushMarkers"
	case strings.HasPrefix(pk, "CUSTOMSTEP#"):
		return "customSteps"
	case sk == "CLAIM", strings.HasPrefix(sk, "CONTENDER#"):
		return "claims"
	case sk == "TOKEN":
		return opstore.KindDeviceTokens
	case strings.HasPrefix(sk, LimitSKPrefix):
		return "rateLimits"
	case sk == "EVENT":
		return "events"
	case sk == "JOURNEY":
		return "journeys"
	case strings.HasPrefix(sk, OutboxSKPrefix):
		return opstore.KindStatusEvents
	case sk == "PROFILE":
		return opstore.KindProfile
	case strings.HasPrefix(sk, "DEVICE#"):
		return opstore.KindDevices
	case sk == "QUARANTINE":
		return "quarantined"
	}
	return "other"
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

func parseTime(v string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, v)
	return t
}

// ListClaims lists every journey claim, or referenceNo's only ("" for all): a strongly
// consistent full Scan, for the operator (kycctl claims).
func (o *Operator) ListClaims(ctx context.Context, referenceNo string) ([]kyc.Claim, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(o.table),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("#kind = :claim"),
		ExpressionAttributeNames:  map[string]string{"#kind": AttrKind},
		ExpressionAttributeValues: map[string]types.AttributeValue{":claim": str(KindClaim)},
	}
	if referenceNo != "" {
		in.FilterExpression = aws.String("#kind = :claim AND referenceNo = :ref")
		in.ExpressionAttributeValues[":ref"] = str(referenceNo)
	}
	var out []kyc.Claim
	for {
		res, err := o.client.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("scan claims: %w", err)
		}
		for _, it := range res.Items {
			out = append(out, DecodeClaim(it))
		}
		if len(res.LastEvaluatedKey) == 0 {
			sort.Slice(out, func(i, j int) bool { return out[i].ClaimedAt.Before(out[j].ClaimedAt) })
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// RecordOperatorEvent writes an operator's action on a journey (kycctl claims) as an
// operator event already processed with note: it is in the journey's timeline at once
// and never in the unprocessed index (nothing processes it).
func (o *Operator) RecordOperatorEvent(ctx context.Context, e inbox.Event, note string) error {
	item := eventItem(e)
	item[AttrKind] = str(KindOperatorEvent)
	delete(item, AttrPendingKey)
	item["state"] = str(string(processor.Processed))
	item["note"] = str(note)
	item["processedAt"] = str(o.now().UTC().Format(time.RFC3339Nano))
	item[AttrJourneyKey] = str(JourneyKey(e.Provider, e.JourneyID))
	return o.inbox.put(ctx, item)
}
