package proxy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestPathSubstitutionStaysInsideTheScope plays an agent with the member
// role: it cannot change a path-scoped service, but it can overwrite the
// value a path substitution puts into the path. The service sends the
// human's bearer token to api.test/v1/public/* only, denies
// /v1/public/admin*, and substitutes ACCOUNT into the path. The scope and
// rules are checked on the path the agent wrote (with the placeholder);
// a value of "..", ".", "admin" or one holding "/" would make the path the
// upstream resolves another one. Each such request is refused before
// anything is sent; an ordinary value still goes through, inside the
// scope. A method override (a header or _method) a substitution would fill
// in on a service with a methods rule is refused too.
func TestPathSubstitutionStaysInsideTheScope(t *testing.T) {
	e := newEnv(t, true)
	svc := bearer("api", "api.test/v1/public/*", "API_KEY")
	svc.Paths = &apitype.PathRules{Deny: []string{"/v1/public/admin*"}}
	svc.Substitutions = []apitype.Substitution{{Key: "ACCOUNT", Placeholder: "__ACCT__", In: []string{"path"}}}
	tok := e.agent("bot", "proxy")
	for _, tc := range []struct{ value, path string }{
		{"..", "/v1/public/__ACCT__/admin"},
		{".", "/v1/public/__ACCT__/y"},
		{"admin", "/v1/public/__ACCT__"},
		{"admin-panel", "/v1/public/__ACCT__/users"},
		{"x/../../../admin", "/v1/public/__ACCT__/y"},
		{"a\\..\\..\\b", "/v1/public/__ACCT__/y"},
		{"%2e%2e", "/v1/public/__ACCT__/y"},
		{"...", "/v1/public/__ACCT__/y"},
		{"..;", "/v1/public/__ACCT__/y"},
	} {
		e.setup(map[string]string{"API_KEY": secretValue, "ACCOUNT": tc.value}, svc)
		before := len(e.seen.reqs)
		resp, err := e.client(tok, "default", false).Get("https://" + e.upstream + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body := read(t, resp)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Agent-Vault-Proxy-Error") != "true" || !strings.Contains(body, "substitution_refused") {
			t.Errorf("value %q in %s: %d %s, want 403 substitution_refused", tc.value, tc.path, resp.StatusCode, body)
		}
		if strings.Contains(body, tc.value+"/") && len(tc.value) > 3 {
			t.Errorf("value %q in %s: the refusal quotes the value: %s", tc.value, tc.path, body)
		}
		e.seen.mu.Lock()
		if n := len(e.seen.reqs) - before; n != 0 {
			t.Errorf("value %q in %s: %d requests reached the upstream (last %s)", tc.value, tc.path, n, e.seen.reqs[len(e.seen.reqs)-1].URL.RequestURI())
		}
		e.seen.mu.Unlock()
	}
	// A method override a substitution would fill in never gets that far:
	// with the placeholder in it, it names no method the service allows.
	get := bearer("reader", "api.test", "API_KEY")
	get.Methods = []string{"GET"}
	get.Substitutions = []apitype.Substitution{{Key: "ACCOUNT", Placeholder: "__ACCT__", In: []string{"query", "header"}}}
	e.setup(map[string]string{"API_KEY": secretValue, "ACCOUNT": "DELETE"}, get)
	for _, how := range []struct {
		path string
		hdr  http.Header
	}{
		{"/things/1?_method=__ACCT__", nil},
		{"/things/1", http.Header{"X-Http-Method-Override": {"__ACCT__"}}},
		{"/things/1", http.Header{"X-Method-Override": {" __ACCT__ "}}},
	} {
		before := len(e.seen.reqs)
		req, _ := http.NewRequest(http.MethodGet, "https://"+e.upstream+how.path, nil)
		for k, v := range how.hdr {
			req.Header[k] = v
		}
		resp, err := e.client(tok, "default", false).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := read(t, resp)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "DELETE") {
			t.Errorf("override %s %v to be filled with DELETE: %d %s, want 403 without the value", how.path, how.hdr, resp.StatusCode, body)
		}
		e.seen.mu.Lock()
		if n := len(e.seen.reqs) - before; n != 0 {
			t.Errorf("override %s %v: reached the upstream", how.path, how.hdr)
		}
		e.seen.mu.Unlock()
	}

	// An ordinary value goes through, where the scope says.
	e.setup(map[string]string{"API_KEY": secretValue, "ACCOUNT": "acct-0042"}, svc)
	resp, err := e.client(tok, "default", false).Get("https://" + e.upstream + "/v1/public/__ACCT__/y")
	if err != nil {
		t.Fatal(err)
	}
	if body := read(t, resp); resp.StatusCode != 200 || e.seen.last().URL.Path != "/v1/public/acct-0042/y" {
		t.Errorf("ordinary value: %d %s, upstream saw %q", resp.StatusCode, body, e.seen.last().URL.Path)
	}
}
