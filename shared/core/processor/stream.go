package processor

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Decoder turns a stream record's new image into an inbox event.
type Decoder func(img map[string]events.DynamoDBAttributeValue) (inbox.Event, error)

// StreamHandler is the Lambda handler for the table's stream (inbox INSERTs only, by the
// event source's filter). It reports partial batch failures: the first record that fails
// is reported, and Lambda retries from it (records before it are done).
type StreamHandler struct {
	svc         *Service
	decode      Decoder
	decodeClaim ClaimDecoder
}

// ClaimDecoder turns a stream record's new image into a journey claim; false when the
// image is not one.
type ClaimDecoder func(img map[string]events.DynamoDBAttributeValue) (kyc.Claim, bool, error)

// WithClaims makes the handler process, for each new claim on the stream, the events of
// its journey that waited for it. It returns h.
func (h *StreamHandler) WithClaims(decode ClaimDecoder) *StreamHandler {
	h.decodeClaim = decode
	return h
}

// NewStreamHandler returns the stream handler.
func NewStreamHandler(svc *Service, decode Decoder) *StreamHandler {
	return &StreamHandler{svc: svc, decode: decode}
}

// Handle processes the batch in order.
func (h *StreamHandler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
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
			h.svc.count(ctx, "EventsRetried", e)
			slog.WarnContext(ctx, "process event; will retry", "provider", e.Provider, "eventId", e.EventID,
				"journeyId", e.JourneyID, "event", e.Name, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures,
				events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			return resp, nil
		}
	}
	return resp, nil
}
