package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestContentsAgents drives `agent create|list|info|rename|set-role|revoke|
// rotate|delete` and `vault agent add|list|set-role|remove`, with a member
// user who may grant the proxy role only.
func TestContentsAgents(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)
	owner.ok("", "vault", "creds", "set", "BOT_SEES_KEY=ct-agent-secret-value-6b1d")

	// create --token-only prints only the token; it works for /discover.
	tok := ctAgentToken(t, owner, "bot", "--vault", "default:proxy")
	var d ctDiscover
	ctDecode(t, "bot GET /discover", ctDiscoverAs(t, s.url, tok, ""), &d) // one grant: no X-Vault needed
	if d.Vault != "default" || strings.Join(d.AvailableCredentials, ",") != "BOT_SEES_KEY" {
		t.Errorf("bot discover = %+v", d)
	}
	mustContain(t, "duplicate agent", owner.fail("", "agent", "create", "bot"), "bot")
	owner.fail("", "agent", "create", "Bad Name")

	// create without --token-only: the human form names the grants; --json
	// carries the token as av_agent_token.
	out := owner.ok("", "agent", "create", "helper")
	mustContain(t, "agent create", out, "Agent helper created", "av_agt_")
	var created struct {
		Token  string    `json:"av_agent_token"`
		Name   string    `json:"name"`
		Role   string    `json:"role"`
		Vaults []ctGrant `json:"vaults"`
	}
	owner.json(&created, "agent", "create", "ci-runner", "--role", "member", "--vault", "default:member")
	if !strings.HasPrefix(created.Token, "av_agt_") || created.Name != "ci-runner" || created.Role != "member" ||
		len(created.Vaults) != 1 || created.Vaults[0] != (ctGrant{"default", "member"}) {
		t.Errorf("agent create --json = %+v", created)
	}
	ciTok := created.Token

	// list and info.
	var al ctAgentList
	owner.json(&al, "agent", "list")
	if len(al.Agents) != 3 {
		t.Fatalf("agent list = %+v, want bot, helper, ci-runner", al)
	}
	bot, ok := al.find("bot")
	if !ok || bot.Role != "no-access" || bot.Status != "active" || len(bot.Vaults) != 1 || bot.Vaults[0] != (ctGrant{"default", "proxy"}) {
		t.Errorf("bot in agent list = %+v", bot)
	}
	if h, _ := al.find("helper"); len(h.Vaults) != 0 {
		t.Errorf("helper has grants %+v, want none", h.Vaults)
	}
	mustContain(t, "agent list table", owner.ok("", "agent", "list"), "NAME", "bot", "helper", "ci-runner", "default:proxy")
	var info ctAgent
	owner.json(&info, "agent", "info", "bot")
	if info.Name != "bot" || info.Status != "active" || info.CreatedBy != "owner@example.com" {
		t.Errorf("agent info --json = %+v", info)
	}
	mustContain(t, "agent info", owner.ok("", "agent", "info", "bot"), "name: bot", "status: active", "vaults: default:proxy")
	owner.fail("", "agent", "info", "nobody")
	for _, l := range []string{owner.ok("", "agent", "list", "--json"), owner.ok("", "agent", "info", "bot", "--json")} {
		if strings.Contains(l, tok) || strings.Contains(l, ciTok) {
			t.Errorf("agent list/info shows a token:\n%s", l)
		}
	}

	// set-role (instance role; owners).
	var role struct {
		Agent   string `json:"agent"`
		OldRole string `json:"old_role"`
		NewRole string `json:"new_role"`
	}
	owner.json(&role, "agent", "set-role", "bot", "member")
	if role.Agent != "bot" || role.OldRole != "no-access" || role.NewRole != "member" {
		t.Errorf("agent set-role --json = %+v", role)
	}
	mustContain(t, "agent set-role", owner.ok("", "agent", "set-role", "bot", "no-access"), "Agent bot: member -> no-access.")
	owner.fail("", "agent", "set-role", "bot", "emperor")

	// revoke: the token gets 401; rotate brings the agent back with a new one.
	mustContain(t, "agent revoke", owner.ok("", "agent", "revoke", "bot"), "Agent bot revoked.")
	if r := ctDiscoverAs(t, s.url, tok, "default"); r.status != http.StatusUnauthorized {
		t.Errorf("discover with a revoked agent token = %s, want 401", r)
	}
	owner.json(&info, "agent", "info", "bot")
	if info.Status != "revoked" {
		t.Errorf("status after revoke = %q, want revoked", info.Status)
	}
	var rot struct {
		Token string `json:"av_agent_token"`
		Name  string `json:"name"`
	}
	owner.json(&rot, "agent", "rotate", "bot")
	if !strings.HasPrefix(rot.Token, "av_agt_") || rot.Token == tok || rot.Name != "bot" {
		t.Errorf("agent rotate --json = %+v", rot)
	}
	if r := ctDiscoverAs(t, s.url, rot.Token, "default"); r.status != http.StatusOK {
		t.Errorf("discover with the rotated token = %s, want 200", r)
	}
	if r := ctDiscoverAs(t, s.url, tok, "default"); r.status != http.StatusUnauthorized {
		t.Errorf("discover with the pre-rotation token = %s, want 401", r)
	}
	owner.json(&info, "agent", "info", "bot")
	if info.Status != "active" {
		t.Errorf("status after rotate = %q, want active", info.Status)
	}
	// rotate again (human form): the previous token stops.
	rotOut := owner.ok("", "agent", "rotate", "bot")
	mustContain(t, "agent rotate", rotOut, "New token for bot", "av_agt_")
	tok3 := rotOut[strings.Index(rotOut, "av_agt_"):]
	tok3 = strings.TrimSpace(tok3)
	if r := ctDiscoverAs(t, s.url, rot.Token, "default"); r.status != http.StatusUnauthorized {
		t.Errorf("discover with the first rotated token after a second rotate = %s, want 401", r)
	}
	if r := ctDiscoverAs(t, s.url, tok3, "default"); r.status != http.StatusOK {
		t.Errorf("discover with the newest token = %s, want 200", r)
	}

	// A member user: invited into proj as member.
	owner.ok("", "vault", "create", "proj")
	var inv struct {
		Token string `json:"token"`
	}
	owner.json(&inv, "user", "invite", "bob@example.com", "--vault", "proj:member")
	bob := newCLI(t, "bob", s.url)
	if r := bob.run("bob-pass-1\nbob-pass-1\n", "auth", "accept-invite", inv.Token); r.code != 0 {
		t.Fatalf("accept-invite:\n%s", r)
	}
	bob.ok("bob-pass-1\n", "auth", "login", "--email", "bob@example.com")

	// Instance roles of agents are for owners only.
	bob.fail("", "agent", "set-role", "helper", "owner")
	owner.json(&info, "agent", "info", "helper")
	if info.Role != "no-access" {
		t.Errorf("helper's role after bob's refused set-role = %q", info.Role)
	}

	// bob cannot grant admin (403) but can grant proxy.
	mustContain(t, "member adds an admin agent", bob.fail("", "vault", "agent", "add", "helper", "--role", "admin", "--vault", "proj"), "admin")
	r := call(t, http.MethodPost, s.url+"/v1/vaults/proj/agents", bob.token(), map[string]string{"name": "helper", "role": "admin"})
	if r.status != http.StatusForbidden {
		t.Errorf("member POST /v1/vaults/proj/agents role admin = %s, want 403", r)
	}
	r = call(t, http.MethodPost, s.url+"/v1/vaults/proj/agents", bob.token(), map[string]string{"name": "helper", "role": "member"})
	if r.status != http.StatusForbidden {
		t.Errorf("member POST /v1/vaults/proj/agents role member = %s, want 403", r)
	}
	var val ctVaultAgentList
	owner.json(&val, "vault", "agent", "list", "--vault", "proj")
	if len(val.Agents) != 0 {
		t.Errorf("proj agents after refused adds = %+v", val.Agents)
	}
	mustContain(t, "member adds a proxy agent", bob.ok("", "vault", "agent", "add", "helper", "--role", "proxy", "--vault", "proj"), "helper")
	bob.json(&val, "vault", "agent", "list", "--vault", "proj")
	if val.role("helper") != "proxy" || len(val.Agents) != 1 {
		t.Errorf("proj agents after bob's add = %+v", val.Agents)
	}
	mustContain(t, "vault agent list table", bob.ok("", "vault", "agents", "list", "--vault", "proj"), "AGENT", "helper", "proxy")
	// bob (not admin) cannot promote it; the owner (admin of proj) can.
	bob.fail("", "vault", "agent", "set-role", "helper", "admin", "--vault", "proj")
	var vr struct {
		OldRole string `json:"old_role"`
		NewRole string `json:"new_role"`
	}
	owner.json(&vr, "vault", "agent", "set-role", "helper", "member", "--vault", "proj")
	if vr.OldRole != "proxy" || vr.NewRole != "member" {
		t.Errorf("vault agent set-role --json = %+v", vr)
	}
	mustContain(t, "vault agent set-role", owner.ok("", "vault", "agent", "set-role", "helper", "admin", "--vault", "proj"), "helper: member -> admin in vault proj.")
	owner.json(&val, "vault", "agent", "list", "--vault", "proj")
	if val.role("helper") != "admin" {
		t.Errorf("helper's role in proj = %q, want admin", val.role("helper"))
	}
	// The owner adds with any role; the agent's own list shows its grants.
	owner.ok("", "vault", "agent", "add", "ci-runner", "--role", "admin", "--vault", "proj")
	owner.json(&info, "agent", "info", "ci-runner")
	if len(info.Vaults) != 2 {
		t.Errorf("ci-runner grants = %+v, want default and proj", info.Vaults)
	}
	owner.fail("", "vault", "agent", "add", "ci-runner", "--vault", "proj") // already there
	owner.fail("", "vault", "agent", "add", "nobody", "--vault", "proj")
	// With two grants, ci-runner must name a vault.
	if r := ctDiscoverAs(t, s.url, ciTok, ""); r.status == http.StatusOK {
		t.Errorf("discover with two grants and no X-Vault = %s, want a refusal", r)
	}
	if r := ctDiscoverAs(t, s.url, ciTok, "proj"); r.status != http.StatusOK {
		t.Errorf("ci-runner discover proj = %s", r)
	}

	// remove: the agent loses the vault.
	mustContain(t, "vault agent remove", owner.ok("", "vault", "agent", "remove", "ci-runner", "--vault", "proj"), "ci-runner")
	owner.json(&val, "vault", "agent", "list", "--vault", "proj")
	if val.role("ci-runner") != "" || val.role("helper") != "admin" {
		t.Errorf("proj agents after remove = %+v", val.Agents)
	}
	if r := ctDiscoverAs(t, s.url, ciTok, "proj"); r.status == http.StatusOK {
		t.Errorf("ci-runner discover proj after removal = %s, want a refusal", r)
	}
	owner.fail("", "vault", "agent", "remove", "ci-runner", "--vault", "proj")
	bob.fail("", "vault", "agent", "remove", "helper", "--vault", "proj")

	// delete: gone from the list, its token is refused.
	t.Run("delete", func(t *testing.T) {
		r := owner.run("", "agent", "delete", "bot")
		if r.code != 0 {
			t.Fatalf("agent delete failed:\n%s", r)
		}
		mustContain(t, "agent delete", r.stdout, "Agent bot deleted.")
		owner.json(&al, "agent", "list")
		if _, ok := al.find("bot"); ok || len(al.Agents) != 2 {
			t.Errorf("agents after delete = %+v", al.Agents)
		}
		if r := ctDiscoverAs(t, s.url, tok3, "default"); r.status != http.StatusUnauthorized {
			t.Errorf("discover with a deleted agent's token = %s, want 401", r)
		}
		owner.fail("", "agent", "delete", "bot")
		owner.fail("", "agent", "rotate", "bot")
		var del struct {
			Message string `json:"message"`
		}
		owner.json(&del, "agent", "delete", "helper")
		if !strings.Contains(del.Message, "helper") {
			t.Errorf("agent delete --json = %+v", del)
		}
		var val ctVaultAgentList
		owner.json(&val, "vault", "agent", "list", "--vault", "proj")
		if len(val.Agents) != 0 {
			t.Errorf("proj still lists a deleted agent: %+v", val.Agents)
		}
	})

	ctNoSecrets(t, s, tok, rot.Token, tok3, ciTok, inv.Token, owner.token(), bob.token(), "bob-pass-1", "ct-agent-secret-value-6b1d")
}

