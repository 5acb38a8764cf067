package service

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/errs"
)

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"api.stripe.com", "*.github.com", "slack.com/api/*", "internal.corp:3000/api/*",
		"[2001:db8::1]:8443/x", "10.0.0.1", "**.x.com", "a*.b.com", "https://x.com", "X.com",
		"x.com.", "x.com:0", "h.com/a?b", "h.com/%2F*", "*.com", "[::1", "1.2.3", "h.com/api$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.KindInvalid || e.Field != "host" || !strings.HasPrefix(e.Message, "host: ") {
				t.Fatalf("rejection %v is not an invalid-input error for field host", err)
			}
			if p != (Pattern{}) {
				t.Fatalf("returned %+v alongside an error", p)
			}
			return
		}
		// Reads return what was written, and the written form is stable.
		if got := p.String(); got != s {
			t.Fatalf("ParsePattern(%q).String() = %q", s, got)
		}
		again, err := ParsePattern(p.String())
		if err != nil || again != p {
			t.Fatalf("re-parse of %q = %+v, %v; want %+v", s, again, err, p)
		}
		// Invariants of an accepted pattern.
		switch {
		case p.Host == "" || len(p.Host) > MaxHostLen:
			t.Fatalf("host %q", p.Host)
		case strings.ContainsAny(p.Host, "*/?#@ ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
			t.Fatalf("host %q holds a character it may not", p.Host)
		case strings.HasSuffix(p.Host, ".") || strings.Contains(p.Host, ".."):
			t.Fatalf("host %q has an empty label", p.Host)
		case p.Port < 0 || p.Port > 65535:
			t.Fatalf("port %d", p.Port)
		case p.Path != "" && p.Path[0] != '/':
			t.Fatalf("path %q", p.Path)
		case strings.Contains(p.Path, "**") || strings.ContainsAny(p.Path, "?# \t\r\n"):
			t.Fatalf("path %q", p.Path)
		case p.LiteralPrefixLen() > len(p.Path):
			t.Fatalf("literal prefix %d of %q", p.LiteralPrefixLen(), p.Path)
		}
		port := p.Port
		if port == 0 {
			port = 443
		}
		if p.Wildcard {
			if !p.MatchesHost("x."+p.Host, port) || p.MatchesHost(p.Host, port) || p.MatchesHost("a.b."+p.Host, port) {
				t.Fatalf("%q does not match exactly one extra label", s)
			}
		} else if !p.MatchesHost(p.Host, port) || !p.MatchesHost(strings.ToUpper(p.Host), port) {
			t.Fatalf("%q does not match its own host", s)
		}
		if p.Port != 0 && p.MatchesHost(p.Host, p.Port%65535+1) {
			t.Fatalf("%q matches another port", s)
		}
		// A "*" can match nothing, so the path with its stars removed
		// matches, and so does the path with a star replaced by anything.
		if !p.MatchesPath(strings.ReplaceAll(p.Path, "*", "")) || !p.MatchesPath(strings.ReplaceAll(p.Path, "*", "/x/y")) {
			t.Fatalf("%q does not match its own path", s)
		}
	})
}

// matchSet is a fixed service set exercising every priority rule.
var matchSet = []string{
	"any=*.ex.com", "anyport=*.ex.com:443", "anypath=*.ex.com/api/*", "exact=api.ex.com",
	"exactport=api.ex.com:443/v1/*", "exactpath=api.ex.com/v1/x/*", "tie1=api.ex.com/v2/*a",
	"tie2=api.ex.com/v2/*b", "disabled=api.ex.com:8443", "slack-api=slack.com/api/*",
	"slack-socket=slack.com/api/apps.connections.*", "ip=10.0.0.1:8080", "v6=[2001:db8::1]/x*",
	"root=root.example/",
}

