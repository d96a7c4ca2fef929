package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// messagesPath is the runner's own route, never deployed: what went out through SNS.
const messagesPath = "/_local/messages"

// Kinds of recorded messages.
const (
	kindStatusEvent = "status_event" // published on a topic of the template
	kindPush        = "push"         // published to a device's platform endpoint
)

// localMessage is one SNS Publish the runner saw, as GET /_local/messages lists it.
type localMessage struct {
	Seq        int               `json:"seq"`
	At         time.Time         `json:"at"`
	Kind       string            `json:"kind"`
	Topic      string            `json:"topic,omitempty"`     // status_event: the topic's logical ID
	TopicARN   string            `json:"topicArn,omitempty"`  // status_event
	TargetARN  string            `json:"targetArn,omitempty"` // push: the endpoint
	MessageID  string            `json:"messageId,omitempty"` // SNS's, when the publish succeeded
	Error      string            `json:"error,omitempty"`     // push: the SNS error code (EndpointDisabled, ...)
	Attributes map[string]string `json:"attributes,omitempty"`
	// Message is the published message: a status event's JSON, or a push's per-platform
	// message (MessageStructure json) with each platform payload decoded from its string.
	Message json.RawMessage `json:"message"`
}

// recorder keeps the status events published on the template's topics and the pushes
// sent to device endpoints, oldest first, by watching the SNS Publish calls of every
// client built from the runner's aws.Config (the functions' included). Memory only, the
// most recent maxRecorded.
type recorder struct {
	mu     sync.Mutex
	seq    int
	list   []localMessage
	topics map[string]string // topic ARN -> logical ID
	onPush func(localMessage)
}

const maxRecorded = 1000

func newRecorder() *recorder { return &recorder{topics: map[string]string{}} }

// watchTopics sets the topics whose publishes are status events (ARN by logical ID).
func (r *recorder) watchTopics(topics map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, arn := range topics {
		r.topics[arn] = id
	}
}

// apiOption is an aws.Config APIOptions entry: it records SNS Publish calls to a topic of
// the template (successful ones) and to a platform endpoint (TargetArn; with the error
// code when SNS refused it).
func (r *recorder) apiOption(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("localMessages",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if awsmiddleware.GetServiceID(ctx) != "SNS" || awsmiddleware.GetOperationName(ctx) != "Publish" {
				return out, md, err
			}
			if pin, ok := in.Parameters.(*sns.PublishInput); ok {
				pout, _ := out.Result.(*sns.PublishOutput)
				r.record(pin, pout, err)
			}
			return out, md, err
		}), middleware.After)
}

func (r *recorder) record(in *sns.PublishInput, out *sns.PublishOutput, err error) {
	m := localMessage{At: time.Now().UTC()}
	if out != nil && out.MessageId != nil {
		m.MessageID = *out.MessageId
	}
	body := deref(in.Message)
	r.mu.Lock()
	topic, isTopic := r.topics[deref(in.TopicArn)]
	r.mu.Unlock()
	switch {
	case isTopic && err == nil:
		m.Kind, m.Topic, m.TopicARN = kindStatusEvent, topic, deref(in.TopicArn)
		m.Message = jsonOrString(body)
		for k, v := range in.MessageAttributes {
			if m.Attributes == nil {
				m.Attributes = map[string]string{}
			}
			m.Attributes[k] = deref(v.StringValue)
		}
	case in.TargetArn != nil:
		m.Kind, m.TargetARN = kindPush, *in.TargetArn
		m.Message = decodeStructured(body, deref(in.MessageStructure))
		if err != nil {
			m.Error = "error"
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) {
				m.Error = apiErr.ErrorCode()
			}
		}
	default:
		return
	}
	r.mu.Lock()
	r.seq++
	m.Seq = r.seq
	r.list = append(r.list, m)
	if len(r.list) > maxRecorded {
		r.list = r.list[len(r.list)-maxRecorded:]
	}
	onPush := r.onPush
	r.mu.Unlock()
	if m.Kind == kindPush && onPush != nil {
		onPush(m)
	}
}

// ServeHTTP answers GET /_local/messages: {"messages": [...]}, oldest first. ?kind=push or
// ?kind=status_event keeps one kind.
func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	kind := req.URL.Query().Get("kind")
	r.mu.Lock()
	list := make([]localMessage, 0, len(r.list))
	for _, m := range r.list {
		if kind == "" || m.Kind == kind {
			list = append(list, m)
		}
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"messages": list})
}

// decodeStructured turns a MessageStructure json message ({"default": "...", "APNS":
// "<json>"}) into one JSON object with each platform's payload decoded.
func decodeStructured(body, structure string) json.RawMessage {
	if structure != "json" {
		return jsonOrString(body)
	}
	var m map[string]string
	if json.Unmarshal([]byte(body), &m) != nil {
		return jsonOrString(body)
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		if k == "default" {
			out[k] = jsonString(v)
			continue
		}
		out[k] = jsonOrString(v)
	}
	b, _ := json.Marshal(out)
	return b
}

func jsonOrString(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return jsonString(s)
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// pushLine is the timeline text of a push: the endpoint's platform and id, the status,
// and the outcome.
func pushLine(m localMessage) string {
	var msg map[string]json.RawMessage
	_ = json.Unmarshal(m.Message, &msg)
	var data struct{ Status, StatusEventID string }
	for k, v := range msg {
		if k == "default" {
			continue
		}
		var p struct {
			Status        string `json:"status"`
			StatusEventID string `json:"statusEventId"`
			FCM           *struct {
				Message struct {
					Data struct {
						Status        string `json:"status"`
						StatusEventID string `json:"statusEventId"`
					} `json:"data"`
				} `json:"message"`
			} `json:"fcmV1Message"`
		}
		_ = json.Unmarshal(v, &p)
		data.Status, data.StatusEventID = p.Status, p.StatusEventID
		if p.FCM != nil {
			data.Status, data.StatusEventID = p.FCM.Message.Data.Status, p.FCM.Message.Data.StatusEventID
		}
	}
	outcome := "sent"
	if m.Error != "" {
		outcome = "refused: " + m.Error
	}
	endpoint := m.TargetARN
	if i := strings.Index(endpoint, ":endpoint/"); i >= 0 {
		endpoint = endpoint[i+len(":endpoint/"):]
	}
	return fmt.Sprintf("%s: %s (status event %s) %s", endpoint, data.Status, data.StatusEventID, outcome)
}
