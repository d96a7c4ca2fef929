// Package lambdart runs a function's real bootstrap binary the way Lambda (and `sam local
// invoke` inside its container) does, under AWS's Runtime Interface Emulator
// (aws-lambda-rie, installed by infra/local/install.sh into .cache/bin): the emulator
// serves the Lambda Runtime API to the bootstrap and takes invocations on its HTTP invoke
// endpoint, POST /2015-03-31/functions/function/invocations. One Process is one emulator
// with one execution environment; it hands the bootstrap one invocation at a time, with
// the function's Timeout as the invocation deadline (AWS_LAMBDA_FUNCTION_TIMEOUT).
//
// Binaries built with -tags lambda.norpc speak only the Runtime API, so what answers here
// is what would answer in Lambda. The cold start is the emulator's own report (INIT
// REPORT durationMs: the bootstrap's start to its first GET .../invocation/next); peak RSS
// is the bootstrap's VmHWM from /proc.
package lambdart

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// invokePath is the emulator's invoke endpoint (the Lambda Invoke API's path).
const invokePath = "/2015-03-31/functions/function/invocations"

// ErrClosed is returned by Invoke once the process is stopped or the emulator exited.
var ErrClosed = errors.New("runtime closed")

// FunctionError is what the function reported instead of a response: an invocation error
// (the handler's error, a panic, the runtime's exit, a timeout) or an init error.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
	Body    []byte `json:"-"` // the payload as the emulator answered it
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// Config describes one function process.
type Config struct {
	Path         string // the bootstrap executable
	FunctionName string // AWS_LAMBDA_FUNCTION_NAME
	MemoryMB     int    // AWS_LAMBDA_FUNCTION_MEMORY_SIZE; 0: 128
	// Timeout bounds each invocation (the emulator's AWS_LAMBDA_FUNCTION_TIMEOUT, whole
	// seconds, rounded up); 0: 3 s, Lambda's default.
	Timeout time.Duration
	// Env is the function's own environment: the template's Environment.Variables,
	// overrides such as `sam local invoke --env-vars` gives, the region and credentials.
	// Nothing else of the caller's environment reaches the process, as in Lambda.
	Env map[string]string
	// Output gets the emulator's and the bootstrap's stdout and stderr (their logs); nil
	// discards them.
	Output io.Writer
	// RIE is the emulator executable; empty: RIEPath().
	RIE string
}

// ColdStart is what the first (cold) invocation took.
type ColdStart struct {
	Init time.Duration // the emulator's INIT REPORT: Lambda's "Init Duration"
	// Invoke is the first invocation's own duration as the emulator reports it (INVOKE
	// RTDONE duration: the invocation handed to the bootstrap to its response posted),
	// Lambda's "Duration" of the cold invocation.
	Invoke time.Duration
	// FirstResponse is the first Invoke call to its answer, as the caller sees it: init,
	// the invocation, and the emulator's own handling of the request and the answer.
	FirstResponse time.Duration
}

// Billed is what Lambda bills for the cold invocation: Init Duration plus Duration.
func (c ColdStart) Billed() time.Duration { return c.Init + c.Invoke }

// Process is one emulator running one bootstrap. Start it, Invoke it, Stop it.
type Process struct {
	cmd     *exec.Cmd
	url     string
	client  *http.Client
	exited  chan struct{}
	exitErr error // set before exited is closed

	invokeMu sync.Mutex // one invocation at a time, as in one execution environment

	mu      sync.Mutex
	stopped bool
	inits   []time.Duration // INIT REPORT durations, in order
	invoke  time.Duration   // the first INVOKE RTDONE duration; 0 until reported
	first   time.Duration   // the first invocation's round trip; 0 until it answered
	cold    chan struct{}   // closed once invoke, first and inits[0] are known
}

// RIEPath is the Runtime Interface Emulator to run: $KYC_RIE when set, else
// .cache/bin/aws-lambda-rie of the repository around the working directory (where
// infra/local/install.sh puts it), else aws-lambda-rie on PATH.
func RIEPath() (string, error) {
	if p := os.Getenv("KYC_RIE"); p != "" {
		return p, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for ; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, ".cache", "bin", "aws-lambda-rie")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil || filepath.Dir(dir) == dir {
				break
			}
		}
	}
	p, err := exec.LookPath("aws-lambda-rie")
	if err != nil {
		return "", errors.New("aws-lambda-rie not found: run `make tools` (infra/local/install.sh puts it in .cache/bin) or set KYC_RIE")
	}
	return p, nil
}

