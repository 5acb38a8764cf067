package server_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func TestContentsAgents(t *testing.T) {
	agentsScenario(t, newCfx(t), "ag")
}

func TestContentsVaultAgents(t *testing.T) {
	vaultAgentsScenario(t, newCfx(t), "va")
}

var agentTokenRE = regexp.MustCompile(`^av_agt_[0-9a-f]{64}$`)

// agentNames lists agent names.
func agentNames(l apitype.AgentList) map[string]bool {
	out := map[string]bool{}
	for _, a := range l.Agents {
		out[a.Name] = true
	}
	return out
}

// works reports whether tok authenticates (GET /v1/auth/me).
func (f *cfx) works(t *testing.T, tok string) int {
	t.Helper()
	return f.raw(t, http.MethodGet, "/v1/auth/me", tok, nil).code
}

// agentsScenario: create (token shown once), names, defaults, who may
// create what, listing, revoke, rotate, rename, role, delete.
func agentsScenario(t *testing.T, f *cfx, p string) {
	alice, aliceTok := f.user(t, "alice."+p+"@example.com")
	bob, bobTok := f.user(t, "bob."+p+"@example.com")
	v := mkVault(t, alice, p+"-agents")
	_, err := alice.AddVaultUser(cbg, v, apitype.VaultUserRequest{Email: "bob." + p + "@example.com", Role: "member"})
	mustOK(t, "add bob", err)

	// Create: 201, the token once, defaults no-access / proxy.
	name := p + "-first-bot"
	r := f.raw(t, http.MethodPost, "/v1/agents", aliceTok, apitype.CreateAgentRequest{Name: name, Vaults: []apitype.AgentVault{{VaultName: v}}})
	if r.code != http.StatusCreated {
		t.Fatalf("create agent = %d %s, want 201", r.code, r.body)
	}
	var created apitype.AgentCreated
	r.into(t, &created)
	f.keep(created.Token)
	if !agentTokenRE.MatchString(created.Token) {
		t.Errorf("agent token %.12s… is not av_agt_ + 64 hex", created.Token)
	}
	if created.Name != name || created.Role != "no-access" || len(created.Vaults) != 1 || created.Vaults[0] != (apitype.AgentVault{VaultName: v, VaultRole: "proxy"}) {
		t.Errorf("created = %+v; want role no-access and vault role proxy", created)
	}
	tok := created.Token
	if c := f.works(t, tok); c != 200 {
		t.Errorf("new agent token: /v1/auth/me = %d", c)
	}
	// Shown once: never in GET one, GET list or the vault's agent list.
	for _, path := range []string{"/v1/agents/" + name, "/v1/agents", "/v1/vaults/" + v + "/agents"} {
		r := f.raw(t, http.MethodGet, path, aliceTok, nil)
		if r.code != 200 || bytes.Contains(r.body, []byte(tok)) || bytes.Contains(r.body, []byte("av_agt_")) || bytes.Contains(r.body, []byte(tok[7:])) {
			t.Errorf("GET %s = %d; it must answer without the token", path, r.code)
		}
	}
	got, err := alice.Agent(cbg, name)
	if err != nil || got.Status != "active" || got.Role != "no-access" || got.CreatedBy != "alice."+p+"@example.com" || len(got.Vaults) != 1 {
		t.Errorf("GET agent = %+v, %v", got, err)
	}

	// Name validation: 3–64 lowercase letters, digits, hyphens.
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"ab", false}, {"abc", true}, {strings.Repeat("a", 64), true}, {strings.Repeat("b", 65), false},
		{"Upper", false}, {"with_underscore", false}, {"with space", false}, {"-lead", false},
		{"trail-", false}, {"dou--ble", false}, {"", false}, {"émoji", false}, {"a1-2b", true},
	} {
		_, err := alice.CreateAgent(cbg, apitype.CreateAgentRequest{Name: c.name})
		if c.ok {
			if err != nil {
				t.Errorf("agent name %q refused: %v", c.name, err)
			}
			continue
		}
		wantAPIErr(t, "agent name "+c.name, err, 400, "name")
	}
	_, err = alice.CreateAgent(cbg, apitype.CreateAgentRequest{Name: name})
	wantAPIErr(t, "duplicate agent", err, 409, "")
	_, err = alice.CreateAgent(cbg, apitype.CreateAgentRequest{Name: p + "-bad-role", Role: "admin"})
	wantAPIErr(t, "unknown instance role", err, 400, "role")
	_, err = alice.CreateAgent(cbg, apitype.CreateAgentRequest{Name: p + "-bad-vrole", Vaults: []apitype.AgentVault{{VaultName: v, VaultRole: "owner"}}})
	wantAPIErr(t, "unknown vault role", err, 400, "vaults[0].vault_role")
	_, err = alice.CreateAgent(cbg, apitype.CreateAgentRequest{Name: p + "-twice", Vaults: []apitype.AgentVault{{VaultName: v}, {VaultName: v}}})
	wantAPIErr(t, "vault listed twice", err, 400, "vaults[1].vault_name")
	_, err = f.own.Agent(cbg, p+"-twice")
	wantAPIErr(t, "agent of a refused create", err, 404, "")

	// Members may grant only proxy; admins of the vault any role.
	for _, c := range []struct {
		role string
		want int
	}{{"admin", 403}, {"member", 403}, {"proxy", 201}, {"", 201}} {
		n := p + "-bob-" + map[string]string{"": "default"}[c.role] + c.role
		r := f.raw(t, http.MethodPost, "/v1/agents", bobTok, apitype.CreateAgentRequest{Name: n, Vaults: []apitype.AgentVault{{VaultName: v, VaultRole: c.role}}})
		if r.code != c.want {
			t.Errorf("vault member creating an agent with vault role %q = %d %s, want %d", c.role, r.code, r.body, c.want)
		}
		if r.code == 201 {
			var ac apitype.AgentCreated
			r.into(t, &ac)
			f.keep(ac.Token)
		} else if _, err := f.own.Agent(cbg, n); status(err) != 404 {
			t.Errorf("refused create left agent %s behind: %v", n, err)
		}
	}
	if _, err := alice.CreateAgent(cbg, apitype.CreateAgentRequest{Name: p + "-alice-admin", Vaults: []apitype.AgentVault{{VaultName: v, VaultRole: "admin"}}}); err != nil {
		t.Errorf("vault admin creating an admin agent: %v", err)
	}
	// Instance role: no higher than the creator's.
	_, err = bob.CreateAgent(cbg, apitype.CreateAgentRequest{Name: p + "-bob-owner", Role: "owner"})
	wantAPIErr(t, "member creating an owner agent", err, 403, "")
	if _, err := bob.CreateAgent(cbg, apitype.CreateAgentRequest{Name: p + "-bob-member", Role: "member"}); err != nil {
		t.Errorf("member creating a member agent: %v", err)
	}
	ownerBot := p + "-owner-bot"
	ownerBotTok := f.agent(t, f.own, ownerBot, "owner")
	// An agent without ManageAgents (no-access) cannot create agents.
	_, err = f.e.as(tok).CreateAgent(cbg, apitype.CreateAgentRequest{Name: p + "-child"})
	wantAPIErr(t, "no-access agent creating an agent", err, 403, "")

	// Listing: members see the agents they created; owners see all.
	bl, err := bob.Agents(cbg)
	mustOK(t, "bob list", err)
	if names := agentNames(bl); len(names) != 3 || !names[p+"-bob-proxy"] || !names[p+"-bob-default"] || !names[p+"-bob-member"] {
		t.Errorf("bob's list = %v, want only his three agents", names)
	}
	al, _ := alice.Agents(cbg)
	if names := agentNames(al); names[p+"-bob-proxy"] || names[ownerBot] || !names[name] {
		t.Errorf("alice's list = %v", names)
	}
	ol, _ := f.own.Agents(cbg)
	if names := agentNames(ol); !names[p+"-bob-proxy"] || !names[name] || !names[ownerBot] {
		t.Errorf("owner's list = %v, want every agent", names)
	}
	_, err = bob.Agent(cbg, name)
	wantAPIErr(t, "bob reading alice's agent", err, 403, "")
	_, err = bob.RevokeAgent(cbg, name)
	wantAPIErr(t, "bob revoking alice's agent", err, 403, "")
	_, err = alice.RotateAgent(cbg, ownerBot)
	wantAPIErr(t, "member rotating an owner agent", err, 403, "")
	_, err = alice.Agent(cbg, p+"-nobody")
	wantAPIErr(t, "unknown agent", err, 404, "")

	// Revoke: the token stops working; status revoked; twice is 409.
	_, err = alice.RevokeAgent(cbg, name)
	mustOK(t, "revoke", err)
	if c := f.works(t, tok); c != 401 {
		t.Errorf("revoked token = %d, want 401", c)
	}
	if r := f.raw(t, http.MethodGet, "/discover", tok, nil); r.code != 401 {
		t.Errorf("revoked token /discover = %d, want 401", r.code)
	}
	got, _ = alice.Agent(cbg, name)
	if got.Status != "revoked" || got.RevokedAt == nil {
		t.Errorf("after revoke: %+v", got)
	}
	_, err = alice.RevokeAgent(cbg, name)
	wantAPIErr(t, "revoke twice", err, 409, "")
	if r := f.raw(t, http.MethodPost, "/v1/agents/"+name+"/revoke", aliceTok, nil); r.code != 409 {
		t.Errorf("POST /revoke on a revoked agent = %d, want 409", r.code)
	}

	// Rotate: a new token, the old one dead, status active again.
	rot, err := alice.RotateAgent(cbg, name)
	mustOK(t, "rotate", err)
	f.keep(rot.Token)
	if !agentTokenRE.MatchString(rot.Token) || rot.Token == tok || rot.Name != name {
		t.Errorf("rotated = %.12s… %q", rot.Token, rot.Name)
	}
	if f.works(t, rot.Token) != 200 || f.works(t, tok) != 401 {
		t.Errorf("after rotate: new %d old %d, want 200 and 401", f.works(t, rot.Token), f.works(t, tok))
	}
	got, _ = alice.Agent(cbg, name)
	if got.Status != "active" || got.RevokedAt != nil {
		t.Errorf("after rotate: %+v", got)
	}
	// Rotating an active agent kills its current token too.
	rot2, err := alice.RotateAgent(cbg, name)
	mustOK(t, "rotate again", err)
	f.keep(rot2.Token)
	if f.works(t, rot2.Token) != 200 || f.works(t, rot.Token) != 401 {
		t.Errorf("second rotate: new %d old %d", f.works(t, rot2.Token), f.works(t, rot.Token))
	}
	tok = rot2.Token
	// POST /revoke works like DELETE.
	if r := f.raw(t, http.MethodPost, "/v1/agents/"+name+"/revoke", aliceTok, nil); r.code != 200 || f.works(t, tok) != 401 {
		t.Errorf("POST /revoke = %d", r.code)
	}
	rot3, err := alice.RotateAgent(cbg, name)
	mustOK(t, "rotate after POST revoke", err)
	f.keep(rot3.Token)
	tok = rot3.Token

	// Rename: token and grants follow.
	cur, newName := name, p+"-renamed-bot"
	t.Run("rename", func(t *testing.T) {
		rn, err := alice.RenameAgent(cbg, name, newName)
		if err != nil || rn.OldName != name || rn.NewName != newName {
			t.Fatalf("rename = %+v, %v", rn, err)
		}
		cur = newName
		_, err = alice.Agent(cbg, name)
		wantAPIErr(t, "old name after rename", err, 404, "")
		if got, err := alice.Agent(cbg, newName); err != nil || len(got.Vaults) != 1 || got.Vaults[0].VaultName != v {
			t.Errorf("renamed agent = %+v, %v", got, err)
		}
		if f.works(t, tok) != 200 {
			t.Errorf("token stopped working after rename")
		}
		if d, err := f.e.as(tok).Discover(cbg, ""); err != nil || d.Vault != v {
			t.Errorf("renamed agent discover = %+v, %v", d, err)
		}
	})
	_, err = alice.RenameAgent(cbg, cur, p+"-alice-admin")
	wantAPIErr(t, "rename onto an existing name", err, 409, "")
	_, err = alice.RenameAgent(cbg, cur, "Bad Name")
	wantAPIErr(t, "rename to a bad name", err, 400, "name")
	_, err = bob.RenameAgent(cbg, cur, p+"-stolen")
	wantAPIErr(t, "renaming another's agent", err, 403, "")

	// Set role: owners only.
	_, err = alice.SetAgentRole(cbg, cur, "member")
	wantAPIErr(t, "member setting an agent role", err, 403, "")
	_, err = f.e.as(ownerBotTok).SetAgentRole(cbg, cur, "member")
	wantAPIErr(t, "owner-role agent setting an agent role", err, 403, "")
	rc, err := f.own.SetAgentRole(cbg, cur, "member")
	if err != nil || rc.OldRole != "no-access" || rc.NewRole != "member" {
		t.Errorf("owner set-role = %+v, %v", rc, err)
	}
	if got, _ := alice.Agent(cbg, cur); got.Role != "member" {
		t.Errorf("role after set-role = %q", got.Role)
	}
	if me := f.raw(t, http.MethodGet, "/v1/auth/me", tok, nil); !bytes.Contains(me.body, []byte(`"role":"member"`)) {
		t.Errorf("agent's own view after set-role: %s", me.body)
	}
	_, err = f.own.SetAgentRole(cbg, cur, "superuser")
	wantAPIErr(t, "unknown role", err, 400, "role")

	// Delete: gone for good, its token too.
	_, err = bob.DeleteAgent(cbg, cur)
	wantAPIErr(t, "deleting another's agent", err, 403, "")
	t.Run("delete", func(t *testing.T) {
		r := f.raw(t, http.MethodPost, "/v1/agents/"+cur+"/delete", aliceTok, nil)
		if r.code != 200 {
			t.Fatalf("POST /delete = %d %s", r.code, r.body)
		}
		_, err := alice.Agent(cbg, cur)
		wantAPIErr(t, "deleted agent", err, 404, "")
		if f.works(t, tok) != 401 {
			t.Errorf("deleted agent's token still works")
		}
		_, err = alice.DeleteAgent(cbg, cur)
		wantAPIErr(t, "delete twice", err, 404, "")
		if l, _ := alice.VaultAgents(cbg, v); agentInVault(l, cur) != "" {
			t.Errorf("deleted agent still listed in the vault")
		}
	})
}

