package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Every form of the admin pages refuses a POST without the page's CSRF
// token, or from another origin, and changes nothing.
func TestAdminFormsRefuseForgedPosts(t *testing.T) {
	e := newEnv(t, "")
	e.addUser("victim@example.com", "victim-pass-1", "default", "member")
	b := e.as(ownerEmail, ownerPW)
	forms := []struct {
		path string
		form url.Values
	}{
		{"/vaults", url.Values{"action": {"create"}, "name": {"forged"}}},
		{"/vaults/default/settings", url.Values{"action": {"rename"}, "new_name": {"forged"}}},
		{"/vaults/default/settings", url.Values{"action": {"policy"}, "unmatched_host_policy": {"deny"}}},
		{"/vaults/default/settings", url.Values{"action": {"delete"}, "confirm": {"default"}}},
		{"/vaults/default/members", url.Values{"action": {"invite"}, "email": {"forged@example.com"}, "role": {"admin"}}},
		{"/vaults/default/members", url.Values{"action": {"role"}, "email": {"victim@example.com"}, "role": {"admin"}}},
		{"/vaults/default/members", url.Values{"action": {"remove"}, "email": {"victim@example.com"}, "confirm": {"yes"}}},
		{"/instance", url.Values{"action": {"settings"}}}, // would turn invite-only (the default) off
		{"/instance", url.Values{"action": {"user-role"}, "email": {"victim@example.com"}, "role": {"owner"}}},
		{"/instance", url.Values{"action": {"invite"}, "email": {"forged@example.com"}, "role": {"owner"}}},
		{"/instance", url.Values{"action": {"delete-user"}, "email": {"victim@example.com"}, "confirm": {"victim@example.com"}}},
		{"/account", url.Values{"action": {"password"}, "current_password": {ownerPW}, "new_password": {"forged-pass-1"}, "confirm": {"forged-pass-1"}}},
		{"/account", url.Values{"action": {"delete"}, "confirm": {ownerEmail}}},
	}
	b.get("/account")
	good := b.csrf()
	for _, f := range forms {
		if p := b.post(f.path, f.form); p.status != http.StatusForbidden {
			t.Errorf("%s %s without a token: %d", f.path, f.form.Get("action"), p.status)
		}
		f.form.Set("csrf", "forged"+good[6:])
		if p := b.post(f.path, f.form); p.status != http.StatusForbidden {
			t.Errorf("%s %s with a wrong token: %d", f.path, f.form.Get("action"), p.status)
		}
		f.form.Set("csrf", good)
		if p := b.postOrigin(f.path, f.form, "https://evil.example"); p.status != http.StatusForbidden {
			t.Errorf("%s %s from another origin: %d", f.path, f.form.Get("action"), p.status)
		}
	}
	ctx := context.Background()
	if vaultExists(t, e, "forged") || !vaultExists(t, e, "default") {
		t.Error("a forged form created, renamed or deleted a vault")
	}
	if vs, _ := e.b.VaultSettings(ctx, e.owner, "default"); vs.UnmatchedHostPolicy != "passthrough" {
		t.Error("a forged form changed the policy")
	}
	invs, _ := e.b.ListInvites(ctx, e.owner)
	for _, inv := range invs.Invites {
		if inv.Email == "forged@example.com" {
			t.Error("a forged form invited someone")
		}
	}
	if vaultRoleOf(t, e, "default", "victim@example.com") != "member" {
		t.Error("a forged form changed or removed a member")
	}
	if d, _ := e.b.AdminGetUser(ctx, e.owner, "victim@example.com"); d.Role != "member" {
		t.Error("a forged form made someone an owner, or removed them")
	}
	if st, _ := e.b.GetInstanceSettings(ctx, e.owner); st.InviteOnly == nil || !*st.InviteOnly {
		t.Error("a forged settings form turned invite-only off")
	}
	if p := b.get("/account"); p.status != http.StatusOK {
		t.Error("a forged form changed the password or deleted the account")
	}
	// A form token of one session does not work for another.
	other := e.as("victim@example.com", "victim-pass-1")
	if p := other.post("/vaults", url.Values{"csrf": {good}, "action": {"create"}, "name": {"crossed"}}); p.status != http.StatusForbidden {
		t.Errorf("another session's token: %d", p.status)
	}
}

