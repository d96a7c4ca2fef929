// Command invoke is `make invoke FUNCTION=<LogicalId> EVENT=<file>`: `sam local invoke`
// without Docker. It builds the function as `sam build` does (its Makefile target
// build-<LogicalId>, for this machine's architecture: lambdart.Build), runs it under AWS's
// Runtime Interface Emulator with the template's Timeout and memory and the function's
// environment for make run's local stack (infra/local/sam-env.json, KYC_DYNAMODB_PORT,
// KYC_MOTO_PORT, IDWISE_SIM_PORT: lambdart.SamEnv), invokes it once with the event and
// prints the response JSON on stdout; the function's logs go to stderr. A function error
// prints the error document and exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"time"

	"github.com/kycbackend/kyc/infra/local/lambdart"
	"github.com/kycbackend/kyc/infra/local/provision"
)

func main() {
	fn := flag.String("function", "", "logical ID of the function in template.yaml (FUNCTION=)")
	event := flag.String("event", "", "event file, e.g. events/idwise-finished-journey.json (EVENT=)")
	template := flag.String("template", "template.yaml", "the SAM template")
	samEnv := flag.String("env-vars", "infra/local/sam-env.json", "the sam local invoke --env-vars file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *fn, *event, *template, *samEnv); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, id, eventFile, templateFile, samEnvFile string) error {
	if id == "" || eventFile == "" {
		return errors.New("usage: make invoke FUNCTION=<LogicalId> EVENT=<file>")
	}
	payload, err := os.ReadFile(eventFile)
	if err != nil {
		return err
	}
	tpl, err := provision.Load(templateFile)
	if err != nil {
		return err
	}
	ports := lambdart.PortsFromEnv()
	if err := stackUp(ports); err != nil {
		return err
	}
	env, err := lambdart.SamEnv(tpl, samEnvFile, id, ports)
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kyc-invoke-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := lambdart.Build(ctx, root, id, dir, runtime.GOARCH)
	if err != nil {
		return err
	}
	logs := &gate{w: os.Stderr}
	p, err := lambdart.Start(lambdart.Config{Path: bin, FunctionName: "kyc-local-" + id, MemoryMB: tpl.FunctionMemoryMB(id),
		Timeout: tpl.FunctionTimeout(id), Env: env, Output: logs})
	if err != nil {
		return err
	}
	defer func() {
		// The invocation's logs end with the emulator's report of it; what the runtime
		// says while the emulator is killed ("failed to get the next invoke") is not the
		// function's, and sam local invoke does not show it either.
		wait, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = p.ColdStart(wait)
		logs.mute()
		_ = p.Stop()
	}()
	out, err := p.Invoke(ctx, payload)
	var fe *lambdart.FunctionError
	if errors.As(err, &fe) {
		fmt.Println(string(fe.Body))
		return err
	}
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// gate passes the emulator's and the function's logs on until muted.
type gate struct {
	mu    sync.Mutex
	w     io.Writer
	muted bool
}

func (g *gate) Write(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.muted {
		return len(b), nil
	}
	return g.w.Write(b)
}

func (g *gate) mute() {
	g.mu.Lock()
	g.muted = true
	g.mu.Unlock()
}

// stackUp says, in one line, that make run is not up when its emulators do not answer:
// the function would otherwise start and answer a 500 of its own.
func stackUp(p lambdart.Ports) error {
	for _, e := range []struct{ port, name string }{{p.DynamoDB, "KYC_DYNAMODB_PORT"}, {p.Moto, "KYC_MOTO_PORT"}} {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", e.port), time.Second)
		if err != nil {
			return fmt.Errorf("nothing answers on 127.0.0.1:%s (%s): start make run first, in another terminal, with the same KYC_DYNAMODB_PORT, KYC_MOTO_PORT and IDWISE_SIM_PORT", e.port, e.name)
		}
		c.Close()
	}
	return nil
}
