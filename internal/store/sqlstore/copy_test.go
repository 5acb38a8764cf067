package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// CopyAll from a SQLite instance into a fresh database (SQLite, or
// PostgreSQL under AGENT_VAULT_TEST_ENGINE=postgres): every table's rows
// arrive, ids continue above the copied ones, and a second copy, or a
// source with a table this version does not know, is refused.
func TestCopyAll(t *testing.T) {
	src, _ := openDB(t, sqlstore.SQLiteOptions{})
	_, err := src.Migrate(ctx)
	mustNil(t, err)
	createUser(t, src, user("u1", "a@example.com", model.RoleOwner))
	mustNil(t, src.Sessions().Create(ctx, session("s1", "u1", t0)))
	createVaults(t, src, "v1")
	mustNil(t, src.Credentials().Put(ctx, model.Credential{VaultID: "v1", Key: "K", Type: model.CredentialStatic, Ciphertext: []byte{0, 1, 2, 255}, CreatedAt: t0, UpdatedAt: t0}))
	seedLogs(t, src, 300, "v1")
	// An agent owned by an agent stored after it: the copy inserts rows in
	// the source's order, so the reference must wait for the commit.
	for _, id := range []string{"ax", "ay"} {
		mustNil(t, src.Agents().Create(ctx, model.Agent{ID: id, Name: id, Role: model.RoleNoAccess, TokenHash: []byte(id), Status: model.AgentActive,
			CreatedBy: "a@example.com", OwnerUserID: "u1", CreatedAt: t0, UpdatedAt: t0}))
	}
	ax, err := src.Agents().ByID(ctx, "ax")
	mustNil(t, err)
	ax.OwnerUserID, ax.OwnerAgentID = "", "ay"
	mustNil(t, src.Agents().Update(ctx, ax))

	dst := newDB(t)
	var copied []string
	err = sqlstore.CopyAll(ctx, src, dst, func(table string, rows int64) { copied = append(copied, table) })
	mustNil(t, err)
	for _, table := range copied {
		var a, b int64
		mustNil(t, src.SQL().QueryRow(`SELECT count(*) FROM `+table).Scan(&a))
		mustNil(t, dst.SQL().QueryRow(`SELECT count(*) FROM `+table).Scan(&b))
		if a != b {
			t.Errorf("%s: %d rows in the source, %d in the copy", table, a, b)
		}
	}
	if len(copied) < 19 {
		t.Errorf("copied %d tables: %v", len(copied), copied)
	}
	c, err := dst.Credentials().Get(ctx, "v1", "K")
	mustNil(t, err)
	if string(c.Ciphertext) != string([]byte{0, 1, 2, 255}) {
		t.Errorf("ciphertext copied as %v", c.Ciphertext)
	}
	if ax, err := dst.Agents().ByID(ctx, "ax"); err != nil || ax.OwnerAgentID != "ay" {
		t.Errorf("agent owned by an agent copied as %+v, %v", ax, err)
	}
	all := listAll(t, dst, storeFilter("v1"))
	if len(all) != 300 {
		t.Fatalf("the copy lists %d log rows, want 300", len(all))
	}
	mustNil(t, dst.RequestLogs().Insert(ctx, []model.RequestLog{logRow("v1", 1, t0)}))
	if next := listAll(t, dst, storeFilter("v1")); next[0].ID <= all[0].ID {
		t.Errorf("a row written to the copy got id %d, not above %d", next[0].ID, all[0].ID)
	}

	if err := sqlstore.CopyAll(ctx, src, dst, nil); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Errorf("copy into a non-empty database: %v", err)
	}
	empty := newDB(t)
	_, err = src.SQL().Exec(`CREATE TABLE future_feature (id INTEGER)`)
	mustNil(t, err)
	if err := sqlstore.CopyAll(ctx, src, empty, nil); err == nil || !strings.Contains(err.Error(), "future_feature") {
		t.Errorf("copy of an unknown table: %v", err)
	}
}

func storeFilter(vault string) store.RequestLogFilter { return store.RequestLogFilter{VaultID: vault} }
