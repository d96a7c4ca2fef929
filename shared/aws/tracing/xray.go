// Package tracing records AWS SDK calls and outbound HTTP calls (the vendor APIs) as
// X-Ray subsegments of the Lambda invocation's segment. It speaks the X-Ray daemon's UDP
// protocol directly, which keeps the binaries small (the X-Ray SDK pulls in the v1 AWS
// SDK and gRPC). Without a daemon address (locally, in tests) it does nothing.
package tracing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Emitter sends subsegments to the X-Ray daemon. A nil *Emitter is valid and does nothing.
type Emitter struct {
	conn net.Conn
	now  func() time.Time
}

// New returns an Emitter for the daemon at AWS_XRAY_DAEMON_ADDRESS (set by Lambda when
// tracing is active), or nil when there is none.
func New(getenv func(string) string) *Emitter {
	addr := getenv("AWS_XRAY_DAEMON_ADDRESS")
	if addr == "" {
		return nil
	}
	if i := strings.LastIndex(addr, " "); i >= 0 { // "tcp:host:port udp:host:port" form
		for _, part := range strings.Fields(addr) {
			if rest, ok := strings.CutPrefix(part, "udp:"); ok {
				addr = rest
			}
		}
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return nil
	}
	return &Emitter{conn: conn, now: time.Now}
}

// header is the parsed X-Amzn-Trace-Id of the invocation.
type header struct{ root, parent string }

// traceHeader reads the invocation's trace header, which aws-lambda-go puts in the
// context. ok is false when there is none or the request is not sampled.
func traceHeader(ctx context.Context) (header, bool) {
	v, _ := ctx.Value("x-amzn-trace-id").(string)
	var h header
	sampled := false
	for _, part := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			h.root = val
		case "Parent":
			h.parent = val
		case "Sampled":
			sampled = val == "1"
		}
	}
	return h, sampled && h.root != "" && h.parent != ""
}

// Subsegment is one recorded call.
type Subsegment struct {
	Name      string         `json:"name"`
	ID        string         `json:"id"`
	TraceID   string         `json:"trace_id"`
	ParentID  string         `json:"parent_id"`
	StartTime float64        `json:"start_time"`
	EndTime   float64        `json:"end_time"`
	Type      string         `json:"type"`
	Namespace string         `json:"namespace"`
	AWS       map[string]any `json:"aws,omitempty"`
	HTTP      map[string]any `json:"http,omitempty"`
	Error     bool           `json:"error,omitempty"`
	Fault     bool           `json:"fault,omitempty"`
}

func (e *Emitter) emit(s Subsegment) {
	b, err := json.Marshal(s)
	if err != nil {
		return
	}
	_, _ = e.conn.Write(append([]byte("{\"format\":\"json\",\"version\":1}\n"), b...))
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// flags turns an HTTP status and an error into X-Ray's error (4xx) and fault (5xx, no answer).
func flags(status int, err error) (isError, isFault bool) {
	switch {
	case status >= 500 || (err != nil && status == 0):
		return false, true
	case status >= 400:
		return true, false
	}
	return false, false
}

// Instrument records every call of the SDK clients built from cfg (retries included) as
// a subsegment named after the service, with the operation and the request id.
func (e *Emitter) Instrument(cfg *aws.Config) {
	if e == nil {
		return
	}
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("XRaySubsegment",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				h, ok := traceHeader(ctx)
				if !ok {
					return next.HandleInitialize(ctx, in)
				}
				start := e.now()
				out, md, err := next.HandleInitialize(ctx, in)
				status := 0
				if raw, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && raw != nil {
					status = raw.StatusCode
				}
				reqID, _ := awsmiddleware.GetRequestIDMetadata(md)
				isErr, isFault := flags(status, err)
				e.emit(Subsegment{
					Name: awsmiddleware.GetServiceID(ctx), ID: newID(), TraceID: h.root, ParentID: h.parent,
					StartTime: seconds(start), EndTime: seconds(e.now()), Type: "subsegment", Namespace: "aws",
					AWS:  map[string]any{"operation": awsmiddleware.GetOperationName(ctx), "region": awsmiddleware.GetRegion(ctx), "request_id": reqID},
					HTTP: map[string]any{"response": map[string]any{"status": status}}, Error: isErr, Fault: isFault,
				})
				return out, md, err
			}), middleware.Before)
	})
}

// Transport records each request through next as a remote subsegment called name (for
// example "IDWise"): method, URL without query, status.
func (e *Emitter) Transport(name string, next http.RoundTripper) http.RoundTripper {
	if e == nil {
		return next
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{e: e, name: name, next: next}
}

type roundTripper struct {
	e    *Emitter
	name string
	next http.RoundTripper
}

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	h, ok := traceHeader(r.Context())
	if !ok {
		return rt.next.RoundTrip(r)
	}
	start := rt.e.now()
	resp, err := rt.next.RoundTrip(r)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	u := *r.URL
	u.RawQuery, u.User = "", nil
	isErr, isFault := flags(status, err)
	rt.e.emit(Subsegment{
		Name: rt.name, ID: newID(), TraceID: h.root, ParentID: h.parent,
		StartTime: seconds(start), EndTime: seconds(rt.e.now()), Type: "subsegment", Namespace: "remote",
		HTTP:  map[string]any{"request": map[string]any{"method": r.Method, "url": u.String()}, "response": map[string]any{"status": status}},
		Error: isErr, Fault: isFault,
	})
	return resp, err
}
