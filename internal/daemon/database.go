package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// openDatabase opens the configured database. relaxed is for the request
// log's own pool: commits that do not wait for the disk (SQLite
// synchronous=NORMAL, PostgreSQL synchronous_commit=off).
func openDatabase(ctx context.Context, d config.Database, relaxed bool) (*sqlstore.DB, error) {
	if !d.Postgres() {
		o := sqlstore.SQLiteOptions{Relaxed: relaxed}
		if relaxed {
			o.MaxOpenConns = 2
		}
		return sqlstore.OpenSQLite(d.Path, o)
	}
	o := sqlstore.PostgresOptions{MaxOpenConns: d.MaxOpenConns, MaxIdleConns: d.MaxIdleConns, ConnMaxLifetime: d.ConnMaxLifetime, Relaxed: relaxed}
	if relaxed {
		o.MaxOpenConns, o.MaxIdleConns = 2, 2
	}
	return sqlstore.OpenPostgres(ctx, d.URL, o)
}

// changePollInterval is how often a server on a shared database looks for
// other servers' changes: the longest a revocation made on one server
// takes to reach the proxies of the others.
var changePollInterval = 500 * time.Millisecond

// changeReadTimeout bounds one read of the change counter: a database
// that stops answering must fail the read, not hang it (fail closed).
const changeReadTimeout = 2 * time.Second

// watchChanges, on a shared database, drops the broker's proxy view and
// re-applies the instance settings whenever the change counter moved from
// last (another server, or this one, committed a change), until ctx ends.
// While the counter cannot be read, the view is dropped at every tick, so
// proxied requests rebuild it from the database or fail: never act on
// grants another server may have revoked.
func watchChanges(ctx context.Context, db *sqlstore.DB, last int64, b *broker.Broker, reapply func(), log *slog.Logger) {
	t := time.NewTicker(changePollInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, changeReadTimeout)
		n, err := db.ChangeEpoch(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.Invalidate()
			if !failing {
				log.Warn("cannot read other servers' changes from the database; proxied requests need it until it answers", "err", err)
			}
			failing = true
			continue
		}
		if failing {
			log.Info("reading other servers' changes again")
			b.Invalidate() // what changed while blind is unknown
			reapply()
			failing = false
		}
		if n != last {
			last = n
			b.Invalidate()
			reapply()
		}
	}
}