// TestContentsAgentRename drives `agent rename`: the new name answers, the
// old one is gone, the token keeps working, and a taken name is refused.
func TestContentsAgentRename(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)
	tok := ctAgentToken(t, owner, "bot", "--vault", "default:proxy")
	owner.ok("", "agent", "create", "helper")

	r := owner.run("", "agent", "rename", "bot", "robot", "--json")
	if r.code != 0 {
		t.Fatalf("agent rename failed:\n%s", r)
	}
	var ren struct {
		OldName string `json:"old_name"`
		NewName string `json:"new_name"`
	}
	decodeStrict(t, r.stdout, &ren)
	if ren.OldName != "bot" || ren.NewName != "robot" {
		t.Errorf("agent rename --json = %+v", ren)
	}
	owner.fail("", "agent", "info", "bot")
	var info ctAgent
	owner.json(&info, "agent", "info", "robot")
	if info.Name != "robot" || info.Status != "active" || len(info.Vaults) != 1 || info.Vaults[0] != (ctGrant{"default", "proxy"}) {
		t.Errorf("agent info robot = %+v", info)
	}
	if r := ctDiscoverAs(t, s.url, tok, ""); r.status != http.StatusOK {
		t.Errorf("discover after rename = %s, want 200", r)
	}
	mustContain(t, "agent rename (human)", owner.ok("", "agent", "rename", "robot", "robo-two"), "Agent robot renamed to robo-two.")
	mustContain(t, "rename onto a taken name", owner.fail("", "agent", "rename", "robo-two", "helper"), "helper")
	owner.fail("", "agent", "rename", "robo-two", "Bad Name")
	owner.fail("", "agent", "rename", "nobody", "someone")
	var al ctAgentList
	owner.json(&al, "agent", "list")
	if _, ok := al.find("robo-two"); !ok || len(al.Agents) != 2 {
		t.Errorf("agents after renames = %+v", al.Agents)
	}
	ctNoSecrets(t, s, tok, owner.token())
}
