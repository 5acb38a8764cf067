package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// secretValue is a credential value no page but the reveal page may hold.
const secretValue = "sk_live_SUPERSECRET_4242"

// userIn registers a user and gives them role in vault default ("" for
// none), returning a logged-in browser.
func (e *env) userIn(email, role string) *browser {
	e.t.Helper()
	ctx := context.Background()
	inv, err := e.b.CreateInvite(ctx, e.owner, apitype.InviteRequest{Email: email, Role: "member"})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.b.AcceptInvite(ctx, inv.Token, apitype.AcceptInviteRequest{Password: "user-password-1"}); err != nil {
		e.t.Fatal(err)
	}
	if role != "" {
		if _, err := e.b.AddVaultUser(ctx, e.owner, "default", apitype.VaultUserRequest{Email: email, Role: role}); err != nil {
			e.t.Fatal(err)
		}
	}
	b := e.browser()
	if p := b.login("/login", email, "user-password-1"); p.status != http.StatusSeeOther {
		e.t.Fatalf("login %s: %d", email, p.status)
	}
	return b
}

// tokenBrowser is a browser whose session cookie holds tok (an agent
// token or a vault session's): the pages take only user logins from it.
func (e *env) tokenBrowser(tok string) *browser {
	b := e.browser()
	u, _ := url.Parse(e.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: tok, Path: "/"}})
	return b
}

// proxySession mints a proxy-role vault session on default.
func (e *env) proxySession() string {
	e.t.Helper()
	out, err := e.b.CreateScopedSession(context.Background(), e.owner, apitype.CreateScopedSessionRequest{Vault: "default", VaultRole: "proxy"})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Token
}

// ownerBrowser is a browser logged in as the owner.
func (e *env) ownerBrowser() *browser {
	b := e.browser()
	b.loggedIn("/login")
	return b
}

// submit GETs page, then posts form to action with the page's CSRF token.
func (b *browser) submit(page, action string, form url.Values) page {
	b.t.Helper()
	if p := b.get(page); p.status != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%s", page, p.status, p.body)
	}
	form.Set("csrf", b.csrf())
	return b.post(action, form)
}

func mustStatus(t *testing.T, p page, want int, what string) {
	t.Helper()
	if p.status != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.status, want, p.body)
	}
}

func mustContain(t *testing.T, p page, what string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s: page lacks %q\n%s", what, s, p.body)
		}
	}
}

// The write-only field takes a value; no page shows it back: not the list,
// not the redirect, not a form re-rendered after an error.
func TestCredentialValueIsWriteOnly(t *testing.T) {
	e := newEnv(t, "")
	b := e.ownerBrowser()
	p := b.get("/vaults/default/credentials")
	mustStatus(t, p, 200, "empty list")
	mustContain(t, p, "empty list", `id="no-credentials"`, "Add the first one below")

	p = b.submit("/vaults/default/credentials", "/vaults/default/credentials", url.Values{"key": {"STRIPE_KEY"}, "value": {secretValue}, "hosts": {"api.stripe.com"}})
	mustStatus(t, p, http.StatusSeeOther, "set")
	loc := p.header.Get("Location")
	if strings.Contains(loc, secretValue) || loc != "/vaults/default/credentials?done=credential-saved" {
		t.Fatalf("redirect %q", loc)
	}
	p = b.get(loc)
	mustContain(t, p, "list", "STRIPE_KEY", "api.stripe.com", flashes["credential-saved"])
	if strings.Contains(p.body, secretValue) {
		t.Fatal("the list shows the value")
	}
	// An error keeps the key and hosts typed, never the value.
	p = b.submit("/vaults/default/credentials", "/vaults/default/credentials", url.Values{"key": {"bad key"}, "value": {secretValue}, "hosts": {"api.example.com"}})
	mustStatus(t, p, http.StatusBadRequest, "bad key")
	mustContain(t, p, "bad key", `value="bad key"`, "api.example.com", `id="cred-key-error"`)
	if strings.Contains(p.body, secretValue) {
		t.Fatal("the re-rendered form holds the value")
	}
	// The flash is chosen by id: a made-up message is not reflected.
	p = b.get("/vaults/default/credentials?done=" + url.QueryEscape(xss))
	if strings.Contains(p.body, "<img src=x") || strings.Contains(p.body, "alert notice") {
		t.Fatalf("reflected flash:\n%s", p.body)
	}
	// The value is stored as typed.
	out, err := e.b.ListCredentials(context.Background(), e.owner, "default", true, "STRIPE_KEY")
	if err != nil || *out.Credentials[0].Value != secretValue {
		t.Fatalf("stored: %v", err)
	}
	// No page of the vault holds it.
	for _, path := range []string{"/vaults/default", "/vaults/default/credentials", "/vaults/default/services", "/vaults/default/agents",
		"/vaults/default/sessions", "/vaults/default/logs", "/vaults/default/credentials/STRIPE_KEY/reveal", "/vaults/default/credentials/STRIPE_KEY/delete",
		"/vaults/default/services/yaml", "/vaults/default/services/new", "/vaults/default/catalog"} {
		p := b.get(path)
		mustStatus(t, p, 200, path)
		if strings.Contains(p.body, secretValue) {
			t.Fatalf("%s shows the value", path)
		}
	}
}

