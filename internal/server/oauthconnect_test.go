package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/oauth"
)

// The whole authorization-code flow through the API and the browser
// pages: connect, consent at a real provider, callback, finish, stored.
func TestOAuthConnectFlowStoresTokens(t *testing.T) {
	e := newConnectEnv(t, true)
	ctx := context.Background()
	own := e.owner()
	started, err := own.OAuthConnect(ctx, e.connectReq("GOOGLE"))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(started.AuthorizationURL)
	q := u.Query()
	for k, want := range map[string]string{"response_type": "code", "client_id": e.clientID, "redirect_uri": e.url + "/v1/oauth/callback",
		"scope": "read write", "code_challenge_method": "S256"} {
		if q.Get(k) != want {
			t.Errorf("authorization URL %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if len(q.Get("code_challenge")) != 43 || !strings.HasPrefix(q.Get("state"), "av_oast_") {
		t.Errorf("PKCE challenge %q or state %q malformed", q.Get("code_challenge"), q.Get("state"))
	}
	br := e.browserOf("owner@example.com", "owner-password")
	cb := br.consent(started.AuthorizationURL)
	resp, err := br.hc.Get(cb)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") ||
		resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("callback page headers: %v", resp.Header)
	}
	f := br.callbackPage(cb)
	st, page := br.post("/v1/oauth/callback", f)
	if st != http.StatusOK || !strings.Contains(page, `id="oauth-done"`) {
		t.Fatalf("finish: %d\n%s", st, page)
	}
	if n := e.p.Hits("authorization_code"); n != 1 {
		t.Errorf("code exchanges at the provider = %d, want 1", n)
	}
	s, ok := e.stored("GOOGLE")
	if !ok || s.Status != oauth.StatusConnected || s.AccessToken == "" || s.RefreshToken == "" || s.ClientSecret != e.secret ||
		s.AuthorizationURL != e.p.AuthorizeURL || s.TokenURL != e.p.TokenURL || strings.Join(s.Scopes, " ") != "read write" {
		t.Fatalf("stored credential: ok=%v status=%s config=%s %s %v", ok, s.Status, s.AuthorizationURL, s.TokenURL, s.Scopes)
	}
	// The stored access token is one the provider's API accepts.
	req, _ := http.NewRequest(http.MethodGet, e.p.APIURL+"me", nil)
	req.Header.Set("Authorization", "Bearer "+s.AccessToken)
	resp, err = e.p.HTTPClient().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the provider's API refused the stored token: %v %v", err, resp)
	}
	resp.Body.Close()
	// Nothing of the flow reaches the server's log.
	for what, v := range map[string]string{"state": f.Get("state"), "code": f.Get("code"), "access token": s.AccessToken, "refresh token": s.RefreshToken, "client secret": e.secret} {
		if strings.Contains(e.logs.String(), v) {
			t.Errorf("the log holds the %s", what)
		}
	}
	// The credential list says it is an OAuth credential.
	list, err := own.Credentials(ctx, "default", false, "")
	if err != nil || len(list.Credentials) != 1 || list.Credentials[0].Type != "oauth" {
		t.Fatalf("list: %+v %v", list, err)
	}
}

// The connect route's answer is exactly the public API's: one field.
func TestOAuthConnectAnswerIsWireCompatible(t *testing.T) {
	e := newConnectEnv(t, true)
	own := e.owner()
	_ = own
	body, _ := json.Marshal(map[string]any{"vault": "default", "key": "SLACK", "authorization_url": e.p.AuthorizeURL, "token_url": e.p.TokenURL,
		"client_id": e.clientID, "client_secret": e.secret, "scopes": "chat:write,users:read", "scope_separator": ",", "token_auth_method": "client_secret_post"})
	tok, _ := e.anon().Login(context.Background(), apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/credentials/oauth/connect", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if len(raw) != 1 || raw["authorization_url"] == nil {
		t.Fatalf("answer fields = %v, want only authorization_url", raw)
	}
	var link string
	_ = json.Unmarshal(raw["authorization_url"], &link)
	if u, _ := url.Parse(link); u.Query().Get("scope") != "chat:write,users:read" {
		t.Errorf("scope sent = %q", u.Query().Get("scope"))
	}
}

