package walkthrough

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"gopkg.in/yaml.v3"
)

// notWalked marks the sh block right below it as one no script runs, with the reason:
// <!-- not walked: needs an AWS account -->
var notWalked = regexp.MustCompile(`<!--\s*not walked:\s*\S.*-->`)

// docs are the README and every README.md next to the code (vendored trees excluded).
func docs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"shared", "infra", "functions", "events"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && d.Name() == "README.md" {
				out = append(out, path)
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return append([]string{filepath.Join(root, "README.md")}, out...)
}

// command is one command of a doc's sh block: its line and its normalized text.
type command struct {
	line int
	text string
}

// shCommands returns the commands of the sh blocks of a markdown text that are not marked
// not walked: continuation lines joined, output comments and trailing comments dropped.
func shCommands(md string) []command {
	var out []command
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		skip := false
		for j := i - 1; j >= 0 && j >= i-3; j-- {
			if notWalked.MatchString(lines[j]) {
				skip = true
			}
		}
		i++
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			if skip {
				continue
			}
			start := i
			cmd := lines[i]
			for strings.HasSuffix(strings.TrimSpace(cmd), `\`) && i+1 < len(lines) {
				i++
				cmd = strings.TrimSuffix(strings.TrimSpace(cmd), `\`) + " " + lines[i]
			}
			if n := normalize(cmd); n != "" {
				out = append(out, command{line: start + 1, text: n})
			}
		}
	}
	return out
}

var trailingComment = regexp.MustCompile(`\s{2,}#.*$`)

// normalize drops comments and collapses blanks, so that a command wrapped differently in a
// doc and a script is the same command.
func normalize(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if cmd == "" || strings.HasPrefix(cmd, "#") {
		return ""
	}
	cmd = trailingComment.ReplaceAllString(cmd, "")
	return strings.Join(strings.Fields(cmd), " ")
}

// scriptCommands are the commands of every walkthrough script: its lines and the lines of
// its files, normalized the same way.
func scriptCommands(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	offline, _ := filepath.Glob(filepath.Join("testdata", "offline", "*.txtar"))
	files = append(files, offline...)
	if err != nil || len(files) == 0 {
		t.Fatalf("no walkthrough scripts: %v", err)
	}
	have := map[string]bool{}
	for _, f := range files {
		a, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts := []string{string(a.Comment)}
		for _, file := range a.Files {
			texts = append(texts, string(file.Data))
		}
		for _, text := range texts {
			for _, c := range shCommands("```sh\n" + text + "\n```") {
				have[c.text] = true
			}
		}
	}
	return have
}

// TestDocsCommandsAreWalked fails when a doc's sh block shows a command that no walkthrough
// script runs (a stale path, a command that changed): the docs show what the tests ran.
func TestDocsCommandsAreWalked(t *testing.T) {
	have := scriptCommands(t)
	for _, doc := range docs(t) {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, doc)
		for _, c := range shCommands(string(raw)) {
			if !have[c.text] {
				t.Errorf("%s:%d shows %q, which no infra/local/walkthrough/testdata script runs (or mark its block <!-- not walked: why -->)", rel, c.line, c.text)
			}
		}
	}
}

// repoPath is a path of the repository a doc names (placeholders excluded).
var repoPath = regexp.MustCompile(`(?:^|[\s(\x60'"@=])((?:shared|infra|events|functions)/[A-Za-z0-9_./-]*[A-Za-z0-9_])`)

// stalePaths returns the repository paths md names that do not exist.
func stalePaths(md string) []string {
	var out []string
	for _, m := range repoPath.FindAllStringSubmatchIndex(md, -1) {
		p := md[m[2]:m[3]]
		if next := md[m[3]:min(m[3]+1, len(md))]; next == "<" || next == "{" || next == "*" {
			continue // shared/vendors/<vendor>, build-{...}
		}
		if strings.Contains(p, "..") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			out = append(out, p)
		}
	}
	return out
}

// TestDocsPathsExist fails when a doc names a file or directory of the repository that is
// not there (the banner's shared/idwise/testdata after the samples moved, say).
func TestDocsPathsExist(t *testing.T) {
	for _, doc := range docs(t) {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, doc)
		for _, p := range stalePaths(string(raw)) {
			t.Errorf("%s names %s, which does not exist", rel, p)
		}
	}
}

