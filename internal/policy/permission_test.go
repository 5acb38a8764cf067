package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/model"
)

// The expectations below are written from docs/permissions.md, not from
// permission.go. Each action names the weakest vault role (for vault
// actions) or instance role (for instance actions) the page grants it to.

// specVaultMin is the vault role table of docs/permissions.md.
var specVaultMin = map[Action]model.VaultRole{
	// "proxy, discover, raise proposals, see credential key names": admin, member, proxy.
	ProxyThroughVault:  model.VaultProxy,
	DiscoverVault:      model.VaultProxy,
	RaiseProposal:      model.VaultProxy,
	ListCredentialKeys: model.VaultProxy,
	// Seeing the vault itself and leaving it are taken
	// to belong to every holder of a grant.
	ViewVault:  model.VaultProxy,
	LeaveVault: model.VaultProxy,
	// "read/set/delete credential values, approve/reject proposals, manage
	// services, add agents as proxy": admin, member.
	ReadCredentialValue: model.VaultMember,
	WriteCredential:     model.VaultMember,
	ReviewProposal:      model.VaultMember,
	ManageServices:      model.VaultMember,
	AddAgentAsProxy:     model.VaultMember,
	// "only users widen a binding": member-level, never an agent.
	BindCredential: model.VaultMember,
	// "invite/remove users, set roles, add agents with any role,
	// delete/rename vault, vault settings": admin only.
	ManageVaultUsers:    model.VaultAdmin,
	AddAgentAnyRole:     model.VaultAdmin,
	DeleteVault:         model.VaultAdmin,
	RenameVault:         model.VaultAdmin,
	ChangeVaultSettings: model.VaultAdmin,
	// Who the vault's people are (their emails) is
	// kept from the proxy role, which the vault's agents hold.
	ViewMemberEmails: model.VaultMember,
	// The admin audit trail names every member's actions: vault admins
	// read their vault's rows, owners the whole trail; agents never.
	ReadVaultTrail: model.VaultAdmin,
}

// specInstanceMin is the instance role table of docs/permissions.md:
// owners have settings, users and every vault; members create vaults and
// manage agents; no-access holds only what vault grants give.
var specInstanceMin = map[Action]model.InstanceRole{
	CreateVault:           model.RoleMember,
	ManageAgents:          model.RoleMember,
	ListAllVaults:         model.RoleOwner,
	JoinAnyVault:          model.RoleOwner,
	DeleteAnyVault:        model.RoleOwner,
	ManageInstanceUsers:   model.RoleOwner,
	InviteOwner:           model.RoleOwner,
	ChangeInstanceSetting: model.RoleOwner,
	// Vault admins invite users and need a user directory to add members
	// to a vault, so listing and inviting (non-owner) users are
	// member-level (docs/permissions.md, "Instance roles").
	ListUsers:      model.RoleMember,
	InviteUser:     model.RoleMember,
	ReadAdminTrail: model.RoleOwner,
}

// specAgentNever are the actions the security model forbids to agent tokens whatever
// their roles: reading plaintext values and approving/rejecting proposals.
var specAgentNever = map[Action]bool{
	ReadCredentialValue: true,
	ReviewProposal:      true,
	// Only users widen (or narrow) a credential's host binding.
	BindCredential: true,
	// An "account" (me, password, sessions) is a human concept.
	ManageOwnAccount: true,
}

// codeStricterThanSpec are actions permission.go also forbids to agents
// although the role table alone would let an agent holding the right role
// do them (docs/permissions.md, "What agents never do"). Listed explicitly
// so the rule stays visible; if it changes, this set is the one place to
// change.
var codeStricterThanSpec = map[Action]bool{
	ManageVaultUsers:      true,
	AddAgentAnyRole:       true,
	DeleteVault:           true,
	RenameVault:           true,
	ChangeVaultSettings:   true,
	LeaveVault:            true,
	ListAllVaults:         true,
	JoinAnyVault:          true,
	DeleteAnyVault:        true,
	ManageInstanceUsers:   true,
	InviteUser:            true,
	InviteOwner:           true,
	ChangeInstanceSetting: true,
	// The instance's user directory is people's email addresses: no agent
	// needs it, and a hostile one would harvest it.
	ListUsers:      true,
	ReadVaultTrail: true,
	ReadAdminTrail: true,
}