// Start starts the emulator with the bootstrap cfg.Path and the environment Lambda gives a
// provided.al2023 function: AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
// AWS_LAMBDA_FUNCTION_VERSION ($LATEST), AWS_LAMBDA_FUNCTION_TIMEOUT, AWS_LAMBDA_LOG_FORMAT
// (JSON unless cfg.Env sets it), the log group and stream names, AWS_REGION and
// AWS_DEFAULT_REGION (cfg.Env's AWS_REGION, else us-east-1), _HANDLER, LAMBDA_TASK_ROOT
// (the binary's directory, also its working directory), TZ, LANG and PATH, on top of
// cfg.Env; the emulator adds AWS_LAMBDA_RUNTIME_API. Like Lambda (and the emulator), the
// bootstrap starts with the first invocation: a cold start.
func Start(cfg Config) (*Process, error) {
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("bootstrap path: %w", err)
	}
	rie := cfg.RIE
	if rie == "" {
		if rie, err = RIEPath(); err != nil {
			return nil, err
		}
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = 128
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.FunctionName == "" {
		cfg.FunctionName = filepath.Base(filepath.Dir(path))
	}
	env := maps.Clone(cfg.Env)
	if env == nil {
		env = map[string]string{}
	}
	region := env["AWS_REGION"]
	if region == "" {
		region = "us-east-1"
	}
	if env["AWS_LAMBDA_LOG_FORMAT"] == "" {
		env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
	}
	dir := filepath.Dir(path)
	maps.Copy(env, map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        cfg.FunctionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(cfg.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int((cfg.Timeout + time.Second - 1) / time.Second)),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + cfg.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]local",
		"AWS_REGION":                      region,
		"AWS_DEFAULT_REGION":              region,
		"_HANDLER":                        filepath.Base(path),
		"LAMBDA_TASK_ROOT":                dir,
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	})
	// The two loopback ports are picked free, then handed to the emulator: another
	// program may take one in between, and the emulator then exits at once. Try again.
	for attempt := 1; ; attempt++ {
		p, err := launch(rie, path, dir, env, cfg)
		if err == nil || attempt == 3 || !errors.Is(err, errExitedAtStart) {
			return p, err
		}
	}
}

// errExitedAtStart: the emulator ended before it listened (typically a port taken).
var errExitedAtStart = errors.New("aws-lambda-rie exited at start")

// launch starts one emulator process on two free loopback ports and waits until it listens.
func launch(rie, path, dir string, env map[string]string, cfg Config) (*Process, error) {
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	invokeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie, "--runtime-api-address", apiAddr, "--runtime-interface-emulator-address", invokeAddr, path)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Stop ends the bootstrap too
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	p := &Process{cmd: cmd, url: "http://" + invokeAddr + invokePath, exited: make(chan struct{}),
		cold: make(chan struct{}), client: &http.Client{Timeout: cfg.Timeout + time.Minute}}
	out := cfg.Output
	if out == nil {
		out = io.Discard
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", rie, err)
	}
	go p.scan(pr, out)
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exit status 0")
		}
		p.exitErr = err
		_ = pw.Close()
		close(p.exited)
	}()
	if err := p.waitReady(invokeAddr); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// initReport and invokeDone are the emulator's lines for a finished init and a finished
// invocation, e.g. "INIT REPORT(durationMs: 8.09)" and "INVOKE RTDONE(status: success,
// produced bytes: 0, duration: 21.668000ms)".
var (
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	invokeDone = regexp.MustCompile(`INVOKE RTDONE\(.*\bduration: ([0-9.]+)ms\)`)
)

// scan copies the logs to out and records the durations the emulator reports.
func (p *Process) scan(r io.Reader, out io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		_, _ = fmt.Fprintln(out, line)
		if d, ok := reported(initReport, line); ok {
			p.mu.Lock()
			p.inits = append(p.inits, d)
			p.coldKnown()
			p.mu.Unlock()
		}
		if d, ok := reported(invokeDone, line); ok {
			p.mu.Lock()
			if p.invoke == 0 {
				p.invoke = max(d, time.Nanosecond)
				p.coldKnown()
			}
			p.mu.Unlock()
		}
	}
	_, _ = io.Copy(out, r)
}

