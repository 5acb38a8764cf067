package proxy

import (
	"bufio"
	"net/http"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/service"
)

// pathAttacks seed the fuzz target: tricks that get a path-scoped
// credential outside its scope on lenient upstreams.
var pathAttacks = []string{
	"/api/x", "/api/..;/admin", `/api/..\admin`, "/api/..%5cadmin", "/api/%252e%252e/admin",
	"/api/..%252fadmin", "/api/%c0%ae%c0%ae/admin", "/api/%e0%80%ae./admin", "/api/%u002e%u002e/admin",
	"/api/;x/../admin", "/api/.../admin", "/api/x/..%2f..%2fadmin", "/api/x;a=b/y", "/api/%2561dmin",
	"/api/ADMIN/x", "/api/admin./x", "/api//../admin", "/api/admin;x", "/api/admin.", "/api/admin%20", "/api/Admin.;a",
}

// FuzzPathScope: whenever a credential of an /api/*-scoped service (which
// denies /api/admin*) is injected, every reading of the forwarded path
// that a lenient upstream might apply (percent-decoding once or twice, %u
// escapes, backslash as slash, ";" parameters stripped, overlong UTF-8,
// trailing dots and spaces trimmed, empty segments kept or collapsed, case
// folded) still lands inside /api/* and outside the denied paths.
func FuzzPathScope(f *testing.F) {
	for _, a := range pathAttacks {
		f.Add(a)
	}
	for _, a := range []string{"/my%20files/x", "/my%20files/%2e%2e/admin", "/my%2520files/x", "/my%20files/..%2Fadmin", "/my%20files/%41dmin"} {
		f.Add(a)
	}
	svc, err := service.FromAPI(apitype.Service{Name: "api", Host: "api.test/api/*", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"},
		Paths: &apitype.PathRules{Deny: []string{"/api/admin*"}}}, "")
	if err != nil {
		f.Fatal(err)
	}
	// A glob with an escape: every reading must stay under the space the
	// glob decodes to (or its escaped spelling), outside the denied one.
	esc, err := service.FromAPI(apitype.Service{Name: "files", Host: "api.test/my%20files/*", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"},
		Paths: &apitype.PathRules{Deny: []string{"/my%20files/%7Badmin%7D*"}}}, "")
	if err != nil {
		f.Fatal(err)
	}
	// A deny glob without a trailing *: no reading may be the denied path.
	exact, err := service.FromAPI(apitype.Service{Name: "exact", Host: "api.test/api/*", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"},
		Paths: &apitype.PathRules{Deny: []string{"/api/admin"}}}, "")
	if err != nil {
		f.Fatal(err)
	}
	scopes := []struct {
		svc           service.Service
		inside        []string
		deniedLC      []string // denied prefixes
		deniedExactLC []string // denied paths
	}{
		{svc, []string{"/api/"}, []string{"/api/admin"}, nil},
		{esc, []string{"/my files/", "/my%20files/"}, []string{"/my files/{admin}", "/my%20files/%7badmin%7d", "/my files/%7badmin%7d", "/my%20files/{admin}"}, nil},
		{exact, []string{"/api/"}, nil, []string{"/api/admin"}},
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, sc := range scopes {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + raw + " HTTP/1.1\r\nHost: api.test\r\n\r\n")))
			if err != nil {
				return // net/http refuses it before the proxy sees it
			}
			svc := sc.svc
			cp := canonicalize(r.URL)
			if res := service.Match([]service.Service{svc}, "api.test", 443, cp.path); !res.Matched {
				continue // no credential
			}
			if admitService(r, &svc, target{scheme: "https", host: "api.test", port: 443}, cp) != nil {
				continue // refused
			}
			sent := r.URL.EscapedPath() // what the transport writes upstream
			if sent != cp.raw {
				t.Fatalf("%q: forwarded %q, not the canonical %q", raw, sent, cp.raw)
			}
			for _, reading := range lenientReadings(sent) {
				in := false
				for _, p := range sc.inside {
					in = in || strings.HasPrefix(reading, p)
				}
				for _, d := range sc.deniedLC {
					in = in && !strings.HasPrefix(strings.ToLower(reading), d)
				}
				for _, d := range sc.deniedExactLC {
					in = in && strings.ToLower(reading) != d
				}
				if !in {
					t.Fatalf("%q: forwarded as %q, which a lenient upstream reads as %q: outside the scope of %s", raw, sent, reading, svc.Pattern)
				}
			}
		}
	})
}

// lenientReadings is every path an upstream might make of p.
func lenientReadings(p string) []string {
	var out []string
	for decodes := 0; decodes <= 2; decodes++ {
		for mask := 0; mask < 16; mask++ {
			s := p
			for range decodes {
				s = overlong(lenientUnescape(s))
			}
			if mask&1 != 0 {
				s = strings.ReplaceAll(s, `\`, "/")
			}
			if mask&2 != 0 {
				s = mapSegments(s, func(seg string) string { name, _, _ := strings.Cut(seg, ";"); return name })
			}
			if mask&4 != 0 {
				s = overlong(s)
			}
			if mask&8 != 0 {
				s = mapSegments(s, func(seg string) string { return strings.TrimRight(seg, ". ") })
			}
			out = append(out, resolveKeepingEmpty(s), path.Clean(s)+trailingSlash(s))
		}
	}
	return out
}

func trailingSlash(s string) string {
	if strings.HasSuffix(s, "/") && len(s) > 1 {
		return "/"
	}
	return ""
}

func mapSegments(s string, fn func(string) string) string {
	segs := strings.Split(s, "/")
	for i := range segs {
		if segs[i] != "" {
			segs[i] = fn(segs[i])
		}
	}
	return strings.Join(segs, "/")
}

// lenientUnescape decodes every well-formed %XX and %uXXXX, leaving the
// rest as it is.
func lenientUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
				if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
					b.WriteRune(rune(n))
					i += 5
					continue
				}
			}
			if i+2 < len(s) {
				if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
					b.WriteByte(byte(n))
					i += 2
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// overlong decodes overlong two- and three-byte UTF-8 forms of ASCII
// (C0 AE, E0 80 AE for "."), as some decoders do.
func overlong(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c == 0xC0 || c == 0xC1) && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			b.WriteByte((c&0x1F)<<6 | s[i+1]&0x3F)
			i++
			continue
		}
		if c == 0xE0 && i+2 < len(s) && s[i+1]&0xE0 == 0x80 && s[i+2]&0xC0 == 0x80 {
			b.WriteByte((s[i+1]&0x3F)<<6 | s[i+2]&0x3F)
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// resolveKeepingEmpty removes dot segments the way RFC 3986 does, keeping
// empty segments (so "/a//.." is "/a/").
func resolveKeepingEmpty(s string) string {
	segs := strings.Split(s, "/")
	var out []string
	for i, seg := range segs {
		if i == 0 {
			continue
		}
		switch seg {
		case ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}

// TestCanonicalPathMatchesDecodedForm: for every seed, an unambiguous
// path's forwarded form decodes to exactly the path it was matched on.
func TestCanonicalPathMatchesDecodedForm(t *testing.T) {
	for _, a := range pathAttacks {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + a + " HTTP/1.1\r\nHost: api.test\r\n\r\n")))
		if err != nil {
			continue
		}
		cp := canonicalize(r.URL)
		if cp.ambiguous == "" && cp.path != matchPath(r.URL.Path) {
			t.Errorf("%q: canonical %q, matched %q", a, cp.path, matchPath(r.URL.Path))
		}
	}
}
