package broker

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
	"github.com/agent-vault/agent-vault/internal/trail"
	"github.com/google/uuid"
)

// maxAgentVaults bounds the grants one create request may carry.
const maxAgentVaults = 50

// maxAgentChain is how many agents deep a creation chain may go: a person
// creates an agent, which may create agents, whose agents may create
// agents... The proposal quota is shared along the chain (rootAgent), and
// every proposal walks it; a bound keeps that walk short.
const maxAgentChain = 8

// agentVaultPolicy is the vault-level right needed to grant an agent role r:
// members may add agents as proxy only; other roles need a vault admin.
func agentVaultPolicy(r model.VaultRole) policy.Action {
	if r == model.VaultProxy {
		return policy.AddAgentAsProxy
	}
	return policy.AddAgentAnyRole
}

// CreateAgent creates an agent with a fresh token (shown once) and its
// vault grants, all or nothing.
func (b *Broker) CreateAgent(ctx context.Context, a Actor, in apitype.CreateAgentRequest) (apitype.AgentCreated, error) {
	if err := authorize(a, "", policy.ManageAgents); err != nil {
		return apitype.AgentCreated{}, err
	}
	if err := model.ValidateSlug("name", in.Name); err != nil {
		return apitype.AgentCreated{}, err
	}
	role := model.RoleNoAccess
	if in.Role != "" {
		r, err := model.ParseInstanceRole("role", in.Role)
		if err != nil {
			return apitype.AgentCreated{}, err
		}
		role = r
	}
	if !a.Role().Satisfies(role) {
		return apitype.AgentCreated{}, errs.Forbidden("you cannot create an agent with a higher instance role (%s) than your own (%s)", role, a.Role())
	}
	if len(in.Vaults) > maxAgentVaults {
		return apitype.AgentCreated{}, errs.Invalid("vaults", "an agent can be created with at most %d vault grants", maxAgentVaults)
	}
	tok := token.New(token.PrefixAgent)
	now := b.now()
	ag := model.Agent{ID: uuid.NewString(), Name: in.Name, Role: role, TokenHash: token.Hash(tok), Status: model.AgentActive, CreatedBy: a.Name(), CreatedAt: now, UpdatedAt: now}
	ag.OwnerUserID, ag.OwnerAgentID = ownerIDs(a)
	out := apitype.AgentCreated{Token: tok, Name: ag.Name, Role: string(role), Vaults: []apitype.AgentVault{}, CreatedAt: now}
	err := b.tx(ctx, func(tx store.Store) error {
		if ag.OwnerAgentID != "" {
			depth, err := chainDepth(ctx, tx, ag.OwnerAgentID)
			if err != nil {
				return err
			}
			if depth >= maxAgentChain {
				return errs.Forbidden("agents may be created at most %d deep (a person's agent, its agents, theirs…): this agent is %d deep, so it cannot create more; ask a person to create the agent", maxAgentChain, depth)
			}
		}
		if err := tx.Agents().Create(ctx, ag); err != nil {
			return conflict(err, "an agent named %q already exists: pick another name, or rotate its token with `agent-vault agent rotate %s`", in.Name, in.Name)
		}
		seen := map[string]bool{}
		for i, av := range in.Vaults {
			field := "vaults[" + strconv.Itoa(i) + "]"
			vr := model.VaultProxy
			if av.VaultRole != "" {
				r, err := model.ParseVaultRole(field+".vault_role", av.VaultRole)
				if err != nil {
					return err
				}
				vr = r
			}
			if seen[av.VaultName] {
				return errs.Invalid(field+".vault_name", "vault %q is listed twice", av.VaultName)
			}
			seen[av.VaultName] = true
			v, _, err := b.vaultAuthorized(ctx, tx, a, av.VaultName, agentVaultPolicy(vr))
			if err != nil {
				return err
			}
			if err := tx.AgentGrants().Put(ctx, model.AgentGrant{VaultID: v.ID, AgentID: ag.ID, Role: vr, CreatedAt: now}); err != nil {
				return internal(err, "granting the vault")
			}
			out.Vaults = append(out.Vaults, apitype.AgentVault{VaultName: v.Name, VaultRole: string(vr)})
			if err := b.record(ctx, tx, with(a.event(trail.AgentGrant, v, ag.Name), "role="+string(vr))); err != nil {
				return err
			}
		}
		return b.record(ctx, tx, with(a.event(trail.AgentCreate, model.Vault{}, ag.Name), "role="+string(role)))
	})
	if err != nil {
		return apitype.AgentCreated{}, err
	}
	return out, nil
}

