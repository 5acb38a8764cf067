package server_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func TestContentsScopedSessions(t *testing.T) {
	scopedSessionsScenario(t, newCfx(t), "ss")
}

func TestContentsScopedSessionLimit(t *testing.T) {
	sessionLimitScenario(t, newCfx(t), "sl")
}

func TestContentsDiscover(t *testing.T) {
	discoverScenario(t, newCfx(t), "dc")
}

// scopedSessionsScenario: defaults, TTL bounds, role ceiling, expiry,
// vault binding, no minting from a session, list and revoke.
func scopedSessionsScenario(t *testing.T, f *cfx, p string) {
	carol, carolTok := f.user(t, "carol."+p+"@example.com")
	dave, daveTok := f.user(t, "dave."+p+"@example.com")
	v1 := mkVault(t, carol, p+"-one")
	v2 := mkVault(t, carol, p+"-two")
	_, err := carol.AddVaultUser(cbg, v1, apitype.VaultUserRequest{Email: "dave." + p + "@example.com", Role: "member"})
	mustOK(t, "add dave", err)
	val := f.secret("sess")
	_, err = carol.SetCredentials(cbg, v1, map[string]string{"SESS_KEY": val})
	mustOK(t, "set", err)

	// Defaults: proxy role, 24 h.
	now := f.e.clock.Now()
	r := f.raw(t, http.MethodPost, "/v1/sessions", carolTok, apitype.CreateScopedSessionRequest{Vault: v1})
	if r.code != 200 {
		t.Fatalf("POST /v1/sessions = %d %s", r.code, r.body)
	}
	var s apitype.ScopedSessionCreated
	r.into(t, &s)
	f.keep(s.Token)
	if !strings.HasPrefix(s.Token, "av_sess_") || len(s.Token) != len("av_sess_")+64 || s.VaultRole != "proxy" || s.Vault != v1 || !s.ExpiresAt.Equal(now.Add(24*time.Hour)) {
		t.Errorf("default session = role %q vault %q expires %v (now %v)", s.VaultRole, s.Vault, s.ExpiresAt, now)
	}
	if me := f.raw(t, http.MethodGet, "/v1/auth/me", s.Token, nil); !bytes.Contains(me.body, []byte(`"vault":"`+v1+`"`)) {
		t.Errorf("session /me = %s", me.body)
	}
	// The session carries its vault: no ?vault= needed.
	if r := f.raw(t, http.MethodGet, "/v1/credentials", s.Token, nil); r.code != 200 || !bytes.Contains(r.body, []byte("SESS_KEY")) || bytes.Contains(r.body, []byte(val)) {
		t.Errorf("session GET /v1/credentials (no vault) = %d %s", r.code, r.body)
	}

	// TTL bounds, naming ttl_seconds.
	for _, c := range []struct {
		ttl  int
		want int
	}{{299, 400}, {604801, 400}, {-1, 400}, {300, 200}, {604800, 200}, {3600, 200}} {
		out, err := dave.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{Vault: v1, TTLSeconds: c.ttl})
		f.keep(out.Token)
		if c.want == 400 {
			wantAPIErr(t, "ttl "+strconv.Itoa(c.ttl), err, 400, "ttl_seconds")
			continue
		}
		if err != nil || !out.ExpiresAt.Equal(f.e.clock.Now().Add(time.Duration(c.ttl)*time.Second)) {
			t.Errorf("ttl %d = expires %v, %v", c.ttl, out.ExpiresAt, err)
		}
	}
	// Role: no higher than the minter's; valid roles only.
	_, err = dave.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{Vault: v1, VaultRole: "admin"})
	wantAPIErr(t, "member minting admin", err, 403, "")
	_, err = dave.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{Vault: v1, VaultRole: "root"})
	wantAPIErr(t, "unknown role", err, 400, "vault_role")
	_, err = dave.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{})
	wantAPIErr(t, "no vault", err, 400, "vault")
	_, err = dave.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{Vault: v2})
	if c := status(err); c != 403 && c != 404 {
		t.Errorf("minting for a vault without access = %d, want 403/404", c)
	}
	memberSess := f.session(t, dave, v1, "member")
	adminSess := f.session(t, carol, v1, "admin")
	// A proxy agent has no right to mint (member+ is needed).
	proxyTok := f.agent(t, carol, p+"-proxy-bot", "", apitype.AgentVault{VaultName: v1})
	_, err = f.e.as(proxyTok).CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{Vault: v1})
	wantAPIErr(t, "proxy agent minting", err, 403, "")

	// Bound to its vault: other vaults are invisible.
	for _, tok := range []string{s.Token, adminSess} {
		for _, path := range []string{"/v1/vaults/" + v2 + "/services", "/v1/credentials?vault=" + v2, "/v1/vaults/" + v2 + "/agents"} {
			if r := f.raw(t, http.MethodGet, path, tok, nil); r.code != 404 && r.code != 403 {
				t.Errorf("session on %s = %d, want 404/403", path, r.code)
			}
		}
		if r := f.raw(t, http.MethodGet, "/discover", tok, nil, "X-Vault", v2); r.code != 403 && r.code != 404 {
			t.Errorf("session /discover with X-Vault %s = %d, want 403/404", v2, r.code)
		}
		_, err := f.e.as(tok).SetCredentials(cbg, v2, map[string]string{"X_KEY": f.secret("x")})
		if c := status(err); c != 403 && c != 404 {
			t.Errorf("session writing another vault = %d", c)
		}
	}
	if r := f.raw(t, http.MethodGet, "/v1/vaults/"+v1+"/services", s.Token, nil); r.code != 200 {
		t.Errorf("session on its own vault's services = %d", r.code)
	}
	// Sessions never do instance business.
	for _, tok := range []string{s.Token, adminSess} {
		c := f.e.as(tok)
		_, err := c.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{Vault: v1})
		wantAPIErr(t, "session minting a session", err, 403, "")
		_, err = c.ScopedSessions(cbg, "")
		wantAPIErr(t, "session listing sessions", err, 403, "")
		_, err = c.CreateAgent(cbg, apitype.CreateAgentRequest{Name: p + "-from-session"})
		wantAPIErr(t, "session creating an agent", err, 403, "")
		_, err = c.CreateVault(cbg, p+"-from-session")
		wantAPIErr(t, "session creating a vault", err, 403, "")
	}

	// List and revoke.
	cl, err := carol.ScopedSessions(cbg, "")
	mustOK(t, "list", err)
	if len(cl.Sessions) != 2 {
		t.Fatalf("carol's sessions = %+v, want 2", cl.Sessions)
	}
	for _, x := range cl.Sessions {
		if x.Vault != v1 || x.CreatedBy == nil || x.CreatedBy.Type != "user" || x.CreatedBy.DisplayName != "carol."+p+"@example.com" || x.ID == "" {
			t.Errorf("listed session = %+v", x)
		}
	}
	raw := f.raw(t, http.MethodGet, "/v1/sessions", carolTok, nil)
	if bytes.Contains(raw.body, []byte("av_sess_")) {
		t.Errorf("GET /v1/sessions shows a token")
	}
	if l, _ := carol.ScopedSessions(cbg, v2); len(l.Sessions) != 0 {
		t.Errorf("?vault=%s filter = %+v", v2, l.Sessions)
	}
	dl, _ := dave.ScopedSessions(cbg, v1)
	if len(dl.Sessions) != 4 {
		t.Errorf("dave's sessions = %d, want 4 (300 s, 7 d, 1 h, member)", len(dl.Sessions))
	}
	// Find which id is the admin session: revoke the one with role admin.
	var adminID string
	for _, x := range cl.Sessions {
		if x.VaultRole == "admin" {
			adminID = x.ID
		}
	}
	_, err = dave.RevokeScopedSession(cbg, adminID)
	wantAPIErr(t, "revoking another's session", err, 404, "")
	if f.works(t, adminSess) != 200 {
		t.Errorf("a refused revoke ended the session")
	}
	if _, err := carol.RevokeScopedSession(cbg, adminID); err != nil {
		t.Errorf("revoke: %v", err)
	}
	if c := f.works(t, adminSess); c != 401 {
		t.Errorf("revoked session = %d, want 401", c)
	}
	_, err = carol.RevokeScopedSession(cbg, adminID)
	wantAPIErr(t, "revoke twice", err, 404, "")
	_, err = f.e.as(s.Token).RevokeScopedSession(cbg, adminID)
	wantAPIErr(t, "session revoking a session", err, 403, "")

	// Expiry: the 300 s session dies after 300 s; the 24 h one lives on.
	if f.works(t, memberSess) != 200 {
		t.Fatal("member session does not work")
	}
	var short string
	for _, x := range dl.Sessions {
		if x.ExpiresAt.Sub(x.CreatedAt) == 300*time.Second {
			short = x.ID
		}
	}
	if short == "" {
		t.Fatalf("no 300 s session among %+v", dl.Sessions)
	}
	f.e.clock.Advance(300 * time.Second)
	dl2, _ := dave.ScopedSessions(cbg, "")
	for _, x := range dl2.Sessions {
		if x.ID == short {
			t.Errorf("an expired session is still listed")
		}
	}
	f.e.clock.Advance(24*time.Hour - 300*time.Second)
	for name, tok := range map[string]string{"24 h default": s.Token, "24 h member": memberSess} {
		r := f.raw(t, http.MethodGet, "/discover", tok, nil)
		if r.code != 401 {
			t.Errorf("%s session after 24 h = %d, want 401", name, r.code)
		}
		if r.hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
	if c := f.works(t, carolTok); c != 200 {
		t.Errorf("the minting user's own session = %d after a day", c)
	}
	_ = daveTok
}