// Revealing needs the password again; a wrong one shows nothing and is
// charged to the address's failed-login budget, so guessing runs out.
func TestRevealNeedsPasswordAndCountsWrongGuesses(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim, err := ratelimit.New(ratelimit.Options{Profile: ratelimit.ProfileDefault, Now: func() time.Time { return now },
		Limits: map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: 3, Window: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvLimited(t, "", lim)
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"K": secretValue}}); err != nil {
		t.Fatal(err)
	}
	b := e.ownerBrowser() // a successful login costs nothing
	const path = "/vaults/default/credentials/K/reveal"
	p := b.get(path)
	mustContain(t, p, "form", `id="reveal-password"`)
	if strings.Contains(p.body, secretValue) {
		t.Fatal("the form shows the value")
	}
	// CSRF token missing: refused before the password is even checked.
	p = b.post(path, url.Values{"password": {ownerPW}})
	mustStatus(t, p, http.StatusForbidden, "no csrf")
	if strings.Contains(p.body, secretValue) {
		t.Fatal("value shown without CSRF token")
	}
	for i := range 3 {
		p = b.submit(path, path, url.Values{"password": {"wrong-password"}})
		mustStatus(t, p, http.StatusUnauthorized, "wrong password")
		mustContain(t, p, "wrong password", "password is wrong")
		if strings.Contains(p.body, secretValue) {
			t.Fatalf("attempt %d shows the value", i)
		}
	}
	// The budget is spent: even the right password waits.
	p = b.submit(path, path, url.Values{"password": {ownerPW}})
	mustStatus(t, p, http.StatusTooManyRequests, "over budget")
	if strings.Contains(p.body, secretValue) {
		t.Fatal("value shown over budget")
	}
	now = now.Add(time.Minute)
	p = b.submit(path, path, url.Values{"password": {ownerPW}})
	mustStatus(t, p, http.StatusOK, "right password")
	mustContain(t, p, "revealed", secretValue)
	if cc := p.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("Cache-Control %q", cc)
	}
	// A key that does not exist, asked with the right password, is no
	// guess: it costs nothing, and the budget is still there after.
	for range 4 {
		p = b.submit("/vaults/default/credentials/NOPE/reveal", "/vaults/default/credentials/NOPE/reveal", url.Values{"password": {ownerPW}})
		mustStatus(t, p, http.StatusNotFound, "unknown key")
	}
	p = b.submit(path, path, url.Values{"password": {ownerPW}})
	mustStatus(t, p, http.StatusOK, "after unknown keys")
}

// Users are members or admins of a vault; the proxy role belongs to agents
// and vault sessions, whose tokens the pages do not take as a login. A
// user without a role in the vault is refused by the broker even with the
// right password; a member may read.
func TestRevealRefusedForNonMembersAndTokens(t *testing.T) {
	e := newEnv(t, "")
	if _, err := e.b.SetCredentials(context.Background(), e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"K": secretValue}}); err != nil {
		t.Fatal(err)
	}
	const path = "/vaults/default/credentials/K/reveal"
	for _, c := range []struct {
		role string
		want int
	}{{"", http.StatusNotFound}, {"member", http.StatusOK}} {
		b := e.userIn("u-"+c.role+"@example.com", c.role)
		p := b.submit(path, path, url.Values{"password": {"user-password-1"}})
		if p.status != c.want {
			t.Fatalf("role %q: %d, want %d\n%s", c.role, p.status, c.want, p.body)
		}
		if (c.want == http.StatusOK) != strings.Contains(p.body, secretValue) {
			t.Fatalf("role %q: value shown=%v", c.role, !(c.want == http.StatusOK))
		}
	}
	for _, tok := range []string{e.proxySession(), e.agentToken()} {
		b := e.tokenBrowser(tok)
		if p := b.get(path); p.status != http.StatusSeeOther {
			t.Fatalf("token as a login: %d", p.status)
		}
		p := b.post(path, url.Values{"password": {""}, "csrf": {"x"}})
		mustStatus(t, p, http.StatusUnauthorized, "token post")
		if strings.Contains(p.body, secretValue) {
			t.Fatal("value shown to a token")
		}
	}
}

