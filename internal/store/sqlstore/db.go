// Package sqlstore implements the store interfaces on database/sql. SQLite
// (pure Go, no cgo) is the embedded default and PostgreSQL (pgx, pure Go)
// serves several replicas; the SQL is kept portable and the few
// differences between engines live in a dialect and in each engine's
// migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/agent-vault/agent-vault/internal/store"
)

// DB is an open database. It implements store.Store outside transactions.
type DB struct {
	sql *sql.DB
	d   dialect
	handle
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// SQLiteOptions tune the embedded database.
type SQLiteOptions struct {
	// BusyTimeout is how long a writer waits for the lock; zero means 10 s.
	BusyTimeout time.Duration
	// MaxOpenConns bounds the pool; zero means 8 (readers run concurrently
	// under WAL; writers are serialised by SQLite itself).
	MaxOpenConns int
	// Relaxed commits without waiting for the disk (synchronous=NORMAL):
	// under WAL a crashed process still loses nothing, only a crash of the
	// machine may lose the last commits. For the request log's own handle,
	// never for credentials.
	Relaxed bool
}

// OpenSQLite opens (creating if needed, mode 0600) the SQLite file at path
// with WAL, foreign keys, a busy timeout and full fsync on commit, so that
// every acknowledged write survives a crash of the process or the machine.
// It does not migrate: call Migrate.
func OpenSQLite(path string, o SQLiteOptions) (*DB, error) {
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = 8
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	// Create the file ourselves so its mode is 0600 from the first byte.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open database file: %w", err)
	}
	_ = f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("restrict database file mode: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"foreign_keys(1)",
		fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()),
		synchronous(o.Relaxed),
	} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate") // writers take the lock at BEGIN: no upgrade deadlocks
	q.Set("_time_format", "sqlite")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sdb.SetMaxOpenConns(o.MaxOpenConns)
	sdb.SetMaxIdleConns(o.MaxOpenConns)
	if err := sdb.Ping(); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db := &DB{sql: sdb, d: sqliteDialect{}}
	db.handle = handle{q: sdb, d: db.d, db: db}
	return db, nil
}

// Close closes the database; under WAL the last connection checkpoints.
func (db *DB) Close() error { return db.sql.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// SQL exposes the underlying pool for tests and tooling.
func (db *DB) SQL() *sql.DB { return db.sql }

// Rebind rewrites a query's ? placeholders for the engine, for callers of
// SQL().
func (db *DB) Rebind(query string) string { return db.d.rebind(query) }

// Engine is "sqlite" or "postgres".
func (db *DB) Engine() string { return db.d.name() }

// Shared reports whether other servers may use this database too
// (PostgreSQL): their writes reach this server only through ChangeEpoch.
func (db *DB) Shared() bool { return db.d.name() == "postgres" }

// LockInit holds, until unlock, the lock that serialises servers starting
// on the same database, so that the first creates the keyring, default
// vault and CA and the others find them.
func (db *DB) LockInit(ctx context.Context) (unlock func(), err error) {
	return db.d.lockInit(ctx, db.sql)
}

// ChangeEpoch counts the committed changes to what the proxy's view is
// built from, by any server on a shared database; it only grows.
func (db *DB) ChangeEpoch(ctx context.Context) (int64, error) {
	return db.d.changeEpoch(ctx, db.sql)
}

// InTx runs fn in one write transaction. Writers are serialised, on
// PostgreSQL across every server sharing the database, so fn runs exactly
// once and sees no other writer's commit while it runs.
func (db *DB) InTx(ctx context.Context, fn func(tx store.Store) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	// Roll back on every way out but a commit, panics included: a
	// transaction left open would hold the write lock for good.
	defer func() { _ = tx.Rollback() }()
	if err := db.d.lockWriter(ctx, tx); err != nil {
		return fmt.Errorf("waiting for the database's write lock: %w", err)
	}
	h := &handle{q: tx, d: db.d, db: db, inTx: true}
	if err := fn(h); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// handle binds the aggregates to a queryer: the pool, or one transaction.
type handle struct {
	q    queryer
	d    dialect
	db   *DB
	inTx bool
}

func (h *handle) Keyring() store.KeyringStore    { return keyringStore{h} }
func (h *handle) Users() store.Users             { return users{h} }
func (h *handle) Sessions() store.Sessions       { return sessions{h} }
func (h *handle) Vaults() store.Vaults           { return vaults{h} }
func (h *handle) Grants() store.Grants           { return grants{h} }
func (h *handle) Invites() store.Invites         { return invites{h} }
func (h *handle) Settings() store.Settings       { return settings{h} }
func (h *handle) Credentials() store.Credentials { return credentials{h} }
func (h *handle) Services() store.Services       { return services{h} }
func (h *handle) Agents() store.Agents           { return agents{h} }
func (h *handle) AgentGrants() store.AgentGrants { return agentGrants{h} }
func (h *handle) CA() store.CAStore              { return caStore{h} }
func (h *handle) Proposals() store.Proposals     { return proposals{h} }
func (h *handle) RequestLogs() store.RequestLogs { return requestLogs{h} }
func (h *handle) AdminEvents() store.AdminEvents { return adminEvents{h} }
func (h *handle) ScopedSessions() store.ScopedSessions {
	return scopedSessions{h}
}

// LockName holds a named lock across the servers sharing the database.
func (h *handle) LockName(ctx context.Context, name string) (func(), error) {
	return h.d.lockName(ctx, h.db.sql, name)
}

// InTx inside a transaction joins it, so use cases compose.
func (h *handle) InTx(ctx context.Context, fn func(tx store.Store) error) error {
	if h.inTx {
		return fn(h)
	}
	return h.db.InTx(ctx, fn)
}

func (h *handle) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !h.inTx && h.d.serialisesAutocommit() {
		var res sql.Result
		err := h.db.InTx(ctx, func(tx store.Store) error {
			var err error
			res, err = tx.(*handle).exec(ctx, query, args...)
			return err
		})
		return res, err
	}
	res, err := h.q.ExecContext(ctx, h.d.rebind(query), args...)
	return res, h.d.mapErr(err)
}

func (h *handle) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := h.q.QueryContext(ctx, h.d.rebind(query), args...)
	return rows, h.d.mapErr(err)
}

