package sqlstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

var errRollback = errors.New("roll back")

// On a shared database (PostgreSQL) every committed change the proxy's
// view depends on moves ChangeEpoch, and the request log and a session's
// sliding expiry do not; on SQLite it stays 0 (one server, which sees its
// own writes).
func TestChangeEpochMovesWithViewData(t *testing.T) {
	db := newDB(t)
	epoch := func() int64 {
		t.Helper()
		n, err := db.ChangeEpoch(ctx)
		mustNil(t, err)
		return n
	}
	if !sqltest.Postgres() {
		createVaults(t, db, "v1")
		if db.Shared() || epoch() != 0 {
			t.Fatalf("SQLite: Shared %v, ChangeEpoch %d; want false, 0", db.Shared(), epoch())
		}
		return
	}
	if !db.Shared() {
		t.Fatal("PostgreSQL is not Shared")
	}
	moves := func(what string, change func()) {
		t.Helper()
		before := epoch()
		change()
		if after := epoch(); after <= before {
			t.Errorf("%s left ChangeEpoch at %d", what, after)
		}
	}
	stays := func(what string, change func()) {
		t.Helper()
		before := epoch()
		change()
		if after := epoch(); after != before {
			t.Errorf("%s moved ChangeEpoch from %d to %d", what, before, after)
		}
	}
	moves("creating a vault", func() {
		createVaults(t, db, "v1")
	})
	moves("storing a credential", func() {
		mustNil(t, db.Credentials().Put(ctx, model.Credential{VaultID: "v1", Key: "K", Type: model.CredentialStatic, Ciphertext: []byte{1, 2, 3}, CreatedAt: t0, UpdatedAt: t0}))
	})
	moves("deleting it", func() { mustNil(t, db.Credentials().Delete(ctx, "v1", "K")) })
	moves("creating a user", func() { createUser(t, db, user("u1", "a@example.com", model.RoleOwner)) })
	moves("creating a session", func() { mustNil(t, db.Sessions().Create(ctx, session("s1", "u1", t0))) })
	stays("touching the session", func() { mustNil(t, db.Sessions().Touch(ctx, "s1", t0.Add(time.Minute))) })
	moves("ending the session", func() { mustNil(t, db.Sessions().Delete(ctx, "u1", "s1")) })
	stays("writing request log rows", func() {
		mustNil(t, db.RequestLogs().Insert(ctx, []model.RequestLog{logRow("v1", 1, t0), logRow("v1", 2, t0)}))
	})
	moves("a rolled-back write does not count, a committed one does", func() {
		before := epoch()
		_ = db.InTx(ctx, func(tx store.Store) error {
			_ = tx.Credentials().Put(ctx, model.Credential{VaultID: "v1", Key: "RB", Type: model.CredentialStatic, Ciphertext: []byte{1}, CreatedAt: t0, UpdatedAt: t0})
			return errRollback
		})
		if epoch() != before {
			t.Error("a rolled-back transaction moved ChangeEpoch")
		}
		mustNil(t, db.Credentials().Put(ctx, model.Credential{VaultID: "v1", Key: "C", Type: model.CredentialStatic, Ciphertext: []byte{1}, CreatedAt: t0, UpdatedAt: t0}))
	})
}
