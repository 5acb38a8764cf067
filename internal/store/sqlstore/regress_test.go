package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// A panic inside a transaction must not leave SQLite's write lock held.
func TestInTxPanicReleasesTheWriteLock(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	func() {
		defer func() { _ = recover() }()
		_ = db.InTx(ctx, func(tx store.Store) error {
			now := time.Now().UTC()
			_ = tx.Vaults().Create(ctx, model.Vault{ID: "v1", Name: "first", UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: now, UpdatedAt: now})
			panic("boom")
		})
	}()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now := time.Now().UTC()
	if err := db.Vaults().Create(wctx, model.Vault{ID: "v2", Name: "second", UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("write after a panicking transaction: %v", err)
	}
	if _, err := db.Vaults().ByName(ctx, "first"); err != store.ErrNotFound {
		t.Fatalf("the panicking transaction's write survived: %v", err)
	}
}
