// Package benchdoc writes `make bench`'s figures into BENCHMARKS.md: each figure lives in a
// marked block (<!-- name:start --> ... <!-- name:end -->) that a run replaces, so the file
// is regenerated, never edited by hand where it holds numbers. Go benchmark output is read
// with golang.org/x/perf's benchfmt (the format `go test -bench` prints, documented in the
// Go benchmark data format proposal) and summarised with its benchmath: the median of the
// runs and its confidence interval, as benchstat prints them.
package benchdoc

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Replace replaces the <!-- name:start --> ... <!-- name:end --> block of file with
// block (which carries its own markers, see Block), or appends it when file has none.
func Replace(file, name, block string) error {
	old, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("benchdoc: %w", err)
	}
	s := string(old)
	start, end := "<!-- "+name+":start -->", "<!-- "+name+":end -->\n"
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i >= 0 && j > i {
		s = s[:i] + block + s[j+len(end):]
	} else {
		s = strings.TrimRight(s, "\n") + "\n\n" + block
	}
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		return fmt.Errorf("benchdoc: %w", err)
	}
	return nil
}

// Block wraps body in name's markers.
func Block(name, body string) string {
	return "<!-- " + name + ":start -->\n" + strings.TrimRight(body, "\n") + "\n<!-- " + name + ":end -->\n"
}

// Bench is one benchmark's results over its runs (-count).
type Bench struct {
	Pkg    string // the pkg: line before it, e.g. github.com/kycbackend/kyc/shared/edge/webhook
	Name   string // e.g. Handle, or Bootstrap/WebhookFunction (without "Benchmark" and -GOMAXPROCS)
	Runs   int
	Values map[string][]float64 // unit (ns/op, B/op, init-ms, ...) -> one value per run
}

// Summary is the median of unit's values and its 95% confidence interval (benchmath's
// AssumeNothing, benchstat's default); ok is false when the benchmark has no such unit.
func (b Bench) Summary(unit string) (s benchmath.Summary, ok bool) {
	vs := b.Values[unit]
	if len(vs) == 0 {
		return benchmath.Summary{}, false
	}
	return benchmath.AssumeNothing.Summary(benchmath.NewSample(vs, &benchmath.DefaultThresholds), 0.95), true
}

// Env is the configuration `go test -bench` prints before the results (goos, goarch, cpu).
type Env map[string]string

// Read reads `go test -bench` output (other lines, such as logs, are skipped) into its
// benchmarks, in the order they first appear, and the file configuration last seen.
func Read(r io.Reader) ([]Bench, Env, error) {
	rd := benchfmt.NewReader(r, "go test output")
	var out []Bench
	index := map[string]int{}
	env := Env{}
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue // syntax errors are log lines interleaved with the results; unit metadata
		}
		for _, c := range res.Config {
			if c.File {
				env[c.Key] = string(c.Value)
			}
		}
		pkg := res.GetConfig("pkg")
		name := trimProcs(string(res.Name))
		key := pkg + " " + name
		i, seen := index[key]
		if !seen {
			i = len(out)
			index[key] = i
			out = append(out, Bench{Pkg: pkg, Name: name, Values: map[string][]float64{}})
		}
		out[i].Runs++
		for _, v := range res.Values {
			unit, value := v.Unit, v.Value
			if v.OrigUnit != "" { // benchfmt tidies ns/op to sec/op; the tables keep go test's units
				unit, value = v.OrigUnit, v.OrigValue
			}
			out[i].Values[unit] = append(out[i].Values[unit], value)
		}
	}
	if err := rd.Err(); err != nil {
		return nil, nil, fmt.Errorf("benchdoc: read: %w", err)
	}
	if len(out) == 0 {
		return nil, nil, errors.New("benchdoc: no benchmark results in the input")
	}
	return out, env, nil
}

// trimProcs drops the -GOMAXPROCS suffix go test adds to the last name part.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// Column is one column of a Table: a unit, its heading and how its median is written.
type Column struct {
	Unit    string
	Heading string
	Format  func(float64) string // nil: Number
}

// Table writes benches as a Markdown table: a first column label(b), then one cell per
// column with the median, followed by benchstat's ±range when the runs vary (-count > 1).
// A benchmark without a column's unit gets "-".
func Table(benches []Bench, label func(Bench) string, cols []Column) string {
	var b strings.Builder
	b.WriteString("| benchmark |")
	sep := "|---|"
	for _, c := range cols {
		b.WriteString(" " + c.Heading + " |")
		sep += "---|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, bench := range benches {
		b.WriteString("| " + label(bench) + " |")
		for _, c := range cols {
			s, ok := bench.Summary(c.Unit)
			if !ok {
				b.WriteString(" - |")
				continue
			}
			f := c.Format
			if f == nil {
				f = Number
			}
			cell := f(s.Center)
			if bench.Runs > 1 {
				if r := s.PctRangeString(); r != "∞" && r != "?" {
					cell += " ±" + r
				}
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Number writes v with three significant digits, thousands separated, integers without a
// fraction: 1,210,000; 5,750; 66; 21.0; 4.05; 0.376.
func Number(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return Decimal(v)
}

// Decimal writes v with three significant digits, thousands separated, keeping the
// fraction's digits of a measured figure: 1,210,000; 5,750; 7.00; 21.0; 0.376.
func Decimal(v float64) string {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	switch a := math.Abs(f); {
	case a >= 100:
		return thousands(strconv.FormatFloat(f, 'f', 0, 64))
	case a >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(f, 'f', 2, 64)
	default:
		return strconv.FormatFloat(f, 'g', 3, 64)
	}
}

func thousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var parts []string
	for len(s) > 3 {
		parts = append([]string{s[len(s)-3:]}, parts...)
		s = s[:len(s)-3]
	}
	parts = append([]string{s}, parts...)
	out := strings.Join(parts, ",")
	if neg {
		out = "-" + out
	}
	return out
}

// Sorted returns benches ordered by package then name (a stable table whatever order the
// packages ran in).
func Sorted(benches []Bench) []Bench {
	s := slices.Clone(benches)
	slices.SortStableFunc(s, func(a, b Bench) int { return cmp.Or(cmp.Compare(a.Pkg, b.Pkg), cmp.Compare(a.Name, b.Name)) })
	return s
}