func FuzzMatch(f *testing.F) {
	for _, c := range []struct {
		host string
		port int
		path string
	}{
		{"api.ex.com", 443, "/v1/x/y"}, {"API.EX.COM.", 8443, "/"}, {"www.ex.com", 80, "/api/z"},
		{"slack.com", 443, "/api/apps.connections.open"}, {"10.0.0.1", 8080, ""},
		{"[2001:db8::1]", 443, "/xy"}, {"a.b.ex.com", 443, "/"}, {"api.ex.com", 443, "/v2/ab"},
		{"root.example", 0, ""},
	} {
		f.Add(c.host, c.port, c.path)
	}
	services := svcs(f, matchSet...)
	services[8].Enabled = false
	f.Fuzz(func(t *testing.T, host string, port int, path string) {
		r := Match(services, host, port, path)
		if r2 := Match(services, host, port, path); r2 != r {
			t.Fatalf("Match is not deterministic: %+v then %+v", r, r2)
		}
		// An independent statement of the match priority (docs/protocol.md): sort the matching
		// services by (exact host, specific port, literal prefix,
		// declaration order) and take the first.
		var matching []int
		couldMatch := false
		for i, s := range services {
			if s.Pattern.MatchesHost(host, port) {
				couldMatch = true
				if s.Pattern.MatchesPath(path) {
					matching = append(matching, i)
				}
			}
		}
		if got := CouldMatch(services, host, port); got != couldMatch {
			t.Fatalf("CouldMatch = %v, want %v", got, couldMatch)
		}
		if len(matching) == 0 {
			if r != (Result{}) {
				t.Fatalf("Match = %+v, want no match", r)
			}
			return
		}
		sort.SliceStable(matching, func(a, b int) bool {
			pa, pb := services[matching[a]].Pattern, services[matching[b]].Pattern
			ka := [3]int{b2i(!pa.Wildcard), b2i(pa.Port != 0), pa.LiteralPrefixLen()}
			kb := [3]int{b2i(!pb.Wildcard), b2i(pb.Port != 0), pb.LiteralPrefixLen()}
			for i := range ka {
				if ka[i] != kb[i] {
					return ka[i] > kb[i]
				}
			}
			return false
		})
		want := Result{Matched: true, Index: matching[0], Disabled: !services[matching[0]].Enabled}
		if r != want {
			t.Fatalf("Match(%q, %d, %q) = %+v (%s), want %+v (%s)", host, port, path, r, services[r.Index].Name, want, services[want.Index].Name)
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// placeholderRE is an independent statement of the {{ KEY }} syntax.
var placeholderRE = regexp.MustCompile(`\{\{[ \t]*([A-Z][A-Z0-9_]*)[ \t]*\}\}`)

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"Bearer {{ TOKEN }}", "{{A}}:{{ B }}", "{{ K", "K }}", "{{{ K }}", "{{ K }}}", "{{}}", "{ x }",
		"a\r\nb", "{{ k }}", "plain", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, reason := parseTemplate(s)
		// Accepted exactly when: a valid header value, within the limit,
		// and no brace pair is left once every placeholder is removed.
		stripped := placeholderRE.ReplaceAllString(s, "")
		wantOK := s != "" && len(s) <= MaxTemplateLen && checkHeaderValue(s) == "" &&
			!strings.Contains(stripped, "{{") && !strings.Contains(stripped, "}}") &&
			!strings.Contains(placeholderRE.ReplaceAllString(s, "\x00"), "{\x00") &&
			!strings.Contains(placeholderRE.ReplaceAllString(s, "\x00"), "\x00}")
		if reason != "" {
			if tpl != nil {
				t.Fatalf("returned %v alongside %q", tpl, reason)
			}
			if wantOK {
				t.Fatalf("parseTemplate(%q) refused: %s", s, reason)
			}
			return
		}
		if !wantOK {
			t.Fatalf("parseTemplate(%q) accepted", s)
		}
		values := map[string][]byte{}
		var wantKeys []string
		for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
			values[m[1]] = []byte("<" + strings.ToLower(m[1]) + ">")
			wantKeys = append(wantKeys, m[1])
		}
		if got := tpl.keys(); strings.Join(got, ",") != strings.Join(wantKeys, ",") {
			t.Fatalf("keys(%q) = %v, want %v", s, got, wantKeys)
		}
		want := placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
			return "<" + strings.ToLower(placeholderRE.FindStringSubmatch(m)[1]) + ">"
		})
		if got := tpl.render(values); got != want {
			t.Fatalf("render(%q) = %q, want %q", s, got, want)
		}
		// The custom auth built from it renders the same through Render.
		if len(wantKeys) > 0 {
			a := Auth{Type: AuthCustom, Headers: map[string]string{"X-T": s}}
			h, missing, err := a.Render(func(k string) ([]byte, bool) { v, ok := values[k]; return v, ok })
			if err != nil || missing != "" || h["X-T"] != want {
				t.Fatalf("Render(%q) = %q, %q, %v", s, h, missing, err)
			}
		}
	})
}
