// Package webhook is the HTTP edge for vendor webhooks: it authenticates a delivery,
// checks size and content type, parses it with the vendor's parser and hands it to the
// inbox. It answers 200 only once the event is durable.
package webhook

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/edge/apigw"
	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// MaxBodyBytes is the largest body accepted (256 KiB): IDWise webhooks are a few hundred
// bytes, and an inbox item must stay well under DynamoDB's 400 KB item limit.
const MaxBodyBytes = 256 << 10

// Authenticator checks a delivery's credentials and source.
type Authenticator interface {
	Check(ctx context.Context, r webhookauth.Request) error
}

// Attributor is an Authenticator that also tells who signed a delivery, as inbox event
// attributes (Veriff: the integration and its product). The handler calls it instead of
// Check and adds the attributes to the parsed event, over any of the same name.
type Attributor interface {
	Attributes(ctx context.Context, r webhookauth.Request) (map[string]string, error)
}

// Inbox makes deliveries durable.
type Inbox interface {
	Accept(ctx context.Context, e inbox.Event) (inbox.Result, error)
	Quarantine(ctx context.Context, provider string, body []byte, reason string) (string, error)
}

// Counter counts outcomes (a metric in production).
type Counter interface {
	Count(ctx context.Context, name string, dims map[string]string)
}

// Parser turns a raw body into an inbox event. A *kyc.FieldError names the offending
// field; any error means the body is malformed.
type Parser func(raw []byte) (inbox.Event, error)

// Handler serves one vendor's webhook route.
type Handler struct {
	provider string
	auth     Authenticator
	inbox    Inbox
	parse    Parser
	counter  Counter
	// Redactor, when set, removes personal data from a body before it is quarantined
	// (Veriff: everything outside its allow-list of ids, codes and times); the parser does
	// the same for the inbox.
	Redactor func([]byte) []byte
	margin   time.Duration // kept free before the invocation's deadline (bounds.go)
}

// New returns the handler for provider's webhooks.
func New(provider string, auth Authenticator, in Inbox, parse Parser, counter Counter) *Handler {
	return &Handler{provider: provider, auth: auth, inbox: in, parse: parse, counter: counter}
}

type accepted struct {
	Status      inbox.Status `json:"status"`
	EventID     string       `json:"eventId"`
	Processable *bool        `json:"processable,omitempty"`
}

// Handle serves one API Gateway HTTP API (payload v2) request.
//
// The order is the defence: what costs nothing (method, size, content type) is checked
// before any authentication work (no secret fetch, no HMAC of an anonymous 6 MB body);
// nothing is stored before authentication; and the one write is bounded below the
// invocation's deadline, so a slow table answers 503 (the vendor retries) instead of a
// Lambda timeout after a write that may or may not have happened.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	log := slog.With("provider", h.provider, "requestId", req.RequestContext.RequestID)
	if resp, ok := refuseBefore(req); !ok {
		return resp, nil
	}
	body, bodyOK := rawBody(req)
	if len(body) > MaxBodyBytes {
		return tooLarge(), nil
	}
	if !apigw.JSONContentType(apigw.Header(req.Headers, "content-type")) {
		return apigw.Error(http.StatusUnsupportedMediaType, "unsupported_media_type", "content type must be application/json"), nil
	}

	wctx, cancel := h.bounded(ctx)
	defer cancel()
	// Checked on the raw bytes, before parsing: a body signature covers them exactly.
	ar := webhookauth.Request{Headers: apigw.LowerHeaders(req.Headers), SourceIP: req.RequestContext.HTTP.SourceIP, Body: body}
	signer, resp, ok := h.authenticate(ctx, wctx, log, ar)
	if !ok {
		return resp, nil
	}

	if !bodyOK {
		return apigw.Error(http.StatusBadRequest, "invalid_body", "body is not valid base64"), nil
	}

	ev, err := h.parse(body)
	if err == nil {
		err = checkIDs(ev)
	}
	if err != nil {
		return h.quarantine(ctx, wctx, log, body, err), nil
	}

	addAttributes(&ev, signer)
	res, err := h.inbox.Accept(wctx, ev)
	if err != nil {
		log.ErrorContext(ctx, "store webhook", "eventId", ev.EventID, "journeyId", ev.JourneyID, "event", ev.Name, "error", err)
		if wctx.Err() != nil {
			return h.unavailable(ctx), nil
		}
		return internalError(), nil
	}
	log.InfoContext(ctx, "webhook "+string(res.Status),
		"eventId", ev.EventID, "journeyId", ev.JourneyID, "event", ev.Name, "processable", ev.Processable)
	h.count(ctx, metricFor(res.Status), "")
	if !ev.Processable && res.Status == inbox.Accepted {
		h.count(ctx, "UnprocessableEvents", "") // a kind or name this version does not know
	}
	out := accepted{Status: res.Status, EventID: res.EventID}
	if !res.Processable {
		out.Processable = &res.Processable
	}
	return apigw.JSON(http.StatusOK, out), nil
}