// Attacks on the callback: every one is refused, stores nothing, and
// (where a state was real) burns it so that it cannot be tried again.
func TestOAuthCallbackAttacks(t *testing.T) {
	e := newConnectEnv(t, true)
	ctx := context.Background()
	own := e.owner()
	mallory := e.invite(own, "mallory@example.com", "member", apitype.UserVault{VaultName: "default", VaultRole: "member"})
	_ = mallory
	ownerBrowser := e.browserOf("owner@example.com", "owner-password")
	malloryBrowser := e.browserOf("mallory@example.com", "password-of-mallory@example.com")
	start := func(key string) (authURL, state string) {
		t.Helper()
		s, err := own.OAuthConnect(ctx, e.connectReq(key))
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(s.AuthorizationURL)
		return s.AuthorizationURL, u.Query().Get("state")
	}
	connected := func(key string) bool {
		s, ok := e.stored(key)
		return ok && s.Status == oauth.StatusConnected
	}

	t.Run("replayed state", func(t *testing.T) {
		f := ownerBrowser.callbackPage(ownerBrowser.consent(must1(start("REPLAY"))))
		if st, page := ownerBrowser.post("/v1/oauth/callback", f); st != http.StatusOK {
			t.Fatalf("first finish: %d %s", st, page)
		}
		before := e.p.Hits("authorization_code")
		st, page := ownerBrowser.post("/v1/oauth/callback", f)
		if st != http.StatusGone || !strings.Contains(page, "no longer valid") {
			t.Fatalf("replay: %d\n%s", st, page)
		}
		if e.p.Hits("authorization_code") != before {
			t.Error("a replayed state reached the token endpoint")
		}
	})

	t.Run("expired state", func(t *testing.T) {
		f := ownerBrowser.callbackPage(ownerBrowser.consent(must1(start("EXPIRED"))))
		e.clock.Advance(11 * time.Minute)
		defer e.clock.Advance(-11 * time.Minute)
		before := e.p.Hits("authorization_code")
		st, page := ownerBrowser.post("/v1/oauth/callback", f)
		if st != http.StatusGone || connected("EXPIRED") || e.p.Hits("authorization_code") != before {
			t.Fatalf("expired state: %d connected=%v\n%s", st, connected("EXPIRED"), page)
		}
	})

	t.Run("state finished by another user", func(t *testing.T) {
		// Mallory lures the owner into finishing her flow, or finishes the
		// owner's: either way the user who started it must finish it.
		f := ownerBrowser.callbackPage(ownerBrowser.consent(must1(start("VICTIM"))))
		st, page := malloryBrowser.post("/v1/oauth/callback", f)
		if st != http.StatusForbidden || !strings.Contains(page, "started by another user") || connected("VICTIM") {
			t.Fatalf("other user: %d connected=%v\n%s", st, connected("VICTIM"), page)
		}
		// The attempt is in the admin trail, as mallory's.
		events, err := own.AdminAudit(ctx, client.AuditFilter{Action: "credential.set"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ev := range events.Events {
			found = found || (ev.Actor == "mallory@example.com" && ev.Outcome == "failure" && ev.Target == "VICTIM")
		}
		if !found {
			t.Errorf("no failed credential.set row of mallory for VICTIM in the trail: %+v", events.Events)
		}
		// The state is used up: the rightful user cannot reuse that link.
		if st, _ := ownerBrowser.post("/v1/oauth/callback", f); st != http.StatusGone {
			t.Fatalf("state after a refused finish: %d, want 410", st)
		}
	})

	t.Run("no session: log in first, state kept", func(t *testing.T) {
		anon := e.browserOf("", "")
		cb := anon.consent(must1(start("LATER")))
		f := anon.callbackPage(cb)
		st, page := anon.post("/v1/oauth/callback", f)
		if st != http.StatusUnauthorized || !strings.Contains(page, `id="login-form"`) {
			t.Fatalf("finish without a session: %d\n%s", st, page)
		}
		if !strings.Contains(page, `name="next" value="/v1/oauth/callback?`) {
			t.Errorf("the login form does not come back to the callback:\n%s", page)
		}
		// Logged in, the same link still works.
		if st, page := ownerBrowser.post("/v1/oauth/callback", f); st != http.StatusOK || !connected("LATER") {
			t.Fatalf("finish after login: %d\n%s", st, page)
		}
	})

	t.Run("missing code", func(t *testing.T) {
		_, state := start("NOCODE")
		st, _, page := ownerBrowser.get(e.url + "/v1/oauth/callback?state=" + state)
		if st != http.StatusBadRequest || strings.Contains(page, "oauth-finish-form") {
			t.Fatalf("missing code: %d\n%s", st, page)
		}
		st, _, _ = ownerBrowser.get(e.url + "/v1/oauth/callback?state=" + state + "&code=late")
		if st != http.StatusGone {
			t.Fatalf("state after a callback without code: %d, want 410", st)
		}
	})

	t.Run("forged code", func(t *testing.T) {
		_, state := start("FORGED")
		f := ownerBrowser.callbackPage(e.url + "/v1/oauth/callback?state=" + state + "&code=forged-by-mallory")
		st, page := ownerBrowser.post("/v1/oauth/callback", f)
		if st != http.StatusBadRequest || !strings.Contains(page, "refused the authorization code") || connected("FORGED") {
			t.Fatalf("forged code: %d\n%s", st, page)
		}
		if strings.Contains(page, e.secret) || strings.Contains(page, "forged-by-mallory") {
			t.Error("the error page shows the client secret or the code")
		}
	})

	t.Run("forged or malformed state", func(t *testing.T) {
		for _, s := range []string{"av_oast_" + strings.Repeat("ab", 32), "", "x", "av_oast_<script>"} {
			st, _, page := ownerBrowser.get(e.url + "/v1/oauth/callback?code=c&state=" + url.QueryEscape(s))
			if st != http.StatusGone || strings.Contains(page, "oauth-finish-form") {
				t.Errorf("state %q: %d", s, st)
			}
			f := url.Values{"state": {s}, "code": {"c"}, "csrf": {"x"}}
			if st, _ := ownerBrowser.post("/v1/oauth/callback", f); st != http.StatusForbidden {
				t.Errorf("finish with state %q and a made-up CSRF token: %d, want 403", s, st)
			}
		}
	})

	t.Run("cross-site finish", func(t *testing.T) {
		f := ownerBrowser.callbackPage(ownerBrowser.consent(must1(start("CSRF"))))
		req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/oauth/callback", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := ownerBrowser.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || connected("CSRF") {
			t.Fatalf("cross-origin finish: %d", resp.StatusCode)
		}
		// Refused before the state was touched: the real page still works.
		if st, _ := ownerBrowser.post("/v1/oauth/callback", f); st != http.StatusOK {
			t.Fatalf("same-origin finish after a refused cross-site one: %d", st)
		}
	})

	t.Run("open redirect attempts", func(t *testing.T) {
		cb := ownerBrowser.consent(must1(start("REDIR")))
		for _, extra := range []string{"&next=https://evil.example/", "&redirect_uri=https%3A%2F%2Fevil.example%2F", "&return_to=//evil.example",
			"&error_uri=https://evil.example/help"} {
			st, loc, page := ownerBrowser.get(cb + extra)
			if loc != "" || strings.Contains(page, "evil.example") {
				t.Errorf("callback with %s: %d Location=%q, page mentions evil.example=%v", extra, st, loc, strings.Contains(page, "evil.example"))
			}
		}
		// The provider's error_uri is never linked either.
		_, state := start("REDIR2")
		_, loc, page := ownerBrowser.get(e.url + "/v1/oauth/callback?state=" + state + "&error=access_denied&error_uri=https%3A%2F%2Fevil.example%2F")
		if loc != "" || strings.Contains(page, "evil.example") {
			t.Errorf("error callback links the provider's error_uri: %q", loc)
		}
	})

	t.Run("provider error with HTML", func(t *testing.T) {
		_, state := start("DENIED")
		q := url.Values{"state": {state}, "error": {`<script>alert(1)</script>` + "\u202e" + strings.Repeat("B", 500)}, "error_description": {`<img src=x onerror=alert(2)>` + "\u202e" + strings.Repeat("A", 500)}}
		st, _, page := ownerBrowser.get(e.url + "/v1/oauth/callback?" + q.Encode())
		if st != http.StatusBadRequest {
			t.Fatalf("error callback: %d", st)
		}
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || strings.Contains(page, "\u202e") {
			t.Fatalf("provider text reached the page unescaped:\n%s", page)
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(page, strings.Repeat("A", 400)) || strings.Contains(page, strings.Repeat("B", 400)) {
			t.Errorf("provider text not shown escaped and trimmed:\n%s", page)
		}
		// The declined flow is over.
		if st, _, _ := ownerBrowser.get(e.url + "/v1/oauth/callback?state=" + state + "&code=c"); st != http.StatusGone {
			t.Errorf("state after a provider error: %d, want 410", st)
		}
	})
}

func must1(a, _ string) string { return a }

// Connect requests an attacker (or a mistake) might send.
func TestOAuthConnectRefuses(t *testing.T) {
	e := newConnectEnv(t, true)
	ctx := context.Background()
	own := e.owner()
	if _, err := own.SetCredentials(ctx, "default", map[string]string{"STATIC_KEY": "v"}); err != nil {
		t.Fatal(err)
	}
	ok := e.connectReq("K")
	cases := []struct {
		name   string
		edit   func(r *apitype.OAuthConnectRequest)
		status int
		field  string
	}{
		{"no key", func(r *apitype.OAuthConnectRequest) { r.Key = "" }, 400, "key"},
		{"bad key", func(r *apitype.OAuthConnectRequest) { r.Key = "lower" }, 400, "key"},
		{"no authorization url", func(r *apitype.OAuthConnectRequest) { r.AuthorizationURL = "" }, 400, "authorization_url"},
		{"http authorization url", func(r *apitype.OAuthConnectRequest) { r.AuthorizationURL = "http://idp.example/auth" }, 400, "authorization_url"},
		{"javascript authorization url", func(r *apitype.OAuthConnectRequest) { r.AuthorizationURL = "javascript:alert(1)" }, 400, "authorization_url"},
		{"authorization url with redirect_uri", func(r *apitype.OAuthConnectRequest) { r.AuthorizationURL += "?redirect_uri=https://evil.example/" }, 400, "authorization_url"},
		{"authorization url with user info", func(r *apitype.OAuthConnectRequest) { r.AuthorizationURL = "https://user:pw@idp.example/auth" }, 400, "authorization_url"},
		{"http token url", func(r *apitype.OAuthConnectRequest) { r.TokenURL = "http://idp.example/token" }, 400, "token_url"},
		{"no client id", func(r *apitype.OAuthConnectRequest) { r.ClientID = "" }, 400, "client_id"},
		{"unknown auth method", func(r *apitype.OAuthConnectRequest) { r.TokenAuthMethod = "private_key_jwt" }, 400, "token_auth_method"},
		{"public client without PKCE", func(r *apitype.OAuthConnectRequest) {
			r.TokenAuthMethod, r.ClientSecret, r.DisablePKCE = "none", "", new(true)
		}, 400, "disable_pkce"},
		{"secret method without secret", func(r *apitype.OAuthConnectRequest) { r.ClientSecret = "" }, 400, "client_secret"},
		{"odd separator", func(r *apitype.OAuthConnectRequest) { r.ScopeSeparator = "&" }, 400, "scope_separator"},
		{"scope with a space", func(r *apitype.OAuthConnectRequest) { r.Scopes = apitype.ScopeList{List: []string{"a b"}} }, 400, "scopes"},
		{"static credential", func(r *apitype.OAuthConnectRequest) { r.Key = "STATIC_KEY" }, 409, ""},
		{"unknown vault", func(r *apitype.OAuthConnectRequest) { r.Vault = "nope" }, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ok
			c.edit(&r)
			_, err := own.OAuthConnect(ctx, r)
			if status(err) != c.status {
				t.Fatalf("status %d (%v), want %d", status(err), err, c.status)
			}
			if ae, ok := err.(*client.APIError); c.field != "" && (!ok || ae.Body.Field != c.field) {
				t.Errorf("error %v names field %q, want %q", err, ae.Body.Field, c.field)
			}
		})
	}
}

// A stored client secret goes only to the token URL it was stored with:
// a reconnect that keeps the secret but names another token URL is
// refused, so the secret cannot be sent to an attacker's endpoint.
func TestOAuthConnectKeepsSecretOnlyForItsTokenURL(t *testing.T) {
	e := newConnectEnv(t, true)
	ctx := context.Background()
	own := e.owner()
	br := e.browserOf("owner@example.com", "owner-password")
	s, err := own.OAuthConnect(ctx, e.connectReq("KEEP"))
	if err != nil {
		t.Fatal(err)
	}
	if st, page := br.post("/v1/oauth/callback", br.callbackPage(br.consent(s.AuthorizationURL))); st != http.StatusOK {
		t.Fatalf("first connect: %d %s", st, page)
	}
	r := e.connectReq("KEEP")
	r.ClientSecret = apitype.OAuthSecretKept
	r.TokenURL = "https://attacker.example/token"
	if _, err := own.OAuthConnect(ctx, r); status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "never sent elsewhere") {
		t.Fatalf("keep the secret for another token URL: %v", err)
	}
	r.TokenURL, r.ClientID = e.p.TokenURL, "another-client"
	if _, err := own.OAuthConnect(ctx, r); status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "never sent elsewhere") {
		t.Fatalf("keep the secret for another client id: %v", err)
	}
	r.ClientID = e.clientID
	// Same token URL: the stored secret is used (the exchange succeeds).
	r.TokenURL = e.p.TokenURL
	s, err = own.OAuthConnect(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if st, page := br.post("/v1/oauth/callback", br.callbackPage(br.consent(s.AuthorizationURL))); st != http.StatusOK {
		t.Fatalf("reconnect keeping the secret: %d %s", st, page)
	}
	if got, _ := e.stored("KEEP"); got.ClientSecret != e.secret {
		t.Error("the kept secret was not stored again")
	}
	// The key alone connects again with everything stored.
	s, err = own.OAuthConnect(ctx, apitype.OAuthConnectRequest{Key: "KEEP", ClientSecret: apitype.OAuthSecretKept})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(s.AuthorizationURL); u.Query().Get("client_id") != e.clientID || u.Query().Get("scope") != "read write" || !strings.HasPrefix(s.AuthorizationURL, e.p.AuthorizeURL+"?") {
		t.Fatalf("reconnect from the stored settings: %s", s.AuthorizationURL)
	}
	if st, page := br.post("/v1/oauth/callback", br.callbackPage(br.consent(s.AuthorizationURL))); st != http.StatusOK {
		t.Fatalf("reconnect from the stored settings: %d %s", st, page)
	}
}

