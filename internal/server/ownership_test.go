package server_test

// Agents are owned by immutable id, not by name: the attacks below took
// over agents by taking their creator's name (an email after the account
// was deleted, an agent name after a rename).

import (
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// openRegistration lets anyone register again (the first user closed it).
func (f *cfx) openRegistration(t *testing.T) {
	t.Helper()
	off := false
	_, err := f.own.UpdateInstanceSettings(cbg, apitype.InstanceSettings{InviteOnly: &off})
	mustOK(t, "open registration", err)
}

// A user is deleted; someone registers the same email. The newcomer gets
// none of the old account's agents: they were revoked with the account,
// and belong to nobody but the instance owners.
func TestAgentsOfADeletedUserDoNotPassToTheNextHolderOfTheEmail(t *testing.T) {
	for _, how := range []string{"owner deletes", "user deletes self"} {
		t.Run(how, func(t *testing.T) {
			f := newCfx(t)
			alice, _ := f.user(t, "alice@example.com")
			v := mkVault(t, alice, "alice-vault")
			botTok := f.agent(t, alice, "alice-bot", "", apitype.AgentVault{VaultName: v, VaultRole: "proxy"})
			if c := f.works(t, botTok); c != 200 {
				t.Fatalf("alice's agent before = %d", c)
			}
			var revoked []string
			if how == "owner deletes" {
				out, err := f.own.AdminDeleteUser(cbg, "alice@example.com", "")
				mustOK(t, "delete alice", err)
				revoked = out.AgentsRevoked
			} else {
				out, err := alice.DeleteAccount(cbg)
				mustOK(t, "alice deletes herself", err)
				revoked = out.AgentsRevoked
			}
			if len(revoked) != 1 || revoked[0] != "alice-bot" {
				t.Errorf("agents revoked = %v, want [alice-bot]", revoked)
			}
			if c := f.works(t, botTok); c != http.StatusUnauthorized {
				t.Errorf("the deleted user's agent token = %d, want 401 (revoked with its owner)", c)
			}
			got, err := f.own.Agent(cbg, "alice-bot")
			if err != nil || got.Status != "revoked" || got.Owner != "" || got.CreatedBy != "alice@example.com" {
				t.Errorf("agent after its owner's deletion = %+v, %v; want revoked, owned by nobody, label kept", got, err)
			}

			// The attacker registers the freed email.
			f.openRegistration(t)
			_, err = f.e.anon().Register(cbg, apitype.Credentials{Email: "alice@example.com", Password: "mallory-password"})
			mustOK(t, "re-register alice@", err)
			f.keep("mallory-password")
			login, err := f.e.anon().Login(cbg, apitype.Credentials{Email: "alice@example.com", Password: "mallory-password"})
			mustOK(t, "log in as the newcomer", err)
			f.keep(login.Token)
			mallory := f.e.as(login.Token)
			// Registration gives no-access; the instance owner makes the
			// newcomer a member, as they would any colleague.
			_, err = f.own.AdminSetRole(cbg, "alice@example.com", "member")
			mustOK(t, "make the newcomer a member", err)

			_, err = mallory.RotateAgent(cbg, "alice-bot")
			wantAPIErr(t, "newcomer rotating the old agent", err, 403, "")
			_, err = mallory.Agent(cbg, "alice-bot")
			wantAPIErr(t, "newcomer reading the old agent", err, 403, "")
			_, err = mallory.RenameAgent(cbg, "alice-bot", "mine-now")
			wantAPIErr(t, "newcomer renaming the old agent", err, 403, "")
			_, err = mallory.DeleteAgent(cbg, "alice-bot")
			wantAPIErr(t, "newcomer deleting the old agent", err, 403, "")
			if l, err := mallory.Agents(cbg); err != nil || len(l.Agents) != 0 {
				t.Errorf("newcomer's agent list = %+v, %v; want empty", l, err)
			}
			// Only an owner brings it back.
			rot, err := f.own.RotateAgent(cbg, "alice-bot")
			mustOK(t, "owner rotates", err)
			f.keep(rot.Token)
			if c := f.works(t, rot.Token); c != 200 {
				t.Errorf("owner-rotated token = %d", c)
			}
		})
	}
}

// An agent that creates agents owns them by its id. Renaming it keeps
// them; a new agent given its old name gets none of them.
func TestAgentsOfARenamedAgentDoNotPassToANewAgentOfThatName(t *testing.T) {
	f := newCfx(t)
	alice, _ := f.user(t, "alice@example.com")
	builderTok := f.agent(t, alice, "builder", "member")
	builder := f.e.as(builderTok)
	child, err := builder.CreateAgent(cbg, apitype.CreateAgentRequest{Name: "child"})
	mustOK(t, "builder creates child", err)
	f.keep(child.Token)

	_, err = alice.RenameAgent(cbg, "builder", "builder-old")
	mustOK(t, "rename builder", err)
	bob, _ := f.user(t, "bob@example.com")
	imposterTok := f.agent(t, bob, "builder", "member")
	imposter := f.e.as(imposterTok)

	_, err = imposter.RotateAgent(cbg, "child")
	wantAPIErr(t, "new agent named like the creator rotating its agent", err, 403, "")
	_, err = imposter.DeleteAgent(cbg, "child")
	wantAPIErr(t, "new agent named like the creator deleting its agent", err, 403, "")
	if l, err := imposter.Agents(cbg); err != nil || agentNames(l)["child"] {
		t.Errorf("imposter's agent list = %+v, %v; want no child", l, err)
	}
	// The renamed creator still owns it.
	rot, err := builder.RotateAgent(cbg, "child")
	mustOK(t, "renamed creator rotates its agent", err)
	f.keep(rot.Token)
	got, err := f.own.Agent(cbg, "child")
	if err != nil || got.Owner != "agent:builder-old" || got.CreatedBy != "agent:builder" {
		t.Errorf("child = %+v, %v; want owner agent:builder-old (its current name), created by the old label", got, err)
	}

	// Deleting the creator agent revokes the agents it owned.
	_, err = alice.DeleteAgent(cbg, "builder-old")
	mustOK(t, "delete builder", err)
	if c := f.works(t, rot.Token); c != http.StatusUnauthorized {
		t.Errorf("child token after its owner agent's deletion = %d, want 401", c)
	}
	if got, err := f.own.Agent(cbg, "child"); err != nil || got.Status != "revoked" || got.Owner != "" {
		t.Errorf("child after owner deletion = %+v, %v", got, err)
	}
}

// An owner deleting a user may hand their agents to another user instead:
// one who could have granted the agents' vault roles; nothing changes
// when the hand-over is refused.
func TestDeleteUserTransfersAgents(t *testing.T) {
	f := newCfx(t)
	alice, _ := f.user(t, "alice@example.com")
	bob, _ := f.user(t, "bob@example.com")
	v := mkVault(t, alice, "team")
	botTok := f.agent(t, alice, "team-bot", "", apitype.AgentVault{VaultName: v, VaultRole: "member"})

	// bob is not in the vault: he could not have given the bot its member role.
	_, err := f.own.AdminDeleteUser(cbg, "alice@example.com", "bob@example.com")
	body := wantAPIErr(t, "hand over to an outsider", err, 409, "")
	if body.Code != "transfer_target_lacks_vault" {
		t.Errorf("code = %q, want transfer_target_lacks_vault", body.Code)
	}
	_, err = alice.AddVaultUser(cbg, v, apitype.VaultUserRequest{Email: "bob@example.com", Role: "member"})
	mustOK(t, "add bob as member", err)
	// A vault member may grant proxy only; the bot holds member.
	_, err = f.own.AdminDeleteUser(cbg, "alice@example.com", "bob@example.com")
	wantAPIErr(t, "hand over to a vault member (bot holds member)", err, 409, "")
	// A no-access user cannot manage agents at all.
	na := f.e.invite(f.own, "na@example.com", "no-access")
	_ = na
	_, err = f.own.AdminDeleteUser(cbg, "alice@example.com", "na@example.com")
	wantAPIErr(t, "hand over to a no-access user", err, 409, "")
	_, err = f.own.AdminDeleteUser(cbg, "alice@example.com", "alice@example.com")
	wantAPIErr(t, "hand over to the deleted user", err, 400, "transfer_agents_to")
	_, err = f.own.AdminDeleteUser(cbg, "alice@example.com", "nobody@example.com")
	wantAPIErr(t, "hand over to nobody", err, 404, "")
	if c := f.works(t, botTok); c != 200 {
		t.Fatalf("refused deletions touched the bot: %d", c)
	}
	if _, err := alice.Agent(cbg, "team-bot"); err != nil {
		t.Fatalf("refused deletions removed alice or her ownership: %v", err)
	}

	_, err = alice.SetVaultUserRole(cbg, v, "bob@example.com", "admin")
	mustOK(t, "make bob admin", err)
	out, err := f.own.AdminDeleteUser(cbg, "alice@example.com", "bob@example.com")
	mustOK(t, "delete alice, agents to bob", err)
	if len(out.AgentsTransferred) != 1 || out.AgentsTransferred[0] != "team-bot" || out.TransferredTo != "bob@example.com" || len(out.AgentsRevoked) != 0 {
		t.Errorf("delete answer = %+v", out)
	}
	if c := f.works(t, botTok); c != 200 {
		t.Errorf("handed-over agent's token = %d, want it still working", c)
	}
	got, err := bob.Agent(cbg, "team-bot")
	if err != nil || got.Owner != "bob@example.com" || got.Status != "active" {
		t.Errorf("team-bot seen by bob = %+v, %v", got, err)
	}
	rot, err := bob.RotateAgent(cbg, "team-bot")
	mustOK(t, "bob rotates his new agent", err)
	f.keep(rot.Token)
}
