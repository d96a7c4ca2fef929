package lambdart_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kycbackend/kyc/infra/local/lambdart"
)

// fakeMakefile has build targets shaped like the repository's, whose "build" writes the
// GOARCH it ran with into the artifact.
const fakeMakefile = `SHELL := /bin/bash
GOBUILD = GOOS=linux GOARCH=arm64 CGO_ENABLED=0 sh -c 'echo "$$GOOS/$$GOARCH $$0 $$*"' -trimpath -tags lambda.norpc
build-GoodFunction:
	$(GOBUILD) ./functions/good > $(ARTIFACTS_DIR)/bootstrap
build-NoArchFunction:
	echo x > $(ARTIFACTS_DIR)/bootstrap
build-NoArtifactFunction:
	GOARCH=arm64 true
`

func TestBuild(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "Makefile"), []byte(fakeMakefile), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		function string
		goarch   string
		want     string // content of the artifact
		wantErr  string
	}{
		{"as sam build does", "GoodFunction", "", "linux/arm64 -trimpath -tags lambda.norpc ./functions/good", ""},
		{"same architecture", "GoodFunction", "arm64", "linux/arm64 -trimpath -tags lambda.norpc ./functions/good", ""},
		{"for this machine: only GOARCH differs", "GoodFunction", "amd64", "linux/amd64 -trimpath -tags lambda.norpc ./functions/good", ""},
		{"no such target", "MissingFunction", "amd64", "", "build-MissingFunction"},
		{"recipe without GOARCH", "NoArchFunction", "amd64", "", "sets no GOARCH"},
		{"recipe writes no bootstrap", "NoArtifactFunction", "", "", "bootstrap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, err := lambdart.Build(context.Background(), root, tt.function, dir, tt.goarch)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Build() error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build() = %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil || strings.TrimSpace(string(got)) != tt.want || path != filepath.Join(dir, "bootstrap") {
				t.Errorf("artifact %s = %q, %v; want %q", path, got, err, tt.want)
			}
		})
	}
}

func TestBuildRecipeOfTheRepositoryMakefile(t *testing.T) {
	recipe, err := lambdart.BuildRecipe(context.Background(), "../../..", "WebhookFunction", "/out")
	if err != nil {
		t.Fatal(err)
	}
	// What sam build runs: the deployed architecture, the runtime API over HTTP only, the
	// artifact where sam wants it.
	for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "-tags lambda.norpc", "-o /out/bootstrap", "./functions/webhook"} {
		if !strings.Contains(recipe, want) {
			t.Errorf("BuildRecipe() = %q, want it to contain %q", recipe, want)
		}
	}
}
