package server_test

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestRotatingAnAgentEndsTheSessionsItMinted plays an attacker that stole
// an agent token (an agent with the member role may mint vault sessions)
// and minted week-long vault sessions with it before the human noticed.
// Rotating the token is the human's answer to a leak: the old token, and
// every session minted with it, must stop working at once; the rotated
// token works and may mint new ones.
func TestRotatingAnAgentEndsTheSessionsItMinted(t *testing.T) {
	f := newCfx(t)
	v := mkVault(t, f.own, "rot-sessions")
	tok := f.agent(t, f.own, "rot-minter", "", apitype.AgentVault{VaultName: v, VaultRole: "member"})
	stolen := []string{f.session(t, f.e.as(tok), v, "proxy"), f.session(t, f.e.as(tok), v, "member")}
	for _, s := range stolen {
		if c := f.works(t, s); c != 200 {
			t.Fatalf("freshly minted session = %d, want 200", c)
		}
	}
	rot, err := f.own.RotateAgent(cbg, "rot-minter")
	mustOK(t, "rotate", err)
	f.keep(rot.Token)
	if c := f.works(t, tok); c != 401 {
		t.Errorf("old token after rotate = %d, want 401", c)
	}
	for i, s := range stolen {
		if c := f.works(t, s); c != 401 {
			t.Errorf("session %d minted with the rotated-away token = %d, want 401", i, c)
		}
		if d, err := f.e.as(s).Discover(cbg, ""); err == nil {
			t.Errorf("session %d minted with the rotated-away token still discovers vault %q", i, d.Vault)
		}
	}
	if l, err := f.e.as(rot.Token).ScopedSessions(cbg, v); err != nil || len(l.Sessions) != 0 {
		t.Errorf("sessions listed after rotate = %+v, %v; want none", l, err)
	}
	fresh := f.session(t, f.e.as(rot.Token), v, "proxy")
	if c := f.works(t, fresh); c != 200 {
		t.Errorf("session minted with the new token = %d, want 200", c)
	}
}
