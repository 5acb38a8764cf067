package web

import (
	"strings"
	"testing"
)

// Paths come from anyone: the matcher never panics, and a match keeps the
// pattern's fixed segments.
func FuzzPathMatches(f *testing.F) {
	for _, s := range []string{"/", "/vaults/a/members", "/vaults//members", "/vaults/a/b/c", "//", "/vaults/%2F/settings", ""} {
		f.Add(s)
	}
	paths := New(Options{}).Paths()
	f.Fuzz(func(t *testing.T, path string) {
		for _, p := range paths {
			if !pathMatches(p, path) {
				continue
			}
			if p == "/{$}" {
				if path != "/" {
					t.Fatalf("/{$} matched %q", path)
				}
				continue
			}
			ps, xs := strings.Split(p, "/"), strings.Split(path, "/")
			if len(xs) < len(ps) {
				t.Fatalf("%q matched %q with fewer segments", p, path)
			}
			for i, seg := range ps {
				if !strings.HasPrefix(seg, "{") && xs[i] != seg {
					t.Fatalf("%q matched %q: segment %d is %q", p, path, i, xs[i])
				}
				if strings.HasPrefix(seg, "{") && xs[i] == "" {
					t.Fatalf("%q matched %q with an empty {…} segment", p, path)
				}
			}
		}
	})
}
