package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// agentGrant is the agent's role in vault ("" without a grant).
func agentGrant(t *testing.T, e *env, vault, agent string) string {
	t.Helper()
	out, err := e.b.ListVaultAgents(context.Background(), e.owner, vault)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Agents {
		if a.Name == agent {
			return a.VaultRole
		}
	}
	return ""
}

// agentRole is the agent's instance role.
func agentRole(t *testing.T, e *env, agent string) string {
	t.Helper()
	out, err := e.b.ListAgents(context.Background(), e.owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Agents {
		if a.Name == agent {
			return a.Role
		}
	}
	t.Fatalf("no agent %s", agent)
	return ""
}

// The agents page manages grants and roles: give an existing agent
// access to this vault, change its instance role, and remove its grant
// (after a confirmation page), which leaves its token and other vaults
// alone. A vault member may not give an agent more than their own role,
// and a vault admin who is no owner may not make an agent an owner.
func TestAgentGrantsAndRoles(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.b.CreateVault(ctx, e.owner, apitype.CreateVaultRequest{Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	ag, err := e.b.CreateAgent(ctx, e.owner, apitype.CreateAgentRequest{Name: "ops-bot", Vaults: []apitype.AgentVault{{VaultName: "ops", VaultRole: "proxy"}}})
	if err != nil {
		t.Fatal(err)
	}
	b := e.ownerBrowser()

	// Give the existing agent access to default.
	p := b.submit("/vaults/default/agents", "/vaults/default/agents/add", url.Values{"agent": {"ops-bot"}, "role": {"member"}})
	mustStatus(t, p, http.StatusSeeOther, "add")
	if g := agentGrant(t, e, "default", "ops-bot"); g != "member" {
		t.Fatalf("ops-bot's grant in default: %q", g)
	}
	p = b.get(p.header.Get("Location"))
	mustContain(t, p, "list", `id="agent-ops-bot"`, flashes["agent-added"])
	// A name that is no agent: said next to the form, what was typed kept.
	p = b.submit("/vaults/default/agents", "/vaults/default/agents/add", url.Values{"agent": {"ghost-bot"}, "role": {"admin"}})
	if p.status < 400 {
		t.Fatalf("adding an agent that does not exist: %d", p.status)
	}
	mustContain(t, p, "unknown agent", `value="ghost-bot"`, "Nothing was changed")

	// Its instance role.
	p = b.submit("/vaults/default/agents", "/vaults/default/agents/ops-bot/instance-role", url.Values{"role": {"member"}})
	mustStatus(t, p, http.StatusSeeOther, "instance role")
	if r := agentRole(t, e, "ops-bot"); r != "member" {
		t.Fatalf("instance role: %q", r)
	}

	// Remove from this vault: a confirmation page first; then the grant
	// goes, the token and the other vault stay.
	p = b.get("/vaults/default/agents/ops-bot/remove")
	mustContain(t, p, "confirm", "Remove ops-bot from this vault?", `action="/vaults/default/agents/ops-bot/remove"`)
	if agentGrant(t, e, "default", "ops-bot") != "member" {
		t.Fatal("the confirmation page removed the grant")
	}
	p = b.submit("/vaults/default/agents/ops-bot/remove", "/vaults/default/agents/ops-bot/remove", url.Values{})
	mustStatus(t, p, http.StatusSeeOther, "remove")
	if g := agentGrant(t, e, "default", "ops-bot"); g != "" {
		t.Fatalf("ops-bot still has %q in default", g)
	}
	if g := agentGrant(t, e, "ops", "ops-bot"); g != "proxy" {
		t.Fatalf("removing from default changed ops: %q", g)
	}
	if _, err := e.b.Authenticate(ctx, ag.Token); err != nil {
		t.Fatalf("removing the grant revoked the token: %v", err)
	}

	// A member of default cannot grant an agent admin, nor raise bot.
	mem := e.userIn("mem@example.com", "member")
	for _, f := range []struct{ path, agent string }{
		{"/vaults/default/agents/add", "ops-bot"},
		{"/vaults/default/agents/bot/role", "bot"},
	} {
		form := url.Values{"role": {"admin"}, "agent": {f.agent}}
		if p := mem.submit("/vaults/default/agents", f.path, form); p.status != http.StatusForbidden || !strings.Contains(errorOf(p.body), "Nothing was changed") {
			t.Errorf("a member's %s to admin: %d %q", f.path, p.status, errorOf(p.body))
		}
	}
	if g, g2 := agentGrant(t, e, "default", "bot"), agentGrant(t, e, "default", "ops-bot"); g != "proxy" || g2 != "" {
		t.Fatalf("a member changed the grants: bot %q, ops-bot %q", g, g2)
	}
	// An admin of default who is no owner cannot make an agent an owner.
	adm := e.userIn("adm@example.com", "admin")
	p = adm.submit("/vaults/default/agents", "/vaults/default/agents/bot/instance-role", url.Values{"role": {"owner"}})
	if p.status != http.StatusForbidden || !strings.Contains(errorOf(p.body), "Nothing was changed") {
		t.Errorf("a vault admin made an agent an owner: %d %q", p.status, errorOf(p.body))
	}
	if r := agentRole(t, e, "bot"); r == "owner" {
		t.Fatal("bot became an owner")
	}
}

// errorOf is the text of a page's error box ("" without one).
func errorOf(body string) string {
	_, after, ok := strings.Cut(body, `id="page-error">`)
	if !ok {
		return ""
	}
	msg, _, _ := strings.Cut(after, "</div>")
	return msg
}
