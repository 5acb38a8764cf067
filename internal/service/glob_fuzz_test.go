package service

import (
	"strings"
	"testing"
)

// globBacktrack is the matcher globMatch replaced: correct, but it
// backtracks to the last star, O(len(pat)·len(s)) at worst. It is the
// reference the fuzz target and the benchmark compare against.
func globBacktrack(pat, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for px < len(pat) || sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; {
			case c == '*':
				starPx, starSx = px, sx
				px++
				continue
			case sx < len(s) && s[sx] == c:
				px++
				sx++
				continue
			}
		}
		if starPx >= 0 && starSx < len(s) {
			starSx++
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}

// FuzzGlobMatch checks the linear matcher against the backtracking one it
// replaced (and, for short inputs, the recursive definition) on any
// pattern and path, and that a pattern always matches a path built from
// it by filling its stars.
func FuzzGlobMatch(f *testing.F) {
	for _, c := range [][2]string{
		{"/api/*", "/api/v1"}, {"/a*b*c", "/aXbYc"}, {"*", ""}, {"**", "x"}, {"a*a*a", "aaaa"},
		{"/v1/*/issues/", "/v1/x/issues/"}, {"*ab*ab*", "aab"}, {"/x", "/x/"}, {"a*", "b"}, {"*aab", "aaab"},
	} {
		f.Add(c[0], c[1], "fill")
	}
	f.Fuzz(func(t *testing.T, pat, s, fill string) {
		if len(pat)*len(s) > 1<<20 {
			t.Skip("the reference is quadratic")
		}
		got := globMatch(pat, s)
		if want := globBacktrack(pat, s); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, the reference says %v", pat, s, got, want)
		}
		if len(pat) <= 12 && len(s) <= 24 {
			if want := globOracle(pat, s); got != want {
				t.Fatalf("globMatch(%q, %q) = %v, the definition says %v", pat, s, got, want)
			}
		}
		if filled := strings.ReplaceAll(pat, "*", fill); !globMatch(pat, filled) {
			t.Fatalf("globMatch(%q, %q) = false for the pattern with its stars filled by %q", pat, filled, fill)
		}
	})
}

// BenchmarkGlobPathological runs member-chosen patterns with long
// literals against a 900 KB agent-chosen path that almost matches them
// everywhere: linear is the matcher in use, backtrack the one it replaced.
func BenchmarkGlobPathological(b *testing.B) {
	path := "/" + strings.Repeat("a", 900<<10)
	cases := []struct{ name, pat string }{
		{"star-long-literal", "/*" + strings.Repeat("a", 1000) + "b"},
		{"star-long-literal-star", "/*" + strings.Repeat("a", 1000) + "b*"},
		{"many-stars", "/*" + strings.Repeat("a*", 300) + "b"},
		{"literal-then-star", "/" + strings.Repeat("a", 500) + "*" + strings.Repeat("a", 500) + "b*"},
		{"typical-hit", "/a*"},
	}
	for _, c := range cases {
		if len(c.pat) > MaxPathLen {
			b.Fatalf("%s: pattern of %d bytes is over the limit", c.name, len(c.pat))
		}
		want := globBacktrack(c.pat, path)
		for _, m := range []struct {
			name string
			fn   func(string, string) bool
		}{{"linear", globMatch}, {"backtrack", globBacktrack}} {
			b.Run(c.name+"/"+m.name, func(b *testing.B) {
				for b.Loop() {
					if m.fn(c.pat, path) != want {
						b.Fatal("wrong answer")
					}
				}
			})
		}
	}
}
