package lambdart

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Config describes one function process.
type Config struct {
	Path         string // the bootstrap executable
	FunctionName string // AWS_LAMBDA_FUNCTION_NAME
	MemoryMB     int    // AWS_LAMBDA_FUNCTION_MEMORY_SIZE; 0: 128
	// Timeout bounds each invocation (the Lambda-Runtime-Deadline-Ms header); 0: 3 s.
	Timeout time.Duration
	// Env is the function's own environment: the template's Environment.Variables,
	// overrides such as `sam local invoke --env-vars` gives, the region and credentials.
	// Nothing else of the caller's environment reaches the process, as in Lambda.
	Env map[string]string
	// Output gets the process's stdout and stderr (its logs); nil discards them.
	Output io.Writer
}

// ColdStart is what one cold start took, from the moment the process was started.
type ColdStart struct {
	Init          time.Duration // until the runtime's first GET .../next: Lambda's "Init Duration"
	FirstResponse time.Duration // until the first response (or invocation error) arrived
}

// Process is one running bootstrap with its Runtime API. Start it, Invoke it, Stop it.
type Process struct {
	srv     *Server
	cmd     *exec.Cmd
	started time.Time
	exited  chan struct{}
	exitErr error // set before exited is closed
	stopped atomic.Bool
}

// Start starts the bootstrap cfg.Path against a new Runtime API server, with the
// environment Lambda gives a provided.al2023 function: AWS_LAMBDA_RUNTIME_API,
// AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_FUNCTION_VERSION
// ($LATEST), AWS_LAMBDA_LOG_FORMAT (JSON unless cfg.Env sets it), the log group and stream
// names, AWS_REGION and AWS_DEFAULT_REGION (cfg.Env's AWS_REGION, else us-east-1),
// _HANDLER, LAMBDA_TASK_ROOT and LAMBDA_RUNTIME_DIR (the binary's directory, also its
// working directory), TZ, LANG and PATH, on top of cfg.Env.
//
// The process starts initializing at once; its first invocation is the first Invoke,
// which, called right after Start, is what a cold start in Lambda looks like.
func Start(cfg Config) (*Process, error) {
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("bootstrap path: %w", err)
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = 128
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
	srv, err := NewServer(ServerConfig{
		FunctionARN: fmt.Sprintf("arn:aws:lambda:%s:123456789012:function:%s", region, cfg.FunctionName),
		Timeout:     cfg.Timeout,
	})
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	maps.Copy(env, map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          srv.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME":        cfg.FunctionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(cfg.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + cfg.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + strings.ReplaceAll(newID(), "-", ""),
		"AWS_REGION":                      region,
		"AWS_DEFAULT_REGION":              region,
		"_HANDLER":                        filepath.Base(path),
		"LAMBDA_TASK_ROOT":                dir,
		"LAMBDA_RUNTIME_DIR":              dir,
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	})

	cmd := exec.Command(path)
	cmd.Dir = dir
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	out := cfg.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	p := &Process{srv: srv, cmd: cmd, exited: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exit status 0")
		}
		p.exitErr = err
		close(p.exited)
		if !p.stopped.Load() {
			srv.Shutdown(fmt.Errorf("process exited: %w", err))
		}
	}()
	return p, nil
}

// Invoke sends payload as one invocation and returns the response payload. A function
// error is a *FunctionError; a process that exited gives an error wrapping ErrClosed.
func (p *Process) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return p.srv.Invoke(ctx, payload)
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// ColdStart returns the timings of this process's start; ok is false until the first
// answer arrived.
func (p *Process) ColdStart() (cs ColdStart, ok bool) {
	next, first := p.srv.FirstNext(), p.srv.FirstResult()
	if next.IsZero() || first.IsZero() {
		return ColdStart{}, false
	}
	return ColdStart{Init: next.Sub(p.started), FirstResponse: first.Sub(p.started)}, true
}

// PeakRSS is the process's peak resident set size so far, in bytes (VmHWM of
// /proc/<pid>/status; Linux only). Read it before Stop.
func (p *Process) PeakRSS() (int64, error) {
	if runtime.GOOS != "linux" {
		return 0, fmt.Errorf("peak rss: /proc is linux only, not %s", runtime.GOOS)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.PID()))
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

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop kills the process (Lambda ends an execution environment with SIGKILL when no
// extension asked for SIGTERM) and closes its Runtime API. It returns an error when the
// process had already exited on its own: a bootstrap never returns while Lambda serves it.
func (p *Process) Stop() error {
	if p.stopped.Swap(true) {
		return nil
	}
	var err error
	select {
	case <-p.exited:
		err = fmt.Errorf("process exited before Stop: %w", p.exitErr)
	default:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	_ = p.srv.Close()
	return err
}