// refuseBefore refuses a request before anything is read of it: not a POST, too large (the
// encoded length first: an oversize body is not even decoded), or not JSON; ok false
// carries the response.
func refuseBefore(req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, bool) {
	if m := req.RequestContext.HTTP.Method; m != "" && m != http.MethodPost {
		return apigw.Error(http.StatusMethodNotAllowed, "method_not_allowed", "use POST"), false
	}
	// The encoded length first: an oversize body is not even decoded. A body that is not
	// valid base64 is refused only once the caller is authenticated.
	maxLen := MaxBodyBytes
	if req.IsBase64Encoded {
		maxLen = base64.StdEncoding.EncodedLen(MaxBodyBytes)
	}
	if len(req.Body) > maxLen {
		return tooLarge(), false
	}
	return events.APIGatewayV2HTTPResponse{}, true
}

// authenticate checks the caller on the raw request (with the signer's attributes when the
// authenticator gives them); ok false carries the response.
func (h *Handler) authenticate(ctx, wctx context.Context, log *slog.Logger, ar webhookauth.Request) (map[string]string, events.APIGatewayV2HTTPResponse, bool) {
	var signer map[string]string
	var err error
	if at, ok := h.auth.(Attributor); ok {
		signer, err = at.Attributes(wctx, ar)
	} else {
		err = h.auth.Check(wctx, ar)
	}
	switch {
	case errors.Is(err, webhookauth.ErrForbiddenSource):
		h.count(ctx, "AuthFailures", "forbidden_source")
		log.WarnContext(ctx, "webhook from a source outside the allow-list")
		return nil, apigw.Error(http.StatusForbidden, "forbidden", "source address not allowed"), false
	case errors.Is(err, webhookauth.ErrUnauthenticated):
		h.count(ctx, "AuthFailures", "bad_credentials")
		log.WarnContext(ctx, "webhook with missing or wrong credentials")
		return nil, apigw.Error(http.StatusUnauthorized, "unauthorized", "missing or invalid credentials"), false
	case err != nil && wctx.Err() != nil:
		log.ErrorContext(ctx, "authenticate webhook: out of time", "error", err)
		return nil, h.unavailable(ctx), false
	case err != nil:
		log.ErrorContext(ctx, "authenticate webhook", "error", err)
		return nil, internalError(), false
	}
	return signer, events.APIGatewayV2HTTPResponse{}, true
}

// quarantine keeps a malformed webhook (redacted) and answers which field is wrong.
func (h *Handler) quarantine(ctx, wctx context.Context, log *slog.Logger, body []byte, err error) events.APIGatewayV2HTTPResponse {
	field, msg := "body", "body is not a valid webhook"
	var fe *kyc.FieldError
	if errors.As(err, &fe) {
		field, msg = fe.FieldName(), fe.Error()
	}
	kept := body
	if h.Redactor != nil {
		kept = h.Redactor(body)
	}
	hash, qerr := h.inbox.Quarantine(wctx, h.provider, kept, msg)
	if qerr != nil {
		log.ErrorContext(ctx, "quarantine malformed webhook", "error", qerr)
		if wctx.Err() != nil {
			return h.unavailable(ctx)
		}
		return internalError()
	}
	log.WarnContext(ctx, "malformed webhook quarantined", "field", field, "bodyHash", hash)
	return apigw.FieldError(field, msg)
}

// addAttributes adds the signer's attributes to ev.
func addAttributes(ev *inbox.Event, signer map[string]string) {
	if len(signer) > 0 {
		if ev.Attributes == nil {
			ev.Attributes = map[string]string{}
		}
		for k, v := range signer {
			ev.Attributes[k] = v
		}
	}
}

func metricFor(s inbox.Status) string {
	if s == inbox.Duplicate {
		return "Duplicates"
	}
	return "DeliveriesAccepted"
}

func (h *Handler) count(ctx context.Context, name, reason string) {
	if h.counter == nil {
		return
	}
	dims := map[string]string{"provider": h.provider}
	if reason != "" {
		dims["reason"] = reason
	}
	h.counter.Count(ctx, name, dims)
}

func tooLarge() events.APIGatewayV2HTTPResponse {
	return apigw.Error(http.StatusRequestEntityTooLarge, "too_large", "body exceeds 262144 bytes")
}

func internalError() events.APIGatewayV2HTTPResponse {
	return apigw.Error(http.StatusInternalServerError, "internal", "internal error, retry later")
}

func rawBody(req events.APIGatewayV2HTTPRequest) ([]byte, bool) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), true
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	return b, err == nil
}
