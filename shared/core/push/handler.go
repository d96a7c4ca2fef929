package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Handler is the Lambda handler of the push function, fed by the push queue (SNS status
// topic -> SQS with raw message delivery). Each message is one status event. It reports
// partial batch failures: a message whose status event needs a retry is reported and
// comes back after the queue's visibility timeout; the others are done.
type Handler struct {
	notifier *Notifier
}

// NewHandler returns the queue handler.
func NewHandler(n *Notifier) *Handler { return &Handler{notifier: n} }

// ErrMalformed marks a message that is not a status event this version understands. It
// is reported as failed, so it ends in the dead-letter queue for an operator, untouched.
var ErrMalformed = errors.New("malformed status event")

// Handle notifies the devices of each status event of the batch.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		log := slog.With("messageId", m.MessageId, "receiveCount", m.Attributes["ApproximateReceiveCount"])
		sev, err := DecodeStatusEvent([]byte(m.Body))
		if errors.Is(err, errOtherType) {
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

var errOtherType = errors.New("not a status change event")

// DecodeStatusEvent reads a queue message body: the status event itself (the push
// queue's subscription uses raw message delivery) or, tolerated, an SNS notification
// envelope around it. Events of another type are errOtherType (not for push); a status
// change of a version other than 1, or without id, profile or a known status, wraps
// ErrMalformed.
func DecodeStatusEvent(body []byte) (kyc.StatusEvent, error) {
	var envelope struct {
		Type    string `json:"Type"`
		Message *string
	}
	if json.Unmarshal(body, &envelope) == nil && envelope.Type == "Notification" && envelope.Message != nil {
		body = []byte(*envelope.Message)
	}
	var ev kyc.StatusEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	switch {
	case ev.Type != kyc.EventType:
		return ev, errOtherType
	case ev.Version != 1:
		return ev, fmt.Errorf("%w: version %d", ErrMalformed, ev.Version)
	case ev.ID == "" || ev.ReferenceNo == "":
		return ev, fmt.Errorf("%w: id and referenceNo are required", ErrMalformed)
	case !ev.Status.Valid():
		return ev, fmt.Errorf("%w: unknown status %q", ErrMalformed, ev.Status)
	}
	return ev, nil
}
