// Package walkthrough runs the documentation's walkthroughs as written: each file of
// testdata/ is a testscript (github.com/rogpeppe/go-internal/testscript) that gets its own
// default-configured local product (make run's settings, JourneyOwnership claimed) on free
// ports, and runs the commands the README and the docs next to the code show, checking the
// answers they document. docs_test.go fails when a doc shows a command no script runs.
package walkthrough

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// root is the repository's root (the docs' commands run from there).
var root = func() string {
	abs, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}()

// The default addresses the docs show, and the variable of the port make run takes for each.
var defaults = []struct{ addr, env string }{
	{"127.0.0.1:3000", "PORT"},
	{"127.0.0.1:3001", "IDWISE_SIM_PORT"},
	{"127.0.0.1:3002", "VERIFF_SIM_PORT"},
	{"127.0.0.1:8000", "KYC_DYNAMODB_PORT"},
	{"127.0.0.1:5000", "KYC_MOTO_PORT"},
}

func TestWalkthroughs(t *testing.T) {
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("needs the installed tools: use `make test` (infra/local/with-emulators.sh)")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "kyc-local"), "./infra/local/run")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the runner: %v\n%s", err, out)
	}
	// The scripts run `make kycctl` as the docs do, several at once: built here first, so
	// that theirs find bin/kycctl up to date rather than rewrite it under another's feet.
	kycctl := exec.Command("make", "kycctl")
	kycctl.Dir = root
	if out, err := kycctl.CombinedOutput(); err != nil {
		t.Fatalf("make kycctl: %v\n%s", err, out)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			return startProduct(env, filepath.Join(bin, "kyc-local"))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sh":       cmdSh,
			"waitfor":  cmdWaitFor,
			"timeline": cmdTimeline,
			"banner":   cmdBanner,
		},
	})
}

// TestOfflineScripts runs the scripts that need no running product (testdata/offline):
// make deploy with a stand-in sam, make invoke with nothing running, the prerequisites.
func TestOfflineScripts(t *testing.T) {
	if os.Getenv("KYC_EMULATORS") != "1" {
		t.Skip("needs the installed tools: use `make test` (infra/local/with-emulators.sh)")
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "offline"),
		Setup: func(env *testscript.Env) error {
			for _, v := range environ() {
				k, val, _ := strings.Cut(v, "=")
				env.Setenv(k, val)
			}
			port, err := freePort()
			if err != nil {
				return err
			}
			env.Setenv("FREE_PORT", port) // nothing listens there
			for _, v := range []string{"PORT", "IDWISE_SIM_PORT", "VERIFF_SIM_PORT", "KYC_DYNAMODB_PORT", "KYC_MOTO_PORT"} {
				p, err := freePort()
				if err != nil {
					return err
				}
				env.Setenv("RUN_"+v, p) // for makerun
			}
			env.Setenv("ROOT", root)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"sh": cmdSh, "hold": cmdHold, "makerun": cmdMakeRun},
	})
}

// hold VAR listens on a free loopback port until the script ends and sets VAR to it: a
// test server in the way of make run.
func cmdHold(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: hold VAR")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ts.Defer(func() { l.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	ts.Setenv(args[0], port)
}

// product is one running local product: its output, read by `timeline`.
type product struct {
	mu    sync.Mutex
	lines []string
}

func (p *product) add(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, line)
}

func (p *product) find(re *regexp.Regexp) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if re.MatchString(l) {
			return l, true
		}
	}
	return "", false
}

func (p *product) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

type productKey struct{}

// environ is what the scripts' commands see of this process's environment: the toolchain
// and its caches, never the emulators of the enclosing `make test` (each script has its own).
func environ() []string {
	var vars []string
	for _, name := range []string{"HOME", "GOCACHE", "GOPATH", "GOMODCACHE", "GOFLAGS", "GOPROXY", "GONOSUMDB", "GOTOOLCHAIN", "JAVA_HOME", "LANG"} {
		if v, ok := os.LookupEnv(name); ok {
			vars = append(vars, name+"="+v)
		}
	}
	if _, ok := os.LookupEnv("GOCACHE"); !ok {
		if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
			vars = append(vars, "GOCACHE="+strings.TrimSpace(string(out)))
		}
	}
	return vars
}

// startProduct starts `infra/local/with-emulators.sh kyc-local` as make run does, with make
// run's defaults except the ports (free ones, in the variables make run takes), and its own
// emulators; it waits for the ready line and stops the product when the script ends.
func startProduct(env *testscript.Env, runner string) error {
	ports := map[string]string{}
	for _, d := range defaults {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[d.env] = p
	}
	vars := append(environ(), "PATH="+os.Getenv("PATH"))
	for k, v := range ports {
		vars = append(vars, k+"="+v)
	}
	cmd := exec.Command(filepath.Join(root, "infra", "local", "with-emulators.sh"), runner)
	cmd.Dir = root
	cmd.Env = vars
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the product: %w", err)
	}
	p := &product{}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.add(sc.Text())
			if rest, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				select {
				case ready <- rest:
				default:
				}
			}
		}
		close(ready)
	}()
	stop := func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	select {
	case base, ok := <-ready:
		if !ok || base == "" {
			stop()
			return fmt.Errorf("the product did not start:\n%s", p.output())
		}
	case <-time.After(3 * time.Minute):
		stop()
		return fmt.Errorf("the product was not ready in 3 minutes:\n%s", p.output())
	}
	env.Defer(stop)
	for k, v := range ports {
		env.Setenv(k, v)
	}
	for _, v := range environ() {
		k, val, _ := strings.Cut(v, "=")
		env.Setenv(k, val)
	}
	env.Setenv("ROOT", root)
	env.Setenv("BASE", "http://127.0.0.1:"+ports["PORT"])
	env.Values[productKey{}] = p
	return nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// rewrite points the docs' default addresses at this script's product.
