package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
	"github.com/agent-vault/agent-vault/internal/token"
)

var ctx = context.Background()

// t0 is a fixed instant with sub-second precision in a non-UTC zone, so
// every round trip checks both normalisation to UTC and nanoseconds.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CEST", 2*3600))

func openDB(t *testing.T, o sqlstore.SQLiteOptions) (*sqlstore.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent-vault.db")
	db, err := sqlstore.OpenSQLite(path, o)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

// newDB opens a fresh migrated database: SQLite, or PostgreSQL when
// AGENT_VAULT_TEST_POSTGRES_URL is set (see package sqltest).
func newDB(t *testing.T) *sqlstore.DB {
	t.Helper()
	return sqltest.Open(t)
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

func user(id, email string, r model.InstanceRole) model.User {
	return model.User{ID: id, Email: email, PasswordHash: "$argon2id$hash-" + id, Role: r, CreatedAt: t0, UpdatedAt: t0}
}

func vault(id, name string) model.Vault {
	return model.Vault{ID: id, Name: name, UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: t0, UpdatedAt: t0}
}

func session(id, userID string, created time.Time) model.Session {
	return model.Session{
		ID: id, UserID: userID, TokenHash: token.Hash(token.New(token.PrefixSession)),
		DeviceLabel: "laptop " + id, CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(model.SessionAbsoluteTTL),
	}
}

func createUser(t *testing.T, s store.Store, u model.User) {
	t.Helper()
	mustNil(t, s.Users().Create(ctx, u))
}

func createVault(t *testing.T, s store.Store, v model.Vault) {
	t.Helper()
	mustNil(t, s.Vaults().Create(ctx, v))
}