// Flash messages come from a fixed table: the query cannot put text on
// the page.
func TestFlashShowsOnlyKnownMessages(t *testing.T) {
	e := newEnv(t, "")
	b := e.as(ownerEmail, ownerPW)
	if p := b.get("/vaults?done=vault-created"); !strings.Contains(p.body, `id="page-notice">The vault is created.`) {
		t.Errorf("a known flash is not shown")
	}
	for _, q := range []string{"?done=" + url.QueryEscape(xss), "?done=You+have+been+hacked", "?done=__proto__"} {
		p := b.get("/vaults" + q)
		if strings.Contains(p.body, `id="page-notice"`) || strings.Contains(p.body, "hacked") || strings.Contains(p.body, "<script>alert") {
			t.Errorf("%s put text on the page", q)
		}
	}
}

// Behind TLS (an https base URL, as with a TLS-terminating proxy) the
// session cookie set by the setup page is Secure.
func TestSetupCookieSecureBehindTLS(t *testing.T) {
	e := newBareEnv(t, testSetupCode, "https://vault.example", nil)
	b := e.browser()
	b.get("/setup")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/setup", strings.NewReader(url.Values{"csrf": {b.csrf()}, "code": {testSetupCode},
		"email": {ownerEmail}, "password": {ownerPW}, "confirm": {ownerPW}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://vault.example")
	// The jar keeps no Secure cookie for an http URL: read the header.
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	found := false
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			found = true
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie: Secure %v HttpOnly %v SameSite %v", c.Secure, c.HttpOnly, c.SameSite)
			}
		}
	}
	if resp.StatusCode != http.StatusSeeOther || !found {
		t.Fatalf("setup behind TLS: %d, session cookie set: %v", resp.StatusCode, found)
	}
}

// Logged out, every admin page sends the browser to the login page (and
// back afterwards) and a POST changes nothing; unknown methods get 405.
func TestAdminPagesNeedALogin(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	for _, path := range []string{"/account", "/instance", "/vaults/default/settings", "/vaults/default/members"} {
		p := b.get(path)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s logged out: %d %q", path, p.status, p.header.Get("Location"))
		}
		b.get("/login")
		if p := b.post(path, url.Values{"csrf": {b.csrf()}, "action": {"delete"}, "confirm": {"default"}}); p.status != http.StatusSeeOther {
			t.Errorf("POST %s logged out: %d", path, p.status)
		}
		req, _ := http.NewRequest(http.MethodPut, e.srv.URL+path, nil)
		if p := b.do(req); p.status != http.StatusMethodNotAllowed {
			t.Errorf("PUT %s: %d", path, p.status)
		}
	}
	if p := b.get("/vaults/default/settings/extra"); p.status != http.StatusNotFound {
		t.Errorf("a path below a page: %d", p.status)
	}
	if !vaultExists(t, e, "default") {
		t.Fatal("a logged-out POST deleted the vault")
	}
}

func TestPathMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/{$}", "/", true},
		{"/{$}", "/x", false},
		{"/vaults/{id}", "/vaults/a", true},
		{"/vaults/{id}", "/vaults/", false},
		{"/vaults/{id}", "/vaults/a/b", false},
		{"/vaults/{id}/members", "/vaults/a/members", true},
		{"/vaults/{id}/members", "/vaults//members", false},
		{"/vaults/{id}/members", "/vaults/a/settings", false},
		{"/account", "/account", true},
		{"/account", "/account/", false},
		{"/vaults/{name}/{rest...}", "/vaults/a/b", true},
		{"/vaults/{name}/{rest...}", "/vaults/a/b/c", true},
		{"/vaults/{name}/{rest...}", "/vaults/a", false},
		{"/vaults/{name}/{rest...}", "/vaults/a/", false},
	} {
		if got := pathMatches(c.pattern, c.path); got != c.want {
			t.Errorf("pathMatches(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}
