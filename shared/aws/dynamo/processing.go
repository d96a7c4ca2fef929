package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

// Item kinds and sparse-index partitions written by the processor.
const (
	KindJourney = "journey"
	KindProfile = "profile"
	KindOutbox  = "outbox"

	// FailedValue lists events that failed permanently in the Unprocessed index, for
	// operators; OutboxValue lists status events not yet published, for the sweeper.
	FailedValue = "FAILED"
	OutboxValue = "OUTBOX"
)

// API is the slice of the DynamoDB client the stores use.
type API interface {
	InboxAPI
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Store implements the processor's ports on the single table.
type Store struct {
	client    API
	table     string
	retention time.Duration // how long sent outbox records and done events are kept
	now       func() time.Time

	journeyRetention time.Duration // journey details expire this long after their last write; 0 keeps them (retention.go)
}

var (
	_ processor.Journeys = (*Store)(nil)
	_ processor.Profiles = (*Store)(nil)
	_ processor.Outbox   = (*Store)(nil)
	_ processor.Events   = (*Store)(nil)
)

// NewStore returns a Store on table.
func NewStore(client API, table string, retention time.Duration) *Store {
	return &Store{client: client, table: table, retention: retention, now: time.Now}
}

// journeyItemKey is the primary key of a stored journey snapshot.
func journeyItemKey(provider, journeyID string) map[string]types.AttributeValue {
	return key("JOURNEY#"+provider+"#"+journeyID, "JOURNEY")
}

// ProfileKey is the primary key of a profile.
func ProfileKey(referenceNo string) map[string]types.AttributeValue {
	return key(ProfilePK(referenceNo), "PROFILE")
}

// DynamoDB's key limits: a partition key of at most 2,048 bytes, a sort key of 1,024.
const (
	maxPartitionKey = 2048
	maxSortKey      = 1024
)

// longReferenceMark follows a key's prefix when the reference is keyed by its hash: a
// space right after the prefix never starts a plain key, since kyc.CheckReference refuses
// a reference that begins with a space.
const longReferenceMark = " sha256:"

// referenceKey is prefix+referenceNo, the reference always the whole rest of the key (so
// any character in it, a '#' too, cannot make two references share a key). When that would
// pass max bytes (up to 1,000 characters of up to 4 bytes each are allowed), the reference
// is keyed by its SHA-256 instead: prefix+" sha256:<hex>", which no allowed reference
// produces. Every key built from a reference goes through it.
func referenceKey(prefix, referenceNo string, max int) string {
	k := prefix + referenceNo
	if len(k) <= max {
		return k
	}
	h := sha256.Sum256([]byte(referenceNo))
	return prefix + longReferenceMark + hex.EncodeToString(h[:])
}

// ProfilePK is the partition of every item of a profile (profile, devices, outbox, rate
// limits, tombstone, checks): PROFILE#<referenceNo>, or "PROFILE# sha256:<hex>" for a
// reference too long for the key (referenceKey).
func ProfilePK(referenceNo string) string {
	return referenceKey("PROFILE#", referenceNo, maxPartitionKey)
}

// OutboxKey is the primary key of an outbox record: in its profile's partition, so that
// the profile's status history is a query of that partition and needs no index write.
func OutboxKey(referenceNo, eventID string) map[string]types.AttributeValue {
	return key(ProfilePK(referenceNo), OutboxSKPrefix+eventID)
}

// OutboxSKPrefix starts the sort key of every outbox record.
const OutboxSKPrefix = "OUTBOX#"

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)}
}

type journeyItem struct {
	Provider    string            `dynamodbav:"provider"`
	JourneyID   string            `dynamodbav:"journeyId"`
	ReferenceNo string            `dynamodbav:"referenceNo,omitempty"`
	Decisions   map[string]string `dynamodbav:"decisions,omitempty"`
	Details     map[string]string `dynamodbav:"details,omitempty"`
	FetchedAt   string            `dynamodbav:"fetchedAt"`
	Version     int64             `dynamodbav:"version"`
	AMLVersion  int64             `dynamodbav:"amlVersion"`

	AMLReceivedAt string `dynamodbav:"amlReceivedAt,omitempty"` // RFC 3339 (nanoseconds)
	RequestedAt   string `dynamodbav:"requestedAt,omitempty"`   // RFC 3339 (nanoseconds)
}

