package policy

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/model"
)

func TestDecideCredentialUse(t *testing.T) {
	user := Subject{Kind: model.ActorUser, InstanceRole: model.RoleMember, VaultRole: model.VaultMember}
	agent := Subject{Kind: model.ActorAgent, InstanceRole: model.RoleMember, VaultRole: model.VaultMember}
	admin := Subject{Kind: model.ActorAgent, InstanceRole: model.RoleOwner, VaultRole: model.VaultAdmin}
	cases := []struct {
		name               string
		u                  CredentialUse
		allow, widen, byAg bool
	}{
		{"user, bound", CredentialUse{Subject: user, Principal: "user:u1", WrittenBy: "agent:a1", Bound: true}, true, false, false},
		{"user, unbound: the user's write widens", CredentialUse{Subject: user, Principal: "user:u1", WrittenBy: "user:u2"}, true, true, false},
		{"user, unbound, agent's value", CredentialUse{Subject: user, Principal: "user:u1", WrittenBy: "agent:a1"}, true, true, false},
		{"agent, bound", CredentialUse{Subject: agent, Principal: "agent:a1", WrittenBy: "user:u1", Bound: true}, true, false, false},
		{"agent, unbound, a user's value", CredentialUse{Subject: agent, Principal: "agent:a1", WrittenBy: "user:u1"}, false, false, false},
		{"agent, unbound, value of unknown writer", CredentialUse{Subject: agent, Principal: "agent:a1", WrittenBy: ""}, false, false, false},
		{"agent, unbound, another agent's value", CredentialUse{Subject: agent, Principal: "agent:a1", WrittenBy: "agent:a2"}, false, false, false},
		{"agent, unbound, its own value", CredentialUse{Subject: agent, Principal: "agent:a1", WrittenBy: "agent:a1"}, true, true, true},
		{"admin agent, unbound, a user's value", CredentialUse{Subject: admin, Principal: "agent:a1", WrittenBy: "user:u1"}, false, false, false},
		{"session, unbound, a user's value", CredentialUse{Subject: agent, Principal: "session:s1", WrittenBy: "user:u1"}, false, false, false},
		{"session, unbound, its minter's value", CredentialUse{Subject: agent, Principal: "session:s1", WrittenBy: "user:u1"}, false, false, false},
		{"session, unbound, its own value", CredentialUse{Subject: agent, Principal: "session:s1", WrittenBy: "session:s1"}, true, true, true},
		{"agent without a principal never matches an unknown writer", CredentialUse{Subject: agent}, false, false, false},
		{"user-kind subject is needed to widen for others", CredentialUse{Subject: Subject{Kind: "robot"}, Principal: "x", WrittenBy: "x"}, false, false, false},
	}
	for _, c := range cases {
		d := DecideCredentialUse(c.u)
		if d.Allowed != c.allow || d.Widen != c.widen || d.ByAgent != c.byAg {
			t.Errorf("%s: got allowed=%v widen=%v byAgent=%v, want %v %v %v", c.name, d.Allowed, d.Widen, d.ByAgent, c.allow, c.widen, c.byAg)
		}
		if !d.Allowed && d.Reason == "" {
			t.Errorf("%s: denied without a reason", c.name)
		}
	}
}
