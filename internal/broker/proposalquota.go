package broker

import (
	"context"
	"strconv"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// accountableAgent is the agent a proposal raised by a counts toward under
// model.MaxPendingPerAgent: the agent itself, or the agent that minted the
// vault session a is; "" for a human and for a session a human minted
// (agent-vault run).
func accountableAgent(a Actor) string {
	switch {
	case a.Kind != model.ActorAgent:
		return ""
	case a.Scope != nil:
		return a.Scope.AgentID
	}
	return a.Agent.ID
}

// agentProposalQuota refuses a proposal from an agent, or from a vault
// session, that already holds model.MaxPendingPerAgent pending proposals
// in the vault. An agent's own and those of every vault session it minted
// count together; a session a human minted counts on its own
// (docs/proposals.md). Humans only meet the vault's limit.
//
// Proposals are counted by the accountable agent recorded on each when it
// was made, never by looking the agent's sessions up: sessions expire
// (agents may mint five-minute ones), their minter revokes them, and a
// rotation of the agent's token deletes them, while their proposals stay
// pending for a week. Counting through the session rows would let an
// agent shed its proposals by losing its sessions, and fill the vault.
// The vault's pending list is bounded by model.MaxPendingProposals, so it
// is read whole.
func agentProposalQuota(ctx context.Context, tx store.Store, a Actor, v model.Vault, now time.Time) error {
	if a.Kind != model.ActorAgent {
		return nil // a human at the console or the CLI
	}
	agentID := accountableAgent(a)
	mine := func(p model.Proposal) bool {
		if agentID == "" { // a session a human minted: on its own
			return p.AccountableAgentID == "" && p.CreatedByID == creatorID(a)
		}
		return p.AccountableAgentID == agentID
	}
	pending, err := tx.Proposals().List(ctx, store.ProposalFilter{VaultID: v.ID, Status: model.ProposalPending})
	if err != nil {
		return internal(err, "listing pending proposals")
	}
	n := 0
	for _, p := range pending {
		if mine(p) && now.Before(p.ExpiresAt) {
			n++
		}
	}
	if n >= model.MaxPendingPerAgent {
		return &errs.Error{Kind: errs.KindRateLimited, Code: "too_many_proposals",
			Message: "this agent already has " + strconv.Itoa(n) + " pending proposals in vault " + v.Name + " (with the vault sessions it minted), the most one agent may hold: wait for a human to approve or reject them"}
	}
	return nil
}
