package broker

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// accountableAgent is the agent a proposal raised by a counts toward under
// model.MaxPendingPerAgent: the top-most agent of the creation chain of
// the agent itself, or of the agent that minted the vault session a is;
// "" for a human and for a session a human minted (agent-vault run). An
// agent may create agents of its own (docs/services-and-agents.md, "Who
// manages an agent"); were each of them to hold five places, one agent
// could fill the vault's queue through its children, so an agent and every
// agent it created, transitively, share five (docs/proposals.md, "How many
// proposals may be pending").
func accountableAgent(ctx context.Context, tx store.Store, a Actor) (string, error) {
	switch {
	case a.Kind != model.ActorAgent:
		return "", nil
	case a.Scope != nil && a.Scope.AgentID == "": // a session a human minted
		return "", nil
	case a.Scope != nil:
		return rootAgent(ctx, tx, a.Scope.AgentID)
	}
	return rootAgent(ctx, tx, a.Agent.ID)
}

// rootAgent follows agent id's creators while they are agents and returns
// the last: the agent whose owner is a user, or nobody. An owner that no
// longer exists ends the chain at the agent it owned. Chains are at most
// maxAgentChain deep when made; a longer one (rows from before that
// bound) is cut off further up. Owners are recorded when an agent is
// created, so a chain cannot loop, but rows backfilled from names by an
// old migration could: a loop is charged to its smallest id, the same
// whichever agent of it (or below it) proposes.
func rootAgent(ctx context.Context, tx store.Store, id string) (string, error) {
	chain, loop, err := creatorChain(ctx, tx, id, 4*maxAgentChain)
	if err != nil {
		return "", err
	}
	if loop >= 0 {
		return slices.Min(chain[loop:]), nil
	}
	return chain[len(chain)-1], nil
}

// creatorChain is agent id and the agents above it, each the creator of
// the one before, up to one owned by a person or nobody, at most limit
// long. An agent that no longer exists is left out (id itself is always
// in). loop is where in chain a loop closes (the agent the last one's
// creator is), or -1.
func creatorChain(ctx context.Context, tx store.Store, id string, limit int) (chain []string, loop int, err error) {
	at := map[string]int{} // id -> its index in chain
	for len(chain) < limit {
		if i, ok := at[id]; ok {
			return chain, i, nil
		}
		ag, err := tx.Agents().ByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			if len(chain) == 0 {
				chain = append(chain, id) // the agent itself, gone meanwhile
			}
			return chain, -1, nil
		}
		if err != nil {
			return nil, -1, internal(err, "reading the agents that created this agent")
		}
		at[id] = len(chain)
		chain = append(chain, id)
		if ag.OwnerAgentID == "" {
			return chain, -1, nil
		}
		id = ag.OwnerAgentID
	}
	return chain, -1, nil
}

// agentProposalQuota refuses a proposal from an agent, or from a vault
// session, that already holds model.MaxPendingPerAgent pending proposals
// in the vault; agentID is accountableAgent(a). An agent's own, those of
// every vault session it minted and those of every agent it created
// (transitively) and of their sessions count together; a session a human
// minted counts on its own (docs/proposals.md). Humans only meet the
// vault's limit.
//
// Proposals are counted by the accountable agent recorded on each when it
// was made, never by looking the agent's sessions up: sessions expire
// (agents may mint five-minute ones), their minter revokes them, and a
// rotation of the agent's token deletes them, while their proposals stay
// pending for a week. Counting through the session rows would let an
// agent shed its proposals by losing its sessions, and fill the vault;
// likewise the creation chain is read when a proposal is made, so deleting
// a child agent does not free its places.
// The vault's pending list is bounded by model.MaxPendingProposals, so it
// is read whole.
func agentProposalQuota(ctx context.Context, tx store.Store, a Actor, agentID string, v model.Vault, now time.Time) error {
	if a.Kind != model.ActorAgent {
		return nil // a human at the console or the CLI
	}
	roots := map[string]string{agentID: agentID}
	mine := func(p model.Proposal) (bool, error) {
		if agentID == "" { // a session a human minted: on its own
			return p.AccountableAgentID == "" && p.CreatedByID == creatorID(a), nil
		}
		if p.AccountableAgentID == "" {
			return false, nil
		}
		// Proposals raised before chains shared their places were charged
		// to the agent that raised them, not to its chain's top: resolved
		// now, while that agent exists.
		root, ok := roots[p.AccountableAgentID]
		if !ok {
			var err error
			if root, err = rootAgent(ctx, tx, p.AccountableAgentID); err != nil {
				return false, err
			}
			roots[p.AccountableAgentID] = root
		}
		return root == agentID, nil
	}
	pending, err := tx.Proposals().List(ctx, store.ProposalFilter{VaultID: v.ID, Status: model.ProposalPending})
	if err != nil {
		return internal(err, "listing pending proposals")
	}
	n := 0
	for _, p := range pending {
		counts, err := mine(p)
		if err != nil {
			return err
		}
		if counts && now.Before(p.ExpiresAt) {
			n++
		}
	}
	if n >= model.MaxPendingPerAgent {
		return &errs.Error{Kind: errs.KindRateLimited, Code: "too_many_proposals",
			Message: "this agent already has " + strconv.Itoa(n) + " pending proposals in vault " + v.Name + " (counted with its vault sessions and the other agents of its creation chain), the most one agent may hold: wait for a human to approve or reject them"}
	}
	return nil
}
