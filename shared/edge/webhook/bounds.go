package webhook

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/edge/apigw"
)

// DefaultDeadlineMargin is kept free before the invocation's deadline: the write must be
// over (done or given up) in time to answer, or Lambda kills the invocation mid-write and
// the vendor sees a timeout it cannot tell from a lost event.
const DefaultDeadlineMargin = time.Second

// RetryAfterSeconds is the Retry-After of a 503 (the vendors retry on their own schedule:
// IDWise at +5, +10, +15 minutes, Veriff hourly; the header is a hint for proxies and tests).
const RetryAfterSeconds = 30

// WithDeadlineMargin sets the time kept free before the invocation's deadline (0 keeps
// the default). It returns h.
func (h *Handler) WithDeadlineMargin(d time.Duration) *Handler {
	if d > 0 {
		h.margin = d
	}
	return h
}

// bounded returns ctx with a deadline the margin before ctx's own; ctx as it is when it
// has no deadline (a caller that sets none accepts to wait).
func (h *Handler) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := h.margin
	if margin == 0 {
		margin = DefaultDeadlineMargin
	}
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// unavailable answers 503 with Retry-After: the event is not durable, the vendor must send
// it again (the write either did not happen, or it did and the retry is a duplicate).
func (h *Handler) unavailable(ctx context.Context) events.APIGatewayV2HTTPResponse {
	h.count(ctx, "WriteTimeouts", "")
	resp := apigw.Error(http.StatusServiceUnavailable, "unavailable", "could not store the event in time, retry later")
	resp.Headers["retry-after"] = strconv.Itoa(RetryAfterSeconds)
	return resp
}

// checkIDs holds a parsed event's ids to the app API's rules (kyc.CheckID, kyc.CheckReference): they become
// keys, paths and log attributes, and DynamoDB refuses an oversized key on every retry.
// Names are the inbox event's, not the vendor's body paths: one rule for every vendor.
func checkIDs(e inbox.Event) error {
	for _, id := range []struct{ field, value string }{
		{"eventId", e.EventID}, {"journeyId", e.JourneyID}, {"referenceNo", e.ReferenceNo},
	} {
		if id.value == "" {
			continue // required or not is the vendor parser's call
		}
		check := kyc.CheckID
		if id.field == "referenceNo" {
			check = kyc.CheckReference // the vendors' references: kyc's one rule for them
		}
		if err := check(id.field, id.value); err != nil {
			return err
		}
	}
	return nil
}
