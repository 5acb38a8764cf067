package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// postCase is one form posted to a POST route of the pages, as the page
// that carries it would post it.
type postCase struct {
	name  string     // the form's action, for the failure message
	path  string     // the URL posted to
	form  url.Values // the fields, without the token
	anon  bool       // a logged-out form: its token is bound to the pre-login cookie
	as    string     // the user posting ("" for the owner), when not anon
	fresh bool       // an instance without an account (the first-run page)
}

// csrfFixture is what the forms of postCases act on, made in a fresh
// instance for each form.
type csrfFixture struct {
	sessionID, inviteToken, approvePath, proposalPath string
}

const (
	csrfLeaver = "leaver@example.com" // a user in no vault: may delete their own account
	csrfAdmin  = "second@example.com" // a second admin of default: the owner may leave it
	csrfPW     = "fixture-pass-1"
)

func newCSRFFixture(t *testing.T, e *env) csrfFixture {
	t.Helper()
	ctx := context.Background()
	no := false
	if _, err := e.b.UpdateInstanceSettings(ctx, e.owner, apitype.InstanceSettings{InviteOnly: &no}); err != nil {
		t.Fatal(err)
	}
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
	e.addUser(csrfAdmin, csrfPW, "default", "admin")
	e.addUser(csrfLeaver, csrfPW, "", "")
	inv, err := e.b.CreateInvite(ctx, e.owner, apitype.InviteRequest{Email: "carol@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	id, approve := e.propose(stripe("please"))
	return csrfFixture{sessionID: sess.ID, inviteToken: inv.Token, approvePath: approve, proposalPath: "/proposals/" + strconv.FormatInt(id, 10)}
}

// postCases are every form of the pages, keyed by the route each posts to.
func postCases(f csrfFixture) map[string][]postCase {
	v := func(kv ...string) url.Values {
		out := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	svc := v("name", "exa", "host", "api.example.com", "auth_type", "bearer", "token", "K", "enabled", "on")
	return map[string][]postCase{
		"/setup":          {{name: "create the owner", path: "/setup", anon: true, fresh: true, form: v("code", testSetupCode, "email", ownerEmail, "password", ownerPW, "confirm", ownerPW)}},
		"/login":          {{name: "log in", path: "/login", anon: true, form: v("email", ownerEmail, "password", ownerPW)}},
		"/logout":         {{name: "log out", path: "/logout"}},
		"/register":       {{name: "register", path: "/register", anon: true, form: v("email", "new@example.com", "password", "new-pass-1", "confirm", "new-pass-1")}},
		"/forgot":         {{name: "ask for a code", path: "/forgot", anon: true, form: v("email", ownerEmail)}},
		"/reset":          {{name: "reset", path: "/reset", anon: true, form: v("email", ownerEmail, "code", "123456", "password", "new-pass-1", "confirm", "new-pass-1")}},
		"/invite/{token}": {{name: "accept", path: "/invite/" + f.inviteToken, anon: true, form: v("password", "carol-pass-1", "confirm", "carol-pass-1")}},
		"/account": {
			{name: "change password", path: "/account", as: csrfLeaver, form: v("action", "password", "current_password", csrfPW, "new_password", "other-pass-2", "confirm", "other-pass-2")},
			{name: "revoke a session", path: "/account", as: csrfLeaver, form: v("action", "revoke-session", "id", "no-such-session")},
			{name: "delete the account", path: "/account", as: csrfLeaver, form: v("action", "delete", "confirm", csrfLeaver)},
		},
		"/vaults": {
			{name: "create", path: "/vaults", form: v("action", "create", "name", "payments")},
			{name: "join", path: "/vaults", form: v("action", "join", "name", "default")},
		},
		"/vaults/{name}/settings": {
			{name: "rename", path: "/vaults/default/settings", form: v("action", "rename", "new_name", "renamed")},
			{name: "policy", path: "/vaults/default/settings", form: v("action", "policy", "unmatched_host_policy", "deny")},
			{name: "leave", path: "/vaults/default/settings", form: v("action", "leave")},
			{name: "delete", path: "/vaults/default/settings", form: v("action", "delete", "confirm", "default")},
		},
		"/vaults/{name}/members": {
			{name: "invite", path: "/vaults/default/members", form: v("action", "invite", "email", "dave@example.com", "role", "admin")},
			{name: "role", path: "/vaults/default/members", form: v("action", "role", "email", csrfAdmin, "role", "member")},
			{name: "remove", path: "/vaults/default/members", form: v("action", "remove", "email", csrfAdmin, "confirm", "yes")},
			{name: "revoke an invitation", path: "/vaults/default/members", form: v("action", "revoke-invite", "id", "no-such-invite")},
		},
		"/instance": {
			{name: "settings", path: "/instance", form: v("action", "settings", "log_max_age_hours", "48")},
			{name: "user role", path: "/instance", form: v("action", "user-role", "email", csrfLeaver, "role", "owner")},
			{name: "invite", path: "/instance", form: v("action", "invite", "email", "boss@example.com", "role", "owner")},
			{name: "revoke an invitation", path: "/instance", form: v("action", "revoke-invite", "id", "no-such-invite")},
			{name: "remove a user", path: "/instance", form: v("action", "delete-user", "email", csrfLeaver, "confirm", csrfLeaver)},
			{name: "test email", path: "/instance", form: v("action", "test-email", "to", "ops@example.com")},
		},
		"/proposals/{id}": {
			{name: "approve", path: f.proposalPath, form: v("action", "approve", "value.STRIPE_KEY", "sk_test_value")},
			{name: "reject", path: f.proposalPath, form: v("action", "reject", "reason", "no")},
			{name: "log in", path: f.proposalPath, anon: true, form: v("action", "login", "email", ownerEmail, "password", ownerPW)},
		},
		"/approve/{id}": {
			{name: "approve", path: f.approvePath, form: v("action", "approve", "value.STRIPE_KEY", "sk_test_value")},
			{name: "reject", path: f.approvePath, form: v("action", "reject", "reason", "no")},
			{name: "log in", path: f.approvePath, anon: true, form: v("action", "login", "email", ownerEmail, "password", ownerPW)},
		},
		"/vaults/{name}/credentials":              {{name: "set", path: "/vaults/default/credentials", form: v("key", "NEW", "value", "v2")}},
		"/vaults/{name}/credentials/{key}/bind":   {{name: "bind", path: "/vaults/default/credentials/K/bind", form: v("host", "other.example.com")}},
		"/vaults/{name}/credentials/{key}/unbind": {{name: "unbind", path: "/vaults/default/credentials/K/unbind", form: v("host", "api.example.com")}},
		"/vaults/{name}/credentials/{key}/delete": {{name: "delete", path: "/vaults/default/credentials/K/delete"}},
		"/vaults/{name}/credentials/{key}/reveal": {{name: "reveal", path: "/vaults/default/credentials/K/reveal", form: v("password", ownerPW)}},
		"/vaults/{name}/credentials/{key}/connect": {{name: "connect", path: "/vaults/default/credentials/OAUTH_KEY/connect",
			form: v("auth_url", "https://idp.example.com/authorize", "token_url", "https://idp.example.com/token", "client_id", "id", "client_secret", "s")}},
		oauthCallbackPath:                             {{name: "finish connecting", path: oauthCallbackPath, form: v("state", "some-state", "code", "some-code")}},
		"/vaults/{name}/services/new":                 {{name: "add", path: "/vaults/default/services/new", form: v("name", "two", "host", "api.example.com", "auth_type", "bearer", "token", "K", "enabled", "on")}},
		"/vaults/{name}/services/yaml":                {{name: "save YAML", path: "/vaults/default/services/yaml", form: v("yaml", "services: []\n")}},
		"/vaults/{name}/services/{svc}/edit":          {{name: "edit", path: "/vaults/default/services/exa/edit", form: svc}},
		"/vaults/{name}/services/{svc}/enable":        {{name: "enable", path: "/vaults/default/services/exa/enable"}},
		"/vaults/{name}/services/{svc}/disable":       {{name: "disable", path: "/vaults/default/services/exa/disable"}},
		"/vaults/{name}/services/{svc}/delete":        {{name: "delete", path: "/vaults/default/services/exa/delete"}},
		"/vaults/{name}/agents":                       {{name: "create", path: "/vaults/default/agents", form: v("agent", "new-bot", "role", "proxy")}},
		"/vaults/{name}/agents/add":                   {{name: "add", path: "/vaults/default/agents/add", form: v("agent", "bot", "role", "member")}},
		"/vaults/{name}/agents/{agent}/role":          {{name: "vault role", path: "/vaults/default/agents/bot/role", form: v("role", "member")}},
		"/vaults/{name}/agents/{agent}/instance-role": {{name: "instance role", path: "/vaults/default/agents/bot/instance-role", form: v("role", "member")}},
		"/vaults/{name}/agents/{agent}/rename":        {{name: "rename", path: "/vaults/default/agents/bot/rename", form: v("new_name", "robot")}},
		"/vaults/{name}/agents/{agent}/rotate":        {{name: "rotate", path: "/vaults/default/agents/bot/rotate"}},
		"/vaults/{name}/agents/{agent}/revoke":        {{name: "revoke", path: "/vaults/default/agents/bot/revoke"}},
		"/vaults/{name}/agents/{agent}/remove":        {{name: "remove", path: "/vaults/default/agents/bot/remove"}},
		"/vaults/{name}/sessions":                     {{name: "mint", path: "/vaults/default/sessions", form: v("label", "ci", "role", "proxy", "ttl", "1h")}},
		"/vaults/{name}/sessions/{id}/revoke":         {{name: "revoke", path: "/vaults/default/sessions/" + f.sessionID + "/revoke"}},
	}
}

// Every POST route the pages register needs the form's CSRF token and a
// same-site origin: without the token, with a wrong one, or from another
// site the form is refused (403) and, posted again as the page posts it,
// the same form is not refused, so the 403 was the token's doing. The
// table must name every POST route: a new form without a case here fails.
func TestEveryPostNeedsTheFormToken(t *testing.T) {
	var posts []string
	for _, r := range New(Options{}).Routes() {
		if r.Method == http.MethodPost {
			posts = append(posts, r.Pattern)
		}
	}
	cases := postCases(csrfFixture{sessionID: "x", approvePath: "/approve/1?token=x", proposalPath: "/proposals/1"})
	for _, p := range posts {
		if len(cases[p]) == 0 {
			t.Errorf("POST %s has no case in postCases: add the forms that post to it", p)
		}
	}
	for p := range cases {
		if !slices.Contains(posts, p) {
			t.Errorf("postCases names %s, which is no POST route", p)
		}
	}
	if t.Failed() {
		return
	}
	for _, p := range posts {
		for i, c := range cases[p] {
			t.Run(strings.TrimPrefix(p, "/")+" "+c.name, func(t *testing.T) {
				t.Parallel()
				checkPostNeedsToken(t, p, i, c.fresh)
			})
		}
	}
}

// checkPostNeedsToken posts the i-th form of route in a fresh instance.
func checkPostNeedsToken(t *testing.T, route string, i int, fresh bool) {
	var e *env
	var f csrfFixture
	if fresh {
		e = newBareEnv(t, testSetupCode, "", nil)
	} else {
		e = newEnv(t, "")
		f = newCSRFFixture(t, e)
	}
	c := postCases(f)[route][i] // the paths that hold the fixture's ids
	var b *browser
	switch {
	case c.anon:
		b = e.browser()
		b.get("/login") // the pre-login cookie and its token
	case c.as != "":
		b = e.as(c.as, csrfPW)
		b.get("/account")
	default:
		b = e.as(ownerEmail, ownerPW)
		b.get("/account")
	}
	token := b.csrf()
	if c.path == oauthCallbackPath {
		// The callback's form carries a token bound to the flow's state.
		token = e.srv.Config.Handler.(*Handler).mac("oauth-callback", c.form.Get("state"))
	}
	post := func(token, origin string) page {
		form := cloneForm(c.form)
		if token != "" {
			form.Set("csrf", token)
		}
		return b.postOrigin(c.path, form, origin)
	}
	origin := e.srv.URL
	if p := post("", origin); p.status != http.StatusForbidden {
		t.Errorf("without the token: %d, want 403\n%s", p.status, p.body)
	}
	wrong := token[:len(token)-1] + "A"
	if strings.HasSuffix(token, "A") {
		wrong = token[:len(token)-1] + "B"
	}
	if p := post(wrong, origin); p.status != http.StatusForbidden {
		t.Errorf("with a wrong token: %d, want 403", p.status)
	}
	if c.path != oauthCallbackPath {
		// A token valid for another browser (another user's session, or
		// another pre-login cookie), not for this one.
		other := e.browser()
		switch {
		case c.anon:
			other.get("/login")
		case c.as == csrfAdmin:
			other = e.as(ownerEmail, ownerPW)
			other.get("/account")
		default:
			other = e.as(csrfAdmin, csrfPW)
			other.get("/account")
		}
		if p := post(other.csrf(), origin); p.status != http.StatusForbidden {
			t.Errorf("with another browser's token: %d, want 403", p.status)
		}
	}
	if p := post(token, "https://evil.example"); p.status != http.StatusForbidden {
		t.Errorf("from another origin: %d, want 403", p.status)
	}
	if p := post(token, origin); p.status == http.StatusForbidden || p.status == http.StatusUnauthorized {
		t.Errorf("the same form with its token: %d; the case does not isolate the token check\n%s", p.status, p.body)
	}
}
