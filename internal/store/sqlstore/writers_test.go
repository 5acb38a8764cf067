package sqlstore_test

import (
	"sync"
	"testing"

	"github.com/agent-vault/agent-vault/internal/store"
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
