package sqlstore_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

func bindingPatterns(t *testing.T, s store.Store, vaultID string) map[string][]string {
	t.Helper()
	bs, err := s.Credentials().Bindings(ctx, vaultID)
	mustNil(t, err)
	out := map[string][]string{}
	for _, b := range bs {
		p := b.Pattern
		if b.ByAgent {
			p += " (agent)"
		}
		out[b.Key] = append(out[b.Key], p)
	}
	return out
}

func TestCredentialBindings(t *testing.T) {
	db := newDB(t)
	createVault(t, db, vault("v1", "one"))
	cs := db.Credentials()
	put := func(key, by string) {
		mustNil(t, cs.Put(ctx, model.Credential{VaultID: "v1", Key: key, Type: model.CredentialStatic, Ciphertext: []byte{1}, CreatedAt: t0, UpdatedAt: t0, WrittenBy: by}))
	}
	bind := func(key, pattern string, byAgent bool) {
		mustNil(t, cs.Bind(ctx, model.CredentialBinding{VaultID: "v1", Key: key, Pattern: pattern, ByAgent: byAgent, AddedBy: "x", CreatedAt: t0}))
	}
	put("A", "user:u1")
	put("B", "agent:a1")
	if c, _ := cs.Get(ctx, "v1", "B"); c.WrittenBy != "agent:a1" {
		t.Errorf("WrittenBy = %q", c.WrittenBy)
	}
	bind("A", "api.example.com", false)
	bind("A", "*.example.com", false)
	bind("B", "collector.test", true)
	bind("B", "api.example.com", false)
	// Binding again by an agent never demotes a user's binding; a user's
	// binding promotes an agent's.
	bind("A", "api.example.com", true)
	want := map[string][]string{"A": {"*.example.com", "api.example.com"}, "B": {"api.example.com", "collector.test (agent)"}}
	if got := bindingPatterns(t, db, "v1"); !reflect.DeepEqual(got, want) {
		t.Errorf("bindings = %v, want %v", got, want)
	}
	// Replacing B's value drops the agent's binding, keeps the user's.
	put("B", "user:u1")
	if c, _ := cs.Get(ctx, "v1", "B"); c.WrittenBy != "user:u1" {
		t.Errorf("WrittenBy after replace = %q", c.WrittenBy)
	}
	want["B"] = []string{"api.example.com"}
	if got := bindingPatterns(t, db, "v1"); !reflect.DeepEqual(got, want) {
		t.Errorf("after replacing B: %v, want %v", got, want)
	}
	bind("B", "collector.test", true)
	bind("B", "collector.test", false)
	put("B", "agent:a2")
	want["B"] = []string{"api.example.com", "collector.test"}
	if got := bindingPatterns(t, db, "v1"); !reflect.DeepEqual(got, want) {
		t.Errorf("a user's binding survives a new value: %v, want %v", got, want)
	}
	mustNil(t, cs.Unbind(ctx, "v1", "A", "*.example.com"))
	wantErr(t, "Unbind twice", cs.Unbind(ctx, "v1", "A", "*.example.com"), store.ErrNotFound)
	// A binding needs its credential, and goes with it.
	if err := cs.Bind(ctx, model.CredentialBinding{VaultID: "v1", Key: "NOPE", Pattern: "x.test", AddedBy: "x", CreatedAt: t0}); err == nil {
		t.Error("bound a credential that does not exist")
	}
	mustNil(t, cs.Delete(ctx, "v1", "B"))
	put("B", "user:u1")
	want = map[string][]string{"A": {"api.example.com"}}
	if got := bindingPatterns(t, db, "v1"); !reflect.DeepEqual(got, want) {
		t.Errorf("a deleted credential's bindings came back: %v, want %v", got, want)
	}
	mustNil(t, db.Vaults().Delete(ctx, "v1"))
	if got := bindingPatterns(t, db, "v1"); len(got) != 0 {
		t.Errorf("bindings outlived their vault: %v", got)
	}
}

