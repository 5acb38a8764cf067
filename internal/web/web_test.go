package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

const (
	ownerEmail = "owner@example.com"
	ownerPW    = "owner-password-1"
	xss        = `<img src=x onerror=alert(1)><script>alert(2)</script>`
)

// env is a broker on a real SQLite file with the web pages in front.
type env struct {
	t     *testing.T
	b     *broker.Broker
	srv   *httptest.Server
	owner broker.Actor
	agent broker.Actor
	db    *sqlstore.DB // the store under the broker, for seeding rows
}

func newEnv(t *testing.T, baseURL string) *env { return newEnvLimited(t, baseURL, nil) }

// newEnvLimited builds the environment with a rate limiter (nil: none).
func newEnvLimited(t *testing.T, baseURL string, lim *ratelimit.Limiter) *env {
	t.Helper()
	ctx := context.Background()
	db := sqltest.Open(t) // SQLite, or PostgreSQL under AGENT_VAULT_TEST_ENGINE=postgres
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := broker.New(broker.Options{Store: db, Keyring: kr, Logger: log, BaseURL: "http://vault.test",
		PasswordParams: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	b.ArmFirstRun(testSetupCode, nil) // as the daemon does on a fresh instance
	srv := httptest.NewServer(New(Options{Broker: b, BaseURL: baseURL, Logger: log, Limiter: lim}))
	t.Cleanup(func() {
		srv.Close()
		_ = db.Close()
	})
	e := &env{t: t, b: b, srv: srv, db: db}
	reg, err := b.Register(ctx, apitype.Credentials{Email: ownerEmail, Password: ownerPW, SetupCode: testSetupCode})
	if err != nil {
		t.Fatal(err)
	}
	e.owner = e.auth(reg.Token)
	ag, err := b.CreateAgent(ctx, e.owner, apitype.CreateAgentRequest{Name: "bot", Vaults: []apitype.AgentVault{{VaultName: "default", VaultRole: "proxy"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.agent = e.auth(ag.Token)
	return e
}

func (e *env) auth(tok string) broker.Actor {
	e.t.Helper()
	a, err := e.b.Authenticate(context.Background(), tok)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// propose creates a proposal as the agent and returns its page path.
func (e *env) propose(in apitype.CreateProposalRequest) (int64, string) {
	e.t.Helper()
	out, err := e.b.CreateProposal(context.Background(), e.agent, "", in)
	if err != nil {
		e.t.Fatalf("CreateProposal: %v", err)
	}
	u, err := url.Parse(out.ApprovalURL)
	if err != nil {
		e.t.Fatal(err)
	}
	return out.ID, u.RequestURI()
}

// stripe is a proposal for one bearer service and its key.
func stripe(userMessage string) apitype.CreateProposalRequest {
	return apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{{Action: "set", Name: "stripe", Host: "api.stripe.com",
			Auth: &apitype.ServiceAuth{Type: "bearer", Token: "STRIPE_KEY"}}},
		Credentials: []apitype.ProposalCredential{{Action: "set", Key: "STRIPE_KEY", Description: "Stripe API key",
			Obtain: "https://dashboard.stripe.com/apikeys", ObtainInstructions: "Developers > API Keys"}},
		Message: "for the developer", UserMessage: userMessage,
	}
}

func (e *env) proposal(id int64) apitype.Proposal {
	e.t.Helper()
	p, err := e.b.AdminGetProposal(context.Background(), e.owner, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	last string // the last page's body
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.last = string(body)
	return page{resp.StatusCode, resp.Header, string(body)}
}

func (b *browser) get(path string) page {
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form with the browser's Origin.
func (b *browser) post(path string, form url.Values) page {
	return b.postOrigin(path, form, b.e.srv.URL)
}

func (b *browser) postOrigin(path string, form url.Values, origin string) page {
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the last page's forms.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfRE.FindAllStringSubmatch(b.last, -1)
	if len(m) == 0 {
		b.t.Fatalf("no CSRF token on the page:\n%s", b.last)
	}
	return m[len(m)-1][1]
}

// login logs in through the inline form of path.
func (b *browser) login(path, email, pw string) page {
	b.t.Helper()
	if p := b.get(path); p.status != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%s", path, p.status, p.body)
	}
	return b.post(path, url.Values{"action": {"login"}, "csrf": {b.csrf()}, "email": {email}, "password": {pw}})
}

func (b *browser) loggedIn(path string) {
	b.t.Helper()
	p := b.login(path, ownerEmail, ownerPW)
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("login: %d\n%s", p.status, p.body)
	}
}

func TestRenderingEscapesXSS(t *testing.T) {
	e := newEnv(t, "")
	in := stripe(xss)
	in.Message = "dev " + xss
	in.Credentials[0].Description = "desc " + xss
	in.Credentials[0].Obtain = "javascript:alert(1)"
	in.Credentials[0].ObtainInstructions = "steps " + xss
	in.Credentials = append(in.Credentials, apitype.ProposalCredential{Action: "set", Key: "OTHER", Obtain: "https://example.com/keys?a=1&b=2"},
		apitype.ProposalCredential{Action: "set", Key: "THIRD", Obtain: "data:text/html,<script>alert(3)</script>"})
	_, path := e.propose(in)
	for _, b := range []*browser{e.browser(), func() *browser { b := e.browser(); b.loggedIn(path); return b }()} {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("GET: %d %s", p.status, p.body)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", `href="javascript:`, `href="data:`, "ZgotmplZ"} {
			if strings.Contains(p.body, bad) {
				t.Errorf("the page contains %q unescaped", bad)
			}
		}
		if n := strings.Count(p.body, "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;"); n != 4 {
			t.Errorf("escaped payload appears %d times, want 4 (user_message, message, description, instructions)", n)
		}
		if !strings.Contains(p.body, `<dd class="obtain-text">javascript:alert(1)</dd>`) {
			t.Errorf("a javascript: obtain is not shown as text")
		}
		if !strings.Contains(p.body, `<a href="https://example.com/keys?a=1&amp;b=2" rel="noopener noreferrer" target="_blank" class="obtain">`) {
			t.Errorf("an https obtain is not a safe link:\n%s", p.body)
		}
		if strings.Count(p.body, "<a href=\"https://") != 1 {
			t.Errorf("want exactly one external link")
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, "")
	_, path := e.propose(stripe("hi"))
	b := e.browser()
	for _, u := range []string{path, "/login", "/logout", "/proposals/1", "/nope-is-not-routed-but-handled"} {
		p := b.get(u)
		h := p.header
		c := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "style-src '" + styleHash() + "'"} {
			if !strings.Contains(c, want) {
				t.Errorf("%s: CSP %q lacks %q", u, c, want)
			}
		}
		if strings.Contains(c, "unsafe") || strings.Contains(c, "script-src") {
			t.Errorf("%s: CSP allows too much: %q", u, c)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", u, k, h.Get(k), v)
			}
		}
		if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", u, ct)
		}
	}
	// The hash in the CSP is the hash of the <style> the page carries.
	p := b.get(path)
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no <style>")
	}
	sum := sha256.Sum256([]byte(m[1]))
	if got := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); !strings.Contains(p.header.Get("Content-Security-Policy"), got) {
		t.Errorf("the style element hashes to %s, which the CSP does not allow", got)
	}
	if strings.Contains(p.body, "style=\"") || strings.Contains(p.body, "<script") {
		t.Error("the page has an inline style attribute or a script")
	}
}

func TestLoggedOutShowsLoginForm(t *testing.T) {
	e := newEnv(t, "")
	_, path := e.propose(stripe("please add stripe"))
	p := e.browser().get(path)
	if p.status != http.StatusOK {
		t.Fatalf("%d %s", p.status, p.body)
	}
	for _, want := range []string{`id="login-form"`, `name="email"`, `type="password" id="password"`, "Stripe API key", "api.stripe.com", "bearer", "agent:bot", "please add stripe", "STRIPE_KEY"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("logged-out page lacks %q", want)
		}
	}
	for _, bad := range []string{`id="approve-form"`, `id="deny-form"`, `name="value.`} {
		if strings.Contains(p.body, bad) {
			t.Errorf("logged-out page has %q", bad)
		}
	}
	if !strings.Contains(p.body, `action="`+strings.ReplaceAll(path, "&", "&amp;")+`"`) {
		t.Errorf("the login form does not post back to the page")
	}
	// A bad token shows nothing of the proposal.
	p = e.browser().get("/approve/1?token=av_appr_0000")
	if p.status != http.StatusNotFound || strings.Contains(p.body, "STRIPE_KEY") {
		t.Errorf("bad token: %d", p.status)
	}
	// The reviewer's view without a session: the login form only.
	p = e.browser().get("/proposals/1")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="login-form"`) || strings.Contains(p.body, "STRIPE_KEY") {
		t.Errorf("reviewer view logged out: %d\n%s", p.status, p.body)
	}
}

func TestInlineLoginSetsCookie(t *testing.T) {
	for _, c := range []struct {
		base   string
		secure bool
	}{{"", false}, {"https://vault.example.com", true}} {
		e := newEnv(t, c.base)
		_, path := e.propose(stripe("x"))
		b := e.browser()
		p := b.login(path, ownerEmail, "wrong-password")
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "invalid email or password") || !strings.Contains(p.body, `value="owner@example.com"`) {
			t.Fatalf("wrong password: %d\n%s", p.status, p.body)
		}
		p = b.post(path, url.Values{"action": {"login"}, "csrf": {b.csrf()}, "email": {ownerEmail}, "password": {ownerPW}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != path {
			t.Fatalf("login: %d Location %q", p.status, p.header.Get("Location"))
		}
		var sc string
		for _, v := range p.header.Values("Set-Cookie") {
			if strings.HasPrefix(v, SessionCookie+"=") {
				sc = v
			}
		}
		for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/", "av_session=av_sess_"} {
			if !strings.Contains(sc, want) {
				t.Errorf("session cookie %q lacks %s", sc, want)
			}
		}
		if strings.Contains(sc, "Secure") != c.secure {
			t.Errorf("base %q: cookie %q, want Secure=%v", c.base, sc, c.secure)
		}
		p = b.get(path)
		for _, want := range []string{`id="approve-form"`, `name="value.STRIPE_KEY"`, `id="deny-form"`, `id="allow"`, `id="deny"`, ownerEmail} {
			if !strings.Contains(p.body, want) {
				t.Errorf("logged-in page lacks %q", want)
			}
		}
		if strings.Contains(p.body, `id="login-form"`) {
			t.Error("logged-in page still shows the login form")
		}
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, "")
	id, path := e.propose(stripe("x"))
	b := e.browser()
	b.loggedIn(path)
	b.get(path)
	good := b.csrf()
	for _, c := range []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"missing", url.Values{"action": {"approve"}, "value.STRIPE_KEY": {"sk_1"}}, b.e.srv.URL},
		{"wrong", url.Values{"action": {"approve"}, "csrf": {"AAAA" + good[4:]}, "value.STRIPE_KEY": {"sk_1"}}, b.e.srv.URL},
		{"cross-site origin", url.Values{"action": {"approve"}, "csrf": {good}, "value.STRIPE_KEY": {"sk_1"}}, "https://evil.example"},
		{"reject missing", url.Values{"action": {"reject"}, "reason": {"no"}}, b.e.srv.URL},
	} {
		p := b.postOrigin(path, c.form, c.origin)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "expired or did not come from this page") {
			t.Errorf("%s: %d\n%s", c.name, p.status, p.body)
		}
		if strings.Contains(p.body, "sk_1") {
			t.Errorf("%s: the page echoes the typed value", c.name)
		}
		if st := e.proposal(id).Status; st != "pending" {
			t.Fatalf("%s: proposal is %s after a forged form", c.name, st)
		}
	}
	// Fetch metadata of a cross-site or same-site (sibling subdomain) post.
	for _, site := range []string{"cross-site", "same-site"} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(url.Values{"action": {"approve"}, "csrf": {good}, "value.STRIPE_KEY": {"sk_1"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		if p := b.do(req); p.status != http.StatusForbidden {
			t.Errorf("Sec-Fetch-Site %s: %d", site, p.status)
		}
	}
	// A Referer from another site, without Origin.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(url.Values{"action": {"approve"}, "csrf": {good}, "value.STRIPE_KEY": {"sk_1"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", "https://evil.example/page")
	if p := b.do(req); p.status != http.StatusForbidden {
		t.Errorf("foreign Referer: %d", p.status)
	}
	if st := e.proposal(id).Status; st != "pending" {
		t.Fatalf("proposal is %s after forged forms", st)
	}
	// A login form without its token, or with another browser's.
	other := e.browser()
	other.get(path)
	p := e.browser().post(path, url.Values{"action": {"login"}, "csrf": {other.csrf()}, "email": {ownerEmail}, "password": {ownerPW}})
	if p.status != http.StatusForbidden || len(p.header.Values("Set-Cookie")) > 0 && strings.Contains(strings.Join(p.header.Values("Set-Cookie"), ";"), "av_sess_") {
		t.Errorf("login with a foreign CSRF token: %d %v", p.status, p.header.Values("Set-Cookie"))
	}
	// Logout needs the token too.
	if p := b.post("/logout", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("logout without a token: %d", p.status)
	}
	// The same form with the right token and origin works; a Referer
	// from this site is fine, and Origin: null (no-referrer pages) too.
	p = b.postOrigin(path, url.Values{"action": {"approve"}, "csrf": {good}, "value.STRIPE_KEY": {"sk_1"}}, "null")
	if p.status != http.StatusOK {
		t.Fatalf("valid form: %d\n%s", p.status, p.body)
	}
}

func TestApproveApplies(t *testing.T) {
	e := newEnv(t, "")
	id, path := e.propose(stripe("x"))
	b := e.browser()
	b.loggedIn(path)
	b.get(path)
	const value = "sk_live_web_secret_123"
	// An extra value for a key without a slot fails as a whole, and the
	// page never repeats a typed value.
	p := b.post(path, url.Values{"action": {"approve"}, "csrf": {b.csrf()}, "value.STRIPE_KEY": {value}, "value.NOPE": {"other-secret"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "no slot for NOPE") || strings.Contains(p.body, value) || strings.Contains(p.body, "other-secret") {
		t.Fatalf("approve with an unknown key: %d\n%s", p.status, p.body)
	}
	// A static slot without a value is refused.
	p = b.post(path, url.Values{"action": {"approve"}, "csrf": {b.csrf()}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "needs a value") {
		t.Fatalf("approve without a value: %d\n%s", p.status, p.body)
	}
	p = b.post(path, url.Values{"action": {"approve"}, "csrf": {b.csrf()}, "value.STRIPE_KEY": {value}})
	if p.status != http.StatusOK {
		t.Fatalf("approve: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{"Approved", "set credential STRIPE_KEY", "set service stripe (api.stripe.com)"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("result page lacks %q:\n%s", want, p.body)
		}
	}
	if strings.Contains(p.body, value) {
		t.Error("the result page shows the credential value")
	}
	if st := e.proposal(id).Status; st != "applied" {
		t.Fatalf("status %s", st)
	}
	creds, err := e.b.ListCredentials(context.Background(), e.owner, "default", true, "STRIPE_KEY")
	if err != nil || len(creds.Credentials) != 1 || creds.Credentials[0].Value == nil || *creds.Credentials[0].Value != value {
		t.Fatalf("credential after approval: %+v %v", creds, err)
	}
	svcs, err := e.b.ListServices(context.Background(), e.owner, "default")
	if err != nil || len(svcs.Services) != 1 || svcs.Services[0].Name != "stripe" {
		t.Fatalf("services after approval: %+v %v", svcs, err)
	}
	// The page now says applied and offers no form; deciding again is 409.
	p = b.get(path)
	if !strings.Contains(p.body, `id="status">applied`) || strings.Contains(p.body, `id="approve-form"`) || strings.Contains(p.body, value) {
		t.Errorf("decided page:\n%s", p.body)
	}
	p = b.post(path, url.Values{"action": {"reject"}, "csrf": {b.csrf()}, "reason": {"late"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "already applied") {
		t.Errorf("second decision: %d\n%s", p.status, p.body)
	}
}

func TestAgentSuppliedValue(t *testing.T) {
	e := newEnv(t, "")
	v := "agent-made-value"
	id, path := e.propose(apitype.CreateProposalRequest{Credentials: []apitype.ProposalCredential{
		{Action: "set", Key: "WEBHOOK_SECRET", Description: "generated by the agent", Value: &v},
		{Action: "set", Key: "OAUTH_TOKEN", Type: "oauth", OAuth: &apitype.OAuthConfig{TokenURL: "https://auth.example.com/token", Scopes: []string{"read"}}},
	}})
	b := e.browser()
	b.loggedIn(path)
	p := b.get(path)
	if !strings.Contains(p.body, "the agent supplied a value; leave empty to accept it, or type one to override") &&
		!strings.Contains(p.body, "The agent supplied a value; leave empty to accept it, or type one to override") {
		t.Errorf("no note on the agent-supplied value:\n%s", p.body)
	}
	if regexp.MustCompile(`name="value.WEBHOOK_SECRET"[^>]*required`).MatchString(p.body) {
		t.Error("an agent-supplied slot is required")
	}
	if strings.Contains(p.body, `name="value.OAUTH_TOKEN"`) || !strings.Contains(p.body, "Connected through OAuth after approval") {
		t.Error("an OAuth slot takes a typed value")
	}
	if strings.Contains(p.body, v) {
		t.Error("the page shows the agent's value")
	}
	if p := b.post(path, url.Values{"action": {"approve"}, "csrf": {b.csrf()}, "value.WEBHOOK_SECRET": {""}}); p.status != http.StatusOK {
		t.Fatalf("approve: %d\n%s", p.status, p.body)
	}
	creds, err := e.b.ListCredentials(context.Background(), e.owner, "default", true, "WEBHOOK_SECRET")
	if err != nil || len(creds.Credentials) != 1 || *creds.Credentials[0].Value != v {
		t.Fatalf("agent value not applied: %+v %v", creds, err)
	}
	if st := e.proposal(id).Status; st != "applied" {
		t.Fatalf("status %s", st)
	}
}

func TestRejectWithReason(t *testing.T) {
	e := newEnv(t, "")
	id, path := e.propose(stripe("x"))
	b := e.browser()
	b.loggedIn(path)
	b.get(path)
	reason := "use the test key, not live <b>please</b>"
	p := b.post(path, url.Values{"action": {"reject"}, "csrf": {b.csrf()}, "reason": {reason}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Denied") || !strings.Contains(p.body, "use the test key, not live &lt;b&gt;please&lt;/b&gt;") {
		t.Fatalf("reject: %d\n%s", p.status, p.body)
	}
	got, err := e.b.GetProposal(context.Background(), e.agent, id)
	if err != nil || got.Status != "rejected" || got.RejectionReason != reason {
		t.Fatalf("agent sees %+v %v", got, err)
	}
	p = b.get(path)
	if !strings.Contains(p.body, `id="rejection-reason">use the test key`) || strings.Contains(p.body, `id="deny-form"`) {
		t.Errorf("rejected page:\n%s", p.body)
	}
}

func TestUserWithoutRoleCannotDecide(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	inv, err := e.b.CreateInvite(ctx, e.owner, apitype.InviteRequest{Email: "bob@example.com", Role: "member"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.AcceptInvite(ctx, inv.Token, apitype.AcceptInviteRequest{Password: "bob-password-1"}); err != nil {
		t.Fatal(err)
	}
	id, path := e.propose(stripe("x"))
	b := e.browser()
	if p := b.login(path, "bob@example.com", "bob-password-1"); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d", p.status)
	}
	p := b.get(path)
	if !strings.Contains(p.body, `id="cannot-decide"`) || strings.Contains(p.body, `id="approve-form"`) || !strings.Contains(p.body, "Stripe API key") {
		t.Fatalf("non-member page:\n%s", p.body)
	}
	// A forged decision is refused by the broker and explained.
	p = b.post(path, url.Values{"action": {"approve"}, "csrf": {b.csrf()}, "value.STRIPE_KEY": {"sk"}})
	if p.status != http.StatusNotFound || !strings.Contains(p.body, "no role in this proposal") {
		t.Errorf("non-member approve: %d\n%s", p.status, p.body)
	}
	if e.proposal(id).Status != "pending" {
		t.Fatal("a non-member decided")
	}
	// Without the token the reviewer view tells them it is not theirs.
	p = b.get("/proposals/" + strconv.FormatInt(id, 10))
	if p.status != http.StatusNotFound || strings.Contains(p.body, "STRIPE_KEY") {
		t.Errorf("non-member reviewer view: %d\n%s", p.status, p.body)
	}
}

func TestListAndReviewerView(t *testing.T) {
	e := newEnv(t, "")
	id1, _ := e.propose(stripe("first"))
	in := stripe("second")
	in.Services[0].Name, in.Services[0].Host = "stripe-eu", "eu.stripe.com"
	in.Credentials[0].Key, in.Services[0].Auth.Token = "STRIPE_EU", "STRIPE_EU"
	id2, _ := e.propose(in)
	b := e.browser()
	p := b.get("/proposals")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?next=%2Fproposals" {
		t.Fatalf("logged out list: %d %q", p.status, p.header.Get("Location"))
	}
	p = b.get("/login?next=%2Fproposals")
	p = b.post("/login", url.Values{"csrf": {b.csrf()}, "email": {ownerEmail}, "password": {ownerPW}, "next": {"/proposals"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/proposals" {
		t.Fatalf("login page: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	p = b.get("/proposals")
	for _, id := range []int64{id1, id2} {
		if !strings.Contains(p.body, `href="/proposals/`+strconv.FormatInt(id, 10)+`"`) {
			t.Errorf("the list lacks proposal %d:\n%s", id, p.body)
		}
	}
	// The reviewer's view needs no token and can decide.
	rv := "/proposals/" + strconv.FormatInt(id1, 10)
	p = b.get(rv)
	if !strings.Contains(p.body, `id="approve-form"`) || !strings.Contains(p.body, `action="`+rv+`"`) {
		t.Fatalf("reviewer view:\n%s", p.body)
	}
	if p := b.post(rv, url.Values{"action": {"reject"}, "csrf": {b.csrf()}, "reason": {"not now"}}); p.status != http.StatusOK {
		t.Fatalf("reject from the reviewer view: %d\n%s", p.status, p.body)
	}
	p = b.get("/proposals")
	if strings.Contains(p.body, `href="/proposals/`+strconv.FormatInt(id1, 10)+`"`) {
		t.Error("a rejected proposal is still listed as pending")
	}
	if p = b.get("/proposals?status=rejected"); !strings.Contains(p.body, `href="/proposals/`+strconv.FormatInt(id1, 10)+`"`) {
		t.Error("the rejected filter misses it")
	}
}

func TestLoginRedirectStaysLocal(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "/proposals",
		"/approve/3?token=x":   "/approve/3?token=x",
		"//evil.example/x":     "/proposals",
		"https://evil.example": "/proposals",
		"/\\evil.example":      "/proposals",
		"javascript:alert(1)":  "/proposals",
		"/ok\r\nSet-Cookie: x": "/proposals",
	} {
		if got := localPath(in, "/proposals"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, "")
	_, path := e.propose(stripe("x"))
	b := e.browser()
	b.loggedIn(path)
	var tok string
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == SessionCookie {
			tok = c.Value
		}
	}
	if _, err := e.b.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("session not valid after login: %v", err)
	}
	b.get("/logout")
	p := b.post("/logout", url.Values{"csrf": {b.csrf()}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "logged out") {
		t.Fatalf("logout: %d\n%s", p.status, p.body)
	}
	if _, err := e.b.Authenticate(context.Background(), tok); err == nil {
		t.Error("the session still works after logout")
	}
	if p := b.get(path); !strings.Contains(p.body, `id="login-form"`) {
		t.Error("after logout the page does not ask to log in")
	}
}

func TestUnknownMethod(t *testing.T) {
	e := newEnv(t, "")
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/approve/1", nil)
	p := e.browser().do(req)
	if p.status != http.StatusMethodNotAllowed || p.header.Get("Content-Security-Policy") == "" {
		t.Errorf("DELETE: %d", p.status)
	}
}

// A form field holding a NUL character gets a 400 page (PostgreSQL would
// refuse to store it, which must not become a 500).
func TestFormWithNULIsRefused(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	b.get("/login")
	p := b.post("/login", url.Values{"csrf": {b.csrf()}, "email": {ownerEmail}, "password": {"pass\x00word"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "NUL character") {
		t.Errorf("login with a NUL in the password: %d\n%.300s", p.status, p.body)
	}
}

// The vault pages: the vaults a user is in, and one vault's services,
// credential names and members; never a credential value, and nothing of
// a vault the user is not in.
func TestVaultPages(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	const value = "sk_live_vault_page_secret_71c2"
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"STRIPE_KEY": value}}); err != nil {
		t.Fatal(err)
	}
	enabled := false
	if _, err := e.b.ReplaceServices(ctx, e.owner, "default", apitype.ServiceList{Services: []apitype.Service{
		{Name: "stripe", Host: "api.stripe.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "STRIPE_KEY"}},
		{Name: "old", Host: "old.example.com", Enabled: &enabled, Auth: apitype.ServiceAuth{Type: "passthrough"}, RedactResponses: &enabled},
	}}, false); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	if p := b.get("/vaults"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?next=%2Fvaults" {
		t.Fatalf("logged out: %d %q", p.status, p.header.Get("Location"))
	}
	b.get("/login")
	if p := b.post("/login", url.Values{"csrf": {b.csrf()}, "email": {ownerEmail}, "password": {ownerPW}, "next": {"/vaults"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/vaults" {
		t.Fatalf("login: %d %q", p.status, p.header.Get("Location"))
	}
	p := b.get("/vaults")
	if p.status != 200 || !strings.Contains(p.body, `<a href="/vaults/default">default</a>`) || !strings.Contains(p.body, "admin") {
		t.Fatalf("/vaults: %d\n%s", p.status, p.body)
	}
	p = b.get("/vaults/default")
	for _, want := range []string{`id="vault-name">default<`, "api.stripe.com", "<code>STRIPE_KEY</code>", "bearer", "disabled", "responses not redacted", ownerEmail} {
		if !strings.Contains(p.body, want) {
			t.Errorf("/vaults/default lacks %q:\n%s", want, p.body)
		}
	}
	if n := strings.Count(p.body, "responses not redacted"); n != 1 {
		t.Errorf("/vaults/default marks %d services as not redacted, want 1 (old)", n)
	}
	if strings.Contains(p.body, value) || strings.Contains(b.get("/vaults").body, value) {
		t.Error("a vault page shows a credential value")
	}
	if p.header.Get("Content-Security-Policy") == "" {
		t.Error("no CSP on the vault page")
	}
	// Another user's vault: refused, nothing shown.
	inv, err := e.b.CreateInvite(ctx, e.owner, apitype.InviteRequest{Email: "eve@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.AcceptInvite(ctx, inv.Token, apitype.AcceptInviteRequest{Password: "eve-password-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.CreateVault(ctx, e.owner, apitype.CreateVaultRequest{Name: "private"}); err != nil {
		t.Fatal(err)
	}
	eve := e.browser()
	eve.get("/login")
	if p := eve.post("/login", url.Values{"csrf": {eve.csrf()}, "email": {"eve@example.com"}, "password": {"eve-password-1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("eve's login: %d", p.status)
	}
	if p := eve.get("/vaults"); p.status != 200 || strings.Contains(p.body, "/vaults/private") || strings.Contains(p.body, "/vaults/default") {
		t.Errorf("eve's vault list: %d\n%s", p.status, p.body)
	}
	// A vault the owner is not in: listed as not joined, without a link.
	eveActor, err := e.b.Login(ctx, apitype.Credentials{Email: "eve@example.com", Password: "eve-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.CreateVault(ctx, e.auth(eveActor.Token), apitype.CreateVaultRequest{Name: "evevault"}); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/vaults"); !strings.Contains(p.body, "not joined") || strings.Contains(p.body, `href="/vaults/evevault"`) {
		t.Errorf("the owner's list shows evevault as:\n%s", p.body)
	}
	p = eve.get("/vaults/private")
	if p.status == 200 || strings.Contains(p.body, "STRIPE_KEY") || strings.Contains(p.body, "<h2>Services</h2>") {
		t.Errorf("a user outside the vault: %d\n%s", p.status, p.body)
	}
	if p := eve.get("/vaults/default"); p.status == 200 || strings.Contains(p.body, "STRIPE_KEY") {
		t.Errorf("a user outside default: %d", p.status)
	}
}

// The invite link opens a page that sets the password and logs the new
// user in; it works once, checks CSRF and the repeated password.
func TestInvitePage(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	inv, err := e.b.CreateInvite(ctx, e.owner, apitype.InviteRequest{Email: "newbie@example.com",
		Vaults: []apitype.UserVault{{VaultName: "default", VaultRole: "member"}}})
	if err != nil {
		t.Fatal(err)
	}
	path := "/invite/" + inv.Token
	// The browser is logged in as the owner: accepting logs that account out.
	b := e.browser()
	b.get("/login")
	if p := b.post("/login", url.Values{"csrf": {b.csrf()}, "email": {ownerEmail}, "password": {ownerPW}}); p.status != http.StatusSeeOther {
		t.Fatalf("owner login: %d", p.status)
	}
	ownerTok := b.cookie(SessionCookie)
	if _, err := e.b.Authenticate(ctx, ownerTok); err != nil {
		t.Fatalf("the session cookie does not hold a session token: %v", err)
	}
	p := b.get(path)
	if !strings.Contains(p.body, "You are logged in as "+ownerEmail) {
		t.Errorf("the invite page does not warn a logged-in viewer:\n%s", p.body)
	}
	if p.status != 200 || !strings.Contains(p.body, `id="invite-email">newbie@example.com<`) || !strings.Contains(p.body, "default</strong> (member)") {
		t.Fatalf("invite page: %d\n%s", p.status, p.body)
	}
	if p.header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("the invite page may leak its token in a Referer")
	}
	csrf := b.csrf()
	if p := b.post(path, url.Values{"password": {"newbie-pass-1"}, "confirm": {"newbie-pass-1"}}); p.status != http.StatusForbidden {
		t.Errorf("without CSRF: %d", p.status)
	}
	if p := b.post(path, url.Values{"csrf": {csrf}, "password": {"newbie-pass-1"}, "confirm": {"newbie-pass-2"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "differ") {
		t.Errorf("different passwords: %d", p.status)
	}
	if p := b.post(path, url.Values{"csrf": {b.csrf()}, "password": {"short"}, "confirm": {"short"}}); p.status != http.StatusBadRequest {
		t.Errorf("a short password: %d", p.status)
	}
	p = b.post(path, url.Values{"csrf": {b.csrf()}, "password": {"newbie-pass-1"}, "confirm": {"newbie-pass-1"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/vaults" {
		t.Fatalf("accepting: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if p := b.get("/vaults"); p.status != 200 || !strings.Contains(p.body, "newbie@example.com") || !strings.Contains(p.body, `href="/vaults/default"`) {
		t.Errorf("after accepting, /vaults: %d\n%s", p.status, p.body)
	}
	if _, err := e.b.Authenticate(ctx, ownerTok); err == nil {
		t.Error("the owner's session in that browser is still valid after switching accounts")
	}
	if p := e.browser().get(path); p.status != http.StatusGone || !strings.Contains(p.body, "cannot be used") {
		t.Errorf("the used link: %d", p.status)
	}
	if p := e.browser().get("/invite/av_uinv_notarealtoken"); p.status != http.StatusNotFound {
		t.Errorf("an unknown token: %d", p.status)
	}
}

// cookie is the value of the browser's cookie name for the test server.
func (b *browser) cookie(name string) string {
	b.t.Helper()
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	b.t.Fatalf("no %s cookie", name)
	return ""
}
