package policy

import (
	"fmt"
	"testing"

	"github.com/agent-vault/agent-vault/internal/model"
)

// Managing one agent: user owners any; members and owner-role agents only
// the agents they own by id, never an owner-role agent; no-access nobody.
func TestDecideManageAgent(t *testing.T) {
	cases := []struct {
		kind   model.ActorKind
		role   model.InstanceRole
		owns   bool
		target model.InstanceRole
		want   bool
	}{
		{model.ActorUser, model.RoleOwner, false, model.RoleOwner, true},
		{model.ActorUser, model.RoleOwner, false, model.RoleNoAccess, true},
		{model.ActorUser, model.RoleMember, true, model.RoleNoAccess, true},
		{model.ActorUser, model.RoleMember, true, model.RoleMember, true},
		{model.ActorUser, model.RoleMember, false, model.RoleNoAccess, false}, // someone else's agent
		{model.ActorUser, model.RoleMember, true, model.RoleOwner, false},     // owner-role agents: owners only
		{model.ActorUser, model.RoleNoAccess, true, model.RoleNoAccess, false},
		{model.ActorUser, "", true, model.RoleNoAccess, false},
		{model.ActorAgent, model.RoleMember, true, model.RoleNoAccess, true},
		{model.ActorAgent, model.RoleMember, false, model.RoleNoAccess, false},
		{model.ActorAgent, model.RoleNoAccess, true, model.RoleNoAccess, false},
		{model.ActorAgent, model.RoleOwner, false, model.RoleOwner, false},    // an owner-role agent is no user owner
		{model.ActorAgent, model.RoleOwner, false, model.RoleNoAccess, false}, // rotating another's token would hand over its vaults
		{model.ActorAgent, model.RoleOwner, true, model.RoleNoAccess, true},
		{model.ActorAgent, model.RoleOwner, true, model.RoleOwner, false},
		{"robot", model.RoleOwner, true, model.RoleNoAccess, false},
	}
	for _, c := range cases {
		s := Subject{Kind: c.kind, InstanceRole: c.role, Owns: c.owns, TargetRole: c.target}
		d := Decide(s, ManageAgent)
		if d.Allowed != c.want || (d.Allowed == (d.Reason != "")) {
			t.Errorf("%s/%s owns=%v target=%s: %+v, want allowed=%v with a reason iff denied", c.kind, c.role, c.owns, c.target, d, c.want)
		}
	}
}

// Invites: owners all; members their own and those into vaults they
// administer; never an agent, never a no-access user.
func TestDecideInvite(t *testing.T) {
	type cell struct {
		kind model.ActorKind
		role model.InstanceRole
		owns bool
		vr   model.VaultRole
	}
	want := func(c cell) bool {
		if c.kind != model.ActorUser || !c.role.Satisfies(model.RoleMember) {
			return false
		}
		return c.role == model.RoleOwner || c.owns || c.vr == model.VaultAdmin
	}
	n := 0
	for _, kind := range kinds {
		for _, role := range append(instanceRoles, "") {
			for _, owns := range []bool{false, true} {
				for _, vr := range vaultRoles {
					for _, a := range []Action{ViewInvite, RevokeInvite} {
						c := cell{kind, role, owns, vr}
						d := Decide(Subject{Kind: kind, InstanceRole: role, Owns: owns, VaultRole: vr}, a)
						if d.Allowed != want(c) || (d.Allowed == (d.Reason != "")) {
							t.Errorf("%s %+v: %+v, want allowed=%v", a, c, d, want(c))
						}
						n++
					}
				}
			}
		}
	}
	// Spot checks that pin the table above to the stated rule.
	for _, c := range []struct {
		s    Subject
		want bool
	}{
		{Subject{Kind: model.ActorUser, InstanceRole: model.RoleMember}, false},                                   // another member's invite
		{Subject{Kind: model.ActorUser, InstanceRole: model.RoleMember, VaultRole: model.VaultMember}, false},     // a mere member of the invite's vault
		{Subject{Kind: model.ActorUser, InstanceRole: model.RoleMember, VaultRole: model.VaultAdmin}, true},       // its vault's admin
		{Subject{Kind: model.ActorUser, InstanceRole: model.RoleMember, Owns: true}, true},                        // its sender
		{Subject{Kind: model.ActorUser, InstanceRole: model.RoleNoAccess, Owns: true, VaultRole: "admin"}, false}, // demoted sender
		{Subject{Kind: model.ActorAgent, InstanceRole: model.RoleOwner, Owns: true, VaultRole: "admin"}, false},
	} {
		if got := Decide(c.s, RevokeInvite).Allowed; got != c.want {
			t.Errorf("%s: %+v allowed=%v, want %v", fmt.Sprint(RevokeInvite), c.s, got, c.want)
		}
	}
	if n == 0 {
		t.Fatal("empty table")
	}
}

// Owning an object never widens an ordinary action.
func TestOwnsIsIgnoredOutsideObjectActions(t *testing.T) {
	for _, a := range allActions {
		plain := Subject{Kind: model.ActorAgent, InstanceRole: model.RoleNoAccess, VaultRole: model.VaultProxy}
		owning := plain
		owning.Owns, owning.TargetRole = true, model.RoleOwner
		if Decide(plain, a).Allowed != Decide(owning, a).Allowed {
			t.Errorf("%s: Owns changed the decision", a)
		}
	}
}