func (h *handle) row(ctx context.Context, query string, args ...any) *sql.Row {
	return h.q.QueryRowContext(ctx, h.d.rebind(query), args...)
}

// mustAffect turns "no row changed" into store.ErrNotFound.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// scanErr maps sql.ErrNoRows to store.ErrNotFound.
func scanErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// dialect hides the differences between SQL engines.
type dialect interface {
	name() string
	rebind(query string) string
	mapErr(err error) error
	// lockWriter makes tx the only writing transaction until it ends
	// (SQLite's _txlock=immediate already did at BEGIN).
	lockWriter(ctx context.Context, tx *sql.Tx) error
	// serialisesAutocommit reports that a write outside a transaction
	// must take the writer lock too (run as a transaction of its own).
	serialisesAutocommit() bool
	tableExists(ctx context.Context, q queryer, table string) (bool, error)
	// lockMigrations keeps other servers on the same database from
	// migrating at the same time, until unlock.
	lockMigrations(ctx context.Context, db *sql.DB) (unlock func(), err error)
	// lockInit serialises the first start of servers sharing a database.
	lockInit(ctx context.Context, db *sql.DB) (unlock func(), err error)
	// lockName holds a named lock across the servers sharing a database.
	lockName(ctx context.Context, db *sql.DB, name string) (unlock func(), err error)
	// changeEpoch is the counter of committed changes other servers made
	// (0 when one server owns the database).
	changeEpoch(ctx context.Context, q queryer) (int64, error)
	// tables lists the schema's tables.
	tables(ctx context.Context, q queryer) ([]string, error)
	// afterCopy repairs what CopyAll's explicit ids leave behind.
	afterCopy(ctx context.Context, h *handle) error
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) rebind(q string) string { return q }

// The DSN's _txlock=immediate already serialises writers at BEGIN, and a
// single write statement waits for the same lock.
func (sqliteDialect) lockWriter(context.Context, *sql.Tx) error { return nil }

func (sqliteDialect) serialisesAutocommit() bool { return false }

// One server holds the data directory's lock; SQLite needs no other.
func (sqliteDialect) lockMigrations(context.Context, *sql.DB) (func(), error) { return func() {}, nil }

func (sqliteDialect) lockInit(context.Context, *sql.DB) (func(), error) { return func() {}, nil }

func (sqliteDialect) lockName(context.Context, *sql.DB, string) (func(), error) {
	return func() {}, nil
}

// Only the server holding the data directory writes a SQLite file: its
// own writes invalidate its view directly.
func (sqliteDialect) changeEpoch(context.Context, queryer) (int64, error) { return 0, nil }

func (sqliteDialect) tables(ctx context.Context, q queryer) ([]string, error) {
	return queryStrings(ctx, q, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
}

// AUTOINCREMENT keeps its high-water mark in sqlite_sequence, which the
// inserted ids move.
func (sqliteDialect) afterCopy(context.Context, *handle) error { return nil }

// queryStrings runs a query of one text column.
func queryStrings(ctx context.Context, q queryer, query string) ([]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (sqliteDialect) tableExists(ctx context.Context, q queryer, table string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n)
	return n > 0, err
}

func (sqliteDialect) mapErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
	}
	return err
}

var _ store.Store = (*DB)(nil)

// synchronous is the pragma for o.Relaxed.
func synchronous(relaxed bool) string {
	if relaxed {
		return "synchronous(NORMAL)"
	}
	return "synchronous(FULL)"
}
