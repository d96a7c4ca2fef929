// Package queue is the Lambda edge of the push function, fed by the push queue (SNS status
// topic -> SQS with raw message delivery): each message is one status event, decoded by
// push.DecodeStatusEvent and handed to the notifier.
package queue

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/push"
)

// Notifier is what the handler needs of push.Notifier.
type Notifier interface {
	Notify(ctx context.Context, ev kyc.StatusEvent) (push.Outcome, error)
}

// Handler is the Lambda handler of the push function. It reports partial batch failures:
// a message whose status event needs a retry, or that is not a status event this version
// understands (push.ErrMalformed: it ends in the dead-letter queue, untouched), is
// reported and comes back after the queue's visibility timeout; the others are done.
type Handler struct {
	notifier Notifier
}

// New returns the queue handler.
func New(n Notifier) *Handler { return &Handler{notifier: n} }

// Handle notifies the devices of each status event of the batch.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		log := slog.With("messageId", m.MessageId, "receiveCount", m.Attributes["ApproximateReceiveCount"])
		sev, err := push.DecodeStatusEvent([]byte(m.Body))
		if errors.Is(err, push.ErrNotStatusChange) {
			log.InfoContext(ctx, "not a status change: ignored")
			continue
		}
		if err != nil {
			log.ErrorContext(ctx, "undecodable message: left to the dead-letter queue", "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		out, err := h.notifier.Notify(ctx, sev)
		log = log.With("statusEventId", sev.ID, "journeyId", sev.JourneyID, "status", string(sev.Status))
		if err != nil {
			log.WarnContext(ctx, "push incomplete; will retry", "devices", out.Devices, "sent", out.Sent,
				"failed", out.Failed, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		log.InfoContext(ctx, "status event handled", "skipped", out.Skipped, "devices", out.Devices, "sent", out.Sent,
			"duplicates", out.Duplicates, "removed", out.Removed)
	}
	return resp, nil
}
