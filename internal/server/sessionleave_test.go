package server_test

import (
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestVaultSessionCannotRemoveItsMinterFromTheVault plays an agent that
// runs under `agent-vault run` with a vault session its human minted. A
// vault session carries its minter's identity for bookkeeping, so a
// "leave" acted on by it would remove the human's own grant: the agent
// would act as the human. Leaving is a user's act: every agent
// credential is refused and the human keeps the vault.
func TestVaultSessionCannotRemoveItsMinterFromTheVault(t *testing.T) {
	f := newCfx(t)
	v := mkVault(t, f.own, "leave-guard")
	bob, _ := f.user(t, "bob.leave@example.com")
	_, err := f.own.AddVaultUser(cbg, v, apitype.VaultUserRequest{Email: "bob.leave@example.com", Role: "admin"})
	mustOK(t, "add bob as admin", err)
	agentTok := f.agent(t, f.own, "leave-bot", "", apitype.AgentVault{VaultName: v, VaultRole: "member"})

	for _, c := range []struct{ name, tok string }{
		{"bob's member session", f.session(t, bob, v, "member")},
		{"bob's admin session", f.session(t, bob, v, "admin")},
		{"bob's proxy session", f.session(t, bob, v, "proxy")},
		{"agent token", agentTok},
	} {
		r := f.raw(t, http.MethodPost, "/v1/vaults/"+v+"/leave", c.tok, nil)
		if r.code != http.StatusForbidden {
			t.Errorf("%s: leave = %d %s, want 403", c.name, r.code, r.body)
		}
		if l, err := f.own.VaultUsers(cbg, v); err != nil || vaultUserRole(l, "bob.leave@example.com") != "admin" {
			t.Fatalf("after %s tried to leave, bob's role is %q (%v), want admin", c.name, vaultUserRole(l, "bob.leave@example.com"), err)
		}
	}
	if l, err := f.own.VaultAgents(cbg, v); err != nil || agentInVault(l, "leave-bot") != "member" {
		t.Errorf("after the agent tried to leave, its grant is %q (%v)", agentInVault(l, "leave-bot"), err)
	}
	// Bob himself still leaves.
	_, err = bob.LeaveVault(cbg, v)
	mustOK(t, "bob leaves", err)
}

// vaultUserRole is email's role in the list ("" when absent).
func vaultUserRole(l apitype.VaultUserList, email string) string {
	for _, u := range l.Users {
		if u.Email == email {
			return u.Role
		}
	}
	return ""
}