var allActions = []Action{
	ProxyThroughVault, DiscoverVault, RaiseProposal, ListCredentialKeys,
	ReadCredentialValue, WriteCredential, BindCredential, ReviewProposal, ManageServices,
	AddAgentAsProxy, ViewVault, ManageVaultUsers, AddAgentAnyRole,
	DeleteVault, RenameVault, ChangeVaultSettings, LeaveVault,
	CreateVault, ListAllVaults, JoinAnyVault, DeleteAnyVault,
	ManageInstanceUsers, ListUsers, InviteUser, InviteOwner,
	ChangeInstanceSetting, ManageAgents, ManageOwnAccount, ViewMemberEmails,
	ReadVaultTrail, ReadAdminTrail,
}

var (
	vaultRoles    = []model.VaultRole{model.VaultAdmin, model.VaultMember, model.VaultProxy, ""}
	instanceRoles = []model.InstanceRole{model.RoleOwner, model.RoleMember, model.RoleNoAccess}
	kinds         = []model.ActorKind{model.ActorUser, model.ActorAgent}
)

var vaultRank = map[model.VaultRole]int{"": 0, model.VaultProxy: 1, model.VaultMember: 2, model.VaultAdmin: 3}
var instRank = map[model.InstanceRole]int{model.RoleNoAccess: 1, model.RoleMember: 2, model.RoleOwner: 3}

// expect is the documented answer for one cell of the table.
func expect(s Subject, a Action) bool {
	if s.Kind == model.ActorAgent && (specAgentNever[a] || codeStricterThanSpec[a]) {
		return false
	}
	if a == ManageOwnAccount {
		return s.Kind == model.ActorUser
	}
	if min, ok := specVaultMin[a]; ok {
		// Owners are not implicit vault members: only the grant counts.
		return vaultRank[s.VaultRole] >= vaultRank[min] && vaultRank[s.VaultRole] > 0
	}
	if min, ok := specInstanceMin[a]; ok {
		return instRank[s.InstanceRole] >= instRank[min]
	}
	panic("action without a SPEC expectation: " + string(a))
}

func TestEveryActionHasExpectation(t *testing.T) {
	seen := map[Action]bool{}
	for _, a := range allActions {
		if seen[a] {
			t.Fatalf("duplicate action %q in allActions", a)
		}
		seen[a] = true
		_, v := specVaultMin[a]
		_, i := specInstanceMin[a]
		if v == i && a != ManageOwnAccount {
			t.Errorf("action %q must be exactly one of vault or instance scoped in the test table", a)
		}
	}
	if len(allActions) != len(specVaultMin)+len(specInstanceMin)+1 {
		t.Errorf("allActions has %d entries, tables have %d", len(allActions), len(specVaultMin)+len(specInstanceMin)+1)
	}
}

func TestDecideTable(t *testing.T) {
	for _, kind := range kinds {
		for _, ir := range instanceRoles {
			for _, vr := range vaultRoles {
				for _, a := range allActions {
					s := Subject{Kind: kind, InstanceRole: ir, VaultRole: vr}
					vrName := string(vr)
					if vrName == "" {
						vrName = "none"
					}
					name := fmt.Sprintf("%s/%s/%s/%s", kind, ir, vrName, a)
					want := expect(s, a)
					got := Decide(s, a)
					if got.Allowed != want {
						t.Errorf("%s: Allowed = %v, want %v (reason %q)", name, got.Allowed, want, got.Reason)
					}
					if got.Allowed && got.Reason != "" {
						t.Errorf("%s: allowed decision carries a reason %q", name, got.Reason)
					}
					if !got.Allowed && got.Reason == "" {
						t.Errorf("%s: denied without a reason", name)
					}
				}
			}
		}
	}
}