// Deleting a credential a service uses is refused, naming the service;
// once the service is gone it goes.
func TestCredentialDeleteRefusedWhileInUse(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"GH_TOKEN": "x"},
		AllowedHosts: map[string][]string{"GH_TOKEN": {"api.github.com"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.UpsertServices(ctx, e.owner, "default", apitype.ServiceList{Services: []apitype.Service{{Name: "github", Host: "api.github.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "GH_TOKEN"}}}}); err != nil {
		t.Fatal(err)
	}
	b := e.ownerBrowser()
	p := b.get("/vaults/default/credentials")
	mustContain(t, p, "used by", `href="/vaults/default/services/github/edit">github</a>`)
	const path = "/vaults/default/credentials/GH_TOKEN/delete"
	p = b.get(path)
	mustContain(t, p, "confirm", "Service github uses GH_TOKEN", `id="confirm"`)
	p = b.submit(path, path, url.Values{})
	mustStatus(t, p, http.StatusConflict, "in use")
	mustContain(t, p, "in use", `used by service &#34;github&#34;`)
	p = b.submit("/vaults/default/services/github/delete", "/vaults/default/services/github/delete", url.Values{})
	mustStatus(t, p, http.StatusSeeOther, "delete service")
	p = b.submit(path, path, url.Values{})
	mustStatus(t, p, http.StatusSeeOther, "delete credential")
	if out, _ := e.b.ListCredentials(ctx, e.owner, "default", false, ""); len(out.Keys) != 0 {
		t.Fatalf("left: %v", out.Keys)
	}
}

// Every form of the vault pages refuses a post without the CSRF token, a
// logged-out post, and (through the broker) a proxy-role user and a
// non-member; nothing changes in any of those cases.
func TestVaultFormsRefuseForgedAndUnauthorized(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"K": "v"},
		AllowedHosts: map[string][]string{"K": {"api.example.com"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.UpsertServices(ctx, e.owner, "default", apitype.ServiceList{Services: []apitype.Service{{Name: "exa", Host: "api.example.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "K"}}}}); err != nil {
		t.Fatal(err)
	}
	sess, err := e.b.CreateScopedSession(ctx, e.owner, apitype.CreateScopedSessionRequest{Vault: "default"})
	if err != nil {
		t.Fatal(err)
	}
	forms := []struct {
		path string
		form url.Values
	}{
		{"/vaults/default/credentials", url.Values{"key": {"NEW"}, "value": {"v"}}},
		{"/vaults/default/credentials/K/bind", url.Values{"host": {"evil.example.net"}}},
		{"/vaults/default/credentials/K/unbind", url.Values{"host": {"api.example.com"}}},
		{"/vaults/default/credentials/K/delete", url.Values{}},
		{"/vaults/default/services/new", url.Values{"name": {"evil"}, "host": {"evil.example.net"}, "auth_type": {"bearer"}, "token": {"K"}, "enabled": {"on"}}},
		{"/vaults/default/services/exa/edit", url.Values{"name": {"exa"}, "host": {"evil.example.net"}, "auth_type": {"bearer"}, "token": {"K"}, "enabled": {"on"}}},
		{"/vaults/default/services/exa/disable", url.Values{}},
		{"/vaults/default/services/exa/delete", url.Values{}},
		{"/vaults/default/services/yaml", url.Values{"yaml": {"services: []\n"}}},
		{"/vaults/default/agents", url.Values{"agent": {"evil-bot"}, "role": {"admin"}}},
		{"/vaults/default/agents/add", url.Values{"agent": {"bot"}, "role": {"admin"}}},
		{"/vaults/default/agents/bot/role", url.Values{"role": {"admin"}}},
		{"/vaults/default/agents/bot/instance-role", url.Values{"role": {"owner"}}},
		{"/vaults/default/agents/bot/rename", url.Values{"new_name": {"evil"}}},
		{"/vaults/default/agents/bot/rotate", url.Values{}},
		{"/vaults/default/agents/bot/revoke", url.Values{}},
		{"/vaults/default/agents/bot/remove", url.Values{}},
		{"/vaults/default/sessions", url.Values{"role": {"admin"}}},
		{"/vaults/default/sessions/" + sess.ID + "/revoke", url.Values{}},
	}
	state := func() string {
		var b strings.Builder
		creds, _ := e.b.ListCredentials(ctx, e.owner, "default", true, "")
		for _, c := range creds.Credentials {
			b.WriteString(c.Key + "=" + *c.Value + strings.Join(c.AllowedHosts, ",") + ";")
		}
		svcs, _ := e.b.ListServices(ctx, e.owner, "default")
		for _, s := range svcs.Services {
			b.WriteString(s.Name + s.Host + ";")
			if s.Enabled != nil && !*s.Enabled {
				b.WriteString("disabled;")
			}
		}
		ags, _ := e.b.ListAgents(ctx, e.owner)
		for _, a := range ags.Agents {
			b.WriteString(a.Name + a.Role + a.Status + ";")
			for _, v := range a.Vaults {
				b.WriteString(v.VaultName + v.VaultRole + ";")
			}
		}
		ss, _ := e.b.ListScopedSessions(ctx, e.owner, "default")
		for _, s := range ss.Sessions {
			b.WriteString(s.ID + ";")
		}
		return b.String()
	}
	owner := e.ownerBrowser()
	member := e.userIn("member@example.com", "member")
	stranger := e.userIn("stranger@example.com", "")
	anon := e.browser()
	proxyTok := e.tokenBrowser(e.proxySession())
	before := state()
	for _, f := range forms {
		// The owner without the token.
		p := owner.post(f.path, f.form)
		mustStatus(t, p, http.StatusForbidden, "no csrf "+f.path)
		// The owner with a token from another session.
		bad := url.Values{}
		for k, v := range f.form {
			bad[k] = v
		}
		member.get("/vaults/default/credentials")
		bad.Set("csrf", member.csrf())
		p = owner.post(f.path, bad)
		mustStatus(t, p, http.StatusForbidden, "foreign csrf "+f.path)
		// Logged out, and a proxy-role vault session in the cookie.
		p = anon.post(f.path, f.form)
		mustStatus(t, p, http.StatusUnauthorized, "anon "+f.path)
		p = proxyTok.post(f.path, f.form)
		mustStatus(t, p, http.StatusUnauthorized, "proxy session "+f.path)
		// A user without a role in the vault, with a valid token.
		for _, u := range []*browser{stranger} {
			p = u.submit("/vaults", f.path, cloneForm(f.form))
			if p.status < 400 {
				t.Fatalf("%s accepted from a low-privilege user: %d\n%s", f.path, p.status, p.body)
			}
		}
		// Cross-site origin, even with a valid token.
		ok := cloneForm(f.form)
		owner.get("/vaults/default/credentials")
		ok.Set("csrf", owner.csrf())
		p = owner.postOrigin(f.path, ok, "https://evil.example")
		mustStatus(t, p, http.StatusForbidden, "cross-origin "+f.path)
		if after := state(); after != before {
			t.Fatalf("%s changed the vault:\n%s\n%s", f.path, before, after)
		}
	}
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// The catalog is searchable with a plain GET; an entry opens the form
// prefilled, and saving it adds the service.
func TestCatalogSearchAndAdd(t *testing.T) {
	e := newEnv(t, "")
	b := e.ownerBrowser()
	p := b.get("/vaults/default/catalog?q=stripe")
	mustContain(t, p, "search", `id="cat-stripe"`, `value="stripe"`)
	if strings.Contains(p.body, `id="cat-github"`) {
		t.Fatal("the filter did not filter")
	}
	p = b.get("/vaults/default/catalog?q=" + url.QueryEscape(xss))
	mustContain(t, p, "no match", `id="no-match"`)
	if strings.Contains(p.body, "<img src=x") {
		t.Fatal("query reflected unescaped")
	}
	p = b.get("/vaults/default/services/new?catalog=stripe")
	mustContain(t, p, "prefilled", `value="api.stripe.com"`, `value="STRIPE_SECRET_KEY"`, `id="catalog-source"`, `action="/vaults/default/services/new"`, `value="stripe"`)
	// The key does not exist yet: the broker says so, the form keeps what was typed.
	form := url.Values{"name": {"stripe"}, "host": {"api.stripe.com"}, "auth_type": {"bearer"}, "token": {"STRIPE_SECRET_KEY"}, "enabled": {"on"}, "subs": {"2"}}
	p = b.submit("/vaults/default/services/new?catalog=stripe", "/vaults/default/services/new", form)
	if p.status < 400 {
		t.Fatalf("service with a missing credential saved: %d", p.status)
	}
	mustContain(t, p, "kept", `value="api.stripe.com"`, "STRIPE_SECRET_KEY", "Nothing was saved")
	if _, err := e.b.SetCredentials(context.Background(), e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"STRIPE_SECRET_KEY": "x"}}); err != nil {
		t.Fatal(err)
	}
	p = b.submit("/vaults/default/services/new?catalog=stripe", "/vaults/default/services/new", form)
	mustStatus(t, p, http.StatusSeeOther, "save")
	p = b.get(p.header.Get("Location"))
	mustContain(t, p, "list", `id="svc-stripe"`, "api.stripe.com", flashes["service-saved"])
}

// The form covers every auth type and substitutions; a field error is
// shown next to its field with what was typed kept.
func TestServiceFormAuthTypesAndErrors(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"U": "u", "P": "p", "K": "k", "ACCT": "a"},
		AllowedHosts: map[string][]string{"U": {"*.example.com"}, "P": {"*.example.com"}, "K": {"*.example.com"}, "ACCT": {"*.example.com"}}}); err != nil {
		t.Fatal(err)
	}
	b := e.ownerBrowser()
	cases := []struct {
		name string
		form url.Values
		want apitype.ServiceAuth
	}{
		{"basic", url.Values{"auth_type": {"basic"}, "username": {"U"}, "password_key": {"P"}, "token": {"IGNORED"}}, apitype.ServiceAuth{Type: "basic", Username: "U", Password: "P"}},
		{"apikey", url.Values{"auth_type": {"api-key"}, "key": {"K"}, "header": {"X-Api-Key"}, "prefix": {"Key "}}, apitype.ServiceAuth{Type: "api-key", Key: "K", Header: "X-Api-Key", Prefix: "Key "}},
		{"custom", url.Values{"auth_type": {"custom"}, "headers": {"X-A: {{ K }}\r\nX-B: id={{ U }}"}}, apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-A": "{{ K }}", "X-B": "id={{ U }}"}}},
		{"pass", url.Values{"auth_type": {"passthrough"}, "subs": {"2"}, "sub.0.key": {"ACCT"}, "sub.0.placeholder": {"__ACCT__"}, "sub.0.in": {"path", "body"}}, apitype.ServiceAuth{Type: "passthrough"}},
	}
	for _, c := range cases {
		c.form.Set("name", c.name)
		c.form.Set("host", c.name+".example.com")
		c.form.Set("enabled", "on")
		p := b.submit("/vaults/default/services/new", "/vaults/default/services/new", c.form)
		mustStatus(t, p, http.StatusSeeOther, c.name)
	}
	svcs, _ := e.b.ListServices(ctx, e.owner, "default")
	if len(svcs.Services) != len(cases) {
		t.Fatalf("services: %+v", svcs.Services)
	}
	for i, c := range cases {
		got := svcs.Services[i].Auth
		if got.Type != c.want.Type || got.Token != c.want.Token || got.Username != c.want.Username || got.Password != c.want.Password ||
			got.Key != c.want.Key || got.Header != c.want.Header || got.Prefix != c.want.Prefix || len(got.Headers) != len(c.want.Headers) {
			t.Fatalf("%s: %+v", c.name, got)
		}
		for k, v := range c.want.Headers {
			if got.Headers[k] != v {
				t.Fatalf("%s: header %s = %q", c.name, k, got.Headers[k])
			}
		}
	}
	if s := svcs.Services[3].Substitutions; len(s) != 1 || s[0].Placeholder != "__ACCT__" || strings.Join(s[0].In, ",") != "path,body" {
		t.Fatalf("substitutions: %+v", s)
	}
	// The edit form shows the substitution, and renaming keeps the order.
	p := b.get("/vaults/default/services/pass/edit")
	mustContain(t, p, "edit", `action="/vaults/default/services/pass/edit"`, `value="__ACCT__"`, `id="sub-0-in-body" name="sub.0.in" value="body" checked`)
	p = b.submit("/vaults/default/services/pass/edit", "/vaults/default/services/pass/edit", url.Values{"name": {"pass2"}, "host": {"pass.example.com"}, "auth_type": {"passthrough"}, "enabled": {"on"}})
	mustStatus(t, p, http.StatusSeeOther, "rename")
	svcs, _ = e.b.ListServices(ctx, e.owner, "default")
	if svcs.Services[3].Name != "pass2" || len(svcs.Services[3].Substitutions) != 0 {
		t.Fatalf("after edit: %+v", svcs.Services[3])
	}
	// A bad header name: the error sits next to the headers field, input kept.
	p = b.submit("/vaults/default/services/new", "/vaults/default/services/new", url.Values{"name": {"bad"}, "host": {"bad.example.com"}, "auth_type": {"custom"}, "headers": {"Bad Header: {{ K }}"}})
	mustStatus(t, p, http.StatusBadRequest, "bad header")
	mustContain(t, p, "bad header", `id="err-headers"`, "Bad Header: {{ K }}", `value="bad.example.com"`)
	// Adding a service under a name in use is refused; nothing is replaced.
	p = b.submit("/vaults/default/services/new", "/vaults/default/services/new", url.Values{"name": {"basic"}, "host": {"other.example.com"}, "auth_type": {"bearer"}, "token": {"K"}, "enabled": {"on"}})
	mustStatus(t, p, http.StatusBadRequest, "name in use")
	mustContain(t, p, "name in use", `id="err-name"`, "already exists")
	if svcs, _ := e.b.ListServices(ctx, e.owner, "default"); svcs.Services[0].Host != "basic.example.com" {
		t.Fatalf("the existing service was replaced: %+v", svcs.Services[0])
	}
	// A bad host: next to the host field.
	p = b.submit("/vaults/default/services/new", "/vaults/default/services/new", url.Values{"name": {"bad"}, "host": {"http://x y"}, "auth_type": {"bearer"}, "token": {"K"}})
	mustStatus(t, p, http.StatusBadRequest, "bad host")
	mustContain(t, p, "bad host", `id="err-host"`)
	// Disable and enable.
	p = b.submit("/vaults/default/services", "/vaults/default/services/basic/disable", url.Values{})
	mustStatus(t, p, http.StatusSeeOther, "disable")
	p = b.get(p.header.Get("Location"))
	mustContain(t, p, "disabled", flashes["service-disabled"], `aria-label="Enable basic"`)
	p = b.submit("/vaults/default/services", "/vaults/default/services/basic/enable", url.Values{})
	mustStatus(t, p, http.StatusSeeOther, "enable")
}

// The YAML editor round-trips the set, and an invalid field is reported
// with its line.
func TestServicesYAMLEditor(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"K": "k"}}); err != nil {
		t.Fatal(err)
	}
	b := e.ownerBrowser()
	p := b.get("/vaults/default/services/yaml")
	mustContain(t, p, "empty", "services: []")
	doc := "services:\n  - name: one\n    host: one.example.com\n    auth:\n      type: bearer\n      token: K\n  - name: two\n    host: two.example.com\n    auth:\n      type: bearer\n      token: MISSING\n"
	p = b.submit("/vaults/default/services/yaml", "/vaults/default/services/yaml", url.Values{"yaml": {doc}})
	if p.status < 400 {
		t.Fatalf("missing key accepted: %d", p.status)
	}
	mustContain(t, p, "line", `id="yaml-error"`, "Line 7", "MISSING")
	p = b.submit("/vaults/default/services/yaml", "/vaults/default/services/yaml", url.Values{"yaml": {"services:\n  - name: one\n    hots: x\n"}})
	mustStatus(t, p, http.StatusBadRequest, "unknown field")
	mustContain(t, p, "unknown field", "Line 3", "hots")
	doc = strings.Replace(doc, "MISSING", "K", 1)
	p = b.submit("/vaults/default/services/yaml", "/vaults/default/services/yaml", url.Values{"yaml": {doc}})
	mustStatus(t, p, http.StatusSeeOther, "save")
	svcs, _ := e.b.ListServices(ctx, e.owner, "default")
	if len(svcs.Services) != 2 || svcs.Services[1].Host != "two.example.com" {
		t.Fatalf("%+v", svcs.Services)
	}
}

var tokenRE = regexp.MustCompile(`av_agt_[0-9a-fA-F]+`)

// The agent token is on the answer to the create form, with no-store and
// the snippets, and on no page after.
func TestAgentTokenShownOnce(t *testing.T) {
	e := newEnv(t, "")
	e.b.SetProxyPort(14322)
	b := e.ownerBrowser()
	p := b.submit("/vaults/default/agents", "/vaults/default/agents", url.Values{"agent": {"ci-bot"}, "role": {"proxy"}})
	mustStatus(t, p, http.StatusOK, "create")
	tok := tokenRE.FindString(p.body)
	if tok == "" {
		t.Fatalf("no token:\n%s", p.body[strings.Index(p.body, "<main>"):])
	}
	if !strings.Contains(p.header.Get("Cache-Control"), "no-store") {
		t.Fatal("token page cacheable")
	}
	mustContain(t, p, "snippets", "HTTPS_PROXY=http://"+tok+":default@", ":14322", "AGENT_VAULT_TOKEN="+tok+" AGENT_VAULT_VAULT=default agent-vault run -- your-agent")
	if _, err := e.b.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("shown token does not work: %v", err)
	}
	for _, path := range []string{"/vaults/default/agents", "/vaults/default", "/vaults/default/sessions", "/vaults/default/agents/ci-bot/rotate"} {
		if p := b.get(path); strings.Contains(p.body, tok) {
			t.Fatalf("%s shows the token again", path)
		}
	}
	// Rotate: a new token, shown once; the old one stops working.
	p = b.submit("/vaults/default/agents/ci-bot/rotate", "/vaults/default/agents/ci-bot/rotate", url.Values{})
	mustStatus(t, p, http.StatusOK, "rotate")
	tok2 := tokenRE.FindString(p.body)
	if tok2 == "" || tok2 == tok {
		t.Fatal("no new token")
	}
	if _, err := e.b.Authenticate(context.Background(), tok); err == nil {
		t.Fatal("old token still works")
	}
	// Rename, role, remove and revoke.
	p = b.submit("/vaults/default/agents", "/vaults/default/agents/ci-bot/rename", url.Values{"new_name": {"ci-robot"}})
	mustStatus(t, p, http.StatusSeeOther, "rename")
	p = b.submit("/vaults/default/agents", "/vaults/default/agents/ci-robot/role", url.Values{"role": {"member"}})
	mustStatus(t, p, http.StatusSeeOther, "role")
	p = b.get("/vaults/default/agents")
	mustContain(t, p, "list", `id="agent-ci-robot"`, `<option value="member" selected>`)
	p = b.submit("/vaults/default/agents/ci-robot/revoke", "/vaults/default/agents/ci-robot/revoke", url.Values{})
	mustStatus(t, p, http.StatusSeeOther, "revoke")
	if _, err := e.b.Authenticate(context.Background(), tok2); err == nil {
		t.Fatal("revoked token still works")
	}
	// A bad name keeps what was typed and says why.
	p = b.submit("/vaults/default/agents", "/vaults/default/agents", url.Values{"agent": {"Bad Name"}, "role": {"proxy"}})
	if p.status < 400 || tokenRE.MatchString(p.body) {
		t.Fatalf("bad name: %d", p.status)
	}
	mustContain(t, p, "bad name", `value="Bad Name"`, `id="agent-name-error"`)
}

// Vault sessions: mint (token once), list, revoke.
func TestVaultSessionsPage(t *testing.T) {
	e := newEnv(t, "")
	b := e.ownerBrowser()
	p := b.get("/vaults/default/sessions")
	mustContain(t, p, "empty", `id="no-sessions"`)
	p = b.submit("/vaults/default/sessions", "/vaults/default/sessions", url.Values{"label": {"ci job"}, "role": {"proxy"}, "ttl": {"1h"}})
	mustStatus(t, p, http.StatusOK, "mint")
	tok := regexp.MustCompile(`av_sess_[0-9a-fA-F]+|av_[a-z]+_[0-9a-fA-F]+`).FindString(p.body)
	if tok == "" {
		t.Fatalf("no token:\n%s", p.body)
	}
	a, err := e.b.Authenticate(context.Background(), tok)
	if err != nil || a.Scope == nil {
		t.Fatalf("minted token: %v", err)
	}
	p = b.get("/vaults/default/sessions")
	mustContain(t, p, "list", "ci job")
	// A refused mint keeps what was typed.
	p = b.submit("/vaults/default/sessions", "/vaults/default/sessions", url.Values{"label": {"second job"}, "role": {"superuser"}, "ttl": {"8h"}})
	if p.status < 400 {
		t.Fatalf("bad role minted: %d", p.status)
	}
	mustContain(t, p, "kept", `value="second job"`, `<option value="8h" selected>`)
	if strings.Contains(p.body, tok) {
		t.Fatal("the list shows the token")
	}
	p = b.submit("/vaults/default/sessions/"+a.Scope.ID+"/revoke", "/vaults/default/sessions/"+a.Scope.ID+"/revoke", url.Values{})
	mustStatus(t, p, http.StatusSeeOther, "revoke")
	if _, err := e.b.Authenticate(context.Background(), tok); err == nil {
		t.Fatal("revoked session still works")
	}
}

// The request log filters, pages and refreshes on request; unmatched
// hosts link to the service form; a proxy-role user sees no log.
func TestRequestLogPage(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	v, err := e.db.Vaults().ByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var rows []model.RequestLog
	for i := range 120 {
		r := model.RequestLog{VaultID: v.ID, At: t0.Add(time.Duration(i) * time.Minute), ActorKind: model.ActorAgent, ActorName: "bot", Ingress: "connect",
			Method: "GET", Host: "api.github.com", Port: 443, Path: "/repos/" + string(rune('a'+i%26)), Service: "github", Status: 200}
		if i%10 == 0 {
			r.Host, r.Service, r.Status, r.Path = "unknown.example.org", "", 403, "/x"
		}
		rows = append(rows, r)
	}
	if err := e.db.RequestLogs().Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	b := e.ownerBrowser()
	p := b.get("/vaults/default/logs")
	mustStatus(t, p, 200, "logs")
	if n := strings.Count(p.body, "<tr><td>2026-"); n != pageSize {
		t.Fatalf("rows on the first page: %d", n)
	}
	mustContain(t, p, "first", "2026-03-01 13:59:00", `id="older"`, `id="hosts"`, "unknown.example.org",
		`href="/vaults/default/services/new?host=unknown.example.org"`)
	if strings.Contains(p.body, `http-equiv="refresh"`) {
		t.Fatal("refreshes without being asked")
	}
	older := regexp.MustCompile(`href="([^"]+)" id="older"`).FindStringSubmatch(p.body)[1]
	p = b.get(strings.ReplaceAll(older, "&amp;", "&"))
	mustContain(t, p, "second page", `id="newest"`)
	if strings.Contains(p.body, "2026-03-01 13:59:00") {
		t.Fatal("the second page repeats the first")
	}
	p = b.get("/vaults/default/logs?status=4xx&refresh=15")
	if n := strings.Count(p.body, "<tr><td>2026-"); n != 12 {
		t.Fatalf("4xx rows: %d", n)
	}
	mustContain(t, p, "refresh", `<meta http-equiv="refresh" content="15">`, `id="refreshing"`, `<a href="/vaults/default/logs?status=4xx" id="stop-refresh">`)
	if p := b.get("/vaults/default/logs?status=4xx"); strings.Contains(p.body, `http-equiv="refresh"`) {
		t.Fatal("the Stop refreshing link's page still refreshes")
	}
	p = b.get("/vaults/default/logs?since=2026-03-01T12:00&until=2026-03-01T12:09&host=api.github.com")
	if n := strings.Count(p.body, "<tr><td>2026-"); n != 8 { // 12:00 to 12:08, but 12:00 went elsewhere
		t.Fatalf("time range rows: %d\n%s", n, p.body)
	}
	p = b.get("/vaults/default/logs?agent=nobody")
	mustContain(t, p, "no match", `id="no-logs"`, "No requests match")
	p = b.get("/vaults/default/logs?status=abc")
	mustStatus(t, p, http.StatusBadRequest, "bad status")
	p = b.get("/vaults/default/logs?refresh=0")
	if strings.Contains(p.body, `http-equiv="refresh"`) {
		t.Fatal("refresh=0 refreshes")
	}
	stranger := e.userIn("stranger@example.com", "")
	p = stranger.get("/vaults/default/logs")
	mustStatus(t, p, http.StatusNotFound, "no role")
	if strings.Contains(p.body, "api.github.com") {
		t.Fatal("a user without a role sees the log")
	}
	p = e.tokenBrowser(e.proxySession()).get("/vaults/default/logs")
	mustStatus(t, p, http.StatusSeeOther, "proxy session")
	// The discovered-host link opens the form with the host filled in.
	p = b.get("/vaults/default/services/new?host=unknown.example.org")
	mustContain(t, p, "host form", `value="unknown.example.org"`, `value="unknown-example"`)
}

// Logged-out browsers are sent to the login page and come back.
func TestVaultPagesNeedLogin(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	for _, path := range []string{"/vaults/default/credentials", "/vaults/default/services", "/vaults/default/logs", "/vaults/default/agents", "/vaults/default/catalog"} {
		p := b.get(path)
		mustStatus(t, p, http.StatusSeeOther, path)
		if loc := p.header.Get("Location"); loc != "/login?next="+url.QueryEscape(path) {
			t.Fatalf("%s: %q", path, loc)
		}
	}
	p := b.get("/vaults/default/nothing-here")
	mustStatus(t, p, http.StatusNotFound, "unknown page")
	p = b.get("/vaults/default/credentials/K/reveal/more")
	mustStatus(t, p, http.StatusNotFound, "below a page")
	p = b.do(mustReq(http.MethodDelete, e.srv.URL+"/vaults/default/credentials"))
	mustStatus(t, p, http.StatusMethodNotAllowed, "method")
}

// agentToken creates an agent with the proxy role on default.
func (e *env) agentToken() string {
	e.t.Helper()
	out, err := e.b.CreateAgent(context.Background(), e.owner, apitype.CreateAgentRequest{Name: "proxy-bot", Vaults: []apitype.AgentVault{{VaultName: "default", VaultRole: "proxy"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Token
}

func mustReq(method, u string) *http.Request {
	r, _ := http.NewRequest(method, u, nil)
	return r
}

// The proposals list filters by vault and requester with a plain GET
// form; the status links keep both filters.
func TestProposalListFilters(t *testing.T) {
	e := newEnv(t, "")
	e.propose(stripe("one"))
	b := e.ownerBrowser()
	p := b.get("/proposals?status=all&by=bot&vault=default")
	mustContain(t, p, "by bot", `id="proposal-list"`, `<option value="default" selected>`, `value="bot"`, `href="/proposals?status=pending&amp;vault=default&amp;by=bot"`)
	p = b.get("/proposals?status=all&by=someone-else")
	mustContain(t, p, "by other", `id="empty"`)
	p = b.get("/proposals?status=all&vault=nope")
	if p.status < 400 || strings.Contains(p.body, `id="proposal-list"`) {
		t.Fatalf("unknown vault: %d", p.status)
	}
	p = b.get("/proposals?status=all&by=" + url.QueryEscape(xss))
	if strings.Contains(p.body, "<img src=x") {
		t.Fatal("filter reflected unescaped")
	}
}

// The form carries the method and path rules, plain http:// and the
// redaction opt-out; editing keeps them; a rule the broker refuses is
// reported next to its field.
func TestServiceFormRules(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"K": "k"}}); err != nil {
		t.Fatal(err)
	}
	b := e.ownerBrowser()
	form := url.Values{"name": {"rules"}, "host": {"api.example.com:8080"}, "auth_type": {"bearer"}, "token": {"K"}, "enabled": {"on"},
		"methods": {"get, post"}, "paths_allow": {"/v1/*\r\n"}, "paths_deny": {"/v1/admin/*"}, "allow_plaintext": {"on"}, "redact_off": {"on"}}
	p := b.submit("/vaults/default/services/new", "/vaults/default/services/new", form)
	mustStatus(t, p, http.StatusSeeOther, "save")
	svcs, _ := e.b.ListServices(ctx, e.owner, "default")
	sv := svcs.Services[0]
	if strings.Join(sv.Methods, ",") != "GET,POST" || sv.Paths == nil || strings.Join(sv.Paths.Allow, ",") != "/v1/*" ||
		strings.Join(sv.Paths.Deny, ",") != "/v1/admin/*" || !sv.AllowPlaintext || sv.RedactResponses == nil || *sv.RedactResponses {
		t.Fatalf("saved %+v", sv)
	}
	p = b.get("/vaults/default/services")
	mustContain(t, p, "list", "methods: GET, POST", "paths denied: /v1/admin/*", "plain http:// allowed", "responses not redacted")
	p = b.get("/vaults/default/services/rules/edit")
	mustContain(t, p, "edit", `value="GET, POST"`, "/v1/admin/*</textarea>", `id="svc-plaintext" name="allow_plaintext" checked`, `id="svc-redact-off" name="redact_off" checked`)
	// Saving the edit form unchanged keeps every rule.
	form.Set("methods", "GET, POST")
	p = b.submit("/vaults/default/services/rules/edit", "/vaults/default/services/rules/edit", form)
	mustStatus(t, p, http.StatusSeeOther, "resave")
	svcs, _ = e.b.ListServices(ctx, e.owner, "default")
	if got := svcs.Services[0]; len(got.Methods) != 2 || got.Paths == nil || !got.AllowPlaintext || got.RedactResponses == nil {
		t.Fatalf("after editing: %+v", got)
	}
	// Plain http:// on port 443 is refused, next to its checkbox.
	form.Set("host", "api.example.com:443")
	p = b.submit("/vaults/default/services/rules/edit", "/vaults/default/services/rules/edit", form)
	mustStatus(t, p, http.StatusBadRequest, "443")
	mustContain(t, p, "443", `id="err-plaintext"`, `value="api.example.com:443"`)
	form.Set("host", "api.example.com")
	form.Del("allow_plaintext")
	form.Set("methods", "GET, FETCH!")
	p = b.submit("/vaults/default/services/rules/edit", "/vaults/default/services/rules/edit", form)
	mustStatus(t, p, http.StatusBadRequest, "bad method")
	mustContain(t, p, "bad method", `id="err-methods"`, `value="GET, FETCH!"`)
}

// A value revealed in the browser is recorded in the admin audit trail,
// with who read which key; a wrong password reveals nothing and is
// recorded as a failed reveal (someone else may be at the keyboard).
func TestRevealIsAudited(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"AUDITED_KEY": secretValue}}); err != nil {
		t.Fatal(err)
	}
	reads := func() []apitype.AuditEvent {
		out, err := e.b.AdminAudit(ctx, e.owner, broker.AuditQuery{Action: "credential.reveal"})
		if err != nil {
			t.Fatal(err)
		}
		return out.Events
	}
	b := e.ownerBrowser()
	const path = "/vaults/default/credentials/AUDITED_KEY/reveal"
	p := b.submit(path, path, url.Values{"password": {"wrong-password"}})
	if strings.Contains(p.body, secretValue) {
		t.Fatal("a wrong password revealed the value")
	}
	ev := reads()
	if len(ev) != 1 || ev[0].Outcome != "failure" || ev[0].Target != "AUDITED_KEY" || ev[0].Actor != ownerEmail || ev[0].Vault != "default" {
		t.Fatalf("a wrong password left in the trail: %+v", ev)
	}
	p = b.submit(path, path, url.Values{"password": {ownerPW}})
	mustContain(t, p, "revealed", secretValue)
	ev = reads()
	if len(ev) != 2 || ev[0].Outcome != "success" || ev[0].Target != "AUDITED_KEY" || ev[0].Actor != ownerEmail || ev[0].Vault != "default" {
		t.Fatalf("audit trail: %+v", ev)
	}
	for _, e := range ev {
		if strings.Contains(e.Detail, secretValue) || strings.Contains(e.Detail, "wrong-password") || strings.Contains(e.Detail, ownerPW) {
			t.Fatal("the trail holds the value or a password")
		}
	}
}
