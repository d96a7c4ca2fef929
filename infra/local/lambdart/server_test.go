package lambdart

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runtimeClient plays the runtime's side of the Runtime API with plain HTTP requests.
type runtimeClient struct {
	t    *testing.T
	base string
}

func newRuntimeClient(t *testing.T, s *Server) runtimeClient {
	return runtimeClient{t: t, base: "http://" + s.Addr() + "/2018-06-01/runtime"}
}

// next takes the next invocation; it fails the test if none comes within a few seconds.
func (c runtimeClient) next() (id string, h http.Header, body []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/invocation/next", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("GET next: %v", err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET next = %d %s, want 200", resp.StatusCode, body)
	}
	return resp.Header.Get(HeaderRequestID), resp.Header, body
}

func (c runtimeClient) post(path, errorType string, body []byte) int {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(body))
	if errorType != "" {
		req.Header.Set(HeaderErrorType, errorType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

type result struct {
	out []byte
	err error
}

func invokeAsync(s *Server, ctx context.Context, payload string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := s.Invoke(ctx, []byte(payload))
		ch <- result{out, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Invoke did not return")
		return result{}
	}
}

func newServer(t *testing.T) *Server {
	t.Helper()
	s, err := NewServer(ServerConfig{FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:f", Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestInvocationHeadersAndPayload(t *testing.T) {
	s := newServer(t)
	c := newRuntimeClient(t, s)
	if !s.FirstNext().IsZero() || !s.FirstResult().IsZero() {
		t.Fatal("first next/result set before any call")
	}
	before := time.Now()
	ch := invokeAsync(s, context.Background(), `{"a":1}`)
	id, h, body := c.next()
	if string(body) != `{"a":1}` {
		t.Errorf("payload = %s, want {\"a\":1}", body)
	}
	if len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Errorf("request id = %q, want a UUID", id)
	}
	deadline, err := strconv.ParseInt(h.Get(HeaderDeadline), 10, 64)
	if err != nil || deadline < before.Add(29*time.Second).UnixMilli() || deadline > time.Now().Add(30*time.Second).UnixMilli() {
		t.Errorf("deadline = %q, want now + 30 s in epoch ms", h.Get(HeaderDeadline))
	}
	if got := h.Get(HeaderFunctionARN); got != "arn:aws:lambda:us-east-1:123456789012:function:f" {
		t.Errorf("function arn = %q", got)
	}
	if got := h.Get(HeaderTraceID); !strings.HasPrefix(got, "Root=1-") {
		t.Errorf("trace id = %q, want Root=1-...", got)
	}
	if code := c.post("/invocation/"+id+"/response", "", []byte(`{"ok":true}`)); code != http.StatusAccepted {
		t.Errorf("POST response = %d, want 202", code)
	}
	if r := wait(t, ch); r.err != nil || string(r.out) != `{"ok":true}` {
		t.Errorf("Invoke() = %s, %v; want {\"ok\":true}", r.out, r.err)
	}
	if s.FirstNext().IsZero() || s.FirstResult().Before(s.FirstNext()) {
		t.Errorf("first next %v, first result %v: want both set, in order", s.FirstNext(), s.FirstResult())
	}
	// The request id is finished: a second answer is refused.
	if code := c.post("/invocation/"+id+"/response", "", []byte(`{}`)); code != http.StatusBadRequest {
		t.Errorf("second POST response = %d, want 400", code)
	}
}

func TestAnswers(t *testing.T) {
	big := bytes.Repeat([]byte("x"), MaxResponseSize+1)
	tests := []struct {
		name      string
		path      string // after /invocation/<id>
		errorType string
		body      []byte
		wantCode  int
		wantOut   string
		wantErr   *FunctionError
	}{
		{"response", "/response", "", []byte(`"hi"`), 202, `"hi"`, nil},
		{"empty response", "/response", "", nil, 202, ``, nil},
		{"function error with type header", "/error", "Function.Boom", []byte(`{"errorMessage":"boom","errorType":"errorString"}`), 202, "",
			&FunctionError{Type: "Function.Boom", Message: "boom"}},
		{"function error without header", "/error", "", []byte(`{"errorMessage":"boom","errorType":"errorString"}`), 202, "",
			&FunctionError{Type: "errorString", Message: "boom"}},
		{"function error not JSON", "/error", "", []byte(`oops`), 202, "", &FunctionError{Type: "Unknown"}},
		{"response too large", "/response", "", big, 413, "", &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: "response payload over 6291456 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			c := newRuntimeClient(t, s)
			ch := invokeAsync(s, context.Background(), `{}`)
			id, _, _ := c.next()
			if code := c.post("/invocation/"+id+tt.path, tt.errorType, tt.body); code != tt.wantCode {
				t.Errorf("POST %s = %d, want %d", tt.path, code, tt.wantCode)
			}
			r := wait(t, ch)
			if tt.wantErr == nil {
				if r.err != nil || string(r.out) != tt.wantOut {
					t.Errorf("Invoke() = %q, %v; want %q", r.out, r.err, tt.wantOut)
				}
				return
			}
			var fe *FunctionError
			if !errors.As(r.err, &fe) || fe.Type != tt.wantErr.Type || fe.Message != tt.wantErr.Message || fe.Init {
				t.Errorf("Invoke() error = %#v, want %+v", r.err, tt.wantErr)
			}
		})
	}
}

func TestUnknownRequestID(t *testing.T) {
	s := newServer(t)
	c := newRuntimeClient(t, s)
	for _, path := range []string{"/invocation/nope/response", "/invocation/nope/error"} {
		if code := c.post(path, "", []byte(`{}`)); code != http.StatusBadRequest {
			t.Errorf("POST %s = %d, want 400", path, code)
		}
	}
}

func TestInitErrorFailsPendingAndLaterInvocations(t *testing.T) {
	s := newServer(t)
	c := newRuntimeClient(t, s)
	ch := invokeAsync(s, context.Background(), `{}`)
	if code := c.post("/init/error", "Runtime.ConfigError", []byte(`{"errorMessage":"TABLE_NAME is required","errorType":"Runtime.ConfigError"}`)); code != http.StatusAccepted {
		t.Errorf("POST init/error = %d, want 202", code)
	}
	for i, r := range []result{wait(t, ch), wait(t, invokeAsync(s, context.Background(), `{}`))} {
		var fe *FunctionError
		if !errors.As(r.err, &fe) || !fe.Init || fe.Type != "Runtime.ConfigError" || fe.Message != "TABLE_NAME is required" {
			t.Errorf("invocation %d: error = %v, want the init error", i, r.err)
		}
	}
}

func TestAbandonedInvocationIsSkipped(t *testing.T) {
	s := newServer(t)
	c := newRuntimeClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	first := invokeAsync(s, ctx, `"first"`)
	// Let the first one reach the queue before cancelling it.
	time.Sleep(50 * time.Millisecond)
	cancel()
	if r := wait(t, first); !errors.Is(r.err, context.Canceled) {
		t.Errorf("cancelled Invoke() error = %v, want context.Canceled", r.err)
	}
	second := invokeAsync(s, context.Background(), `"second"`)
	id, _, body := c.next()
	if string(body) != `"second"` {
		t.Errorf("next payload = %s, want the second invocation", body)
	}
	c.post("/invocation/"+id+"/response", "", []byte(`2`))
	if r := wait(t, second); r.err != nil || string(r.out) != "2" {
		t.Errorf("Invoke() = %s, %v", r.out, r.err)
	}
}

func TestShutdownFailsQueuedAndInFlight(t *testing.T) {
	s := newServer(t)
	c := newRuntimeClient(t, s)
	inflight := invokeAsync(s, context.Background(), `1`)
	c.next()
	queued := invokeAsync(s, context.Background(), `2`)
	time.Sleep(50 * time.Millisecond)
	reason := errors.New("process exited: signal: killed")
	s.Shutdown(reason)
	for name, ch := range map[string]<-chan result{"in flight": inflight, "queued": queued} {
		if r := wait(t, ch); !errors.Is(r.err, ErrClosed) || !errors.Is(r.err, reason) {
			t.Errorf("%s: error = %v, want ErrClosed with the reason", name, r.err)
		}
	}
	if _, err := s.Invoke(context.Background(), []byte(`3`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke() after Shutdown = %v, want ErrClosed", err)
	}
	// A runtime still polling is told the API is gone, not left hanging.
	resp, err := http.Get(c.base + "/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("GET next after Shutdown = %d, want 410", resp.StatusCode)
	}
}

func TestConcurrentInvokesAreServedOneAtATime(t *testing.T) {
	s := newServer(t)
	c := newRuntimeClient(t, s)
	const n = 20
	var chans []<-chan result
	for i := range n {
		chans = append(chans, invokeAsync(s, context.Background(), strconv.Itoa(i)))
	}
	seen := map[string]bool{}
	for range n {
		id, _, body := c.next()
		seen[string(body)] = true
		c.post("/invocation/"+id+"/response", "", body)
	}
	for i, ch := range chans {
		if r := wait(t, ch); r.err != nil || string(r.out) != strconv.Itoa(i) {
			t.Errorf("invocation %d = %s, %v; want its own payload back", i, r.out, r.err)
		}
	}
	if len(seen) != n {
		t.Errorf("distinct payloads handed out = %d, want %d", len(seen), n)
	}
}

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"linux status", "Name:\tbootstrap\nVmPeak:\t  1265300 kB\nVmHWM:\t    18432 kB\nVmRSS:\t    17000 kB\n", 18432 * 1024, false},
		{"missing", "Name:\tbootstrap\nVmRSS:\t    17000 kB\n", 0, true},
		{"odd unit", "VmHWM:\t 18 MB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmHWM(strings.NewReader(tt.status))
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("parseVmHWM() = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestFunctionErrorMessage(t *testing.T) {
	for _, tt := range []struct {
		err  *FunctionError
		want string
	}{
		{&FunctionError{Type: "errorString", Message: "boom"}, "function error errorString: boom"},
		{&FunctionError{Init: true, Type: "Runtime.ConfigError", Message: "x"}, "init error Runtime.ConfigError: x"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
