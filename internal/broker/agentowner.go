package broker

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
)

// Who manages an agent. An agent records its owner by immutable id: the
// user's or the agent's that created it, or the user an owner handed it
// to. Names (emails, agent names) are labels only: a later account or
// agent that takes a name takes none of its rights. See
// docs/services-and-agents.md.

// ownerIDs are the (user, agent) ids that own the agents a creates.
// Vault-scoped sessions own nothing (they cannot create agents).
func ownerIDs(a Actor) (userID, agentID string) {
	switch {
	case a.Scope != nil:
		return "", ""
	case a.Kind == model.ActorAgent:
		return "", a.Agent.ID
	}
	return a.User.ID, ""
}

// owns reports whether a is ag's recorded owner.
func owns(a Actor, ag model.Agent) bool {
	uid, aid := ownerIDs(a)
	return (uid != "" && uid == ag.OwnerUserID) || (aid != "" && aid == ag.OwnerAgentID)
}

// canManageAgent decides whether a may show, rotate, revoke, rename or
// delete ag (policy.ManageAgent).
func canManageAgent(a Actor, ag model.Agent) error {
	s := a.subject("")
	s.Owns, s.TargetRole = owns(a, ag), ag.Role
	if d := policy.Decide(s, policy.ManageAgent); !d.Allowed {
		return errs.Forbidden("%s", d.Reason)
	}
	return nil
}

// ownerLabel names ag's owner as it is called now: an email, agent:<name>,
// or "" when it has none (instance owners only).
func ownerLabel(ctx context.Context, st store.Store, ag model.Agent) (string, error) {
	var (
		label string
		err   error
	)
	switch {
	case ag.OwnerUserID != "":
		var u model.User
		u, err = st.Users().ByID(ctx, ag.OwnerUserID)
		label = u.Email
	case ag.OwnerAgentID != "":
		var o model.Agent
		o, err = st.Agents().ByID(ctx, ag.OwnerAgentID)
		label = "agent:" + o.Name
	}
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return label, internal(err, "reading the agent's owner")
}

// ownedBy lists the agents a user or an agent (one id set) owns.
func ownedBy(ctx context.Context, tx store.Store, userID, agentID string) ([]model.Agent, error) {
	all, err := tx.Agents().List(ctx)
	if err != nil {
		return nil, internal(err, "listing agents")
	}
	var out []model.Agent
	for _, ag := range all {
		if (userID != "" && ag.OwnerUserID == userID) || (agentID != "" && ag.OwnerAgentID == agentID) {
			out = append(out, ag)
		}
	}
	return out, nil
}

// revokeOwnedAgents revokes every agent owned by the user or agent about
// to be deleted (token replaced by a random hash, vault sessions ended)
// and leaves it owned by nobody: only instance owners can rotate it back.
// The agents those created are revoked too, transitively (they keep their
// owner). It returns their names.
func (b *Broker) revokeOwnedAgents(ctx context.Context, tx store.Store, userID, agentID string) ([]string, error) {
	ags, err := ownedBy(ctx, tx, userID, agentID)
	if err != nil {
		return nil, err
	}
	names := []string{}
	now := b.now()
	for _, ag := range ags {
		ag.OwnerUserID, ag.OwnerAgentID = "", ""
		if err := revokeAgentRow(ctx, tx, ag, now); err != nil {
			return nil, err
		}
		names = append(names, ag.Name)
		more, err := b.revokeDescendants(ctx, tx, ag.ID)
		if err != nil {
			return nil, err
		}
		names = append(names, more...)
	}
	return names, nil
}

// transferAgents hands every agent the user from owns to the user to.
// to must be able to manage agents, and to have granted each of their
// vault grants itself: otherwise rotating a handed-over token would open
// vaults to someone their admins never let in.
func (b *Broker) transferAgents(ctx context.Context, tx store.Store, from, to model.User) ([]string, error) {
	if !to.Role.Satisfies(model.RoleMember) {
		return nil, errs.Conflict("cannot hand agents to %s: their instance role is %s, which cannot manage agents; make them a member first, or delete without --transfer-agents-to to revoke the agents", to.Email, to.Role).WithCode("transfer_target_cannot_manage")
	}
	ags, err := ownedBy(ctx, tx, from.ID, "")
	if err != nil {
		return nil, err
	}
	heir := Actor{Kind: model.ActorUser, User: to}
	names := []string{}
	var missing []string
	for _, ag := range ags {
		gs, err := tx.AgentGrants().ListByAgent(ctx, ag.ID)
		if err != nil {
			return nil, internal(err, "listing agent grants")
		}
		for _, g := range gs {
			vr, err := b.roleIn(ctx, tx, heir, g.VaultID)
			if err != nil {
				return nil, err
			}
			if authorize(heir, vr, agentVaultPolicy(g.Role)) != nil {
				missing = append(missing, ag.Name+" ("+g.VaultName+":"+string(g.Role)+")")
			}
		}
		ag.OwnerUserID, ag.OwnerAgentID, ag.UpdatedAt = to.ID, "", b.now()
		if err := tx.Agents().Update(ctx, ag); err != nil {
			return nil, internal(err, "handing over agent "+ag.Name)
		}
		names = append(names, ag.Name)
	}
	if len(missing) > 0 {
		return nil, errs.Conflict("cannot hand the agents to %s: they could not have granted %s themselves; give them that vault role first, or delete without --transfer-agents-to to revoke the agents", to.Email, strings.Join(missing, ", ")).WithCode("transfer_target_lacks_vault")
	}
	return names, nil
}

// revokeDescendants revokes the agents agent agentID created, and those
// they created, transitively: token replaced by a random hash, vault
// sessions ended, owner kept (so that the owner, once it holds a working
// token again, can rotate them back). A thief of an agent token could
// have created them to outlive the token; revoking, rotating or deleting
// the agent stops them (docs/services-and-agents.md). It returns the
// names of those it revoked.
func (b *Broker) revokeDescendants(ctx context.Context, tx store.Store, agentID string) ([]string, error) {
	all, err := tx.Agents().List(ctx)
	if err != nil {
		return nil, internal(err, "listing agents")
	}
	children := map[string][]model.Agent{}
	for _, ag := range all {
		if ag.OwnerAgentID != "" {
			children[ag.OwnerAgentID] = append(children[ag.OwnerAgentID], ag)
		}
	}
	names := []string{}
	now := b.now()
	seen := map[string]bool{agentID: true}
	queue := []string{agentID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, ag := range children[id] {
			if seen[ag.ID] {
				continue
			}
			seen[ag.ID] = true
			queue = append(queue, ag.ID)
			if ag.Status == model.AgentRevoked {
				continue
			}
			if err := revokeAgentRow(ctx, tx, ag, now); err != nil {
				return nil, err
			}
			names = append(names, ag.Name)
		}
	}
	return names, nil
}

// revokeAgentRow stores ag revoked (unless it already is: its revocation
// time stays), its token replaced by the hash of a random one, and ends
// the vault sessions it minted.
func revokeAgentRow(ctx context.Context, tx store.Store, ag model.Agent, now time.Time) error {
	ag.UpdatedAt = now
	if ag.Status != model.AgentRevoked {
		ag.Status, ag.RevokedAt = model.AgentRevoked, &now
		ag.TokenHash = token.Hash(token.New(token.PrefixAgent))
	}
	if err := tx.Agents().Update(ctx, ag); err != nil {
		return internal(err, "revoking agent "+ag.Name)
	}
	if err := tx.ScopedSessions().DeleteByAgent(ctx, ag.ID); err != nil {
		return internal(err, "ending the sessions of agent "+ag.Name)
	}
	return nil
}