// docs/security-model.md: no agent token reads a plaintext value or approves/rejects a
// proposal, whatever its roles — including an owner agent with vault admin.
func TestAgentsNeverReadValuesOrReview(t *testing.T) {
	for _, ir := range append(instanceRoles, "") {
		for _, vr := range vaultRoles {
			s := Subject{Kind: model.ActorAgent, InstanceRole: ir, VaultRole: vr}
			for _, a := range []Action{ReadCredentialValue, ReviewProposal} {
				d := Decide(s, a)
				if d.Allowed {
					t.Errorf("agent %s/%s allowed %s", ir, vr, a)
				}
				if !strings.Contains(d.Reason, "agent") {
					t.Errorf("agent %s/%s denied %s with reason %q; want it to say agents cannot", ir, vr, a, d.Reason)
				}
			}
		}
	}
	// The same roles as a user are allowed: the deny is about the kind.
	u := Subject{Kind: model.ActorUser, InstanceRole: model.RoleNoAccess, VaultRole: model.VaultMember}
	for _, a := range []Action{ReadCredentialValue, ReviewProposal} {
		if !Decide(u, a).Allowed {
			t.Errorf("user vault member denied %s", a)
		}
	}
}

// Agents may still do what the proxy row and the security model leave them: proxy,
// discover, propose, list keys, and (as member) write values.
func TestAgentsKeepProxyCapabilities(t *testing.T) {
	s := Subject{Kind: model.ActorAgent, InstanceRole: model.RoleNoAccess, VaultRole: model.VaultProxy}
	for _, a := range []Action{ProxyThroughVault, DiscoverVault, RaiseProposal, ListCredentialKeys} {
		if !Decide(s, a).Allowed {
			t.Errorf("proxy agent denied %s", a)
		}
	}
	for _, a := range []Action{WriteCredential, ManageServices, AddAgentAsProxy, AddAgentAnyRole} {
		if Decide(s, a).Allowed {
			t.Errorf("proxy agent allowed %s", a)
		}
	}
	s.VaultRole = model.VaultMember
	for _, a := range []Action{WriteCredential, ManageServices, AddAgentAsProxy} {
		if !Decide(s, a).Allowed {
			t.Errorf("member agent denied %s", a)
		}
	}
	// An admin agent may still add agents as proxy, but grant no more.
	s.VaultRole = model.VaultAdmin
	if !Decide(s, AddAgentAsProxy).Allowed || Decide(s, AddAgentAnyRole).Allowed {
		t.Errorf("admin agent: add as proxy %v, add with any role %v; want allowed, denied",
			Decide(s, AddAgentAsProxy).Allowed, Decide(s, AddAgentAnyRole).Allowed)
	}
}

// docs/permissions.md: owners are not implicit vault members; they join a
// vault to see inside it. An owner without a grant is denied every vault action,
// and the reason tells them to join.
func TestOwnerWithoutGrantMustJoin(t *testing.T) {
	s := Subject{Kind: model.ActorUser, InstanceRole: model.RoleOwner}
	for a := range specVaultMin {
		d := Decide(s, a)
		if d.Allowed {
			t.Errorf("owner without grant allowed %s", a)
		}
		if !strings.Contains(d.Reason, "join") {
			t.Errorf("owner without grant denied %s with %q; want a hint to join", a, d.Reason)
		}
	}
	for _, a := range []Action{JoinAnyVault, DeleteAnyVault, ListAllVaults} {
		if !Decide(s, a).Allowed {
			t.Errorf("owner denied %s", a)
		}
	}
	// An agent with the owner role cannot join: it is told nothing of it.
	ag := Subject{Kind: model.ActorAgent, InstanceRole: model.RoleOwner}
	for a := range specVaultMin {
		if d := Decide(ag, a); d.Allowed || strings.Contains(d.Reason, "join") {
			t.Errorf("owner-role agent without grant: %s allowed %v, %q; want refused without a hint to join", a, d.Allowed, d.Reason)
		}
	}
	for _, a := range []Action{JoinAnyVault, DeleteAnyVault, ListAllVaults} {
		if Decide(ag, a).Allowed {
			t.Errorf("owner-role agent allowed %s", a)
		}
	}
}