func TestContentsSessionOutlivesAccess(t *testing.T) {
	sessionOutlivesAccessScenario(t, newCfx(t), "so")
}

// sessionOutlivesAccessScenario: a vault session must not keep access its
// minter lost (removed from the vault, or demoted below the session role).
func sessionOutlivesAccessScenario(t *testing.T, f *cfx, p string) {
	hank, _ := f.user(t, "hank."+p+"@example.com")
	ivy, _ := f.user(t, "ivy."+p+"@example.com")
	v := mkVault(t, hank, p+"-access")
	_, err := hank.AddVaultUser(cbg, v, apitype.VaultUserRequest{Email: "ivy." + p + "@example.com", Role: "member"})
	mustOK(t, "add ivy", err)
	ivySess := f.session(t, ivy, v, "member")
	bot := p + "-granted-bot"
	botTok := f.agent(t, hank, bot, "", apitype.AgentVault{VaultName: v, VaultRole: "member"})
	botSess := f.session(t, f.e.as(botTok), v, "member")
	_, err = hank.RemoveVaultUser(cbg, v, "ivy."+p+"@example.com")
	mustOK(t, "remove ivy", err)
	_, err = hank.RemoveVaultAgent(cbg, v, bot)
	mustOK(t, "remove bot", err)
	// The minters themselves lost the vault.
	if _, err := ivy.Services(cbg, v); status(err) != 404 {
		t.Fatalf("removed user still reaches the vault: %v", err)
	}
	for name, tok := range map[string]string{"session of a removed user": ivySess, "session of an agent whose grant was removed": botSess} {
		t.Run(name, func(t *testing.T) {
			r := f.raw(t, http.MethodGet, "/v1/vaults/"+v+"/services", tok, nil)
			w := f.raw(t, http.MethodPost, "/v1/credentials", tok, apitype.SetCredentialsRequest{Vault: v, Credentials: map[string]string{"AFTER_KEY": f.secret("after")}})
			if r.code == 200 || w.code == 200 {
				t.Errorf("a vault session kept its minter's former access after the minter was removed from the vault (read %d, write %d)", r.code, w.code)
			}
		})
	}
}