func TestDocCheckersFindStaleness(t *testing.T) {
	tests := []struct {
		name, md string
		stale    []string
		unwalked int
	}{
		{"stale sample path", "```sh\ncurl -d @shared/idwise/testdata/finished-journey.json\n```\n", []string{"shared/idwise/testdata/finished-journey.json"}, 1},
		{"existing path, walked command", "```sh\ncurl -s -X PUT http://127.0.0.1:3001/_sim/journeys/6720a1b2c3d4e5f6a7b8c22e -d @shared/vendors/idwise/testdata/journey-result.json\n```\n", nil, 0},
		{"placeholder", "see `shared/vendors/<vendor>` and `events/<vendor>-*.json`", nil, 0},
		{"marked block", "<!-- not walked: needs an AWS account -->\n```sh\nsam deploy --guided\n```\n", nil, 0},
		{"continuation lines", "```sh\nbin/kycctl \\\n  replay evt-fj-0001    # again\n```\n", nil, 0},
		{"unknown command", "```sh\nbin/kycctl replay evt-fj-0002\n```\n", nil, 1},
	}
	have := scriptCommands(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stalePaths(tt.md); fmt.Sprint(got) != fmt.Sprint(tt.stale) {
				t.Errorf("stalePaths = %q, want %q", got, tt.stale)
			}
			unwalked := 0
			for _, c := range shCommands(tt.md) {
				if !have[c.text] {
					unwalked++
				}
			}
			if unwalked != tt.unwalked {
				t.Errorf("%d commands no script runs, want %d", unwalked, tt.unwalked)
			}
		})
	}
}

// templateKeys returns the names of a top-level section of template.yaml (Parameters, Outputs).
func templateKeys(t *testing.T, section string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == section {
			var keys []string
			m := top.Content[i+1]
			for j := 0; j+1 < len(m.Content); j += 2 {
				keys = append(keys, m.Content[j].Value)
			}
			return keys
		}
	}
	t.Fatalf("template.yaml has no %s", section)
	return nil
}

// tableNames returns the names in backquotes of the first column of the markdown table
// whose header row starts with header, in the section headed heading.
func tableNames(md, heading, header string) map[string]bool {
	names := map[string]bool{}
	inSection, inTable := false, false
	for _, l := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(l, "#"):
			inSection = strings.TrimLeft(l, "# ") == heading
			inTable = false
		case inSection && strings.HasPrefix(l, "| "+header+" |"):
			inTable = true
		case inTable && strings.HasPrefix(l, "|"):
			cells := strings.Split(l, "|")
			for _, m := range regexp.MustCompile("`([A-Za-z0-9]+)`").FindAllStringSubmatch(cells[1], -1) {
				names[m[1]] = true
			}
		default:
			inTable = false
		}
	}
	return names
}

// TestDocsTablesMatchTemplate holds the README's outputs table and the configuration's
// parameter table (shared/compose/README.md) to template.yaml: every output and every
// parameter has a row, and no row names one the template lacks.
func TestDocsTablesMatchTemplate(t *testing.T) {
	tests := []struct {
		section, doc, heading, header string
	}{
		{"Outputs", "README.md", "Deploy", "output"},
		{"Parameters", filepath.Join("shared", "compose", "README.md"), "Configuration (deployed)", "parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.section, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			got := tableNames(string(raw), tt.heading, tt.header)
			want := templateKeys(t, tt.section)
			if len(got) == 0 {
				t.Fatalf("%s: no %q table under %q", tt.doc, tt.header, tt.heading)
			}
			inTemplate := map[string]bool{}
			for _, k := range want {
				inTemplate[k] = true
				if !got[k] {
					t.Errorf("%s: the %s table has no row for %s of template.yaml", tt.doc, tt.header, k)
				}
			}
			for k := range got {
				if !inTemplate[k] {
					t.Errorf("%s: the %s table names %s, which template.yaml's %s lack", tt.doc, tt.header, k, tt.section)
				}
			}
		})
	}
}

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
)

// slug is GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces to -.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDocsLinksResolve fails on a relative link of a doc to a file that is not there, or to
// an anchor no heading of the target has (the reference moved next to the code: every
// link must follow it).
func TestDocsLinksResolve(t *testing.T) {
	anchors := func(path string) map[string]bool {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		out := map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(string(raw), -1) {
			out[slug(m[1])] = true
		}
		return out
	}
	for _, doc := range docs(t) {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, doc)
		for _, m := range mdLink.FindAllStringSubmatch(string(raw), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := doc
			if file != "" {
				path = filepath.Join(filepath.Dir(doc), file)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s links to %s, which does not exist", rel, target)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(path, ".md") && !anchors(path)[anchor] {
				t.Errorf("%s links to %s: no heading of %s has the anchor #%s", rel, target, filepath.Base(path), anchor)
			}
		}
	}
}
