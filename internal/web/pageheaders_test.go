package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// pathFor fills a route pattern's wildcards with the fixture's names.
func pathFor(pattern string, f csrfFixture) string {
	ids := map[string]string{"{name}": "default", "{key}": "K", "{svc}": "exa", "{agent}": "bot", "{action}": "rotate", "{token}": f.inviteToken}
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		switch {
		case s == "{$}":
			segs[i] = ""
		case s == "{id}" && strings.HasPrefix(pattern, "/vaults/"):
			segs[i] = f.sessionID
		case s == "{id}":
			segs[i] = strings.TrimPrefix(f.proposalPath, "/proposals/")
		case ids[s] != "":
			segs[i] = ids[s]
		}
	}
	return strings.Join(segs, "/")
}

var wildcardRE = regexp.MustCompile(`\{[^}]*\}`)

// Every page the handler serves, logged in or not, answers with the
// strict CSP (no script at all), no framing, no referrer, no caching and
// nosniff, and carries no script element or inline handler.
func TestEveryPageHasTheSecurityHeaders(t *testing.T) {
	e := newEnv(t, "")
	f := newCSRFFixture(t, e)
	owner := e.ownerBrowser()
	anon := e.browser()
	want := map[string]string{"Content-Security-Policy": csp, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Content-Type": "text/html; charset=utf-8"}
	seen := 0
	for _, r := range New(Options{}).Routes() {
		if r.Method != http.MethodGet {
			continue
		}
		path := pathFor(r.Pattern, f)
		if wildcardRE.MatchString(path) {
			t.Errorf("GET %s: pathFor has no value for its wildcard", r.Pattern)
			continue
		}
		if r.Pattern == "/approve/{id}" {
			path = f.approvePath
		}
		if r.Pattern == oauthCallbackPath {
			path += "?" + url.Values{"state": {"s"}, "code": {"c"}}.Encode()
		}
		for who, b := range map[string]*browser{"the owner": owner, "a logged-out browser": anon} {
			p := b.get(path)
			if p.status >= 500 {
				t.Errorf("%s GET %s: %d", who, path, p.status)
			}
			for k, v := range want {
				if got := p.header.Get(k); got != v && !(k == "Cache-Control" && strings.HasPrefix(got, v)) {
					t.Errorf("%s GET %s: %s = %q, want %q", who, path, k, got, v)
				}
			}
			if strings.Contains(p.body, "<script") || regexp.MustCompile(`\son[a-z]+=`).MatchString(p.body) {
				t.Errorf("%s GET %s: the page has a script or an inline handler", who, path)
			}
			seen++
		}
	}
	if seen < 40 {
		t.Fatalf("only %d pages checked", seen)
	}
}

// A destructive action's link opens a confirmation page whose only way
// on is a POST form (with the token) to the same path: opening the page
// (a prefetch, a crawler, a link in a chat) changes nothing.
func TestConfirmPagesChangeNothing(t *testing.T) {
	e := newEnv(t, "")
	f := newCSRFFixture(t, e)
	ctx := t.Context()
	agentTok := e.agentToken() // proxy-bot, to check that rotate and revoke did not run
	b := e.ownerBrowser()
	for _, path := range []string{
		"/vaults/default/credentials/K/delete",
		"/vaults/default/services/exa/delete",
		"/vaults/default/agents/proxy-bot/rotate",
		"/vaults/default/agents/proxy-bot/revoke",
		"/vaults/default/agents/proxy-bot/remove",
		"/vaults/default/sessions/" + f.sessionID + "/revoke",
	} {
		p := b.get(path)
		mustStatus(t, p, http.StatusOK, path)
		mustContain(t, p, path, `id="confirm-form"`, `method="post" action="`+path+`"`, `name="csrf"`)
	}
	if _, err := e.b.Authenticate(ctx, agentTok); err != nil {
		t.Fatalf("opening the rotate or revoke page changed the agent's token: %v", err)
	}
	if agentGrant(t, e, "default", "proxy-bot") != "proxy" {
		t.Fatal("opening the remove page removed the grant")
	}
	out, err := e.b.ListScopedSessions(ctx, e.owner, "default")
	if err != nil || len(out.Sessions) != 1 || out.Sessions[0].ID != f.sessionID {
		t.Fatalf("vault sessions after opening the revoke page: %v %d", err, len(out.Sessions))
	}
	if cr, _ := e.b.ListCredentials(ctx, e.owner, "default", false, ""); len(cr.Keys) != 1 {
		t.Fatalf("credentials after opening the delete page: %v", cr.Keys)
	}
	if sv, _ := e.b.ListServices(ctx, e.owner, "default"); len(sv.Services) != 1 {
		t.Fatalf("services after opening the delete page: %+v", sv.Services)
	}
}