// optTime formats t for an optional item attribute ("" when zero, then omitted).
func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseOptTime reads an optional time attribute (zero when absent).
func parseOptTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Journey reads a stored journey snapshot.
func (s *Store) Journey(ctx context.Context, provider, journeyID string) (processor.Journey, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: journeyItemKey(provider, journeyID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return processor.Journey{}, false, fmt.Errorf("get journey %s: %w", journeyID, err)
	}
	if out.Item == nil {
		return processor.Journey{}, false, nil
	}
	var it journeyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return processor.Journey{}, false, fmt.Errorf("decode journey %s: %w", journeyID, err)
	}
	fetched, _ := time.Parse(time.RFC3339Nano, it.FetchedAt)
	return processor.Journey{Provider: it.Provider, JourneyID: it.JourneyID, ReferenceNo: it.ReferenceNo,
		Decisions: it.Decisions, Details: it.Details, FetchedAt: fetched, Version: it.Version, AMLVersion: it.AMLVersion,
		AMLReceivedAt: parseOptTime(it.AMLReceivedAt), RequestedAt: parseOptTime(it.RequestedAt)}, true, nil
}

// PutJourney stores j unless a newer snapshot is stored.
func (s *Store) PutJourney(ctx context.Context, j processor.Journey) error {
	item, err := attributevalue.MarshalMap(journeyItem{Provider: j.Provider, JourneyID: j.JourneyID, ReferenceNo: j.ReferenceNo,
		Decisions: j.Decisions, Details: j.Details, FetchedAt: j.FetchedAt.UTC().Format(time.RFC3339Nano),
		Version: j.Version, AMLVersion: j.AMLVersion, AMLReceivedAt: optTime(j.AMLReceivedAt), RequestedAt: optTime(j.RequestedAt)})
	if err != nil {
		return fmt.Errorf("encode journey: %w", err)
	}
	for k, v := range journeyItemKey(j.Provider, j.JourneyID) {
		item[k] = v
	}
	item[AttrKind] = str(KindJourney)
	if s.journeyRetention > 0 {
		item[AttrExpiresAt] = epoch(s.now().Add(s.journeyRetention))
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #v < :v OR (#v = :v AND #aml < :aml)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#v": "version", "#aml": "amlVersion"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(j.Version), ":aml": num(j.AMLVersion)},
	})
	return conflictOr(err, "put journey")
}

type profileItem struct {
	ReferenceNo string   `dynamodbav:"referenceNo"`
	Status      string   `dynamodbav:"status"`
	JourneyID   string   `dynamodbav:"journeyId"`
	Provider    string   `dynamodbav:"provider"`
	Reasons     []string `dynamodbav:"reasons"`
	UpdatedAt   string   `dynamodbav:"updatedAt"`
	Version     int64    `dynamodbav:"version"`
	// RenewalDueBy is set while a KYC renewal is due (RFC 3339), absent otherwise.
	RenewalDueBy string `dynamodbav:"renewalDueBy,omitempty"`
}

// Profile reads a profile.
func (s *Store) Profile(ctx context.Context, referenceNo string) (kyc.Profile, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: ProfileKey(referenceNo), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return kyc.Profile{}, false, fmt.Errorf("get profile: %w", err)
	}
	if out.Item == nil {
		return kyc.Profile{}, false, nil
	}
	var it profileItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return kyc.Profile{}, false, fmt.Errorf("decode profile: %w", err)
	}
	updated, _ := time.Parse(time.RFC3339Nano, it.UpdatedAt)
	return kyc.Profile{ReferenceNo: it.ReferenceNo, Status: kyc.Status(it.Status), JourneyID: it.JourneyID,
		Provider: it.Provider, Reasons: it.Reasons, UpdatedAt: updated, Version: it.Version,
		RenewalDueBy: parseOptTime(it.RenewalDueBy)}, true, nil
}

