// Package lambdart runs a function's real bootstrap binary the way Lambda (and `sam local
// invoke` inside its container) does: it serves the Lambda Runtime API (version
// 2018-06-01) on a loopback port, starts the bootstrap with AWS_LAMBDA_RUNTIME_API pointing
// at it, hands it one invocation at a time through GET .../invocation/next, and collects
// what it posts to .../invocation/{id}/response, .../invocation/{id}/error and
// .../init/error. It measures the cold start (process start to the first /next call, and
// to the first response) and reads the process's peak RSS.
//
// Binaries built with -tags lambda.norpc speak only this API (aws-lambda-go's
// runtime_api_client.go), so what answers here is what would answer in Lambda.
package lambdart

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Runtime API paths (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	apiPrefix    = "/2018-06-01/runtime"
	pathNext     = apiPrefix + "/invocation/next"
	pathResponse = apiPrefix + "/invocation/{id}/response"
	pathError    = apiPrefix + "/invocation/{id}/error"
	pathInit     = apiPrefix + "/init/error"
)

// Runtime API headers sent with each invocation, and the error type header a runtime
// sends with an error.
const (
	HeaderRequestID   = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadline    = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID     = "Lambda-Runtime-Trace-Id"
	HeaderErrorType   = "Lambda-Runtime-Function-Error-Type"
)

// MaxResponseSize is Lambda's limit on a synchronous response payload (6 MB).
const MaxResponseSize = 6 * 1024 * 1024

// ErrClosed is returned by Invoke once the server is closed or its process has exited.
var ErrClosed = errors.New("runtime api closed")

// FunctionError is what the function reported instead of a response: an invocation error
// (POST .../invocation/{id}/error) or an initialization error (POST .../init/error).
type FunctionError struct {
	Init    bool   // reported through /init/error
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
	Body    []byte `json:"-"` // the payload as posted
}

func (e *FunctionError) Error() string {
	kind := "function error"
	if e.Init {
		kind = "init error"
	}
	return fmt.Sprintf("%s %s: %s", kind, e.Type, e.Message)
}

// ServerConfig describes the function to the runtime, as Lambda's invocation headers do.
type ServerConfig struct {
	FunctionARN string        // Lambda-Runtime-Invoked-Function-Arn
	Timeout     time.Duration // the deadline is now + Timeout when the invocation is handed out; 0: 3 s (Lambda's default)
}

// invocation is one queued or in-flight invoke.
type invocation struct {
	id      string
	payload []byte
	ctx     context.Context
	done    chan struct{} // closed once resp or err is set
	resp    []byte
	err     error
}

// Server is a Lambda Runtime API endpoint for one function process. It hands out one
// queued invocation per GET .../next, in the order Invoke was called; like Lambda, a
// single-concurrency runtime takes the next one only after answering the previous one.
// It is safe for concurrent use.
type Server struct {
	cfg ServerConfig
	ln  net.Listener
	srv *http.Server

	queue  chan *invocation
	closed chan struct{}

	mu          sync.Mutex
	inflight    map[string]*invocation
	closeErr    error // why the server stopped (nil while open)
	initErr     *FunctionError
	firstNext   time.Time
	firstResult time.Time
}

// NewServer listens on a free loopback port and serves the Runtime API until Close.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		ln:       ln,
		queue:    make(chan *invocation, 1024),
		closed:   make(chan struct{}),
		inflight: map[string]*invocation{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathNext, s.next)
	mux.HandleFunc("POST "+pathResponse, s.response)
	mux.HandleFunc("POST "+pathError, s.invocationError)
	mux.HandleFunc("POST "+pathInit, s.initError)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Invoke queues payload as one invocation and waits for the function's answer. It
// returns the response payload, a *FunctionError when the function reported an error
// (or had reported an init error), or ErrClosed (wrapped with the reason) when the server
// stopped first, e.g. because the process exited. When ctx ends first, the invocation is
// abandoned (a late answer is ignored) and ctx's error is returned.
func (s *Server) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	inv := &invocation{id: newID(), payload: payload, ctx: ctx, done: make(chan struct{})}
	s.mu.Lock()
	err := s.stoppedErr()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case s.queue <- inv:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.closed:
		return nil, s.Err()
	}
	select {
	case <-inv.done:
		return inv.resp, inv.err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.inflight, inv.id)
		s.mu.Unlock()
		return nil, ctx.Err()
	case <-s.closed:
		// The answer may have arrived just before the close.
		select {
		case <-inv.done:
			return inv.resp, inv.err
		default:
			return nil, s.Err()
		}
	}
}

// stoppedErr is the error for a new invocation; s.mu is held.
func (s *Server) stoppedErr() error {
	if s.initErr != nil {
		return s.initErr
	}
	return s.closeErr
}

// Err is nil while the server takes invocations, else why it stopped: the init error the
// function reported, or ErrClosed wrapped with the reason given to Shutdown.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stoppedErr()
}

// FirstNext is when the runtime first asked for an invocation (its init was done); zero
// until then.
func (s *Server) FirstNext() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstNext
}

// FirstResult is when the first response or invocation error arrived; zero until then.
func (s *Server) FirstResult() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstResult
}

