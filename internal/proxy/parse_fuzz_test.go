package proxy

import (
	"path"
	"strings"
	"testing"
)

// FuzzSplitTarget checks the parser of CONNECT targets and Host headers:
// it never panics, a target it accepts has a non-empty lowercase host
// without a trailing dot and a port in 1–65535, and the authority the
// proxy sends upstream parses back to the same target.
func FuzzSplitTarget(f *testing.F) {
	for _, s := range []string{"api.example.com:443", "API.Example.COM.", "[::1]:8443", "[::1]", "::1", "h:0", "h:65536", "h:+80",
		"h:080", ":443", "[]:1", "a[b]:2", "x.y:443:1", "", "."} {
		f.Add(s, "https")
		f.Add(s, "http")
	}
	f.Fuzz(func(t *testing.T, hostport, scheme string) {
		host, port, err := splitTarget(hostport, scheme)
		if err != nil {
			return
		}
		if host == "" || host != strings.ToLower(host) || strings.HasSuffix(host, ".") || port < 1 || port > 65535 {
			t.Fatalf("splitTarget(%q) = %q, %d", hostport, host, port)
		}
		if scheme != "http" && scheme != "https" || strings.ContainsAny(host, "[]") || strings.HasPrefix(host, ":") {
			return
		}
		tg := target{scheme: scheme, host: host, port: port}
		h2, p2, err := splitTarget(tg.authority(), scheme)
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("splitTarget(%q) = %q %d; its authority %q parses to %q %d %v", hostport, host, port, tg.authority(), h2, p2, err)
		}
	})
}

// FuzzMatchPath checks the path services are matched on: it is absolute,
// has no dot segment and no empty segment a glob could be fooled by,
// keeps a trailing slash, and cleaning it again changes nothing.
func FuzzMatchPath(f *testing.F) {
	for _, s := range []string{"", "/", "/api/../admin", "api/x", "/a/./b/", "//x//y", "/..", "/a/b/../../../c", "/%2e%2e/x", "/x/."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		m := matchPath(p)
		if !strings.HasPrefix(m, "/") {
			t.Fatalf("matchPath(%q) = %q is not absolute", p, m)
		}
		trimmed := strings.TrimSuffix(m, "/")
		if m != "/" && path.Clean(trimmed) != trimmed {
			t.Fatalf("matchPath(%q) = %q is not clean", p, m)
		}
		for _, seg := range strings.Split(trimmed, "/")[1:] {
			if seg == "." || seg == ".." || seg == "" && trimmed != "" {
				t.Fatalf("matchPath(%q) = %q keeps segment %q", p, m, seg)
			}
		}
		if p != "" && strings.HasSuffix(p, "/") && !strings.HasSuffix(m, "/") {
			t.Fatalf("matchPath(%q) = %q lost the trailing slash", p, m)
		}
		if again := matchPath(m); again != m {
			t.Fatalf("matchPath is not idempotent: %q -> %q -> %q", p, m, again)
		}
	})
}
