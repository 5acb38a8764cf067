package broker

import (
	"context"
	"strconv"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// agentProposalQuota refuses a proposal from an agent, or from a vault
// session, that already holds model.MaxPendingPerAgent pending proposals
// in the vault. An agent's own and those of the unexpired sessions it
// minted count together; a session a human minted (agent-vault run) counts
// on its own (docs/proposals.md). Humans only meet the vault's limit.
func agentProposalQuota(ctx context.Context, tx store.Store, a Actor, v model.Vault, now time.Time) error {
	if a.Kind != model.ActorAgent {
		return nil // a human at the console or the CLI
	}
	mine := map[string]bool{}
	if a.Scope != nil && a.Scope.AgentID == "" {
		mine["session:"+a.Scope.ID] = true // a session a human minted (agent-vault run): on its own
	} else {
		agentID := a.Agent.ID
		if a.Scope != nil {
			agentID = a.Scope.AgentID
		}
		mine[agentID] = true
		sessions, err := tx.ScopedSessions().ListByCreator(ctx, "", agentID, now)
		if err != nil {
			return internal(err, "listing the agent's vault sessions")
		}
		for _, s := range sessions {
			mine["session:"+s.ID] = true
		}
	}
	pending, err := tx.Proposals().List(ctx, store.ProposalFilter{VaultID: v.ID, Status: model.ProposalPending})
	if err != nil {
		return internal(err, "listing pending proposals")
	}
	n := 0
	for _, p := range pending {
		if mine[p.CreatedByID] && now.Before(p.ExpiresAt) {
			n++
		}
	}
	if n >= model.MaxPendingPerAgent {
		return &errs.Error{Kind: errs.KindRateLimited, Code: "too_many_proposals",
			Message: "this agent already has " + strconv.Itoa(n) + " pending proposals in vault " + v.Name + " (with the vault sessions it minted), the most one agent may hold: wait for a human to approve or reject them"}
	}
	return nil
}