// Agents, scoped sessions and readers cannot start a flow; private and
// metadata addresses are refused when the flow starts.
func TestOAuthConnectWhoAndWhere(t *testing.T) {
	// netguard's defaults (loopback refused); attacker.example resolves to
	// a private address, idp.example to a public one.
	e := newConnectEnvDNS(t, false, staticDNS{"attacker.example": {netip.MustParseAddr("10.9.8.7")}, "idp.example": {netip.MustParseAddr("93.184.215.14")},
		"localhost": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}})
	ctx := context.Background()
	own := e.owner()
	agent, err := own.CreateAgent(ctx, apitype.CreateAgentRequest{Name: "bot", Vaults: []apitype.AgentVault{{VaultName: "default", VaultRole: "member"}}})
	if err != nil {
		t.Fatal(err)
	}
	good := e.connectReq("K")
	good.AuthorizationURL, good.TokenURL = "https://idp.example/authorize", "https://idp.example/token"
	if _, err := e.as(agent.Token).OAuthConnect(ctx, good); status(err) != http.StatusForbidden {
		t.Errorf("an agent started a flow: %v", err)
	}
	if _, err := own.CreateVault(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	outsider := e.invite(own, "outsider@example.com", "member", apitype.UserVault{VaultName: "default", VaultRole: "member"})
	other := good
	other.Vault = "prod"
	if _, err := outsider.OAuthConnect(ctx, other); status(err) != http.StatusNotFound {
		t.Errorf("a user without a grant on the vault started a flow: %v", err)
	}
	for _, c := range []struct{ field, auth, tok string }{
		{"token_url", good.AuthorizationURL, "https://169.254.169.254/latest/meta-data"},
		{"token_url", good.AuthorizationURL, "https://10.0.0.7/token"},
		{"token_url", good.AuthorizationURL, e.p.TokenURL}, // loopback
		{"token_url", good.AuthorizationURL, "https://[::1]/token"},
		{"token_url", good.AuthorizationURL, "https://localhost/token"},
		{"authorization_url", "https://192.168.1.1/authorize", good.TokenURL},
		{"authorization_url", "https://[fd00::1]/authorize", good.TokenURL},
		{"authorization_url", "https://0x7f000001/authorize", good.TokenURL},
		{"authorization_url", "https://2130706433/authorize", good.TokenURL},
		{"token_url", good.AuthorizationURL, "https://127.1/token"},
		{"token_url", good.AuthorizationURL, "https://0177.0.0.1/token"},
		{"token_url", good.AuthorizationURL, "https://[::ffff:10.0.0.1]/token"},
		{"token_url", good.AuthorizationURL, "https://attacker.example/token"},
		{"authorization_url", "https://attacker.example/authorize", good.TokenURL},
	} {
		r := good
		r.AuthorizationURL, r.TokenURL = c.auth, c.tok
		_, err := own.OAuthConnect(ctx, r)
		ae, _ := err.(*client.APIError)
		if ae == nil || ae.Status != http.StatusBadRequest || ae.Body.Field != c.field {
			t.Errorf("%s %s / %s: %v, want 400 on %s", c.field, c.auth, c.tok, err, c.field)
		}
	}
	// Public addresses pass.
	if _, err := own.OAuthConnect(ctx, good); err != nil {
		t.Errorf("a public provider was refused: %v", err)
	}
}

