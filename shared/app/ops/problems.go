package ops

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
)

// Kinds of Problem.
const (
	KindFailed      = "failed"         // an event failed permanently (unknown journey, credentials refused ...)
	KindStuck       = "stuck"          // an event still pending after StuckAfter
	KindUnsent      = "unsent"         // a status event still not published after StuckAfter
	KindQuarantined = "quarantined"    // an authenticated body that could not be understood
	KindAwaiting    = "awaiting_claim" // an outcome waiting for its journey's claim (JourneyOwnership claimed)
)

// Problem is an item that needs an operator, with why. It holds ids only.
type Problem struct {
	Kind       string    `json:"kind"`
	Provider   string    `json:"provider,omitempty"`
	ID         string    `json:"id"` // event id; status event id (unsent); body hash (quarantined)
	JourneyID  string    `json:"journeyId,omitempty"`
	Event      string    `json:"event,omitempty"` // vendor event name, or the status (unsent)
	ReceivedAt time.Time `json:"receivedAt"`
	Why        string    `json:"why"`
}

// ListOptions selects problems. With none of Failed, Stuck and Quarantined set, all are listed.
type ListOptions struct {
	Failed      bool
	Stuck       bool // pending events and unsent status events older than StuckAfter
	Quarantined bool
	Awaiting    bool          // events waiting for their journey's claim
	StuckAfter  time.Duration // default 10 minutes (the sweeper's default minimum age)
	Limit       int           // per kind; default 100
}

// Problems lists failed events, stuck events and status events, and quarantined bodies,
// oldest first within each kind. Failed and stuck items come from the sparse Unprocessed
// index (a Query); quarantined bodies from a Scan of the table filtered on
// kind=quarantine (quarantine is rare and expires, so no index is kept for it).
func (o *Ops) Problems(ctx context.Context, opt ListOptions) ([]Problem, error) {
	if !opt.Failed && !opt.Stuck && !opt.Quarantined && !opt.Awaiting {
		opt.Failed, opt.Stuck, opt.Quarantined, opt.Awaiting = true, true, true, true
	}
	if opt.StuckAfter <= 0 {
		opt.StuckAfter = 10 * time.Minute
	}
	if opt.Limit <= 0 {
		opt.Limit = 100
	}
	now := o.now()
	out := []Problem{}
	if opt.Failed {
		items, err := o.unprocessed(ctx, dynamo.FailedValue, time.Time{}, now.Add(time.Minute), opt.Limit)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			out = append(out, eventProblem(KindFailed, it, s(it, "note")))
		}
	}
	if opt.Stuck {
		cutoff := now.Add(-opt.StuckAfter)
		items, err := o.unprocessed(ctx, dynamo.PendingValue, time.Time{}, cutoff, opt.Limit)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			age := now.Sub(parseTime(s(it, dynamo.AttrReceivedAt))).Round(time.Second)
			out = append(out, eventProblem(KindStuck, it, fmt.Sprintf("pending for %s: not processed yet (the sweeper re-drives it; replay does it now)", age)))
		}
		items, err = o.unprocessed(ctx, dynamo.OutboxValue, time.Time{}, cutoff, opt.Limit)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			ev, err := dynamo.DecodeOutbox(it)
			if err != nil {
				return nil, err
			}
			received := parseTime(s(it, dynamo.AttrReceivedAt))
			out = append(out, Problem{Kind: KindUnsent, Provider: ev.Provider, ID: ev.ID, JourneyID: ev.JourneyID, Event: string(ev.Status),
				ReceivedAt: received, Why: fmt.Sprintf("status change not published for %s (SNS failing? the sweeper retries it)", now.Sub(received).Round(time.Second))})
		}
	}
	if opt.Awaiting {
		items, err := o.unprocessed(ctx, dynamo.AwaitingValue, time.Time{}, now.Add(time.Minute), opt.Limit)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			age := now.Sub(parseTime(s(it, dynamo.AttrReceivedAt))).Round(time.Second)
			out = append(out, eventProblem(KindAwaiting, it, fmt.Sprintf("waiting %s for the app to claim the journey (POST /v1/journeys); applied when it does, failed after ClaimWaitDays", age)))
		}
	}
	if opt.Quarantined {
		q, err := o.quarantined(ctx, opt.Limit)
		if err != nil {
			return nil, err
		}
		out = append(out, q...)
	}
	return out, nil
}

func eventProblem(kind string, it map[string]types.AttributeValue, why string) Problem {
	return Problem{Kind: kind, Provider: s(it, "provider"), ID: s(it, "eventId"), JourneyID: s(it, "journeyId"),
		Event: s(it, "eventName"), ReceivedAt: parseTime(s(it, dynamo.AttrReceivedAt)), Why: why}
}

// unprocessed reads up to limit items of one partition of the Unprocessed index with
// from <= receivedAt < to, oldest first. The index holds keys only: each item is read.
func (o *Ops) unprocessed(ctx context.Context, partition string, from, to time.Time, limit int) ([]map[string]types.AttributeValue, error) {
	keys, err := o.query(ctx, &dynamodb.QueryInput{
		IndexName:                aws.String(dynamo.IndexUnprocessed),
		KeyConditionExpression:   aws.String("#p = :p AND #r BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#p": dynamo.AttrPendingKey, "#r": dynamo.AttrReceivedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(partition),
			":from": str(from.UTC().Format(time.RFC3339Nano)), ":to": str(to.UTC().Format(time.RFC3339Nano))},
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
		if it != nil && s(it, dynamo.AttrPendingKey) == partition { // still there, still in that state
			items = append(items, it)
		}
	}
	return items, nil
}

// quarantined scans the table for quarantine records (their reason, never their body).
func (o *Ops) quarantined(ctx context.Context, limit int) ([]Problem, error) {
	out := []Problem{}
	err := o.scanQuarantine(ctx, []string{"provider", "reason", "bodyHash", dynamo.AttrReceivedAt}, func(it map[string]types.AttributeValue) bool {
		out = append(out, Problem{Kind: KindQuarantined, Provider: s(it, "provider"), ID: s(it, "bodyHash"),
			ReceivedAt: parseTime(s(it, dynamo.AttrReceivedAt)), Why: "body not understood: " + s(it, "reason")})
		return len(out) < limit
	})
	return out, err
}

// scanQuarantine calls f with each quarantine record (the key and the attributes named)
// until f returns false. It reads the whole table: a full Scan, page by page.
func (o *Ops) scanQuarantine(ctx context.Context, attrs []string, f func(map[string]types.AttributeValue) bool) error {
	names := map[string]string{"#kind": dynamo.AttrKind, "#pk": dynamo.AttrPK, "#sk": dynamo.AttrSK}
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
		ExpressionAttributeValues: map[string]types.AttributeValue{":q": str(dynamo.KindQuarantine)},
	}
	for {
		out, err := o.db.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("scan quarantine: %w", err)
		}
		for _, it := range out.Items {
			if !f(it) {
				return nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