func agentInVault(l apitype.VaultAgentList, name string) string {
	for _, a := range l.Agents {
		if a.Name == name {
			return a.VaultRole
		}
	}
	return ""
}

// vaultAgentsScenario: add, list, set-role, remove with the member
// proxy-only rule; revoking an agent ends the sessions it minted.
func vaultAgentsScenario(t *testing.T, f *cfx, p string) {
	alice, _ := f.user(t, "alice."+p+"@example.com")
	bob, _ := f.user(t, "bob."+p+"@example.com")
	v := mkVault(t, alice, p+"-vagents")
	_, err := alice.AddVaultUser(cbg, v, apitype.VaultUserRequest{Email: "bob." + p + "@example.com", Role: "member"})
	mustOK(t, "add bob", err)
	x, y := p+"-x-bot", p+"-y-bot"
	xTok := f.agent(t, alice, x, "")
	yTok := f.agent(t, bob, y, "")

	// Admin adds with the default role (proxy).
	// The owner is no implicit member: told to join first.
	if r := f.raw(t, http.MethodPost, "/v1/vaults/"+v+"/agents", f.ownTok, apitype.VaultAgentRequest{Name: x}); r.code != 403 {
		t.Errorf("owner (not a member) adding to the vault = %d, want 403", r.code)
	}
	_, err = alice.AddVaultAgent(cbg, v, x, "")
	mustOK(t, "admin add default", err)
	l, err := bob.VaultAgents(cbg, v)
	if err != nil || agentInVault(l, x) != "proxy" {
		t.Errorf("vault agents = %+v, %v; want %s as proxy", l, err, x)
	}
	if len(l.Agents) == 1 && (l.Agents[0].Status != "active" || l.Agents[0].AgentID == "") {
		t.Errorf("vault agent entry = %+v", l.Agents[0])
	}
	_, err = alice.AddVaultAgent(cbg, v, x, "proxy")
	wantAPIErr(t, "add twice", err, 409, "")
	_, err = alice.AddVaultAgent(cbg, v, p+"-nobody", "proxy")
	wantAPIErr(t, "add unknown agent", err, 404, "")
	_, err = alice.AddVaultAgent(cbg, v, y, "root")
	wantAPIErr(t, "add with a bad role", err, 400, "role")

	// Members may add as proxy only, and change nothing else.
	for _, role := range []string{"admin", "member"} {
		_, err := bob.AddVaultAgent(cbg, v, y, role)
		wantAPIErr(t, "member adding as "+role, err, 403, "")
	}
	if l, _ := alice.VaultAgents(cbg, v); agentInVault(l, y) != "" {
		t.Errorf("refused adds granted %s", y)
	}
	if r := f.raw(t, http.MethodPost, "/v1/vaults/"+v+"/agents", "", apitype.VaultAgentRequest{Name: y}); r.code != 401 {
		t.Errorf("anonymous add = %d, want 401", r.code)
	}
	_, err = bob.AddVaultAgent(cbg, v, y, "proxy")
	mustOK(t, "member adding as proxy", err)
	_, err = bob.SetVaultAgentRole(cbg, v, y, "member")
	wantAPIErr(t, "member set-role", err, 403, "")
	rc, err := alice.SetVaultAgentRole(cbg, v, y, "admin")
	if err != nil || rc.OldRole != "proxy" || rc.NewRole != "admin" {
		t.Errorf("admin set-role = %+v, %v", rc, err)
	}
	_, err = alice.SetVaultAgentRole(cbg, v, p+"-nobody", "admin")
	wantAPIErr(t, "set-role of an unknown agent", err, 404, "")
	// An agent with the admin role still grants no more than proxy: it
	// cannot raise another agent (one it may control) to member or admin.
	for _, role := range []string{"member", "admin"} {
		if r := f.raw(t, http.MethodPost, "/v1/vaults/"+v+"/agents/"+x+"/role", yTok, apitype.RoleRequest{Role: role}); r.code != 403 {
			t.Errorf("admin agent raising %s to %s = %d %s, want 403", x, role, r.code, r.body)
		}
	}
	if l, _ := alice.VaultAgents(cbg, v); agentInVault(l, x) != "proxy" {
		t.Errorf("after the refused raises %s is %q, want proxy", x, agentInVault(l, x))
	}
	// A member cannot remove an admin grant, but can remove a proxy one.
	_, err = bob.RemoveVaultAgent(cbg, v, y)
	wantAPIErr(t, "member removing an admin agent", err, 403, "")
	if l, _ := alice.VaultAgents(cbg, v); agentInVault(l, y) != "admin" {
		t.Errorf("after refused removal: %s role %q", y, agentInVault(l, y))
	}
	_, err = bob.RemoveVaultAgent(cbg, v, x)
	mustOK(t, "member removing a proxy agent", err)
	if d := f.raw(t, http.MethodGet, "/discover", xTok, nil, "X-Vault", v); d.code != 404 && d.code != 403 {
		t.Errorf("removed agent discover = %d, want 404/403", d.code)
	}
	_, err = alice.RemoveVaultAgent(cbg, v, y)
	mustOK(t, "admin removing an admin agent", err)
	_, err = alice.RemoveVaultAgent(cbg, v, y)
	wantAPIErr(t, "remove twice", err, 404, "")
	if l, _ := alice.VaultAgents(cbg, v); len(l.Agents) != 0 {
		t.Errorf("vault agents after removals = %+v", l.Agents)
	}
	// A revoked agent cannot be added.
	_, err = alice.RevokeAgent(cbg, x)
	mustOK(t, "revoke x", err)
	_, err = alice.AddVaultAgent(cbg, v, x, "proxy")
	wantAPIErr(t, "adding a revoked agent", err, 409, "")

	// Revoking an agent ends the vault sessions it minted, for good.
	minter := p + "-minter"
	mTok := f.agent(t, alice, minter, "", apitype.AgentVault{VaultName: v, VaultRole: "member"})
	s1 := f.session(t, f.e.as(mTok), v, "proxy")
	s2 := f.session(t, f.e.as(mTok), v, "member")
	for _, s := range []string{s1, s2} {
		if d, err := f.e.as(s).Discover(cbg, ""); err != nil || d.Vault != v {
			t.Fatalf("agent-minted session discover = %+v, %v", d, err)
		}
	}
	if l, err := f.e.as(mTok).ScopedSessions(cbg, v); err != nil || len(l.Sessions) != 2 || l.Sessions[0].CreatedBy == nil || l.Sessions[0].CreatedBy.Type != "agent" {
		t.Errorf("agent's sessions = %+v, %v", l, err)
	}
	_, err = alice.RevokeAgent(cbg, minter)
	mustOK(t, "revoke minter", err)
	for _, s := range []string{s1, s2} {
		if c := f.works(t, s); c != 401 {
			t.Errorf("session of a revoked agent = %d, want 401", c)
		}
	}
	rot, err := alice.RotateAgent(cbg, minter)
	mustOK(t, "rotate minter", err)
	f.keep(rot.Token)
	for _, s := range []string{s1, s2} {
		if c := f.works(t, s); c != 401 {
			t.Errorf("session of a revoked then rotated agent = %d, want 401 (revocation must end it for good)", c)
		}
	}
	// Deleting an agent ends its sessions too.
	s3 := f.session(t, f.e.as(rot.Token), v, "proxy")
	t.Run("delete ends sessions", func(t *testing.T) {
		_, err := alice.DeleteAgent(cbg, minter)
		mustOK(t, "delete minter", err)
		if c := f.works(t, s3); c != 401 {
			t.Errorf("session of a deleted agent = %d, want 401", c)
		}
		if l, _ := alice.VaultAgents(cbg, v); agentInVault(l, minter) != "" {
			t.Errorf("deleted agent still holds its vault grant")
		}
	})
}
