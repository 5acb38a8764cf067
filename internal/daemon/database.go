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

// watchChanges, on a shared database, drops the broker's proxy view and
// re-applies the instance settings whenever another server (or this one)
// committed a change, until ctx ends.
func watchChanges(ctx context.Context, db *sqlstore.DB, b *broker.Broker, reapply func(), log *slog.Logger) {
	if !db.Shared() {
		return
	}
	last, err := db.ChangeEpoch(ctx)
	if err != nil {
		log.Warn("reading the change counter", "err", err)
	}
	t := time.NewTicker(changePollInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := db.ChangeEpoch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Fail closed: another server may have revoked something we
			// cannot see, so the view is rebuilt from the database on its
			// next use (which fails while the database does not answer).
			b.Invalidate()
			if !failing {
				log.Warn("cannot read other servers' changes from the database; proxied requests need it until it answers", "err", err)
			}
			failing = true
			continue
		}
		if failing {
			log.Info("reading other servers' changes again")
			failing = false
		}
		if n != last {
			last = n
			b.Invalidate()
			reapply()
		}
	}
}
