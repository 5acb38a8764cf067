package service

import "strings"

// Covers reports whether every request q could match, p matches too: the
// rule for "a credential bound to p may be sent to a service at q". It is
// sound but not complete: when p's path glob is anything other than a
// literal path or a literal prefix followed by one trailing "*", only an
// identical path counts as covered, so Covers may say no to a pattern that
// is in fact narrower, never yes to one that is wider.
//
//   - Host: a plain host or IP covers only itself. "*.example.com" covers
//     itself and every host one label below example.com
//     (api.example.com), but not example.com, a.b.example.com, nor
//     "*.api.example.com" (whose hosts are two labels below).
//   - Port: ports must be equal. A port-less pattern matches any port but
//     only over TLS, while a pattern with a port may also be sent over
//     plain http://, so a port-less binding does not cover a pattern with
//     a port.
//   - Path: no path covers every path; "/api/*" covers "/api/*",
//     "/api/v1" and "/api/v1/*"; any other path covers only itself. A
//     longer path with a percent-escape or a dot segment is covered only
//     by itself, whatever upstreams make of it.
func (p Pattern) Covers(q Pattern) bool {
	if p.Host == "" || q.Host == "" {
		return false
	}
	switch {
	case !p.Wildcard && (q.Wildcard || q.Host != p.Host):
		return false
	case p.Wildcard && q.Wildcard && q.Host != p.Host:
		return false
	case p.Wildcard && !q.Wildcard && !p.matchesNormalizedHost(q.Host, q.Port):
		return false
	}
	if q.Port != p.Port {
		return false
	}
	return pathCovers(p.Path, q.Path)
}

// pathCovers reports whether every path glob q matches is matched by p.
func pathCovers(p, q string) bool {
	switch {
	case p == "" || p == q:
		return true
	case q == "":
		return false
	}
	lit, ok := strings.CutSuffix(p, "*")
	if !ok || strings.IndexByte(lit, '*') >= 0 || strings.IndexByte(q, '%') >= 0 || hasDotSegment(q) {
		return false
	}
	// Every path q matches starts with q's literal prefix, so with lit too.
	return strings.HasPrefix(q, lit)
}

// hasDotSegment reports a "." or ".." segment in a path glob.
func hasDotSegment(path string) bool {
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// CoveredBy reports whether one of the patterns covers q. Patterns that do
// not parse cover nothing.
func CoveredBy(patterns []string, q Pattern) bool {
	for _, s := range patterns {
		if p, err := ParsePattern(s); err == nil && p.Covers(q) {
			return true
		}
	}
	return false
}
