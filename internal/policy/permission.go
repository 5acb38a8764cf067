// Package policy makes Agent Vault's pure decisions: who may do what
// (docs/permissions.md), on objects someone owns too (object.go), and
// where an agent may send a credential (binding.go). Nothing here does I/O; every decision is a value that table tests can check.
package policy

import (
	"fmt"

	"github.com/agent-vault/agent-vault/internal/model"
)

// Subject is the actor a permission decision is about, with its role in
// the vault the action targets ("" when it holds no grant there, or when
// the action is instance-wide).
type Subject struct {
	Kind         model.ActorKind
	InstanceRole model.InstanceRole
	VaultRole    model.VaultRole
	// For actions on one object (see object.go): Owns is whether the
	// subject is the object's recorded owner, compared by immutable id,
	// never by a name; TargetRole is the object's instance role (an
	// agent's).
	Owns       bool
	TargetRole model.InstanceRole
}

// Action is something an actor asks to do.
type Action string

// Vault-scoped actions (docs/permissions.md, "Vault roles").
const (
	ProxyThroughVault   Action = "vault.proxy"
	DiscoverVault       Action = "vault.discover"
	RaiseProposal       Action = "vault.proposal.create"
	ListCredentialKeys  Action = "vault.credential.list"
	ReadCredentialValue Action = "vault.credential.read"
	WriteCredential     Action = "vault.credential.write"
	BindCredential      Action = "vault.credential.bind" // widen or narrow a credential's host binding
	ReviewProposal      Action = "vault.proposal.review"
	ManageServices      Action = "vault.service.manage"
	AddAgentAsProxy     Action = "vault.agent.add-proxy"
	ViewVault           Action = "vault.view" // settings, member list
	ManageVaultUsers    Action = "vault.user.manage"
	AddAgentAnyRole     Action = "vault.agent.add-any"
	DeleteVault         Action = "vault.delete"
	RenameVault         Action = "vault.rename"
	ChangeVaultSettings Action = "vault.settings"
	LeaveVault          Action = "vault.leave"
	ViewLogs            Action = "vault.logs" // the request log and discovered hosts
	// ViewMemberEmails is seeing who the vault's people are: members'
	// and invitees' email addresses, and the users named as requesters
	// and deciders of proposals. Not for the proxy role, whose holders
	// are the agents the vault serves.
	ViewMemberEmails Action = "vault.user.emails"
	ReadVaultTrail   Action = "vault.audit" // the vault's rows of the admin audit trail
)

// Instance-wide actions.
const (
	CreateVault           Action = "instance.vault.create"
	ListAllVaults         Action = "instance.vault.list-all"
	JoinAnyVault          Action = "instance.vault.join"
	DeleteAnyVault        Action = "instance.vault.delete-any"
	ManageInstanceUsers   Action = "instance.user.manage" // set roles, delete users
	ListUsers             Action = "instance.user.list"
	InviteUser            Action = "instance.user.invite"
	InviteOwner           Action = "instance.user.invite-owner"
	ChangeInstanceSetting Action = "instance.settings"
	ManageAgents          Action = "instance.agent.manage"
	ManageOwnAccount      Action = "account.manage" // me, password, sessions, delete self
	ReadAdminTrail        Action = "instance.audit" // the whole admin audit trail: list, verify, export
)

// Decision is the outcome of a permission check. Reason is safe to show.
type Decision struct {
	Allowed bool
	Reason  string
}

var vaultActionMin = map[Action]model.VaultRole{
	ProxyThroughVault:   model.VaultProxy,
	DiscoverVault:       model.VaultProxy,
	RaiseProposal:       model.VaultProxy,
	ListCredentialKeys:  model.VaultProxy,
	ViewVault:           model.VaultProxy,
	LeaveVault:          model.VaultProxy,
	ReadCredentialValue: model.VaultMember,
	WriteCredential:     model.VaultMember,
	BindCredential:      model.VaultMember,
	ReviewProposal:      model.VaultMember,
	ManageServices:      model.VaultMember,
	AddAgentAsProxy:     model.VaultMember,
	ViewLogs:            model.VaultMember,
	ViewMemberEmails:    model.VaultMember,
	ManageVaultUsers:    model.VaultAdmin,
	AddAgentAnyRole:     model.VaultAdmin,
	DeleteVault:         model.VaultAdmin,
	RenameVault:         model.VaultAdmin,
	ChangeVaultSettings: model.VaultAdmin,
	ReadVaultTrail:      model.VaultAdmin,
}

var instanceActionMin = map[Action]model.InstanceRole{
	CreateVault:           model.RoleMember,
	ListUsers:             model.RoleMember,
	InviteUser:            model.RoleMember,
	ManageAgents:          model.RoleMember,
	ListAllVaults:         model.RoleOwner,
	JoinAnyVault:          model.RoleOwner,
	DeleteAnyVault:        model.RoleOwner,
	ManageInstanceUsers:   model.RoleOwner,
	InviteOwner:           model.RoleOwner,
	ChangeInstanceSetting: model.RoleOwner,
	ReadAdminTrail:        model.RoleOwner,
}

// userOnly are actions no agent may take whatever its roles: an agent must
// never read a plaintext value nor approve its own request, and
// account, membership and instance administration belong to humans. The
// whole admin row of the vault role table is here, granting agents roles above proxy
// included: an agent may hand out the proxy role (AddAgentAsProxy, as a
// member), never more, so a prompt-injected agent cannot raise another
// agent it controls to member or admin (docs/permissions.md, "What agents
// never do").
var userOnly = map[Action]bool{
	ReadCredentialValue:   true,
	BindCredential:        true,
	ReviewProposal:        true,
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
	ManageOwnAccount:      true,
	ListUsers:             true, // the instance's people and their emails
	ViewInvite:            true,
	RevokeInvite:          true,
	ReadVaultTrail:        true,
	ReadAdminTrail:        true,
}

// Decide answers whether s may take action a. It is the single place where
// docs/permissions.md is encoded; callers supply the subject's vault role for vault
// actions. Owners are not implicit vault members: they need a grant, which
// JoinAnyVault lets them take.
func Decide(s Subject, a Action) Decision {
	if s.Kind != model.ActorUser && s.Kind != model.ActorAgent {
		return deny("unknown kind of actor")
	}
	if userOnly[a] && s.Kind != model.ActorUser {
		return deny("only a logged-in user may do this; agent tokens never can")
	}
	if a == ManageOwnAccount {
		return allow()
	}
	if d, ok := decideObject(s, a); ok {
		return d
	}
	if min, ok := vaultActionMin[a]; ok {
		if !s.VaultRole.Valid() {
			if s.InstanceRole == model.RoleOwner && s.Kind == model.ActorUser {
				return deny("no access to this vault: as the owner, join it first (agent-vault owner vault join)")
			}
			return deny("no access to this vault")
		}
		if !s.VaultRole.Satisfies(min) {
			return deny(fmt.Sprintf("this needs the vault role %s or higher (you have %s)", min, s.VaultRole))
		}
		return allow()
	}
	if min, ok := instanceActionMin[a]; ok {
		if !s.InstanceRole.Satisfies(min) {
			return deny(fmt.Sprintf("this needs the instance role %s (you have %s)", min, roleOrNone(s.InstanceRole)))
		}
		return allow()
	}
	return deny("unknown action " + string(a))
}

func roleOrNone(r model.InstanceRole) string {
	if r == "" {
		return "none"
	}
	return string(r)
}

func allow() Decision          { return Decision{Allowed: true} }
func deny(why string) Decision { return Decision{Reason: why} }
