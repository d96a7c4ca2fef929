package benchdoc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kycbackend/kyc/infra/local/benchdoc"
)

// output is `go test -bench` output as make bench sees it: two packages, -count 6 for one,
// custom metrics, and log lines of the code under test in between.
const output = `goos: linux
goarch: amd64
pkg: github.com/kycbackend/kyc/shared/edge/webhook
cpu: AMD EPYC 7B13
BenchmarkHandle-2   	  200000	      5750 ns/op	    4209 B/op	      66 allocs/op
SDK 2026/12/02 17:58:06 WARN failed to close HTTP response body
BenchmarkHandle-2   	  200000	      5800 ns/op	    4209 B/op	      66 allocs/op
BenchmarkHandle-2   	  200000	      5700 ns/op	    4209 B/op	      66 allocs/op
BenchmarkHandle-2   	  200000	      5750 ns/op	    4209 B/op	      66 allocs/op
BenchmarkHandle-2   	  200000	      5760 ns/op	    4209 B/op	      66 allocs/op
BenchmarkHandle-2   	  200000	      5740 ns/op	    4209 B/op	      66 allocs/op
PASS
ok  	github.com/kycbackend/kyc/shared/edge/webhook	5.1s
goos: linux
goarch: amd64
pkg: github.com/kycbackend/kyc/infra/local/lambdart
cpu: AMD EPYC 7B13
BenchmarkBootstrap/WebhookFunction-2         	      20	  47487022 ns/op	        10.16 arm64-MB	        21.85 first-response-ms	         8.284 init-ms
PASS
`

func TestReadSummarisesEachBenchmark(t *testing.T) {
	benches, env, err := benchdoc.Read(strings.NewReader(output))
	if err != nil {
		t.Fatal(err)
	}
	if len(benches) != 2 || env["cpu"] != "AMD EPYC 7B13" || env["goarch"] != "amd64" {
		t.Fatalf("Read = %+v, %v; want 2 benchmarks and the cpu line", benches, env)
	}
	h := benches[0]
	if h.Pkg != "github.com/kycbackend/kyc/shared/edge/webhook" || h.Name != "Handle" || h.Runs != 6 {
		t.Errorf("first = %s %s runs %d; want webhook Handle runs 6", h.Pkg, h.Name, h.Runs)
	}
	if s, ok := h.Summary("ns/op"); !ok || s.Center != 5750 {
		t.Errorf("Handle ns/op median = %v, %v; want 5750", s.Center, ok)
	}
	b := benches[1]
	if b.Name != "Bootstrap/WebhookFunction" || b.Pkg != "github.com/kycbackend/kyc/infra/local/lambdart" {
		t.Errorf("second = %s %s; want lambdart Bootstrap/WebhookFunction", b.Pkg, b.Name)
	}
	if s, ok := b.Summary("init-ms"); !ok || s.Center != 8.284 {
		t.Errorf("init-ms = %v, %v; want 8.284", s.Center, ok)
	}
	if _, ok := b.Summary("allocs/op"); ok {
		t.Error("Bootstrap has no allocs/op, Summary says it has")
	}
}

func TestReadWithoutResultsFails(t *testing.T) {
	if _, _, err := benchdoc.Read(strings.NewReader("PASS\nok  \tpkg\t0.1s\n")); err == nil {
		t.Fatal("Read of output without results = nil error; want an error (a failed run must not blank the table)")
	}
}

func TestTable(t *testing.T) {
	benches, _, err := benchdoc.Read(strings.NewReader(output))
	if err != nil {
		t.Fatal(err)
	}
	got := benchdoc.Table(benches, func(b benchdoc.Bench) string { return "`" + b.Name + "`" }, []benchdoc.Column{
		{Unit: "ns/op", Heading: "ns/op"},
		{Unit: "allocs/op", Heading: "allocs/op"},
		{Unit: "init-ms", Heading: "init ms", Format: func(v float64) string { return "~" + benchdoc.Number(v) }},
	})
	want := "| benchmark | ns/op | allocs/op | init ms |\n|---|---|---|---|\n" +
		"| `Handle` | 5,750 ±1% | 66 ±0% | - |\n" + // median ±benchstat's 95% interval

		"| `Bootstrap/WebhookFunction` | 47,500,000 | - | ~8.28 |\n"
	if got != want {
		t.Errorf("Table =\n%s\nwant\n%s", got, want)
	}
}

func TestNumber(t *testing.T) {
	for v, want := range map[float64]string{
		1_213_456: "1,210,000", 5750: "5,750", 376: "376", 66: "66", 21.04: "21.0", 4.049: "4.05", 0.3762: "0.376", 0: "0",
	} {
		if got := benchdoc.Number(v); got != want {
			t.Errorf("Number(%v) = %q; want %q", v, got, want)
		}
	}
}

func TestDecimal(t *testing.T) {
	for v, want := range map[float64]string{7: "7.00", 32: "32.0", 1_213_456: "1,210,000", 0.5: "0.5"} {
		if got := benchdoc.Decimal(v); got != want {
			t.Errorf("Decimal(%v) = %q; want %q", v, got, want)
		}
	}
}

func TestReplace(t *testing.T) {
	file := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	doc := "# Benchmarks\n\nprose\n\n<!-- micro:start -->\nold\n<!-- micro:end -->\n\nmore prose\n"
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := benchdoc.Replace(file, "micro", benchdoc.Block("micro", "new table\n")); err != nil {
		t.Fatal(err)
	}
	if err := benchdoc.Replace(file, "binaries", benchdoc.Block("binaries", "appended")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	want := "# Benchmarks\n\nprose\n\n<!-- micro:start -->\nnew table\n<!-- micro:end -->\n\nmore prose\n\n" +
		"<!-- binaries:start -->\nappended\n<!-- binaries:end -->\n"
	if string(got) != want {
		t.Errorf("file =\n%s\nwant\n%s", got, want)
	}
}
