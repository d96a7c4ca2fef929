package lambdart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/infra/local/lambdart"
)

var echo struct {
	once sync.Once
	path string
	err  error
}

// echoBootstrap builds testdata/echo once, with the functions' flags and tags for this
// machine's architecture.
func echoBootstrap(t testing.TB) string {
	t.Helper()
	echo.once.Do(func() {
		dir, err := os.MkdirTemp("", "lambdart-echo-")
		if err != nil {
			echo.err = err
			return
		}
		echo.path = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", echo.path, "./testdata/echo")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			echo.err = errors.New(string(out))
		}
	})
	if echo.err != nil {
		t.Fatalf("build testdata/echo: %v", echo.err)
	}
	return echo.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if echo.path != "" {
		_ = os.RemoveAll(filepath.Dir(echo.path))
	}
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func startEcho(t *testing.T, env map[string]string) (*lambdart.Process, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	p, err := lambdart.Start(lambdart.Config{Path: echoBootstrap(t), FunctionName: "echo-fn", MemoryMB: 256,
		Timeout: 10 * time.Second, Env: env, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Stop()
		if t.Failed() {
			t.Logf("process output:\n%s", out.String())
		}
	})
	return p, out
}

func invoke(t *testing.T, p *lambdart.Process, payload string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Invoke(ctx, []byte(payload))
}

func TestProcessEnvironment(t *testing.T) {
	t.Setenv("LAMBDART_CALLER_ONLY", "leak")
	p, _ := startEcho(t, map[string]string{"TABLE_NAME": "t1", "AWS_REGION": "eu-west-1"})
	tests := []struct {
		name  string
		want  string
		isSet bool
	}{
		{"TABLE_NAME", "t1", true},
		{"AWS_LAMBDA_FUNCTION_NAME", "echo-fn", true},
		{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256", true},
		{"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST", true},
		{"AWS_LAMBDA_LOG_FORMAT", "JSON", true},
		{"AWS_REGION", "eu-west-1", true},
		{"AWS_DEFAULT_REGION", "eu-west-1", true},
		{"_HANDLER", "bootstrap", true},
		{"LAMBDA_TASK_ROOT", filepath.Dir(echoBootstrap(t)), true},
		{"LAMBDART_CALLER_ONLY", "", false}, // the caller's environment does not leak in
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := invoke(t, p, `{"env":"`+tt.name+`"}`)
			var got struct {
				Value string
				Set   bool
			}
			if err != nil || json.Unmarshal(out, &got) != nil || got.Value != tt.want || got.Set != tt.isSet {
				t.Errorf("%s = %s, %v; want %q (set %v)", tt.name, out, err, tt.want, tt.isSet)
			}
		})
	}
	out, err := invoke(t, p, `{"env":"AWS_LAMBDA_RUNTIME_API"}`)
	if err != nil || !strings.Contains(string(out), `"value":"127.0.0.1:`) {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %s, %v; want the emulator's loopback address", out, err)
	}
}