// reported reads the milliseconds re captures from line.
func reported(re *regexp.Regexp, line string) (time.Duration, bool) {
	m := re.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// coldKnown closes p.cold once the first invocation's figures are all known; p.mu is held.
func (p *Process) coldKnown() {
	if p.invoke == 0 || p.first == 0 || len(p.inits) == 0 {
		return
	}
	select {
	case <-p.cold:
	default:
		close(p.cold)
	}
}

func (p *Process) waitReady(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%w: %w", errExitedAtStart, p.exitErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("aws-lambda-rie did not listen on %s: %w", addr, err)
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Invoke sends payload as one invocation and returns the response payload. A function
// error, a timeout or an init error is a *FunctionError; a stopped process gives
// ErrClosed. Concurrent calls wait for each other, as invocations of one execution
// environment do.
func (p *Process) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	p.invokeMu.Lock()
	defer p.invokeMu.Unlock()
	if err := p.closedErr(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		if cerr := p.closedErr(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: read answer: %w", err)
	}
	p.mu.Lock()
	if p.first == 0 {
		p.first = max(time.Since(start), time.Nanosecond)
		p.coldKnown()
	}
	p.mu.Unlock()
	return answer(resp.StatusCode, body)
}

// timedOut is the emulator's answer to an invocation past its deadline.
var timedOut = regexp.MustCompile(`^Task timed out after [0-9.]+ seconds$`)

// answer reads the emulator's answer: 200 with the response payload; 200 with an error
// document ({"errorMessage","errorType"} and nothing else: the emulator, unlike the Invoke
// API, sends no X-Amz-Function-Error header) for a handler error; "Task timed out ..." for
// a timeout; 502 with the error for a crash (panic, exit) or an init error.
func answer(status int, body []byte) ([]byte, error) {
	if timedOut.Match(body) {
		return nil, &FunctionError{Type: "Sandbox.Timedout", Message: string(body), Body: body}
	}
	if status != http.StatusOK {
		fe := &FunctionError{Body: body}
		if json.Unmarshal(body, fe) != nil || fe.Type == "" {
			fe.Type, fe.Message = "Emulator."+strconv.Itoa(status), strings.TrimSpace(string(body))
		}
		return nil, fe
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) == nil && doc["errorType"] != nil && doc["errorMessage"] != nil {
		extra := len(doc) - 2
		if doc["stackTrace"] != nil {
			extra--
		}
		if extra == 0 {
			fe := &FunctionError{Body: body}
			_ = json.Unmarshal(body, fe)
			return nil, fe
		}
	}
	return body, nil
}

func (p *Process) closedErr() error {
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped {
		return ErrClosed
	}
	select {
	case <-p.exited:
		return fmt.Errorf("%w: aws-lambda-rie exited: %w", ErrClosed, p.exitErr)
	default:
		return nil
	}
}

// ColdStart returns the timings of the first invocation once it answered and the emulator
// reported its init and its duration (the emulator's log lines may come just after the
// answer): it waits for them until ctx is done or the emulator exits.
func (p *Process) ColdStart(ctx context.Context) (ColdStart, error) {
	select {
	case <-p.cold:
	default:
		select {
		case <-p.cold:
		case <-ctx.Done():
			return ColdStart{}, fmt.Errorf("cold start figures: %w", ctx.Err())
		case <-p.exited:
			return ColdStart{}, fmt.Errorf("cold start figures: %w", ErrClosed)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return ColdStart{Init: p.inits[0], Invoke: p.invoke, FirstResponse: p.first}, nil
}

// Inits is how many times the emulator started the bootstrap (a crash or a timeout makes
// it start a new one on the next invocation, as Lambda does).
func (p *Process) Inits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.inits)
}

// PID is the running bootstrap's process id (a child of the emulator), or an error when
// none runs (before the first invocation, or after a crash).
func (p *Process) PID() (int, error) {
	rie := p.cmd.Process.Pid
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", rie))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no bootstrap runs under aws-lambda-rie %d", rie)
}

// PeakRSS is the bootstrap's peak resident set size so far, in bytes (VmHWM of
// /proc/<pid>/status; Linux only). Read it before Stop.
func (p *Process) PeakRSS() (int64, error) {
	if runtime.GOOS != "linux" {
		return 0, fmt.Errorf("peak rss: /proc is linux only, not %s", runtime.GOOS)
	}
	pid, err := p.PID()
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	defer f.Close()
	return parseVmHWM(f)
}

func parseVmHWM(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("peak rss: unexpected VmHWM line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("peak rss: %w", err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	return 0, errors.New("peak rss: no VmHWM in status")
}

// Exited is closed when the emulator has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop kills the emulator and its bootstrap (Lambda ends an execution environment with
// SIGKILL when no extension asked for SIGTERM). It returns an error when the emulator had
// already exited on its own.
func (p *Process) Stop() error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	p.mu.Unlock()
	select {
	case <-p.exited:
		return fmt.Errorf("aws-lambda-rie exited before Stop: %w", p.exitErr)
	default:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		return nil
	}
}
