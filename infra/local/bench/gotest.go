package main

import (
	"cmp"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/kycbackend/kyc/infra/local/benchdoc"
)

// goTestBlocks are the BENCHMARKS.md blocks written from `go test -bench` output
// (bench -gotest FILE -block NAME): the command that produced the output, and the table's
// columns. The prose around each block, in BENCHMARKS.md, says what each figure measures.
var goTestBlocks = map[string]struct {
	title   string
	command string
	label   func(benchdoc.Bench) string
	columns []benchdoc.Column
}{
	"micro": {
		title: "Microbenchmarks: intake and processing, measured",
		command: "go test -run '^$' -bench . -benchmem -count 6 ./shared/edge/webhook/ ./shared/vendors/idwise/idwiseauth/ ./shared/vendors/veriff/; " +
			"infra/local/with-emulators.sh go test -run '^$' -bench . -benchmem -count 6 ./shared/compose/",
		label: func(b benchdoc.Bench) string {
			return "`" + strings.TrimPrefix(b.Pkg, "github.com/kycbackend/kyc/") + "` `Benchmark" + b.Name + "`"
		},
		columns: []benchdoc.Column{
			{Unit: "ns/op", Heading: "ns/op (median ±95% CI)"},
			{Unit: "B/op", Heading: "B/op"},
			{Unit: "allocs/op", Heading: "allocs/op"},
			{Unit: "ddb-requests/op", Heading: "DynamoDB requests/op"},
			{Unit: "idwise-requests/op", Heading: "IDWise requests/op"},
		},
	},
	"binaries": {
		title:   "Function binaries, measured",
		command: "infra/local/with-emulators.sh go test -run '^$' -bench BenchmarkBootstrap -benchtime 20x -count 1 ./infra/local/lambdart/",
		label: func(b benchdoc.Bench) string {
			name := strings.TrimPrefix(b.Name, "Bootstrap/")
			if name == "EmulatorFloor" {
				return "emulator floor (testdata/echo: the Go runtime only)"
			}
			return name
		},
		columns: []benchdoc.Column{
			{Unit: "arm64-MB", Heading: "arm64 size (MB)", Format: func(v float64) string { return fmt.Sprintf("%.2f", v) }},
			{Unit: "init-ms", Format: benchdoc.Decimal, Heading: "init ms"},
			{Unit: "invoke-ms", Format: benchdoc.Decimal, Heading: "cold invoke ms"},
			{Unit: "cold-ms", Format: benchdoc.Decimal, Heading: "init + invoke ms"},
			{Unit: "first-response-ms", Format: benchdoc.Decimal, Heading: "first response through the emulator ms"},
			{Unit: "peak-RSS-MB", Heading: "peak RSS after 100 (MB)", Format: func(v float64) string { return fmt.Sprintf("%.1f", v) }},
		},
	},
}

// goTest writes the block name of file from the `go test -bench` output in input.
func goTest(input, name, file string) error {
	spec, ok := goTestBlocks[name]
	if !ok {
		return fmt.Errorf("-block %q: want micro or binaries", name)
	}
	f, err := os.Open(input)
	if err != nil {
		return err
	}
	defer f.Close()
	benches, env, err := benchdoc.Read(f)
	if err != nil {
		return fmt.Errorf("%s: %w", input, err)
	}
	if name == "micro" {
		benches = benchdoc.Sorted(benches)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", spec.title)
	fmt.Fprintf(&b, "Machine: %d CPUs, %s (%s/%s), %s. Date: %s.\n", runtime.NumCPU(), cmp.Or(env["cpu"], "cpu not reported"),
		cmp.Or(env["goos"], runtime.GOOS), cmp.Or(env["goarch"], runtime.GOARCH), runtime.Version(), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Command: `make bench` (runs `%s`, then `go run ./infra/local/bench -gotest <its output> -block %s -write BENCHMARKS.md`).\n\n", spec.command, name)
	b.WriteString(benchdoc.Table(benches, spec.label, spec.columns))
	block := benchdoc.Block(name, b.String())
	fmt.Print(block)
	if file == "" {
		return nil
	}
	return benchdoc.Replace(file, name, block)
}
