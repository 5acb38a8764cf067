package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// Writers are serialised, on PostgreSQL across servers too: transactions
// that read a value and write it back incremented, from two pools on one
// database (as two servers), lose no update, and none has to be retried.
func TestWritersAreSerialisedAcrossPools(t *testing.T) {
	first, second := sqltest.OpenTwo(t)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		db := first
		if i%2 == 1 {
			db = second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.InTx(ctx, func(tx store.Store) error {
				s, err := tx.Settings().Get(ctx)
				if err != nil {
					return err
				}
				s.LogMaxRowsPerVault++
				return tx.Settings().Put(ctx, s)
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		mustNil(t, err)
	}
	s, err := first.Settings().Get(ctx)
	mustNil(t, err)
	if s.LogMaxRowsPerVault != n {
		t.Errorf("after %d increments the value is %d: updates were lost", n, s.LogMaxRowsPerVault)
	}
}

// A server's start holds the init lock, the migration lock and a
// transaction at once: a pool configured smaller still starts.
func TestPostgresStartsWithATinyPool(t *testing.T) {
	if !sqltest.Postgres() {
		t.Skip("PostgreSQL only (AGENT_VAULT_TEST_ENGINE=postgres)")
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	db, err := sqlstore.OpenPostgres(tctx, sqltest.NewPostgresDatabase(t), sqlstore.PostgresOptions{MaxOpenConns: 1})
	mustNil(t, err)
	defer db.Close()
	unlock, err := db.LockInit(tctx)
	mustNil(t, err)
	defer unlock()
	_, err = db.Migrate(tctx)
	mustNil(t, err)
	mustNil(t, db.InTx(tctx, func(tx store.Store) error {
		return tx.Vaults().Create(tctx, vault("v1", "one"))
	}))
}
