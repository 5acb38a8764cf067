package server_test

import (
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestOwnerRoleAgentCannotTakeOverOtherAgents plays a prompt-injected agent
// that a human gave the instance role owner (to create agents, say) but no
// vault grant. It cannot join vaults (users only), so its way into a vault
// is to take over an agent that has one: rotating that agent's token hands
// the new token to the caller. Every management action on an agent it does
// not own is refused and changes nothing; the agents it created itself it
// still manages.
func TestOwnerRoleAgentCannotTakeOverOtherAgents(t *testing.T) {
	f := newCfx(t)
	v := mkVault(t, f.own, "oa-prod")
	victimTok := f.agent(t, f.own, "oa-prod-admin", "", apitype.AgentVault{VaultName: v, VaultRole: "admin"})
	bossTok := f.agent(t, f.own, "oa-boss", "owner")
	boss := f.e.as(bossTok)

	if _, err := boss.Discover(cbg, v); err == nil {
		t.Fatalf("the owner-role agent reaches vault %s without a grant", v)
	}
	attempts := []struct {
		name, method, path string
		body               any
	}{
		{"rotate", http.MethodPost, "/v1/agents/oa-prod-admin/rotate", nil},
		{"show", http.MethodGet, "/v1/agents/oa-prod-admin", nil},
		{"rename", http.MethodPost, "/v1/agents/oa-prod-admin/rename", apitype.RenameVaultRequest{Name: "oa-renamed"}},
		{"revoke", http.MethodPost, "/v1/agents/oa-prod-admin/revoke", nil},
		{"delete", http.MethodDelete, "/v1/agents/oa-prod-admin", nil},
		{"delete by POST", http.MethodPost, "/v1/agents/oa-prod-admin/delete", nil},
		{"set role", http.MethodPost, "/v1/agents/oa-prod-admin/role", apitype.RoleRequest{Role: "owner"}},
	}
	for _, a := range attempts {
		r := f.raw(t, a.method, a.path, bossTok, a.body)
		if r.code != http.StatusForbidden {
			t.Errorf("owner-role agent: %s another's agent = %d %s, want 403", a.name, r.code, r.body)
			if a.name == "rotate" {
				var rot apitype.AgentRotated
				r.into(t, &rot)
				f.keep(rot.Token)
			}
		}
	}
	// Nothing changed: the victim keeps its name, token, role and vault.
	if d, err := f.e.as(victimTok).Discover(cbg, v); err != nil || d.Vault != v {
		t.Errorf("victim agent after the attempts: discover = %+v, %v; want its vault", d, err)
	}
	if ag, err := f.own.Agent(cbg, "oa-prod-admin"); err != nil || ag.Role != "no-access" || ag.Status != "active" {
		t.Errorf("victim agent after the attempts = %+v, %v", ag, err)
	}
	if l, err := boss.Agents(cbg); err != nil || agentNames(l)["oa-prod-admin"] {
		t.Errorf("owner-role agent lists another's agent: %+v, %v", l, err)
	}

	// Its own creations it manages as any member does.
	child := f.agent(t, boss, "oa-boss-child", "")
	rot, err := boss.RotateAgent(cbg, "oa-boss-child")
	mustOK(t, "owner-role agent rotates the agent it created", err)
	f.keep(rot.Token)
	if f.works(t, child) != 401 || f.works(t, rot.Token) != 200 {
		t.Errorf("rotating its own agent: old %d new %d, want 401 and 200", f.works(t, child), f.works(t, rot.Token))
	}
	// A user owner still manages every agent.
	rot2, err := f.own.RotateAgent(cbg, "oa-boss-child")
	mustOK(t, "instance owner rotates an agent's agent", err)
	f.keep(rot2.Token)
}
