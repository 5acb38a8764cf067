package broker

import (
	"context"
	"errors"
	"testing"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// ownerChain is a store whose only part is its agents, each recorded as
// id → owning agent's id ("" for one a user owns); ids missing from it
// are not found, and broken fails every read.
type ownerChain struct {
	store.Store
	owners map[string]string
	broken bool
}

func (o *ownerChain) Agents() store.Agents { return ownerChainAgents{chain: o} }

// ownerChainAgents answers ByID only; its other methods panic.
type ownerChainAgents struct {
	store.Agents
	chain *ownerChain
}

func (a ownerChainAgents) ByID(_ context.Context, id string) (model.Agent, error) {
	if a.chain.broken {
		return model.Agent{}, errors.New("disk on fire")
	}
	owner, ok := a.chain.owners[id]
	if !ok {
		return model.Agent{}, store.ErrNotFound
	}
	return model.Agent{ID: id, OwnerAgentID: owner}, nil
}

// TestRootAgentFollowsCreators: the agent a proposal is charged to
// (docs/proposals.md, "How many proposals may be pending") is the top of
// the chain of agents that created the proposer. The chain stops at an
// agent a user owns, at an owner that is gone (the agent it owned is the
// top), and at a loop, which old rows backfilled from names could hold:
// every agent in or under the loop is charged to the loop's smallest id,
// so a loop shares one agent's places instead of looping for ever.
func TestRootAgentFollowsCreators(t *testing.T) {
	st := &ownerChain{owners: map[string]string{
		"solo": "",
		"root": "", "kid": "root", "grandkid": "kid",
		"orphan": "gone", "orphans-kid": "orphan",
		"c": "a", "a": "b", "b": "c", "under-loop": "b",
		"self": "self",
	}}
	for id, want := range map[string]string{
		"solo": "solo", "root": "root", "kid": "root", "grandkid": "root",
		"orphan": "orphan", "orphans-kid": "orphan", "vanished": "vanished",
		"a": "a", "b": "a", "c": "a", "under-loop": "a",
		"self": "self",
	} {
		got, err := rootAgent(context.Background(), st, id)
		if err != nil || got != want {
			t.Errorf("rootAgent(%s) = %q, %v; want %q", id, got, err, want)
		}
	}
	st.broken = true
	if got, err := rootAgent(context.Background(), st, "kid"); err == nil {
		t.Errorf("rootAgent on a failing store = %q, want an error", got)
	}
}