// agentView renders an agent with its grants.
func (b *Broker) agentView(ctx context.Context, st store.Store, ag model.Agent, detail bool) (apitype.Agent, error) {
	gs, err := st.AgentGrants().ListByAgent(ctx, ag.ID)
	if err != nil {
		return apitype.Agent{}, internal(err, "listing agent grants")
	}
	out := apitype.Agent{Name: ag.Name, Role: string(ag.Role), Status: string(ag.Status), Vaults: []apitype.AgentVault{}, CreatedAt: ag.CreatedAt, RevokedAt: ag.RevokedAt}
	for _, g := range gs {
		out.Vaults = append(out.Vaults, apitype.AgentVault{VaultName: g.VaultName, VaultRole: string(g.Role)})
	}
	if detail {
		out.CreatedBy, out.UpdatedAt = ag.CreatedBy, ag.UpdatedAt
		owner, err := ownerLabel(ctx, st, ag)
		if err != nil {
			return out, err
		}
		out.Owner = owner
	}
	return out, nil
}

// ListAgents lists the agents the actor can manage (owners: all).
func (b *Broker) ListAgents(ctx context.Context, a Actor) (apitype.AgentList, error) {
	out := apitype.AgentList{Agents: []apitype.Agent{}}
	if err := authorize(a, "", policy.ManageAgents); err != nil {
		return out, err
	}
	ags, err := b.st.Agents().List(ctx)
	if err != nil {
		return out, internal(err, "listing agents")
	}
	for _, ag := range ags {
		if canManageAgent(a, ag) != nil {
			continue
		}
		v, err := b.agentView(ctx, b.st, ag, false)
		if err != nil {
			return out, err
		}
		out.Agents = append(out.Agents, v)
	}
	return out, nil
}

// managedAgent loads an agent by name and checks the actor may manage it.
func (b *Broker) managedAgent(ctx context.Context, st store.Store, a Actor, name string) (model.Agent, error) {
	if err := model.ValidateSlug("name", name); err != nil {
		return model.Agent{}, err
	}
	ag, err := st.Agents().ByName(ctx, name)
	if err != nil {
		return ag, notFound(err, "agent %q not found: list agents with `agent-vault agent list`", name)
	}
	if err := canManageAgent(a, ag); err != nil {
		return ag, err
	}
	return ag, nil
}

// GetAgent shows one agent.
func (b *Broker) GetAgent(ctx context.Context, a Actor, name string) (apitype.Agent, error) {
	ag, err := b.managedAgent(ctx, b.st, a, name)
	if err != nil {
		return apitype.Agent{}, err
	}
	v, err := b.agentView(ctx, b.st, ag, true)
	if a.Kind == model.ActorAgent {
		hideAgentPeople(&v)
	}
	return v, err
}