// sessionLimitScenario: at most 10 active sessions per minter.
func sessionLimitScenario(t *testing.T, f *cfx, p string) {
	erin, _ := f.user(t, "erin."+p+"@example.com")
	v := mkVault(t, erin, p+"-limit")
	other := mkVault(t, erin, p+"-limit-two")
	var toks []string
	for i := 0; i < 10; i++ {
		vault := v
		if i%2 == 1 {
			vault = other // the limit is per minter, across vaults
		}
		toks = append(toks, f.session(t, erin, vault, "proxy"))
	}
	_, err := erin.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{Vault: v})
	eb := wantAPIErr(t, "11th session", err, 409, "")
	if eb.Code != "too_many_sessions" || !strings.Contains(eb.Error, "10") || !strings.Contains(strings.ToLower(eb.Error), "revoke") {
		t.Errorf("11th session error = %+v; want a clear message naming the limit and how to free one", eb)
	}
	l, _ := erin.ScopedSessions(cbg, "")
	if len(l.Sessions) != 10 {
		t.Fatalf("listed %d sessions, want 10", len(l.Sessions))
	}
	// Another user is not limited by erin's sessions.
	frank, _ := f.user(t, "frank."+p+"@example.com")
	mkVault(t, frank, p+"-frank")
	f.session(t, frank, p+"-frank", "")
	// Revoking one frees a slot, for one session only.
	_, err = erin.RevokeScopedSession(cbg, l.Sessions[3].ID)
	mustOK(t, "revoke", err)
	f.session(t, erin, v, "")
	_, err = erin.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{Vault: v})
	wantAPIErr(t, "11th session again", err, 409, "")
	// Expired sessions do not count.
	f.e.clock.Advance(24*time.Hour + time.Second)
	for _, tok := range toks {
		if c := f.works(t, tok); c != 401 {
			t.Errorf("expired session = %d", c)
		}
	}
	if l, _ := erin.ScopedSessions(cbg, ""); len(l.Sessions) != 0 {
		t.Errorf("after expiry: %d listed", len(l.Sessions))
	}
	for i := 0; i < 10; i++ {
		f.session(t, erin, v, "")
	}
}

