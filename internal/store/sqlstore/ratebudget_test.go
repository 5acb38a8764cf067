package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// Leases on one key, from two servers' handles, never grant more than
// the burst in total; keys are independent; on SQLite there is no shared
// budget. The interval is an hour so that the budget does not refill
// while the test runs.
func TestRateBudgetLeases(t *testing.T) {
	a, b := sqltest.OpenTwo(t)
	if a.RateBudgets() == nil {
		if sqltest.Postgres() {
			t.Fatal("no shared rate budget on PostgreSQL")
		}
		t.Skip("SQLite: budgets are per server (one server per database)")
	}
	ctx := context.Background()
	const iv, tol = int64(time.Hour), 20 * int64(time.Hour) // burst 20
	lease := func(db interface {
		Lease(context.Context, string, int64, int64, int64) (int64, error)
	}, key string, n int64) int64 {
		t.Helper()
		g, err := db.Lease(ctx, key, n, iv, tol)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	ra, rb := a.RateBudgets(), b.RateBudgets()
	for _, c := range []struct {
		from interface {
			Lease(context.Context, string, int64, int64, int64) (int64, error)
		}
		n, want int64
	}{{ra, 8, 8}, {rb, 8, 8}, {ra, 8, 4}, {rb, 1, 0}, {ra, 5, 0}} {
		if g := lease(c.from, "proxy|agent-1", c.n); g != c.want {
			t.Fatalf("lease %d = %d, want %d", c.n, g, c.want)
		}
	}
	if g := lease(rb, "proxy|agent-2", 30); g != 20 {
		t.Errorf("another key's first lease of 30 = %d, want the burst, 20", g)
	}
	// Concurrent leases from both servers: exactly the burst in total.
	var mu sync.Mutex
	var total int64
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := ra
			if i%2 == 1 {
				db = rb
			}
			g, err := db.Lease(ctx, "proxy|agent-3", 3, iv, tol)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += g
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 20 {
		t.Errorf("16 concurrent leases of 3 granted %d in total, want the burst, 20", total)
	}
	if _, err := ra.Prune(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
}
