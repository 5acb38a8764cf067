package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// forbiddenInComments are references a reader of the repository cannot
// follow: a contract document and reports that live outside it, and the
// numbers of issues in a tracker that is not part of it. Comments point
// at the repository's own docs (docs/*.md) instead.
var forbiddenInComments = []struct {
	re  *regexp.Regexp
	fix string
}{
	{regexp.MustCompile(`\bSPEC\b`), "cite the section of docs/*.md that states the rule (docs/protocol.md, docs/permissions.md, docs/security-model.md, …)"},
	{regexp.MustCompile(`(?i)\bissues?\s+#?[0-9]+`), "say what the code does and why, not which issue asked for it"},
	{regexp.MustCompile(`(?i)\b(see|in|per) the report\b`), "put what the report said in docs/*.md or in the comment itself"},
}

// rfcBefore is what must come just before a section sign in a comment: the RFC it
// is a section of. Any other section sign cites a document the
// repository does not hold.
var rfcBefore = regexp.MustCompile(`RFC\s*[0-9]+,?\s*$`)

// commentFindings lists "file:line: text — fix" for each forbidden
// reference in the comments of one Go source file. String literals do not
// count.
func commentFindings(fset *token.FileSet, path string, src []byte) ([]string, error) {
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range f.Comments {
		start := fset.Position(g.Pos())
		out = append(out, textFindings(start.Filename, start.Line, strings.Split(g.Text(), "\n"))...)
	}
	return out, nil
}

// textFindings lists "file:line: text — fix" for each forbidden reference
// in lines, the first of which is line first of file: one finding a line.
func textFindings(file string, first int, lines []string) []string {
	var out []string
	report := func(i int, fix string) {
		out = append(out, file+":"+strconv.Itoa(first+i)+": "+strings.TrimSpace(lines[i])+" — "+fix)
	}
lines:
	for i, line := range lines {
		for _, rule := range forbiddenInComments {
			if rule.re.MatchString(line) {
				report(i, rule.fix)
				continue lines
			}
		}
		// A section sign may follow its RFC on the line before.
		for j := strings.Index(line, "§"); j >= 0; {
			before := line[:j]
			if i > 0 {
				before = lines[i-1] + " " + before
			}
			if !rfcBefore.MatchString(before) {
				report(i, "a section of what? name the RFC, or cite docs/*.md by its heading")
				continue lines
			}
			k := strings.Index(line[j+len("§"):], "§")
			if k < 0 {
				break
			}
			j += len("§") + k
		}
	}
	return out
}

// moduleFiles calls fn with the path (relative to the module root) and
// contents of every file of the module whose name ends in suffix, outside
// hidden folders, testdata, vendor and node_modules; it returns how many.
func moduleFiles(t *testing.T, suffix string, fn func(rel string, src []byte) error) int {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	root := strings.TrimSpace(string(out))
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, suffix) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files++
		return fn(rel, src)
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCommentsCiteTheRepository: no Go file of the module cites the
// contract, a report or an issue number that the repository does not
// hold. The reasons belong in docs/*.md, where comments can point.
func TestCommentsCiteTheRepository(t *testing.T) {
	fset := token.NewFileSet()
	var findings []string
	files := moduleFiles(t, ".go", func(rel string, src []byte) error {
		got, err := commentFindings(fset, rel, src)
		findings = append(findings, got...)
		return err
	})
	if files < 100 {
		t.Fatalf("read only %d Go files: the walk is wrong", files)
	}
	for _, f := range findings {
		t.Error(f)
	}
}

// TestDocsCiteTheRepository: the same rule for the Markdown the
// repository ships (README.md, docs/*.md, …): docs explain themselves and
// each other, never by a contract, report or issue outside the repository.
func TestDocsCiteTheRepository(t *testing.T) {
	var findings []string
	files := moduleFiles(t, ".md", func(rel string, src []byte) error {
		findings = append(findings, textFindings(rel, 1, strings.Split(string(src), "\n"))...)
		return nil
	})
	if files < 10 {
		t.Fatalf("read only %d Markdown files: the walk is wrong", files)
	}
	for _, f := range findings {
		t.Error(f)
	}
}

// The rule itself: what it catches and what it leaves alone.
func TestCommentFindings(t *testing.T) {
	cases := []struct {
		src  string
		want int
	}{
		{"package p\n// Limits (SPEC §8).\nvar x = 1\n", 1},
		{"package p\n/* see SPEC §4.2\n   rule 3 */\nvar x = 1\n", 1},
		{"package p\n// the SPEC table\nvar x = 1\n", 1},
		{"package p\n// needed by issue 12, item 3\nvar x = 1\n", 1},
		{"package p\n// Issue #7 asked for it.\nvar x = 1\n", 1},
		{"package p\n// see the report for this ambiguity\nvar x = 1\n", 1},
		{"package p\n// RFC 9112 §3.2.2 has a proxy ignore Host (docs/protocol.md, \"Proposals\").\nvar x = 1\n", 0},
		{"package p\n// KEY_SPEC_SESSION_KEYRING is the caller's keyring; a report is printed.\nvar x = 1\n", 0},
		{"package p\nvar s = \"SPEC §8, issue 12\" // a string, not a comment\n", 0},
		{"package p\n// a human concept (§9 auth)\nvar x = 1\n", 1},
		{"package p\n// rules 1–3 of §4.2 and RFC 9110 §7.6.1\nvar x = 1\n", 1},
		{"package p\n// hop-by-hop headers (RFC 9110\n// §7.6.1) are dropped; RFC 6455 §5.3, RFC 9112, §6.1\nvar x = 1\n", 0},
	}
	for _, tc := range cases {
		got, err := commentFindings(token.NewFileSet(), "x.go", []byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("%q: %d findings %v, want %d", tc.src, len(got), got, tc.want)
		}
	}
}

// docPath is a path to one of the repository's docs as comments and
// docs name it.
var docPath = regexp.MustCompile(`\bdocs/[A-Za-z0-9_-]+\.md\b`)

// TestNamedDocsExist: every docs/*.md that a Go file or a Markdown file
// names is in the repository, so that a pointer there leads somewhere.
func TestNamedDocsExist(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	root := strings.TrimSpace(string(out))
	named := map[string]string{} // doc → first file naming it
	look := func(rel string, src []byte) error {
		for _, d := range docPath.FindAllString(string(src), -1) {
			if _, ok := named[d]; !ok {
				named[d] = rel
			}
		}
		return nil
	}
	moduleFiles(t, ".go", look)
	moduleFiles(t, ".md", look)
	if len(named) < 5 {
		t.Fatalf("only %d docs named: the walk is wrong", len(named))
	}
	for d, by := range named {
		if _, err := os.Stat(filepath.Join(root, d)); err != nil {
			t.Errorf("%s names %s, which is not in the repository", by, d)
		}
	}
}