// One user may have twenty flows open; the next is refused until one
// finishes or expires.
func TestOAuthConnectCapsOpenFlows(t *testing.T) {
	e := newConnectEnv(t, true)
	ctx := context.Background()
	own := e.owner()
	for i := range 20 {
		if _, err := own.OAuthConnect(ctx, e.connectReq("K")); err != nil {
			t.Fatalf("flow %d: %v", i+1, err)
		}
	}
	if _, err := own.OAuthConnect(ctx, e.connectReq("K")); status(err) != http.StatusTooManyRequests {
		t.Fatalf("21st open flow: %v, want 429", err)
	}
	e.clock.Advance(11 * time.Minute)
	if _, err := own.OAuthConnect(ctx, e.connectReq("K")); err != nil {
		t.Fatalf("after the others expired: %v", err)
	}
}

// disable_pkce is stored with the credential: a later connect that
// leaves it out runs without PKCE again for the same authorization URL
// (the console's form comes checked), while an explicit false, another
// authorization URL or a public client turn PKCE back on.
func TestOAuthConnectKeepsDisablePKCE(t *testing.T) {
	e := newConnectEnv(t, true)
	e.p.AcceptNoPKCE()
	ctx := context.Background()
	own := e.owner()
	br := e.browserOf("owner@example.com", "owner-password")
	challenge := func(r apitype.OAuthConnectRequest) (string, string) {
		t.Helper()
		s, err := own.OAuthConnect(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(s.AuthorizationURL)
		return u.Query().Get("code_challenge"), s.AuthorizationURL
	}
	r := e.connectReq("NOPKCE")
	r.DisablePKCE = new(true)
	c, link := challenge(r)
	if c != "" {
		t.Fatalf("disable_pkce sent a code challenge: %s", link)
	}
	if st, page := br.post("/v1/oauth/callback", br.callbackPage(br.consent(link))); st != http.StatusOK {
		t.Fatalf("connect without PKCE: %d %s", st, page)
	}
	if s, _ := e.stored("NOPKCE"); !s.DisablePKCE {
		t.Fatal("disable_pkce was not stored with the credential")
	}
	// The key alone: the stored setting holds.
	if c, link := challenge(apitype.OAuthConnectRequest{Key: "NOPKCE", ClientSecret: apitype.OAuthSecretKept}); c != "" {
		t.Fatalf("a reconnect from the stored settings sent a code challenge: %s", link)
	}
	// The console's connect form comes with the box checked.
	if st, _, page := br.get(e.url + "/vaults/default/credentials/NOPKCE/connect"); st != http.StatusOK || !strings.Contains(page, `name="disable_pkce" checked`) {
		t.Fatalf("connect form: %d, disable_pkce not checked:\n%s", st, page)
	}
	for name, edit := range map[string]func(*apitype.OAuthConnectRequest){
		"explicit false":            func(r *apitype.OAuthConnectRequest) { r.DisablePKCE = new(false) },
		"another authorization URL": func(r *apitype.OAuthConnectRequest) { r.AuthorizationURL = e.p.AuthorizeURL + "?prompt=consent" },
		"public client":             func(r *apitype.OAuthConnectRequest) { r.TokenAuthMethod, r.ClientSecret = "none", "" },
	} {
		r := apitype.OAuthConnectRequest{Key: "NOPKCE", ClientSecret: apitype.OAuthSecretKept}
		edit(&r)
		if c, link := challenge(r); len(c) != 43 {
			t.Errorf("%s: no code challenge: %s", name, link)
		}
	}
	// An explicit true for a public client is still refused.
	r = apitype.OAuthConnectRequest{Key: "NOPKCE", TokenAuthMethod: "none", DisablePKCE: new(true)}
	if _, err := own.OAuthConnect(ctx, r); status(err) != http.StatusBadRequest {
		t.Fatalf("a public client without PKCE: %v", err)
	}
}