// ApplyStatus writes the change and, when ev is set, its outbox record, in one transaction
// conditional on the profile being as it was read.
func (s *Store) ApplyStatus(ctx context.Context, c kyc.Change, current kyc.Profile, found bool, ev *kyc.StatusEvent) error {
	reasons := c.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	rl, err := attributevalue.Marshal(reasons)
	if err != nil {
		return fmt.Errorf("encode reasons: %w", err)
	}
	update := &types.Update{
		TableName: aws.String(s.table),
		Key:       ProfileKey(c.ReferenceNo),
		UpdateExpression: aws.String("SET #kind = :kind, referenceNo = :ref, #status = :status, journeyId = :journey, " +
			"provider = :provider, reasons = :reasons, updatedAt = :updated, #v = :v"),
		ExpressionAttributeNames: map[string]string{"#kind": AttrKind, "#status": "status", "#v": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":kind": str(KindProfile), ":ref": str(c.ReferenceNo), ":status": str(string(c.Status)),
			":journey": str(c.JourneyID), ":provider": str(c.Provider), ":reasons": rl,
			":updated": str(c.OccurredAt.UTC().Format(time.RFC3339Nano)), ":v": num(c.Version),
		},
	}
	if c.RenewalDueBy.IsZero() {
		update.UpdateExpression = aws.String(*update.UpdateExpression + " REMOVE renewalDueBy")
	} else {
		update.UpdateExpression = aws.String(*update.UpdateExpression + ", renewalDueBy = :due")
		update.ExpressionAttributeValues[":due"] = str(c.RenewalDueBy.UTC().Format(time.RFC3339))
	}
	if found {
		update.ConditionExpression = aws.String("#v = :old")
		update.ExpressionAttributeValues[":old"] = num(current.Version)
	} else {
		update.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		update.ExpressionAttributeNames["#pk"] = AttrPK
	}
	items := []types.TransactWriteItem{{Update: update}}
	if ev != nil {
		msg, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode status event: %w", err)
		}
		item := OutboxKey(c.ReferenceNo, ev.ID)
		item[AttrKind] = str(KindOutbox)
		item["message"] = str(string(msg))
		item[AttrPendingKey] = str(OutboxValue)
		item[AttrReceivedAt] = sortKeyTime(s.now())
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     item,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}})
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			// A lost condition, or another transaction on the same items at the same time
			// (DynamoDB cancels with TransactionConflict): read again and re-decide.
			if c := aws.ToString(r.Code); c == "ConditionalCheckFailed" || c == "TransactionConflict" {
				return processor.ErrConflict
			}
		}
	}
	if err != nil {
		return fmt.Errorf("transact status change: %w", err)
	}
	return nil
}

// MarkSent records that a status event was published; the record then expires (until
// then it is part of the profile's status history).
func (s *Store) MarkSent(ctx context.Context, referenceNo, eventID string) error {
	now := s.now().UTC()
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       OutboxKey(referenceNo, eventID),
		UpdateExpression:          aws.String("SET sentAt = :now, #exp = :exp REMOVE #pending"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#pending": AttrPendingKey, "#exp": AttrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(now.Format(time.RFC3339Nano)), ":exp": epoch(now.Add(s.retention))},
	})
	return conflictOr(err, "mark outbox sent")
}

// Mark records where an inbox event ended and takes it out of the unprocessed index
// (failed events move to the FAILED partition of that index, for operators).
func (s *Store) Mark(ctx context.Context, e inbox.Event, st processor.State, note string) error {
	pk, sk := EventKey(e.Provider, e.EventID)
	in := &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(pk, sk),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#pending": AttrPendingKey, "#state": "state", "#jk": AttrJourneyKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":state": str(string(st)), ":note": str(note), ":now": str(s.now().UTC().Format(time.RFC3339Nano)),
			":jk": str(JourneyKey(e.Provider, e.JourneyID)),
		},
	}
	// The event joins its journey's timeline (index ByJourney) here, not when the webhook
	// stores it: one index write less on the acknowledgement path, and this update writes
	// the index anyway (state and note are projected).
	switch st {
	case processor.Failed, processor.AwaitingClaim:
		partition := FailedValue
		if st == processor.AwaitingClaim {
			partition = AwaitingValue // the sweeper's safety net behind the claim's trigger
		}
		in.UpdateExpression = aws.String("SET #state = :state, note = :note, processedAt = :now, #jk = :jk, #pending = :partition")
		in.ExpressionAttributeValues[":partition"] = str(partition)
	default:
		in.UpdateExpression = aws.String("SET #state = :state, note = :note, processedAt = :now, #jk = :jk REMOVE #pending")
	}
	_, err := s.client.UpdateItem(ctx, in)
	if err = conflictOr(err, "mark event"); errors.Is(err, processor.ErrConflict) {
		return nil // the item is gone (expired or erased): nothing left to mark
	}
	return err
}

