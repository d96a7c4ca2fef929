// Command testsummary reads `go test -json` on stdin and prints what a person needs: each
// package's result line, and the output of every test that failed (not the passing ones'
// verbose output). It appends one line per test, "pass <pkg> <test>" or "fail <pkg> <test>",
// to the -results file, from which `make test` prints its last line, "N passed, N failed".
// Exit 1 when a test or a package failed (a build error fails its package).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	results := flag.String("results", "", "file to append one pass/fail line per test to")
	flag.Parse()
	var out io.Writer = io.Discard
	if *results != "" {
		f, err := os.OpenFile(*results, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(2)
		}
		defer f.Close()
		out = f
	}
	failed, err := summarize(os.Stdin, os.Stdout, out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the interesting part of the stream to w and the per-test results to
// results; it reports whether anything failed.
func summarize(r io.Reader, w, results io.Writer) (bool, error) {
	outputs := map[string][]string{} // package/test -> output lines, kept until its result
	failed := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintln(w, string(line)) // not JSON: a build error, go vet's output
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if e.Test == "" {
				// package level: keep the result lines (ok, FAIL, build errors), drop the -v chatter
				if t := strings.TrimSpace(e.Output); t != "" && t != "PASS" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- PASS") {
					outputs[key] = append(outputs[key], e.Output)
				}
				continue
			}
			outputs[key] = append(outputs[key], e.Output)
		case "pass", "skip":
			if e.Test != "" {
				if e.Action == "pass" {
					fmt.Fprintf(results, "pass %s %s\n", e.Package, e.Test)
				}
				delete(outputs, key)
				continue
			}
			fmt.Fprint(w, strings.Join(outputs[key], ""))
			delete(outputs, key)
		case "fail":
			failed = true
			if e.Test != "" {
				fmt.Fprintf(results, "fail %s %s\n", e.Package, e.Test)
			}
			fmt.Fprint(w, strings.Join(outputs[key], ""))
			delete(outputs, key)
		}
	}
	return failed, sc.Err()
}
