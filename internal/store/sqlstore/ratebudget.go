package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RateBudgets is the rate budget servers on one PostgreSQL database
// share (ratelimit.SharedBudget).
type RateBudgets struct{ db *sql.DB }

// RateBudgets returns the shared rate budgets; nil on SQLite, whose one
// server keeps its budgets in memory.
func (db *DB) RateBudgets() *RateBudgets {
	if !db.Shared() {
		return nil
	}
	return &RateBudgets{db: db.sql}
}

// nowNS is the database's clock in ns since the epoch: every server
// advances a budget on the same clock.
const nowNS = `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000000)::BIGINT`

// leaseSQL takes up to $2 requests of key $1's budget in one statement
// (the row lock serializes servers on one key only): with now the
// database's clock, a budget whose timestamp tat lies ahead of now by d
// has floor((tolerance − d) / interval) requests left; the grant is at
// most that and at most $2, and moves tat on by grant × interval. No row
// comes back when nothing is left.
const leaseSQL = `
WITH p AS (SELECT $2::BIGINT AS n, $3::BIGINT AS iv, $4::BIGINT AS tol, ` + nowNS + ` AS now)
INSERT INTO rate_budgets AS b (key, tat, granted)
SELECT $1::TEXT, p.now + LEAST(p.n, p.tol / p.iv) * p.iv, LEAST(p.n, p.tol / p.iv) FROM p WHERE p.tol / p.iv >= 1
ON CONFLICT (key) DO UPDATE SET
    granted = (SELECT LEAST(p.n, (p.tol - (GREATEST(b.tat, p.now) - p.now)) / p.iv) FROM p),
    tat = (SELECT GREATEST(b.tat, p.now) + LEAST(p.n, (p.tol - (GREATEST(b.tat, p.now) - p.now)) / p.iv) * p.iv FROM p)
WHERE (SELECT (p.tol - (GREATEST(b.tat, p.now) - p.now)) / p.iv FROM p) >= 1
RETURNING granted`

// Lease takes up to n requests of key's budget (interval and tolerance in
// ns) and returns how many it granted.
func (r *RateBudgets) Lease(ctx context.Context, key string, n, interval, tolerance int64) (int64, error) {
	if n < 1 || interval < 1 {
		return 0, fmt.Errorf("leasing a rate budget: n %d and interval %d must be positive", n, interval)
	}
	var granted int64
	err := r.db.QueryRowContext(ctx, leaseSQL, key, n, interval, tolerance).Scan(&granted)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("leasing a rate budget: %w", err)
	}
	return granted, nil
}

// Prune deletes the budgets fully recovered for longer than idle: they
// hold nothing a fresh row would not.
func (r *RateBudgets) Prune(ctx context.Context, idle time.Duration) (int64, error) {
	res, err := r.db.ExecContext(ctx, `DELETE FROM rate_budgets WHERE tat < `+nowNS+` - $1::BIGINT`, int64(idle))
	if err != nil {
		return 0, fmt.Errorf("pruning rate budgets: %w", err)
	}
	return res.RowsAffected()
}
