// Package stream is the Lambda edge of the table's stream: it decodes each record (inbox
// events, journey claims) and hands it to the processor, reporting partial batch failures.
package stream

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Decoder turns a stream record's new image into an inbox event.
type Decoder func(img map[string]events.DynamoDBAttributeValue) (inbox.Event, error)

// Processor is what the handler needs of processor.Service.
type Processor interface {
	Process(ctx context.Context, e inbox.Event) error
	ClaimArrived(ctx context.Context, c kyc.Claim) error
	Count(ctx context.Context, name string, e inbox.Event)
}

// Handler is the Lambda handler for the table's stream (inbox INSERTs only, by the
// event source's filter). It reports partial batch failures: the first record that fails
// is reported, and Lambda retries from it (records before it are done).
type Handler struct {
	svc         Processor
	decode      Decoder
	decodeClaim ClaimDecoder
}

// ClaimDecoder turns a stream record's new image into a journey claim; false when the
// image is not one.
type ClaimDecoder func(img map[string]events.DynamoDBAttributeValue) (kyc.Claim, bool, error)

// WithClaims makes the handler process, for each new claim on the stream, the events of
// its journey that waited for it. It returns h.
func (h *Handler) WithClaims(decode ClaimDecoder) *Handler {
	h.decodeClaim = decode
	return h
}

// New returns the stream handler.
func New(svc Processor, decode Decoder) *Handler {
	return &Handler{svc: svc, decode: decode}
}

// Handle processes the batch in order.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	for _, rec := range ev.Records {
		if h.decodeClaim != nil {
			c, ok, err := h.decodeClaim(rec.Change.NewImage)
			if err != nil {
				slog.ErrorContext(ctx, "undecodable claim record skipped (the sweeper re-drives its events)", "eventId", rec.EventID, "error", err)
				continue
			}
			if ok {
				if err := h.svc.ClaimArrived(ctx, c); err != nil {
					slog.WarnContext(ctx, "process events awaiting a claim; will retry", "provider", c.Provider, "journeyId", c.JourneyID, "error", err)
					resp.BatchItemFailures = append(resp.BatchItemFailures,
						events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
					return resp, nil
				}
				continue
			}
		}
		e, err := h.decode(rec.Change.NewImage)
		if err != nil {
			// Not an inbox event we can read: retrying cannot fix it, and the item stays
			// in the unprocessed index for an operator.
			slog.ErrorContext(ctx, "undecodable stream record skipped", "eventId", rec.EventID, "error", err)
			continue
		}
		if err := h.svc.Process(ctx, e); err != nil {
			h.svc.Count(ctx, "EventsRetried", e)
			slog.WarnContext(ctx, "process event; will retry", "provider", e.Provider, "eventId", e.EventID,
				"journeyId", e.JourneyID, "event", e.Name, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures,
				events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			return resp, nil
		}
	}
	return resp, nil
}