// RevokeAgent disables an agent's token, ends the sessions it minted and
// revokes the agents it created (revokeDescendants); the agent is kept
// (rotate reactivates it).
func (b *Broker) RevokeAgent(ctx context.Context, a Actor, name string) (apitype.MessageResponse, error) {
	var revoked []string
	err := b.tx(ctx, func(tx store.Store) error {
		ag, err := b.managedAgent(ctx, tx, a, name)
		if err != nil {
			return err
		}
		if ag.Status == model.AgentRevoked {
			return errs.Conflict("agent %q is already revoked", name)
		}
		now := b.now()
		ag.Status, ag.UpdatedAt, ag.RevokedAt = model.AgentRevoked, now, &now
		// A fresh random hash: the old token can never match again.
		ag.TokenHash = token.Hash(token.New(token.PrefixAgent))
		if err := tx.Agents().Update(ctx, ag); err != nil {
			return internal(err, "revoking the agent")
		}
		if err := tx.ScopedSessions().DeleteByAgent(ctx, ag.ID); err != nil {
			return internal(err, "ending the agent's sessions")
		}
		if revoked, err = b.revokeDescendants(ctx, tx, ag.ID); err != nil {
			return err
		}
		return b.record(ctx, tx, a.event(trail.AgentRevoke, model.Vault{}, ag.Name))
	})
	if err != nil {
		return apitype.MessageResponse{}, err
	}
	msg := "agent \"" + name + "\" revoked"
	if len(revoked) > 0 {
		msg += "; the agents it created were revoked too: " + strings.Join(revoked, ", ")
	}
	return apitype.MessageResponse{Message: msg}, nil
}

// DeleteAgent removes an agent, its grants and its sessions for good. The
// agents it owned are revoked, as a deleted user's are.
func (b *Broker) DeleteAgent(ctx context.Context, a Actor, name string) (apitype.MessageResponse, error) {
	var revoked []string
	err := b.tx(ctx, func(tx store.Store) error {
		ag, err := b.managedAgent(ctx, tx, a, name)
		if err != nil {
			return err
		}
		if revoked, err = b.revokeOwnedAgents(ctx, tx, "", ag.ID); err != nil {
			return err
		}
		return b.recordAfter(ctx, tx, notFound(tx.Agents().Delete(ctx, ag.ID), "agent %q not found", name), a.event(trail.AgentDelete, model.Vault{}, ag.Name))
	})
	if err != nil {
		return apitype.MessageResponse{}, err
	}
	msg := "agent \"" + name + "\" deleted"
	if len(revoked) > 0 {
		msg += "; the agents it owned were revoked: " + strings.Join(revoked, ", ")
	}
	return apitype.MessageResponse{Message: msg}, nil
}

// RotateAgent issues a new token (the old one stops working), ends the
// vault sessions the agent minted and revokes the agents it created (a
// rotation answers a leaked token, and nothing made with it may outlive
// it; the new token's holder rotates its agents back), and reactivates a
// revoked agent.
func (b *Broker) RotateAgent(ctx context.Context, a Actor, name string) (apitype.AgentRotated, error) {
	tok := token.New(token.PrefixAgent)
	var out apitype.AgentRotated
	err := b.tx(ctx, func(tx store.Store) error {
		ag, err := b.managedAgent(ctx, tx, a, name)
		if err != nil {
			return err
		}
		now := b.now()
		ag.TokenHash, ag.Status, ag.UpdatedAt, ag.RevokedAt = token.Hash(tok), model.AgentActive, now, nil
		if err := tx.Agents().Update(ctx, ag); err != nil {
			return internal(err, "rotating the token")
		}
		if err := tx.ScopedSessions().DeleteByAgent(ctx, ag.ID); err != nil {
			return internal(err, "ending the agent's sessions")
		}
		revoked, err := b.revokeDescendants(ctx, tx, ag.ID)
		if err != nil {
			return err
		}
		out = apitype.AgentRotated{Token: tok, Name: ag.Name, RotatedAt: now, RevokedAgents: revoked}
		return b.record(ctx, tx, a.event(trail.AgentRotate, model.Vault{}, ag.Name))
	})
	return out, err
}