func TestProcessInvocations(t *testing.T) {
	p, _ := startEcho(t, nil)
	out, err := invoke(t, p, `{"echo":{"n":1}}`)
	if err != nil || string(out) != `{"n":1}` {
		t.Fatalf("echo = %s, %v; want {\"n\":1}", out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := p.ColdStart(ctx)
	if err != nil || cs.Init <= 0 || cs.Invoke <= 0 || cs.FirstResponse < cs.Init || cs.Billed() != cs.Init+cs.Invoke {
		t.Errorf("ColdStart() = %+v, %v; want init and invoke > 0, the first response after the init", cs, err)
	}
	rss, err := p.PeakRSS()
	if err != nil || rss < 1<<20 {
		t.Errorf("PeakRSS() = %d, %v; want at least 1 MiB", rss, err)
	}

	out, err = invoke(t, p, `{"context":true}`)
	var lc struct {
		RequestID        string
		FunctionArn      string
		DeadlineInFuture bool
		TraceID          string
	}
	if err != nil || json.Unmarshal(out, &lc) != nil || len(lc.RequestID) != 36 || !lc.DeadlineInFuture ||
		lc.FunctionArn != "arn:aws:lambda:us-east-1:012345678912:function:echo-fn" {
		// (The emulator passes no X-Ray trace id to the runtime: TraceID stays empty.)
		t.Errorf("context = %s, %v; want the invocation headers in the Lambda context", out, err)
	}

	// A function error is reported, and the process serves the next invocation.
	_, err = invoke(t, p, `{"fail":"no such journey"}`)
	var fe *lambdart.FunctionError
	if !errors.As(err, &fe) || fe.Message != "no such journey" {
		t.Errorf("fail = %v, want a function error with the message", err)
	}
	if out, err := invoke(t, p, `{"echo":2}`); err != nil || string(out) != "2" {
		t.Errorf("echo after an error = %s, %v", out, err)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop() = %v, want nil for a running process", err)
	}
	if _, err := invoke(t, p, `{"echo":3}`); !errors.Is(err, lambdart.ErrClosed) {
		t.Errorf("Invoke() after Stop = %v, want ErrClosed", err)
	}
}

func TestProcessFailures(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		payload   string
		wantType  string // the *FunctionError's type
		wantInits int    // bootstraps started after the failed and one more invocation
	}{
		// A crash ends the execution environment; the next invocation gets a new one.
		{"panic", nil, `{"panic":"bad state"}`, "string", 2},
		{"exit", nil, `{"exit":3}`, "Runtime.ExitError", 2},
		// An init error fails every invocation, each with a new cold start.
		{"init error", map[string]string{"LAMBDART_TEST_INIT_ERROR": "TABLE_NAME is required"}, `{"echo":1}`, "Runtime.ConfigError", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := startEcho(t, tt.env)
			_, err := invoke(t, p, tt.payload)
			var fe *lambdart.FunctionError
			if !errors.As(err, &fe) || fe.Type != tt.wantType {
				t.Errorf("Invoke() = %v, want a function error of type %s", err, tt.wantType)
			}
			out, err := invoke(t, p, `{"echo":1}`)
			if tt.wantInits == 0 {
				if !errors.As(err, &fe) || fe.Type != tt.wantType {
					t.Errorf("Invoke() again = %s, %v, want the init error again", out, err)
				}
				return
			}
			if err != nil || string(out) != "1" {
				t.Errorf("Invoke() after the crash = %s, %v, want 1 from a new bootstrap", out, err)
			}
			if got := p.Inits(); got != tt.wantInits {
				t.Errorf("Inits() = %d, want %d", got, tt.wantInits)
			}
		})
	}
}

// Each invocation has the function's Timeout as its deadline (the template's, as
// TestFunctionBinaries passes it; issue 13 item 12): the handler sees it, and one that
// sleeps past it is ended by the emulator with a timeout.
func TestProcessTimeout(t *testing.T) {
	out := &syncBuffer{}
	p, err := lambdart.Start(lambdart.Config{Path: echoBootstrap(t), FunctionName: "echo-fn", Timeout: time.Second, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	got, err := invoke(t, p, `{"deadline":true}`)
	var d struct {
		Set    bool
		LeftMs int64
	}
	if err != nil || json.Unmarshal(got, &d) != nil || !d.Set || d.LeftMs <= 0 || d.LeftMs > 1000 {
		t.Errorf("deadline = %s, %v; want one set within the 1 s timeout", got, err)
	}
	_, err = invoke(t, p, `{"sleep":true}`)
	var fe *lambdart.FunctionError
	if !errors.As(err, &fe) || fe.Type != "Sandbox.Timedout" {
		t.Errorf("sleep past the timeout = %v, want a Sandbox.Timedout function error", err)
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
}
