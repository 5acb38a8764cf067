package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/agent-vault/agent-vault/internal/store"
)

// PostgresOptions tune a PostgreSQL pool (README, "Configuration": DB_MAX_OPEN_CONNS,
// DB_MAX_IDLE_CONNS, DB_CONN_MAX_LIFETIME).
type PostgresOptions struct {
	MaxOpenConns    int           // zero means 16; at least 4 unless Relaxed
	MaxIdleConns    int           // zero means MaxOpenConns
	ConnMaxLifetime time.Duration // zero means 30 minutes
	// Relaxed commits without waiting for the WAL flush
	// (synchronous_commit=off): a crash of the database server may lose
	// the last commits, never corrupt. For the request log's own pool,
	// never for credentials.
	Relaxed bool
	// ConnectTimeout bounds the first connection; zero means 10 s.
	ConnectTimeout time.Duration
}

// OpenPostgres connects to the PostgreSQL database at url (postgres://…
// or a key=value DSN). It does not migrate: call Migrate. Errors name the
// server and database but never the password.
func OpenPostgres(ctx context.Context, url string, o PostgresOptions) (*DB, error) {
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 16
	}
	if !o.Relaxed && o.MaxOpenConns < 4 {
		// LockInit, the migration lock and a transaction hold a connection
		// each at the same time: fewer would wait for ever at start.
		o.MaxOpenConns = 4
	}
	if o.MaxIdleConns <= 0 || o.MaxIdleConns > o.MaxOpenConns {
		o.MaxIdleConns = o.MaxOpenConns
	}
	if o.ConnMaxLifetime <= 0 {
		o.ConnMaxLifetime = 30 * time.Minute
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can quote the URL, password included.
		return nil, errors.New("the database URL is not a valid PostgreSQL URL: use postgres://user:password@host:5432/dbname?sslmode=…")
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > o.ConnectTimeout {
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	if o.Relaxed {
		cfg.RuntimeParams["synchronous_commit"] = "off"
	}
	cfg.RuntimeParams["application_name"] = "agent-vault"
	where := fmt.Sprintf("PostgreSQL at %s:%d, database %q, user %q", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	sdb := stdlib.OpenDB(*cfg)
	sdb.SetMaxOpenConns(o.MaxOpenConns)
	sdb.SetMaxIdleConns(o.MaxIdleConns)
	sdb.SetConnMaxLifetime(o.ConnMaxLifetime)
	pctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	if err := sdb.PingContext(pctx); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("connect to %s: %s", where, redactedPgError(err, cfg.Password))
	}
	db := &DB{sql: sdb, d: postgresDialect{}}
	db.handle = handle{q: sdb, d: db.d, db: db}
	return db, nil
}

// redactedPgError is err's text with the password cut out, should a
// driver ever echo it.
func redactedPgError(err error, password string) string {
	s := err.Error()
	if password != "" {
		s = strings.ReplaceAll(s, password, "***")
	}
	return s
}

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

// rebind turns ? placeholders into $1, $2, … outside quoted text.
func (postgresDialect) rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pgUniqueViolation is the PostgreSQL error code of a duplicate key.
const pgUniqueViolation = "23505"

func (postgresDialect) mapErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == pgUniqueViolation {
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return err
}

// Writers take one transaction-scoped advisory lock, as SQLite's writers
// take its one write lock: a transaction that checks and then writes
// (the last owner, one decision per proposal) sees no other server's
// commit in between, under READ COMMITTED, and never has to be retried.
// Readers take no lock. The control plane writes little; the request log
// writes a batch at a time.
func (postgresDialect) lockWriter(ctx context.Context, tx *sql.Tx) error {
	// Like SQLite's busy timeout: a writer stuck behind another for this
	// long fails instead of waiting for ever.
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '30s'`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writerLockKey)
	return err
}

func (postgresDialect) serialisesAutocommit() bool { return true }

func (postgresDialect) tableExists(ctx context.Context, q queryer, table string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok)
	return ok, err
}

// Advisory locks the servers sharing a database take: around Migrate,
// and around a server's first start (keyring, default vault, CA), so that
// two servers starting together on an empty database create one of each.
const (
	migrationLockKey = 0x61762d6d696772 // "av-migr"
	initLockKey      = 0x61762d696e6974 // "av-init"
	writerLockKey    = 0x61762d77726974 // "av-writ"
)

func (postgresDialect) lockMigrations(ctx context.Context, db *sql.DB) (func(), error) {
	return advisoryLock(ctx, db, migrationLockKey)
}

func (postgresDialect) lockInit(ctx context.Context, db *sql.DB) (func(), error) {
	return advisoryLock(ctx, db, initLockKey)
}

// lockName holds a session-level advisory lock keyed by a hash of name
// (in a key space apart from the fixed keys above, which are all below
// 2^56).
func (postgresDialect) lockName(ctx context.Context, db *sql.DB, name string) (func(), error) {
	sum := sha256.Sum256([]byte("av-name\x00" + name))
	key := int64(binary.BigEndian.Uint64(sum[:8]) | 1<<62)
	return advisoryLock(ctx, db, key)
}

// advisoryLock holds a session-level advisory lock on a connection of its
// own until the returned func runs.
func advisoryLock(ctx context.Context, db *sql.DB, key int64) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return func() {
		if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// Never hand a connection that may still hold the lock back to
			// the pool: mark it bad, so that closing it ends its session.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}, nil
}

func (postgresDialect) changeEpoch(ctx context.Context, q queryer) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT n FROM change_epoch WHERE one = 1`).Scan(&n)
	return n, err
}

func (postgresDialect) tables(ctx context.Context, q queryer) ([]string, error) {
	return queryStrings(ctx, q, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
}

// Proposals take explicit ids in a copy: the identity sequence must start
// above them.
func (postgresDialect) afterCopy(ctx context.Context, h *handle) error {
	_, err := h.exec(ctx, `SELECT setval(pg_get_serial_sequence('proposals', 'id'), COALESCE((SELECT MAX(id) FROM proposals), 0) + 1, false)`)
	return err
}