// discoverScenario: which vault /discover answers for, what it lists,
// and that it never holds a value.
func discoverScenario(t *testing.T, f *cfx, p string) {
	gina, ginaTok := f.user(t, "gina."+p+"@example.com")
	v1 := mkVault(t, gina, p+"-one")
	v2 := mkVault(t, gina, p+"-two")
	v3 := mkVault(t, gina, p+"-three")
	vals := map[string]string{"STRIPE_KEY": f.secret("d-stripe"), "SLACK_BOT_TOKEN": f.secret("d-slack"), "UNUSED_KEY": f.secret("d-unused")}
	_, err := gina.SetCredentials(cbg, v1, vals)
	mustOK(t, "set", err)
	_, err = gina.ReplaceServices(cbg, v1, []apitype.Service{
		bearerSvc("stripe", "api.stripe.com", "STRIPE_KEY"),
		bearerSvc("slack-bot", "slack.com/api/*", "SLACK_BOT_TOKEN"),
		{Name: "off", Host: "off.example.com", Enabled: ptrBool(false), Auth: apitype.ServiceAuth{Type: "passthrough"}},
		{Name: "later-off", Host: "later.example.com", Auth: apitype.ServiceAuth{Type: "passthrough"}},
	}, false)
	mustOK(t, "services", err)
	_, err = gina.SetServiceEnabled(cbg, v1, "later-off", false)
	mustOK(t, "disable", err)
	v2val := f.secret("d-v2")
	_, err = gina.SetCredentials(cbg, v2, map[string]string{"V2_KEY": v2val})
	mustOK(t, "set v2", err)

	allVals := []string{vals["STRIPE_KEY"], vals["SLACK_BOT_TOKEN"], vals["UNUSED_KEY"], v2val}
	check := func(what string, r ctResp, wantVault string) apitype.Discover {
		t.Helper()
		for _, s := range allVals {
			if bytes.Contains(r.body, []byte(s)) {
				t.Errorf("%s: /discover returned a credential value", what)
			}
		}
		if r.code != 200 {
			t.Errorf("%s: /discover = %d %s", what, r.code, r.body)
			return apitype.Discover{}
		}
		var d apitype.Discover
		r.into(t, &d)
		if d.Vault != wantVault {
			t.Errorf("%s: vault %q, want %q", what, d.Vault, wantVault)
		}
		return d
	}

	// Scoped session, no header: its vault.
	sess := f.session(t, gina, v1, "")
	d := check("scoped session", f.raw(t, http.MethodGet, "/discover", sess, nil), v1)
	want := []apitype.ServiceCandidate{{Name: "stripe", Host: "api.stripe.com"}, {Name: "slack-bot", Host: "slack.com/api/*"}}
	if len(d.Services) != 2 || d.Services[0] != want[0] || d.Services[1] != want[1] {
		t.Errorf("services = %+v, want only the enabled ones %+v", d.Services, want)
	}
	if strings.Join(d.AvailableCredentials, ",") != "SLACK_BOT_TOKEN,STRIPE_KEY,UNUSED_KEY" {
		t.Errorf("available_credentials = %v", d.AvailableCredentials)
	}
	// Same vault named in the header is fine; the session's own vault wins.
	check("scoped session + own X-Vault", f.raw(t, http.MethodGet, "/discover", sess, nil, "X-Vault", v1), v1)
	if r := f.raw(t, http.MethodGet, "/discover", sess, nil, "X-Vault", v2); r.code != 403 {
		t.Errorf("scoped session + other X-Vault = %d, want 403 (never retargeted)", r.code)
	}

	// Agent with one grant: that vault.
	one := f.agent(t, gina, p+"-one-bot", "", apitype.AgentVault{VaultName: v1})
	check("one-grant agent", f.raw(t, http.MethodGet, "/discover", one, nil), v1)
	if d, err := f.e.as(one).Discover(cbg, ""); err != nil || d.Vault != v1 {
		t.Errorf("client discover = %+v, %v", d, err)
	}

	// Agent with two grants: X-Vault is required.
	two := f.agent(t, gina, p+"-two-bot", "", apitype.AgentVault{VaultName: v1}, apitype.AgentVault{VaultName: v2})
	r := f.raw(t, http.MethodGet, "/discover", two, nil)
	if r.code != 400 || !strings.Contains(r.errBody(t).Error, "X-Vault") {
		t.Errorf("two-grant agent without X-Vault = %d %s; want 400 mentioning X-Vault", r.code, r.body)
	}
	check("two-grant agent + X-Vault", f.raw(t, http.MethodGet, "/discover", two, nil, "X-Vault", v2), v2)
	check("two-grant agent + X-Vault v1", f.raw(t, http.MethodGet, "/discover", two, nil, "X-Vault", v1), v1)
	check("two-grant agent + ?vault=", f.raw(t, http.MethodGet, "/discover?vault="+v2, two, nil), v2)
	for _, hint := range []string{v3, p + "-missing"} {
		r := f.raw(t, http.MethodGet, "/discover", two, nil, "X-Vault", hint)
		if r.code != 404 && r.code != 403 {
			t.Errorf("agent + X-Vault %s (no grant) = %d, want 404/403", hint, r.code)
		}
	}
	// An agent without any grant is told so.
	none := f.agent(t, gina, p+"-no-bot", "")
	if r := f.raw(t, http.MethodGet, "/discover", none, nil); r.code != 403 {
		t.Errorf("agent without vaults = %d, want 403", r.code)
	}

	// A user session with X-Vault works; without it, gina (3 vaults) must choose.
	check("user + X-Vault", f.raw(t, http.MethodGet, "/discover", ginaTok, nil, "X-Vault", v2), v2)
	if r := f.raw(t, http.MethodGet, "/discover", ginaTok, nil); r.code != 400 {
		t.Errorf("user with three vaults, no X-Vault = %d, want 400", r.code)
	}
	// Unauthenticated: 401.
	if r := f.raw(t, http.MethodGet, "/discover", "", nil); r.code != 401 {
		t.Errorf("anonymous /discover = %d", r.code)
	}

	// Re-enabling a service lists it again.
	_, err = gina.SetServiceEnabled(cbg, v1, "later-off", true)
	mustOK(t, "enable", err)
	d = check("after enabling", f.raw(t, http.MethodGet, "/discover", one, nil), v1)
	if len(d.Services) != 3 || d.Services[2].Name != "later-off" {
		t.Errorf("after enabling later-off: %+v", d.Services)
	}
}
