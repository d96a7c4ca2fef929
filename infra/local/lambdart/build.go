package lambdart

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// goarchRE finds the GOARCH assignments of a build recipe.
var goarchRE = regexp.MustCompile(`\bGOARCH=([A-Za-z0-9_]+)`)

// BuildRecipe returns the shell commands of the Makefile target build-<logicalID> in the
// directory root, as `sam build` (BuildMethod: makefile, build in source) runs them with
// ARTIFACTS_DIR=dir: the output of `make -n`.
func BuildRecipe(ctx context.Context, root, logicalID, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-n", "-C", root,
		"build-"+logicalID, "ARTIFACTS_DIR="+dir)
	cmd.Env = makeEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("make -n build-%s: %w: %s", logicalID, err, strings.TrimSpace(stderr.String()))
	}
	recipe := strings.TrimSpace(string(out))
	if recipe == "" {
		return "", fmt.Errorf("make -n build-%s: empty recipe", logicalID)
	}
	return recipe, nil
}

// Build builds the function logicalID as `sam build` does, into dir/bootstrap, and
// returns that path. With goarch empty or equal to the recipe's own GOARCH (arm64 for
// Lambda), it runs `make build-<logicalID> ARTIFACTS_DIR=dir` in root, exactly sam's
// command. With another goarch (amd64, to execute the binary on this machine), it runs
// the same recipe (BuildRecipe) with every GOARCH=<x> replaced by GOARCH=<goarch>:
// flags and tags stay identical, only the architecture differs.
func Build(ctx context.Context, root, logicalID, dir, goarch string) (string, error) {
	recipe, err := BuildRecipe(ctx, root, logicalID, dir)
	if err != nil {
		return "", err
	}
	m := goarchRE.FindAllStringSubmatch(recipe, -1)
	if len(m) == 0 {
		return "", fmt.Errorf("build-%s sets no GOARCH: %q", logicalID, recipe)
	}
	var cmd *exec.Cmd
	if goarch == "" || goarch == m[0][1] {
		cmd = exec.CommandContext(ctx, "make", "--no-print-directory", "-C", root, "build-"+logicalID, "ARTIFACTS_DIR="+dir)
	} else {
		script := goarchRE.ReplaceAllString(recipe, "GOARCH="+goarch)
		cmd = exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir = root
	}
	cmd.Env = makeEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s for %s: %w: %s", logicalID, orDefault(goarch, m[0][1]), err, strings.TrimSpace(string(out)))
	}
	path := filepath.Join(dir, "bootstrap")
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("build %s: %w", logicalID, err)
	}
	return path, nil
}

// makeEnv is the caller's environment without the variables of an enclosing make (a
// `make test` run), so that the nested make behaves as sam's top-level one.
func makeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