// RenameAgent renames an agent; its token and grants stay.
func (b *Broker) RenameAgent(ctx context.Context, a Actor, name string, in apitype.RenameVaultRequest) (apitype.AgentRenamed, error) {
	if err := model.ValidateSlug("name", in.Name); err != nil {
		return apitype.AgentRenamed{}, err
	}
	err := b.tx(ctx, func(tx store.Store) error {
		ag, err := b.managedAgent(ctx, tx, a, name)
		if err != nil {
			return err
		}
		ag.Name, ag.UpdatedAt = in.Name, b.now()
		return b.recordAfter(ctx, tx, conflict(tx.Agents().Update(ctx, ag), "an agent named %q already exists", in.Name), with(a.event(trail.AgentRename, model.Vault{}, in.Name), "from="+name))
	})
	if err != nil {
		return apitype.AgentRenamed{}, err
	}
	return apitype.AgentRenamed{Message: "agent renamed", OldName: name, NewName: in.Name}, nil
}

// SetAgentRole changes an agent's instance role (owners only).
func (b *Broker) SetAgentRole(ctx context.Context, a Actor, name string, in apitype.RoleRequest) (apitype.AgentRoleChanged, error) {
	if err := authorize(a, "", policy.ManageInstanceUsers); err != nil {
		return apitype.AgentRoleChanged{}, err
	}
	role, err := model.ParseInstanceRole("role", in.Role)
	if err != nil {
		return apitype.AgentRoleChanged{}, err
	}
	var out apitype.AgentRoleChanged
	err = b.tx(ctx, func(tx store.Store) error {
		ag, err := b.managedAgent(ctx, tx, a, name)
		if err != nil {
			return err
		}
		if ag.Status == model.AgentRevoked {
			return errs.Conflict("agent %q is revoked: rotate its token first", name)
		}
		out = apitype.AgentRoleChanged{Agent: name, OldRole: string(ag.Role), NewRole: string(role)}
		ag.Role, ag.UpdatedAt = role, b.now()
		return b.recordAfter(ctx, tx, internal(tx.Agents().Update(ctx, ag), "changing the role"), with(a.event(trail.AgentRole, model.Vault{}, ag.Name), "role="+string(role)))
	})
	return out, err
}

// ListVaultAgents lists the agents granted a vault (any vault member).
func (b *Broker) ListVaultAgents(ctx context.Context, a Actor, vault string) (apitype.VaultAgentList, error) {
	out := apitype.VaultAgentList{Agents: []apitype.VaultAgent{}}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, policy.ViewVault)
	if err != nil {
		return out, err
	}
	gs, err := b.st.AgentGrants().ListByVault(ctx, v.ID)
	if err != nil {
		return out, internal(err, "listing vault agents")
	}
	for _, g := range gs {
		out.Agents = append(out.Agents, apitype.VaultAgent{Name: g.AgentName, AgentID: g.AgentID, VaultRole: string(g.Role), Status: string(g.AgentStatus)})
	}
	return out, nil
}

// vaultAgent loads a vault (checking act for the role involved) and an agent.
func (b *Broker) vaultAgent(ctx context.Context, tx store.Store, a Actor, vault, agent string, act policy.Action) (model.Vault, model.Agent, error) {
	v, _, err := b.vaultAuthorized(ctx, tx, a, vault, act)
	if err != nil {
		return v, model.Agent{}, err
	}
	if err := model.ValidateSlug("name", agent); err != nil {
		return v, model.Agent{}, err
	}
	ag, err := tx.Agents().ByName(ctx, agent)
	if err != nil {
		return v, ag, notFound(err, "agent %q not found: list agents with `agent-vault agent list`", agent)
	}
	return v, ag, nil
}

