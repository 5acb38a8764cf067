package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
)

// The owner-ids migration resolves the names that agents and invites
// recorded their creator by to ids, but never to a principal created after
// the row: that one took the name over (a re-registered email, a new agent
// given a renamed agent's name) and must not inherit the rights.
func TestMigrationOwnerIDsResolvesOnlyTheOriginalCreator(t *testing.T) {
	db := beforeMigration(t, "_owner_ids.sql")
	at := func(h int) string {
		return t0.Add(time.Duration(h) * time.Hour).UTC().Format("2006-01-02T15:04:05.000000000Z")
	}
	exec := execer(t, db)
	addUser := func(id, email string, h int) {
		exec(`INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES (?, ?, 'x', 'member', ?, ?)`, id, email, at(h), at(h))
	}
	addAgent := func(id, name, by string, h int) {
		exec(`INSERT INTO agents (id, name, role, token_hash, status, created_by, created_at, updated_at) VALUES (?, ?, 'member', ?, 'active', ?, ?, ?)`,
			id, name, []byte(id), by, at(h), at(h))
	}
	addInvite := func(id, by string, h int) {
		exec(`INSERT INTO invites (id, token_hash, email, role, created_by, created_at, expires_at) VALUES (?, ?, ?, 'member', ?, ?, ?)`,
			id, []byte(id), id+"@example.com", by, at(h), at(h+48))
	}
	addUser("u-alice", "alice@example.com", 0)
	addUser("u-mallory", "mallory@example.com", 5) // registered after mallory@'s agents and invites: a newcomer
	addAgent("a-alice", "alice-bot", "alice@example.com", 1)
	addAgent("a-gone", "gone-bot", "gone@example.com", 1)
	addAgent("a-taken", "taken-bot", "mallory@example.com", 2)
	addAgent("a-parent", "parent-bot", "alice@example.com", 1)
	addAgent("a-child", "child-bot", "agent:parent-bot", 3)
	addAgent("a-orphan", "orphan-bot", "agent:new-bot", 3)
	addAgent("a-new", "new-bot", "alice@example.com", 6) // took the name of the orphan's creator later
	addAgent("a-self", "self-bot", "agent:self-bot", 3)
	addInvite("i-alice", "alice@example.com", 1)
	addInvite("i-taken", "mallory@example.com", 2)
	addInvite("i-gone", "gone@example.com", 2)

	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	for _, c := range []struct{ agent, user, owner string }{
		{"a-alice", "u-alice", ""},
		{"a-gone", "", ""},
		{"a-taken", "", ""},
		{"a-parent", "u-alice", ""},
		{"a-child", "", "a-parent"},
		{"a-orphan", "", ""},
		{"a-new", "u-alice", ""},
		{"a-self", "", ""},
	} {
		ag, err := db.Agents().ByID(ctx, c.agent)
		mustNil(t, err)
		if ag.OwnerUserID != c.user || ag.OwnerAgentID != c.owner {
			t.Errorf("%s: owner user %q agent %q, want %q %q", c.agent, ag.OwnerUserID, ag.OwnerAgentID, c.user, c.owner)
		}
	}
	for _, c := range []struct{ invite, by string }{{"i-alice", "u-alice"}, {"i-taken", ""}, {"i-gone", ""}} {
		inv, err := db.Invites().ByID(ctx, c.invite)
		mustNil(t, err)
		if inv.CreatedByID != c.by {
			t.Errorf("%s: inviter id %q, want %q", c.invite, inv.CreatedByID, c.by)
		}
	}
}

// Owner ids round-trip, and deleting the owner leaves the agent owned by
// nobody (the database's own backstop; the broker revokes or transfers
// first). The inviter of an invite likewise.
func TestAgentOwnerIDs(t *testing.T) {
	db := newDB(t)
	createUser(t, db, user("u1", "amy@example.com", model.RoleMember))
	createUser(t, db, user("u2", "bob@example.com", model.RoleMember))
	mk := func(id, ownerUser, ownerAgent string) {
		t.Helper()
		mustNil(t, db.Agents().Create(ctx, model.Agent{ID: id, Name: id, Role: model.RoleNoAccess, TokenHash: []byte(id),
			Status: model.AgentActive, CreatedBy: "label", OwnerUserID: ownerUser, OwnerAgentID: ownerAgent, CreatedAt: t0, UpdatedAt: t0}))
	}
	mk("parent", "u1", "")
	mk("child", "", "parent")
	got, err := db.Agents().ByID(ctx, "child")
	mustNil(t, err)
	if got.OwnerAgentID != "parent" || got.OwnerUserID != "" || got.CreatedBy != "label" {
		t.Errorf("child = %+v", got)
	}
	// Update moves ownership (a transfer).
	par, _ := db.Agents().ByID(ctx, "parent")
	par.OwnerUserID = "u2"
	mustNil(t, db.Agents().Update(ctx, par))
	if par, _ = db.Agents().ByID(ctx, "parent"); par.OwnerUserID != "u2" {
		t.Errorf("after transfer owner = %q, want u2", par.OwnerUserID)
	}
	mustNil(t, db.Invites().Create(ctx, model.Invite{ID: "i1", TokenHash: []byte("i1"), Email: "x@example.com", Role: model.RoleMember,
		CreatedBy: "bob@example.com", CreatedByID: "u2", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	if inv, _ := db.Invites().ByID(ctx, "i1"); inv.CreatedByID != "u2" {
		t.Errorf("invite inviter id = %q", inv.CreatedByID)
	}
	mustNil(t, db.Users().Delete(ctx, "u2"))
	mustNil(t, db.Agents().Delete(context.Background(), "parent"))
	if par, err = db.Agents().ByID(ctx, "child"); err != nil || par.OwnerAgentID != "" || par.OwnerUserID != "" {
		t.Errorf("child after its owner's deletion = %+v, %v; want owned by nobody", par, err)
	}
	if inv, _ := db.Invites().ByID(ctx, "i1"); inv.CreatedByID != "" || inv.CreatedBy != "bob@example.com" {
		t.Errorf("invite after its inviter's deletion = %+v; want no inviter id, the label kept", inv)
	}
}
