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
	"os"
	"os/signal"
	"runtime"

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
	env, err := lambdart.SamEnv(tpl, samEnvFile, id, lambdart.PortsFromEnv())
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
	p, err := lambdart.Start(lambdart.Config{Path: bin, FunctionName: "kyc-local-" + id, MemoryMB: tpl.FunctionMemoryMB(id),
		Timeout: tpl.FunctionTimeout(id), Env: env, Output: os.Stderr})
	if err != nil {
		return err
	}
	defer p.Stop()
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
