package server_test

import (
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestRevokingOrRotatingAnAgentStopsTheAgentsItCreated plays a thief of an
// agent token (an agent with the instance role member, which may create
// agents): before the human notices, it creates a child agent with the
// proxy role in the vault and keeps that token. The human who owns the
// stolen agent cannot even see the child (it is the agent's, not theirs).
// Revoking the stolen agent, or rotating its token, must stop the child
// too, and its own children in turn; the rotated agent (the human's again)
// brings a child back by rotating it.
func TestRevokingOrRotatingAnAgentStopsTheAgentsItCreated(t *testing.T) {
	for _, how := range []string{"revoke", "rotate", "delete"} {
		t.Run(how, func(t *testing.T) {
			f := newCfx(t)
			alice, _ := f.user(t, "alice."+how+"@example.com")
			v := mkVault(t, alice, "kids-"+how)
			parent := f.agent(t, alice, "parent-"+how, "member", apitype.AgentVault{VaultName: v, VaultRole: "member"})
			child := f.agent(t, f.e.as(parent), "child-"+how, "member", apitype.AgentVault{VaultName: v, VaultRole: "proxy"})
			grandchild := f.agent(t, f.e.as(child), "grandchild-"+how, "member")
			for _, tok := range []string{child, grandchild} {
				if c := f.works(t, tok); c != 200 {
					t.Fatalf("agent created by an agent = %d before the %s", c, how)
				}
			}
			var msg string
			switch how {
			case "revoke":
				out, err := alice.RevokeAgent(cbg, "parent-"+how)
				mustOK(t, how, err)
				msg = out.Message
			case "rotate":
				out, err := alice.RotateAgent(cbg, "parent-"+how)
				mustOK(t, how, err)
				f.keep(out.Token)
				parent = out.Token
			case "delete":
				out, err := alice.DeleteAgent(cbg, "parent-"+how)
				mustOK(t, how, err)
				msg = out.Message
			}
			for name, tok := range map[string]string{"child": child, "grandchild": grandchild} {
				if c := f.works(t, tok); c != 401 {
					t.Errorf("%s of the agent after %s = %d, want 401", name, how, c)
				}
			}
			if how != "rotate" && !strings.Contains(msg, "child-"+how) {
				t.Errorf("%s message %q does not name the agents it stopped", how, msg)
			}
			if how == "rotate" {
				// The rotated agent owns its child still and brings it back.
				rot, err := f.e.as(parent).RotateAgent(cbg, "child-"+how)
				mustOK(t, "the rotated agent rotates its child", err)
				f.keep(rot.Token)
				if c := f.works(t, rot.Token); c != 200 {
					t.Errorf("the child's new token = %d, want 200", c)
				}
			}
		})
	}
}