// Shutdown stops taking invocations and fails the queued and in-flight ones with
// ErrClosed wrapped with reason (nil: closed by the caller). The listener stays open
// until Close, so that a runtime still running gets answers, not connection errors.
func (s *Server) Shutdown(reason error) {
	s.mu.Lock()
	if s.closeErr != nil {
		s.mu.Unlock()
		return
	}
	if reason == nil {
		s.closeErr = ErrClosed
	} else {
		s.closeErr = fmt.Errorf("%w: %w", ErrClosed, reason)
	}
	err := s.closeErr
	pending := s.inflight
	s.inflight = map[string]*invocation{}
	close(s.closed)
	s.mu.Unlock()
	for _, inv := range pending {
		inv.finish(nil, err)
	}
	for {
		select {
		case inv := <-s.queue:
			inv.finish(nil, err)
		default:
			return
		}
	}
}

// Close shuts the server down and closes its listener and connections.
func (s *Server) Close() error {
	s.Shutdown(nil)
	return s.srv.Close()
}

func (inv *invocation) finish(resp []byte, err error) {
	inv.resp, inv.err = resp, err
	close(inv.done)
}

// next hands out the next queued invocation, blocking until there is one.
func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	if s.firstNext.IsZero() {
		s.firstNext = now
	}
	s.mu.Unlock()
	for {
		var inv *invocation
		select {
		case inv = <-s.queue:
		case <-s.closed:
			writeStatus(w, http.StatusGone, "runtime api closed")
			return
		case <-r.Context().Done():
			return
		}
		if inv.ctx.Err() != nil {
			continue // abandoned while queued
		}
		s.mu.Lock()
		if s.closeErr != nil {
			s.mu.Unlock()
			inv.finish(nil, s.closeErr)
			writeStatus(w, http.StatusGone, "runtime api closed")
			return
		}
		s.inflight[inv.id] = inv
		s.mu.Unlock()
		deadline := time.Now().Add(s.cfg.Timeout)
		if d, ok := inv.ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set(HeaderRequestID, inv.id)
		h.Set(HeaderDeadline, strconv.FormatInt(deadline.UnixMilli(), 10))
		h.Set(HeaderFunctionARN, s.cfg.FunctionARN)
		h.Set(HeaderTraceID, traceID())
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
		return
	}
}

// take removes the in-flight invocation id and records the first result.
func (s *Server) take(id string) (*invocation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.inflight[id]
	if !ok {
		return nil, false
	}
	delete(s.inflight, id)
	if s.firstResult.IsZero() {
		s.firstResult = time.Now()
	}
	return inv, true
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	body, tooLarge, err := readLimited(r.Body, MaxResponseSize)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "unreadable body")
		return
	}
	inv, ok := s.take(r.PathValue("id"))
	if !ok {
		writeStatus(w, http.StatusBadRequest, "unknown or finished request id")
		return
	}
	if tooLarge {
		inv.finish(nil, &FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("response payload over %d bytes", MaxResponseSize)})
		writeStatus(w, http.StatusRequestEntityTooLarge, "payload too large")
		return
	}
	inv.finish(body, nil)
	writeStatus(w, http.StatusAccepted, "OK")
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	fe, err := readFunctionError(r)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "unreadable body")
		return
	}
	inv, ok := s.take(r.PathValue("id"))
	if !ok {
		writeStatus(w, http.StatusBadRequest, "unknown or finished request id")
		return
	}
	inv.finish(nil, fe)
	writeStatus(w, http.StatusAccepted, "OK")
}

// initError records the init error: every queued, in-flight and later invocation fails
// with it, as Lambda fails the invoke that caused a failed cold start.
func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	fe, err := readFunctionError(r)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "unreadable body")
		return
	}
	fe.Init = true
	s.mu.Lock()
	if s.initErr == nil {
		s.initErr = fe
	}
	s.mu.Unlock()
	writeStatus(w, http.StatusAccepted, "OK")
	s.Shutdown(fe)
}

func readFunctionError(r *http.Request) (*FunctionError, error) {
	body, _, err := readLimited(r.Body, MaxResponseSize)
	if err != nil {
		return nil, err
	}
	fe := &FunctionError{Body: body}
	_ = json.Unmarshal(body, fe) // a runtime may post anything; keep the raw body
	if t := r.Header.Get(HeaderErrorType); t != "" {
		fe.Type = t
	}
	if fe.Type == "" {
		fe.Type = "Unknown"
	}
	return fe, nil
}

// readLimited reads at most limit bytes; tooLarge says there was more.
func readLimited(r io.Reader, limit int64) (body []byte, tooLarge bool, err error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if n > limit {
		_, _ = io.Copy(io.Discard, r)
		return nil, true, nil
	}
	return buf.Bytes(), false, nil
}

// writeStatus answers as the Runtime API does: {"status":"..."} for 202, else an
// {"errorMessage","errorType"} body.
func writeStatus(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if code == http.StatusAccepted {
		_ = json.NewEncoder(w).Encode(map[string]string{"status": msg})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": msg, "errorType": http.StatusText(code)})
}

// newID is a request id in Lambda's UUID form.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// traceID is an X-Ray trace header with a fresh root, not sampled.
func traceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:40])
}