// JourneyEvents lists the inbox events of a journey (index ByJourney), oldest first.
func (s *Store) JourneyEvents(ctx context.Context, provider, journeyID string) ([]inbox.Event, error) {
	var out []inbox.Event
	var start map[string]types.AttributeValue
	for {
		res, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(IndexByJourney),
			KeyConditionExpression:    aws.String("#j = :j"),
			ExpressionAttributeNames:  map[string]string{"#j": AttrJourneyKey},
			ExpressionAttributeValues: map[string]types.AttributeValue{":j": str(JourneyKey(provider, journeyID))},
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("query journey %s events: %w", journeyID, err)
		}
		for _, item := range res.Items {
			if k, ok := item[AttrKind].(*types.AttributeValueMemberS); !ok || k.Value != KindEvent {
				continue
			}
			e, err := DecodeEvent(item)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if res.LastEvaluatedKey == nil {
			return out, nil
		}
		start = res.LastEvaluatedKey
	}
}

// Pending lists up to limit items of one partition of the Unprocessed index (PENDING
// events, OUTBOX records, FAILED events) received before cutoff, oldest first.
func (s *Store) Pending(ctx context.Context, partition string, cutoff time.Time, limit int32) ([]map[string]types.AttributeValue, error) {
	items, _, err := s.PendingPage(ctx, partition, cutoff, limit, "")
	return items, err
}

// PendingPage is Pending from cursor on ("" for the first page); it also returns the cursor
// of the next page ("" after the last). A cursor is the index's LastEvaluatedKey (string
// attributes only) as JSON.
func (s *Store) PendingPage(ctx context.Context, partition string, cutoff time.Time, limit int32, cursor string) ([]map[string]types.AttributeValue, string, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexUnprocessed),
		KeyConditionExpression:    aws.String("#p = :p AND #r < :cutoff"),
		ExpressionAttributeNames:  map[string]string{"#p": AttrPendingKey, "#r": AttrReceivedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(partition), ":cutoff": sortKeyTime(cutoff)},
		Limit:                     aws.Int32(limit),
	}
	if cursor != "" {
		var start map[string]string
		if err := json.Unmarshal([]byte(cursor), &start); err != nil {
			return nil, "", fmt.Errorf("decode %s cursor: %w", partition, err)
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{}
		for k, v := range start {
			in.ExclusiveStartKey[k] = str(v)
		}
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("query %s items: %w", partition, err)
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 {
		last := map[string]string{}
		for k, v := range out.LastEvaluatedKey {
			last[k] = attrString(out.LastEvaluatedKey, k)
			if _, ok := v.(*types.AttributeValueMemberS); !ok {
				return nil, "", fmt.Errorf("%s cursor: key attribute %s is not a string", partition, k)
			}
		}
		b, err := json.Marshal(last)
		if err != nil {
			return nil, "", fmt.Errorf("encode %s cursor: %w", partition, err)
		}
		next = string(b)
	}
	items := make([]map[string]types.AttributeValue, 0, len(out.Items))
	for _, k := range out.Items {
		got, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
			Key: map[string]types.AttributeValue{AttrPK: k[AttrPK], AttrSK: k[AttrSK]}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, "", fmt.Errorf("get %s item: %w", partition, err)
		}
		if got.Item != nil {
			items = append(items, got.Item)
		}
	}
	return items, next, nil
}

// DecodeOutbox reads the status event of an outbox item.
func DecodeOutbox(item map[string]types.AttributeValue) (kyc.StatusEvent, error) {
	var ev kyc.StatusEvent
	m, ok := item["message"].(*types.AttributeValueMemberS)
	if !ok {
		return ev, errors.New("outbox item has no message")
	}
	if err := json.Unmarshal([]byte(m.Value), &ev); err != nil {
		return ev, fmt.Errorf("decode outbox message: %w", err)
	}
	return ev, nil
}

func conflictOr(err error, what string) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return processor.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
