package web

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The YAML editor's line finder reads a document and a field path that
// both come from the browser (the path through the broker's error): it
// must never panic, and a line it names must exist in the document.
func FuzzLineOf(f *testing.F) {
	f.Add("services:\n  - name: a\n    host: x\n", "services[0].host")
	f.Add("services: []\n", "services[3].auth.token")
	f.Add("- [\n", "]]..[[")
	f.Add("a: &x [*x]\n", "a[0][0]")
	f.Fuzz(func(t *testing.T, doc, path string) {
		if len(doc) > 4096 {
			return
		}
		n := lineOf(doc, path)
		if n < 0 || n > strings.Count(doc, "\n")+1 {
			t.Fatalf("line %d of a %d-line document", n, strings.Count(doc, "\n")+1)
		}
	})
}

// Host names from the discovered-hosts list become a proposed service
// name: always a slug (lower-case letters, digits, inner dashes), at most
// 60 bytes.
func FuzzSlugOf(f *testing.F) {
	f.Add("api.example.com:8443/v1")
	f.Add("--..--")
	f.Add("ÄPI.例え.jp")
	f.Fuzz(func(t *testing.T, host string) {
		s := slugOf(host)
		if len(s) > 60 || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || !utf8.ValidString(s) {
			t.Fatalf("slugOf(%q) = %q", host, s)
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("slugOf(%q) = %q", host, s)
			}
		}
	})
}

func TestSlugOfLongHostEndsWithoutDash(t *testing.T) {
	host := strings.Repeat("a", 59) + ".b.com"
	if s := slugOf(host); strings.HasSuffix(s, "-") || s != strings.Repeat("a", 59) {
		t.Fatalf("slugOf = %q", s)
	}
}