func rewrite(ts *testscript.TestScript, s string) string {
	for _, d := range defaults {
		if port := ts.Getenv(d.env); port != "" {
			s = strings.ReplaceAll(s, d.addr, "127.0.0.1:"+port)
		}
	}
	return s
}

// sh FILE[,FILE...] runs the script's files with bash (-e -o pipefail) in the repository's root,
// the docs' addresses pointed at this script's product; stdout and stderr as exec leaves them.
func cmdSh(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: sh FILE")
	}
	err := runSh(ts, args[0])
	if neg {
		if err == nil {
			ts.Fatalf("%s succeeded, want a failure", args[0])
		}
		return
	}
	ts.Check(err)
}

// runSh runs files (FILE[,FILE...]: one shell, so that the first may export for the next).
func runSh(ts *testscript.TestScript, files string) error {
	var body strings.Builder
	for _, f := range strings.Split(files, ",") {
		body.WriteString(rewrite(ts, ts.ReadFile(f)) + "\n")
	}
	path := ts.MkAbs(strings.ReplaceAll(files, ",", "+") + ".run.sh")
	ts.Check(os.WriteFile(path, []byte("cd "+root+"\n"+body.String()), 0o644))
	return ts.Exec("bash", "-e", "-o", "pipefail", path)
}

// waitfor FILE REGEXP runs sh FILE until its stdout matches REGEXP (30 s).
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: waitfor FILE REGEXP")
	}
	re := regexp.MustCompile(args[1])
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := runSh(ts, args[0])
		out := ts.ReadFile("stdout")
		if err == nil && re.MatchString(out) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s: stdout never matched %q in 30 s; last stdout:\n%s\nerror: %v", args[0], args[1], out, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// timeline REGEXP waits (30 s) until a line of the product's output (banner and live
// timeline) matches REGEXP; with !, checks that none does now.
func cmdTimeline(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: timeline REGEXP")
	}
	p := ts.Value(productKey{}).(*product)
	re := regexp.MustCompile(args[0])
	if neg {
		if l, ok := p.find(re); ok {
			ts.Fatalf("the product printed %q, want no line matching %q", l, args[0])
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if l, ok := p.find(re); ok {
			ts.Logf("timeline: %s", l)
			return
		}
		select {
		case <-ctx.Done():
			ts.Fatalf("no line of the product matched %q in 30 s; output:\n%s", args[0], p.output())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// banner FILE writes the copy-paste commands of the product's banner (the lines under
// "Try" and the Veriff curl) into FILE, as printed, for sh to run.
func cmdBanner(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: banner FILE")
	}
	p := ts.Value(productKey{}).(*product)
	var cmds []string
	in := false
	for _, l := range strings.Split(p.output(), "\n") {
		switch {
		case strings.HasPrefix(l, "Try"):
			in = true
		case in && strings.HasPrefix(l, "  "):
			cmds = append(cmds, strings.TrimSpace(l))
		case strings.HasPrefix(l, "ready "):
			in = false
		default:
			in = false
			if t := strings.TrimSpace(l); strings.HasPrefix(t, "curl ") && strings.Contains(t, "/webhooks/veriff") {
				cmds = append(cmds, t)
			}
		}
	}
	if len(cmds) == 0 {
		ts.Fatalf("the banner shows no commands:\n%s", p.output())
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Join(cmds, "\n")+"\n"), 0o644))
}

// makerun SIGNAL starts `make run` as a script would (its own process group, the RUN_*
// ports), waits for its ready line, sends SIGNAL (TERM: to make itself, as `kill` in a
// script does; INT: to the process group, as a terminal's Ctrl-C does) and checks that
// make run exits within 30 s and that none of its five ports is still held.
func cmdMakeRun(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: makerun TERM|INT")
	}
	cmd := exec.Command("make", "run")
	cmd.Dir = root
	var ports []string
	env := environ()
	env = append(env, "PATH="+ts.Getenv("PATH"))
	for _, v := range []string{"PORT", "IDWISE_SIM_PORT", "VERIFF_SIM_PORT", "KYC_DYNAMODB_PORT", "KYC_MOTO_PORT"} {
		env = append(env, v+"="+ts.Getenv("RUN_"+v))
		ports = append(ports, ts.Getenv("RUN_"+v))
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	ts.Check(err)
	cmd.Stderr = cmd.Stdout
	ts.Check(cmd.Start())
	p := &product{}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := false
		for sc.Scan() {
			p.add(sc.Text())
			if strings.HasPrefix(sc.Text(), "ready ") && !once {
				once = true
				close(ready)
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-ready:
	case err := <-done:
		ts.Fatalf("make run exited before ready: %v\n%s", err, p.output())
	case <-time.After(3 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		ts.Fatalf("make run not ready in 3 minutes:\n%s", p.output())
	}
	switch args[0] {
	case "TERM":
		ts.Check(syscall.Kill(cmd.Process.Pid, syscall.SIGTERM))
	case "INT":
		ts.Check(syscall.Kill(-cmd.Process.Pid, syscall.SIGINT))
	default:
		ts.Fatalf("makerun: signal %s: want TERM or INT", args[0])
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		ts.Fatalf("make run still running 30 s after SIG%s:\n%s", args[0], p.output())
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, port := range ports {
		for {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				ts.Fatalf("port %s still answers after make run stopped on SIG%s:\n%s", port, args[0], p.output())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	fmt.Fprintln(ts.Stdout(), p.output())
}
