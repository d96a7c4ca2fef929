// Package webhook is the HTTP edge for vendor webhooks: it authenticates a delivery,
// checks size and content type, parses it with the vendor's parser and hands it to the
// inbox. It answers 200 only once the event is durable.
package webhook

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/apigw"
	"github.com/kycbackend/kyc/shared/inbox"
	"github.com/kycbackend/kyc/shared/webhookauth"
)

// MaxBodyBytes is the largest body accepted (256 KiB): IDWise webhooks are a few hundred
// bytes, and an inbox item must stay well under DynamoDB's 400 KB item limit.
const MaxBodyBytes = 256 << 10

// Authenticator checks a delivery's credentials and source.
type Authenticator interface {
	Check(ctx context.Context, r webhookauth.Request) error
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

// Parser turns a raw body into an inbox event. Its errors must satisfy FieldError to
// name the offending field; any error means the body is malformed.
type Parser func(raw []byte) (inbox.Event, error)

// FieldError is implemented by parse errors that can name the offending field.
type FieldError interface {
	error
	FieldName() string
}

// Handler serves one vendor's webhook route.
type Handler struct {
	provider string
	auth     Authenticator
	inbox    Inbox
	parse    Parser
	counter  Counter
	// Redactor, when set, removes personal data from a body before it is quarantined
	// (Veriff: person, document, technicalData); the parser does the same for the inbox.
	Redactor func([]byte) []byte
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
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	log := slog.With("provider", h.provider, "requestId", req.RequestContext.RequestID)
	if m := req.RequestContext.HTTP.Method; m != "" && m != http.MethodPost {
		return apigw.Error(http.StatusMethodNotAllowed, "method_not_allowed", "use POST"), nil
	}

	// Decoded before auth so that a body signature is checked on the raw bytes; a body
	// that is not valid base64 is refused only once the caller is authenticated.
	body, bodyOK := rawBody(req)
	err := h.auth.Check(ctx, webhookauth.Request{Headers: req.Headers, SourceIP: req.RequestContext.HTTP.SourceIP, Body: body})
	switch {
	case errors.Is(err, webhookauth.ErrForbiddenSource):
		h.count(ctx, "AuthFailures", "forbidden_source")
		log.WarnContext(ctx, "webhook from a source outside the allow-list")
		return apigw.Error(http.StatusForbidden, "forbidden", "source address not allowed"), nil
	case errors.Is(err, webhookauth.ErrUnauthenticated):
		h.count(ctx, "AuthFailures", "bad_credentials")
		log.WarnContext(ctx, "webhook with missing or wrong credentials")
		return apigw.Error(http.StatusUnauthorized, "unauthorized", "missing or invalid credentials"), nil
	case err != nil:
		log.ErrorContext(ctx, "authenticate webhook", "error", err)
		return internalError(), nil
	}

	if !bodyOK {
		return apigw.Error(http.StatusBadRequest, "invalid_body", "body is not valid base64"), nil
	}
	if len(body) > MaxBodyBytes {
		return apigw.Error(http.StatusRequestEntityTooLarge, "too_large", "body exceeds 262144 bytes"), nil
	}
	if !jsonContentType(headerValue(req.Headers, "content-type")) {
		return apigw.Error(http.StatusUnsupportedMediaType, "unsupported_media_type", "content type must be application/json"), nil
	}

	ev, err := h.parse(body)
	if err != nil {
		field, msg := "body", "body is not a valid webhook"
		var fe FieldError
		if errors.As(err, &fe) {
			field, msg = fe.FieldName(), fe.Error()
		}
		kept := body
		if h.Redactor != nil {
			kept = h.Redactor(body)
		}
		hash, qerr := h.inbox.Quarantine(ctx, h.provider, kept, msg)
		if qerr != nil {
			log.ErrorContext(ctx, "quarantine malformed webhook", "error", qerr)
			return internalError(), nil
		}
		log.WarnContext(ctx, "malformed webhook quarantined", "field", field, "bodyHash", hash)
		return apigw.FieldError(field, msg), nil
	}

	res, err := h.inbox.Accept(ctx, ev)
	if err != nil {
		log.ErrorContext(ctx, "store webhook", "eventId", ev.EventID, "journeyId", ev.JourneyID, "event", ev.Name, "error", err)
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

// jsonContentType accepts application/json and any +json type. A missing content type
// is tolerated (the body must still parse as JSON): refusing it could lose a real event.
func jsonContentType(v string) bool {
	if strings.TrimSpace(v) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

func headerValue(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