// AddVaultAgent grants an agent a vault: members may grant proxy only.
func (b *Broker) AddVaultAgent(ctx context.Context, a Actor, vault string, in apitype.VaultAgentRequest) (apitype.MessageResponse, error) {
	role := model.VaultProxy
	if in.Role != "" {
		r, err := model.ParseVaultRole("role", in.Role)
		if err != nil {
			return apitype.MessageResponse{}, err
		}
		role = r
	}
	var out apitype.MessageResponse
	err := b.tx(ctx, func(tx store.Store) error {
		v, ag, err := b.vaultAgent(ctx, tx, a, vault, in.Name, agentVaultPolicy(role))
		if err != nil {
			return err
		}
		if ag.Status == model.AgentRevoked {
			return errs.Conflict("agent %q is revoked: rotate its token first", ag.Name)
		}
		if _, err := tx.AgentGrants().Get(ctx, v.ID, ag.ID); err == nil {
			return errs.Conflict("agent %q already has access to vault %q: change its role with `agent-vault vault agent set-role`", ag.Name, v.Name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return internal(err, "reading grants")
		}
		if err := tx.AgentGrants().Put(ctx, model.AgentGrant{VaultID: v.ID, AgentID: ag.ID, Role: role, CreatedAt: b.now()}); err != nil {
			return internal(err, "granting the vault")
		}
		out = apitype.MessageResponse{Message: "agent \"" + ag.Name + "\" added to vault \"" + v.Name + "\" as " + string(role)}
		return b.record(ctx, tx, with(a.event(trail.AgentGrant, v, ag.Name), "role="+string(role)))
	})
	return out, err
}

// RemoveVaultAgent removes an agent's grant (admins, or members for a proxy grant).
func (b *Broker) RemoveVaultAgent(ctx context.Context, a Actor, vault, agent string) (apitype.MessageResponse, error) {
	var out apitype.MessageResponse
	err := b.tx(ctx, func(tx store.Store) error {
		v, ag, err := b.vaultAgent(ctx, tx, a, vault, agent, policy.AddAgentAsProxy)
		if err != nil {
			return err
		}
		g, err := tx.AgentGrants().Get(ctx, v.ID, ag.ID)
		if err != nil {
			return notFound(err, "agent %q has no access to vault %q", ag.Name, v.Name)
		}
		vr, _ := b.roleIn(ctx, tx, a, v.ID)
		if err := authorize(a, vr, agentVaultPolicy(g.Role)); err != nil {
			return err
		}
		if err := tx.AgentGrants().Delete(ctx, v.ID, ag.ID); err != nil {
			return internal(err, "removing the grant")
		}
		out = apitype.MessageResponse{Message: "agent \"" + ag.Name + "\" removed from vault \"" + v.Name + "\""}
		return b.record(ctx, tx, a.event(trail.AgentUngrant, v, ag.Name))
	})
	return out, err
}

// SetVaultAgentRole changes an agent's role in a vault (admins).
func (b *Broker) SetVaultAgentRole(ctx context.Context, a Actor, vault, agent string, in apitype.RoleRequest) (apitype.RoleChanged, error) {
	role, err := model.ParseVaultRole("role", in.Role)
	if err != nil {
		return apitype.RoleChanged{}, err
	}
	var out apitype.RoleChanged
	err = b.tx(ctx, func(tx store.Store) error {
		v, ag, err := b.vaultAgent(ctx, tx, a, vault, agent, policy.AddAgentAnyRole)
		if err != nil {
			return err
		}
		g, err := tx.AgentGrants().Get(ctx, v.ID, ag.ID)
		if err != nil {
			return notFound(err, "agent %q has no access to vault %q: add it with `agent-vault vault agent add`", ag.Name, v.Name)
		}
		out = apitype.RoleChanged{Message: "role updated", OldRole: string(g.Role), NewRole: string(role)}
		g.Role = role
		return b.recordAfter(ctx, tx, internal(tx.AgentGrants().Put(ctx, g), "changing the role"), with(a.event(trail.AgentGrantRole, v, ag.Name), "role="+string(role)))
	})
	return out, err
}

// chainDepth is how many agents deep agent id is: 1 for an agent a person
// (or nobody) owns, one more for each agent above it, counting at most
// maxAgentChain+1; a loop (in rows an old migration filled in) counts as
// deeper than that.
func chainDepth(ctx context.Context, tx store.Store, id string) (int, error) {
	chain, loop, err := creatorChain(ctx, tx, id, maxAgentChain+1)
	if err != nil || loop >= 0 {
		return maxAgentChain + 1, err
	}
	return len(chain), nil
}
