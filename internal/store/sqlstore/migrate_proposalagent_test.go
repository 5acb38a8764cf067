package sqlstore_test

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// The accountable-agent migration names, on existing proposals, the agent
// each counts toward under the per-agent pending cap: the agent that
// raised it, or the agent that minted the vault session that raised it
// while that session's row is still there; nobody for humans and for
// sessions humans minted.
func TestMigrationProposalAccountableAgent(t *testing.T) {
	db := beforeMigration(t, "_proposal_accountable_agent.sql")
	exec := execer(t, db)
	ts := "2026-01-01T00:00:00.000000000Z"
	exec(`INSERT INTO vaults (id, name, created_at, updated_at) VALUES ('v1', 'default', ?, ?)`, ts, ts)
	exec(`INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('u1', 'u@example.com', 'x', 'owner', ?, ?)`, ts, ts)
	exec(`INSERT INTO agents (id, name, role, token_hash, status, created_by, created_at, updated_at) VALUES ('a1', 'bot', 'member', ?, 'active', 'u@example.com', ?, ?)`, []byte("a1"), ts, ts)
	exec(`INSERT INTO scoped_sessions (id, token_hash, vault_id, vault_role, agent_id, created_at, expires_at) VALUES ('s-agent', ?, 'v1', 'proxy', 'a1', ?, ?)`, []byte("s-agent"), ts, ts)
	exec(`INSERT INTO scoped_sessions (id, token_hash, vault_id, vault_role, user_id, created_at, expires_at) VALUES ('s-human', ?, 'v1', 'proxy', 'u1', ?, ?)`, []byte("s-human"), ts, ts)
	want := map[string]string{}
	add := func(kind, by, accountable string) {
		exec(`INSERT INTO proposals (vault_id, status, services, credentials, created_by_kind, created_by_id, created_by_name,
			approval_token_hash, approval_expires_at, created_at, expires_at) VALUES ('v1', 'pending', '[]', '[]', ?, ?, ?, ?, ?, ?, ?)`,
			kind, by, by, []byte(by), ts, ts, ts)
		want[by] = accountable
	}
	add("agent", "a1", "a1")              // the agent's own
	add("agent", "session:s-agent", "a1") // its session's
	add("agent", "session:s-human", "")   // a session a human minted
	add("agent", "session:s-gone", "")    // a session whose row is gone: unknown
	add("user", "u1", "")                 // a human's

	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	ps, err := db.Proposals().List(ctx, store.ProposalFilter{VaultID: "v1", Status: model.ProposalPending})
	mustNil(t, err)
	if len(ps) != len(want) {
		t.Fatalf("%d proposals after the migration, want %d", len(ps), len(want))
	}
	for _, p := range ps {
		if p.AccountableAgentID != want[p.CreatedByID] {
			t.Errorf("proposal by %s: accountable agent %q, want %q", p.CreatedByID, p.AccountableAgentID, want[p.CreatedByID])
		}
	}
}
