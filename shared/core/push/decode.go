package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// ErrMalformed marks a message that is not a status event this version understands: the
// queue edge reports it as failed, so it ends in the dead-letter queue for an operator.
var ErrMalformed = errors.New("malformed status event")

// ErrNotStatusChange marks an event of another type on the topic (not for push).
var ErrNotStatusChange = errors.New("not a status change event")

// DecodeStatusEvent reads a queue message body (a profile.status_changed or a
// profile.renewal_due event, which must carry renewalDueBy): the status event itself (the push
// queue's subscription uses raw message delivery) or, tolerated, an SNS notification
// envelope around it. Events of another type are ErrNotStatusChange (not for push); a status
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
	case ev.Type != kyc.EventType && ev.Type != kyc.RenewalDueType:
		return ev, ErrNotStatusChange
	case ev.Type == kyc.RenewalDueType && !validTime(ev.RenewalDueBy):
		return ev, fmt.Errorf("%w: renewalDueBy %q is not RFC 3339", ErrMalformed, ev.RenewalDueBy)
	case ev.Version != 1:
		return ev, fmt.Errorf("%w: version %d", ErrMalformed, ev.Version)
	case ev.ID == "" || ev.ReferenceNo == "":
		return ev, fmt.Errorf("%w: id and referenceNo are required", ErrMalformed)
	case !ev.Status.Valid():
		return ev, fmt.Errorf("%w: unknown status %q", ErrMalformed, ev.Status)
	}
	return ev, nil
}

func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