// openUnmigrated opens an empty database of the engine under test.
func openUnmigrated(t *testing.T) *sqlstore.DB {
	t.Helper()
	if !sqltest.Postgres() {
		db, _ := openDB(t, sqlstore.SQLiteOptions{})
		return db
	}
	db, err := sqlstore.OpenPostgres(ctx, sqltest.NewPostgresDatabase(t), sqlstore.PostgresOptions{MaxOpenConns: 4})
	mustNil(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// A database from before bindings existed upgrades to bindings that keep
// what worked working: each credential is bound to the host pattern of
// every service that references it (auth fields, custom header
// templates, substitutions, disabled services too), and to nothing else.
func TestMigrationBindsCredentialsToTheirServices(t *testing.T) {
	db := openUnmigrated(t)
	before := db.BindingsMigration() - 1
	if _, err := sqlstore.MigrateTo(context.Background(), db, before); err != nil {
		t.Fatal(err)
	}
	exec := execer(t, db)
	ts := "2026-01-01T00:00:00.000000000Z"
	for _, v := range []string{"v1", "v2"} {
		exec(`INSERT INTO vaults (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`, v, "n"+v, ts, ts)
	}
	for _, k := range []string{"STRIPE", "GH_TOKEN", "GH_USER", "SLACK", "MAPS", "UNUSED", "OLD"} {
		exec(`INSERT INTO credentials (vault_id, key, type, ciphertext, created_at, updated_at) VALUES ('v1', ?, 'static', ?, ?, ?)`, k, []byte{1}, ts, ts)
	}
	exec(`INSERT INTO credentials (vault_id, key, type, ciphertext, created_at, updated_at) VALUES ('v2', 'STRIPE', 'static', ?, ?, ?)`, []byte{1}, ts, ts)
	exec(`INSERT INTO service_sets (vault_id, services, version, updated_at) VALUES ('v1', ?, 1, ?)`, `[
		{"name":"stripe","host":"api.stripe.com","enabled":true,"auth":{"type":"bearer","token":"STRIPE"}},
		{"name":"github","host":"*.github.com:443/repos/*","enabled":true,"auth":{"type":"basic","username":"GH_USER","password":"GH_TOKEN"}},
		{"name":"slack","host":"slack.com","enabled":false,"auth":{"type":"custom","headers":{"Authorization":"Bearer {{ SLACK }}","X-Both":"{{ SLACK }}:{{ STRIPE }}"}}},
		{"name":"maps","host":"maps.example.com","enabled":true,"auth":{"type":"passthrough"},"substitutions":[{"key":"MAPS","placeholder":"__MAPS__"}]},
		{"name":"open","host":"open.example.com","enabled":true,"auth":{"type":"passthrough"}}]`, ts)
	exec(`INSERT INTO service_sets (vault_id, services, version, updated_at) VALUES ('v2', '[]', 1, ?)`, ts)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"STRIPE":   {"api.stripe.com", "slack.com"},
		"GH_TOKEN": {"*.github.com:443/repos/*"},
		"GH_USER":  {"*.github.com:443/repos/*"},
		"SLACK":    {"slack.com"},
		"MAPS":     {"maps.example.com"},
	}
	if got := bindingPatterns(t, db, "v1"); !reflect.DeepEqual(got, want) {
		t.Errorf("v1 bindings after upgrade = %v, want %v", got, want)
	}
	if got := bindingPatterns(t, db, "v2"); len(got) != 0 {
		t.Errorf("v2 has no services, so no bindings; got %v", got)
	}
	bs, _ := db.Credentials().Bindings(ctx, "v1")
	for _, b := range bs {
		if b.ByAgent || b.AddedBy != "upgrade" {
			t.Errorf("binding %+v should be marked as made by the upgrade, not by an agent", b)
		}
	}
	if c, err := db.Credentials().Get(ctx, "v1", "STRIPE"); err != nil || c.WrittenBy != "" {
		t.Errorf("a value from before the upgrade has no recorded writer: %+v, %v", c, err)
	}
}
