package shared_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/kycbackend/kyc/"

// layers says which layers of shared/ each layer may import (its own always).
var layers = map[string][]string{
	"core":    {},
	"vendors": {"core"},
	"app":     {"core", "vendors"},
	"edge":    {"core", "vendors", "app"},
	"aws":     {"core", "vendors", "app"},
	"compose": {"core", "vendors", "app", "edge", "aws"},
}

// noAWS lists the layers that must not depend on a module under these prefixes.
var noAWS = map[string][]string{
	"core":    {"github.com/aws/"}, // not even aws-lambda-go
	"vendors": {"github.com/aws/aws-sdk-go-v2", "github.com/aws/aws-lambda-go", "github.com/aws/smithy-go"},
}

// debt lists the known exceptions, each to be removed by moving its code behind a port.
// There is none: ops' queries went behind ops.Table (shared/aws/dynamo implements it).
var debt = map[string][]string{}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listShared is `go list -deps -json ./shared/...` (dependencies of the non-test code).
func listShared(t *testing.T) []pkg {
	t.Helper()
	touchSources(t)
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.ImportPath, module+"shared") {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages under shared/, want the whole tree", len(pkgs))
	}
	return pkgs
}

// layerOf is "core" for .../shared/core/kyc, "" for shared itself.
func layerOf(path string) string {
	rest, ok := strings.CutPrefix(path, module+"shared/")
	if !ok {
		return ""
	}
	l, _, _ := strings.Cut(rest, "/")
	return l
}

func allowed(path, dep string) bool {
	rel := strings.TrimPrefix(path, module)
	for _, prefix := range debt[rel] {
		if strings.HasPrefix(strings.TrimPrefix(dep, module), prefix) {
			return true
		}
	}
	return false
}

// violations applies the rules to pkgs and returns one line per broken rule.
func violations(pkgs []pkg) []string {
	var bad []string
	for _, p := range pkgs {
		layer := layerOf(p.ImportPath)
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, module+"infra/") {
				bad = append(bad, rel+" depends on "+dep+": the product must build and test without the local runtime")
			}
			for _, prefix := range noAWS[layer] {
				if strings.HasPrefix(dep, prefix) && !allowed(p.ImportPath, dep) {
					bad = append(bad, rel+" ("+layer+") depends on "+dep)
				}
			}
		}
		if _, known := layers[layer]; !known && layer != "" {
			bad = append(bad, rel+": layer "+layer+" is not declared in architecture_test.go")
			continue
		}
		for _, imp := range p.Imports {
			to := layerOf(imp)
			if to == "" || to == layer || allowed(p.ImportPath, imp) {
				continue
			}
			ok := false
			for _, l := range layers[layer] {
				ok = ok || l == to
			}
			if !ok {
				bad = append(bad, rel+" ("+layer+") imports "+strings.TrimPrefix(imp, module)+" ("+to+")")
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// TestLayers: the heart and the vendors import no AWS module, every layer imports only the
// layers below it, and nothing in shared/ imports infra/.
func TestLayers(t *testing.T) {
	for _, v := range violations(listShared(t)) {
		t.Error(v)
	}
}

// TestRulesCatchViolations: the rules fail on the imports they forbid.
func TestRulesCatchViolations(t *testing.T) {
	bad := []pkg{
		{ImportPath: module + "shared/core/kyc", Deps: []string{"github.com/aws/aws-lambda-go/events"}},
		{ImportPath: module + "shared/vendors/idwise", Deps: []string{"github.com/aws/aws-sdk-go-v2/service/s3"}},
		{ImportPath: module + "shared/aws/dynamo", Deps: []string{module + "infra/local/provision"}},
		{ImportPath: module + "shared/core/inbox", Imports: []string{module + "shared/aws/dynamo"}},
		{ImportPath: module + "shared/vendors/veriff", Imports: []string{module + "shared/edge/apigw"}},
		{ImportPath: module + "shared/edge/webhook", Imports: []string{module + "shared/compose"}},
	}
	for _, p := range bad {
		if v := violations([]pkg{p}); len(v) != 1 {
			t.Errorf("violations(%s -> %v%v) = %v, want one", p.ImportPath, p.Deps, p.Imports, v)
		}
	}
	good := pkg{ImportPath: module + "shared/vendors/veriff", Imports: []string{module + "shared/core/kyc"}, Deps: []string{"crypto/hmac"}}
	if v := violations([]pkg{good}); len(v) != 0 {
		t.Errorf("violations(veriff -> core) = %v, want none", v)
	}
}

// touchSources stats every Go file under shared/ and go.mod, so that `go test`'s cache
// (which does not see what `go list` reads) reruns this test when one of them changes.
func touchSources(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("../go.mod"); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		_, err = os.Stat(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLayoutIsDocumented: the README's layout table names every package of shared/ by its
// path, and infra/local/README.md every entry of infra/local (issue 15: a newcomer places
// a package from its path and finds it described).
func TestLayoutIsDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "./...").Output() // every package, test kits too
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, path := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(path, module)
		if !ok || rel == "shared" {
			continue
		}
		if !bytes.Contains(readme, []byte("| `"+rel+"` |")) {
			t.Errorf("README.md's layout table has no row for %s", rel)
		}
	}
	local, err := os.ReadFile(filepath.Join("..", "infra", "local", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join("..", "infra", "local"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == "README.md" {
			continue // .run/: logs of failed runs, ignored
		}
		if e.IsDir() {
			name += "/"
		}
		if !bytes.Contains(local, []byte("`"+name)) {
			t.Errorf("infra/local/README.md does not describe %s", name)
		}
	}
}
