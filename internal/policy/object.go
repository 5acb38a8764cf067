package policy

import "github.com/agent-vault/agent-vault/internal/model"

// Actions on one object that someone owns: an agent, an invite. Owners are
// recorded by immutable id (a user's or an agent's), never by a name that
// a later account or agent could take; the caller compares ids and sets
// Subject.Owns.
const (
	// ManageAgent is showing, rotating, revoking, renaming, deleting one
	// agent. Subject.TargetRole is the agent's instance role.
	ManageAgent Action = "instance.agent.manage-one"
	// ViewInvite and RevokeInvite are about one invite. Subject.VaultRole
	// is the subject's strongest role among the vaults the invite grants
	// ("" when it holds none of them).
	ViewInvite   Action = "instance.invite.view"
	RevokeInvite Action = "instance.invite.revoke"
)

// decideObject answers the object actions; ok is false for other actions.
func decideObject(s Subject, a Action) (d Decision, ok bool) {
	switch a {
	case ManageAgent:
		return decideAgent(s), true
	case ViewInvite, RevokeInvite:
		return decideInvite(s), true
	}
	return Decision{}, false
}

// decideAgent: instance owners who are users manage every agent; anyone
// else who may manage agents, an owner-role agent included, only the
// agents they own, and never an owner-role one. An agent cannot join a
// vault, and rotating another agent's token hands the caller that agent's
// vault grants: an owner-role agent that could rotate every agent could
// enter every vault through them (docs/permissions.md).
func decideAgent(s Subject) Decision {
	if !s.InstanceRole.Satisfies(model.RoleMember) {
		return deny("managing agents needs the instance role member (you have " + roleOrNone(s.InstanceRole) + ")")
	}
	if s.InstanceRole == model.RoleOwner && s.Kind == model.ActorUser {
		return allow()
	}
	if s.TargetRole == model.RoleOwner {
		return deny("an agent with the owner role is managed by instance owners only")
	}
	if !s.Owns {
		return deny("you can manage only the agents you own (those you created, or that an owner handed to you); ask an instance owner")
	}
	return allow()
}

// decideInvite: instance owners see and revoke every invite; members the
// invites they sent, and those into a vault they administer.
func decideInvite(s Subject) Decision {
	if !s.InstanceRole.Satisfies(model.RoleMember) {
		return deny("invites need the instance role member (you have " + roleOrNone(s.InstanceRole) + ")")
	}
	if s.InstanceRole == model.RoleOwner || s.Owns || s.VaultRole.Satisfies(model.VaultAdmin) {
		return allow()
	}
	return deny("you can see and revoke only the invites you sent and those into vaults you administer; ask an instance owner")
}
