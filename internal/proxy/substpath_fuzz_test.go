package proxy

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/service"
)

// FuzzPathSubstitutionScope: a path-scoped service (api.test/api/*,
// denying /api/admin*) substitutes a credential into the path. For any
// value (an agent with the member role can write one) and any request
// path the agent writes, either the request is refused, or every reading
// of the forwarded path a lenient upstream might apply lands inside
// /api/* and outside the denied paths.
func FuzzPathSubstitutionScope(f *testing.F) {
	for _, v := range []string{"acct-0042", "..", ".", "...", "..;", "admin", "ADMIN", "a/../../b", `a\..\..\b`, "%2e%2e", "%252e", "..%2f", ";x", "", " ", "\x00", "é", "%c0%ae"} {
		for _, p := range []string{"/api/__V__", "/api/__V__/x", "/api/x/__V__", "/api/__V__/../x", "/api/a__V__b/c"} {
			f.Add(p, v)
		}
	}
	svc, err := service.FromAPI(apitype.Service{Name: "api", Host: "api.test/api/*", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"},
		Paths:         &apitype.PathRules{Deny: []string{"/api/admin*"}},
		Substitutions: []apitype.Substitution{{Key: "V", Placeholder: "__V__", In: []string{"path"}}}}, "")
	if err != nil {
		f.Fatal(err)
	}
	lookup := func(v string) func(string) ([]byte, bool) {
		return func(k string) ([]byte, bool) { return []byte(v), k == "V" || k == "API_KEY" }
	}
	f.Fuzz(func(t *testing.T, raw, value string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + raw + " HTTP/1.1\r\nHost: api.test\r\n\r\n")))
		if err != nil {
			return
		}
		cp := canonicalize(r.URL)
		if res := service.Match([]service.Service{svc}, "api.test", 443, cp.path); !res.Matched {
			return
		}
		s := svc
		if admitService(r, &s, target{scheme: "https", host: "api.test", port: 443}, cp) != nil {
			return
		}
		checked := r.URL.Path
		if applySubstitutions(r, &s, lookup(value)) != nil || recheckSubstituted(r, &s, checked) != nil {
			return
		}
		sent := r.URL.EscapedPath()
		for _, reading := range lenientReadings(sent) {
			if !strings.HasPrefix(reading, "/api/") || strings.HasPrefix(strings.ToLower(reading), "/api/admin") {
				t.Fatalf("path %q with value %q: forwarded as %q, which a lenient upstream reads as %q", raw, value, sent, reading)
			}
		}
	})
}