// no-access: "only what vault grants give" — a no-access user with a vault
// admin grant administers that vault but nothing instance-wide.
func TestNoAccessOnlyWhatGrantsGive(t *testing.T) {
	s := Subject{Kind: model.ActorUser, InstanceRole: model.RoleNoAccess, VaultRole: model.VaultAdmin}
	for a := range specVaultMin {
		if !Decide(s, a).Allowed {
			t.Errorf("no-access vault admin denied %s", a)
		}
	}
	for a := range specInstanceMin {
		if Decide(s, a).Allowed {
			t.Errorf("no-access user allowed instance action %s", a)
		}
	}
	if !Decide(s, ManageOwnAccount).Allowed {
		t.Error("no-access user denied managing their own account")
	}
}

func TestDenyReasonsNameTheMissingRole(t *testing.T) {
	d := Decide(Subject{Kind: model.ActorUser, InstanceRole: model.RoleMember, VaultRole: model.VaultProxy}, WriteCredential)
	if d.Allowed || !strings.Contains(d.Reason, "member") || !strings.Contains(d.Reason, "proxy") {
		t.Errorf("vault reason = %q; want the needed (member) and held (proxy) roles", d.Reason)
	}
	d = Decide(Subject{Kind: model.ActorUser, InstanceRole: model.RoleMember}, ChangeInstanceSetting)
	if d.Allowed || !strings.Contains(d.Reason, "owner") {
		t.Errorf("instance reason = %q; want the needed role owner", d.Reason)
	}
	d = Decide(Subject{Kind: model.ActorUser}, CreateVault)
	if d.Allowed || !strings.Contains(d.Reason, "none") {
		t.Errorf("empty instance role reason = %q; want it shown as none", d.Reason)
	}
}

// Anything outside the known vocabulary fails closed.
func TestDecideFailsClosed(t *testing.T) {
	strongest := Subject{Kind: model.ActorUser, InstanceRole: model.RoleOwner, VaultRole: model.VaultAdmin}
	cases := []struct {
		name string
		s    Subject
		a    Action
	}{
		{"unknown action", strongest, Action("vault.everything")},
		{"empty action", strongest, Action("")},
		{"empty kind", Subject{InstanceRole: model.RoleOwner, VaultRole: model.VaultAdmin}, ProxyThroughVault},
		{"unknown kind", Subject{Kind: "robot", InstanceRole: model.RoleOwner, VaultRole: model.VaultAdmin}, ManageOwnAccount},
		{"unknown vault role", Subject{Kind: model.ActorUser, InstanceRole: model.RoleOwner, VaultRole: "superadmin"}, ProxyThroughVault},
		{"uppercase vault role", Subject{Kind: model.ActorUser, VaultRole: "ADMIN"}, DeleteVault},
		{"unknown instance role", Subject{Kind: model.ActorUser, InstanceRole: "root"}, CreateVault},
		{"empty instance role", Subject{Kind: model.ActorUser, VaultRole: model.VaultAdmin}, CreateVault},
		{"instance role used as vault role", Subject{Kind: model.ActorUser, VaultRole: model.VaultRole(model.RoleOwner)}, ProxyThroughVault},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.s, c.a)
			if d.Allowed {
				t.Fatalf("allowed; want deny")
			}
			if d.Reason == "" {
				t.Fatal("denied without a reason")
			}
		})
	}
}
