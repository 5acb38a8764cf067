package proxy

import (
	"net/url"
	"testing"
)

// BenchmarkCanonicalPath compares reading a request path the new way
// (canonical form, raw form and the ambiguity checks) with the old
// matching-only cleanup it replaced, on a typical API path.
func BenchmarkCanonicalPath(b *testing.B) {
	u, err := url.ParseRequestURI("/v1/repos/acme/app/issues/42/comments?per_page=100")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("matchPath (before)", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = matchPath(u.Path)
		}
	})
	b.Run("canonicalize", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = canonicalize(u)
		}
	})
}
