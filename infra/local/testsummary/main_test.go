package main

import (
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"chatter of a passing test\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: got 1, want 2\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Test":"TestB/sub","Output":"sub\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestB/sub"}`,
		`{"Action":"skip","Package":"p","Test":"TestC"}`,
		`{"Action":"output","Package":"p","Output":"FAIL\n"}`,
		`{"Action":"output","Package":"p","Output":"FAIL\tp\t0.1s\n"}`,
		`{"Action":"fail","Package":"p"}`,
		`# q [q.test]`,
	}, "\n")
	var out, results strings.Builder
	failed, err := summarize(strings.NewReader(in), &out, &results)
	if err != nil || !failed {
		t.Fatalf("summarize = %v, %v; want failed, nil", failed, err)
	}
	if got, want := results.String(), "pass p TestA\nfail p TestB\npass p TestB/sub\n"; got != want {
		t.Errorf("results = %q, want %q", got, want)
	}
	for _, want := range []string{"b_test.go:9: got 1, want 2", "FAIL\tp\t0.1s", "# q [q.test]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
	if strings.Contains(out.String(), "chatter of a passing test") {
		t.Errorf("output %q shows a passing test's output", out.String())
	}
}
