// Package sqltest opens a fresh, migrated database for a test: a SQLite
// file in the test's temporary directory, or, when
// AGENT_VAULT_TEST_ENGINE=postgres, a database of its own on the server
// AGENT_VAULT_TEST_POSTGRES_URL names (scripts/pg-test.sh starts one),
// dropped when the test ends. Running a package's tests once with each
// engine runs them on both; tests of PostgreSQL-only behaviour need only
// the URL (PostgresAvailable).
package sqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// Environment of the tests.
const (
	// EnvPostgresURL names the PostgreSQL server tests may create
	// databases on.
	EnvPostgresURL = "AGENT_VAULT_TEST_POSTGRES_URL"
	// EnvEngine set to "postgres" makes Open use that server.
	EnvEngine = "AGENT_VAULT_TEST_ENGINE"
)

// Postgres reports whether Open returns PostgreSQL databases.
func Postgres() bool { return os.Getenv(EnvEngine) == "postgres" }

// PostgresAvailable reports whether a PostgreSQL server is configured.
func PostgresAvailable() bool { return os.Getenv(EnvPostgresURL) != "" }

// Open returns a migrated database for t, closed (and on PostgreSQL
// dropped) when t ends.
func Open(t testing.TB) *sqlstore.DB {
	t.Helper()
	return open(t, migratedDatabase(t))
}

// OpenTwo returns two pools on one fresh, migrated database, as two
// servers would hold them (SQLite: two handles on one file).
func OpenTwo(t testing.TB) (*sqlstore.DB, *sqlstore.DB) {
	t.Helper()
	where := migratedDatabase(t)
	return open(t, where), open(t, where)
}

// migratedDatabase makes a fresh, migrated database for t and says where
// it is: a SQLite file's path, or a PostgreSQL URL when Postgres().
func migratedDatabase(t testing.TB) string {
	t.Helper()
	if Postgres() {
		return newMigratedPostgresDatabase(t)
	}
	path := filepath.Join(t.TempDir(), "agent-vault.db")
	writeMigratedSQLite(t, path)
	return path
}

// open opens a pool on the database at where (migratedDatabase), closed
// when t ends.
func open(t testing.TB, where string) *sqlstore.DB {
	t.Helper()
	var db *sqlstore.DB
	var err error
	if Postgres() {
		db, err = sqlstore.OpenPostgres(context.Background(), where, sqlstore.PostgresOptions{MaxOpenConns: 8})
	} else {
		db, err = sqlstore.OpenSQLite(where, sqlstore.SQLiteOptions{})
	}
	if err != nil {
		t.Fatalf("open the test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// migratedSQLite is a SQLite database file with every migration applied,
// made once per test binary: each test starts from a copy rather than
// migrating its own, which was a fifth of a package's test time (more
// under the race detector, which slows SQLite's statement parser).
var migratedSQLite struct {
	once sync.Once
	file []byte
	err  error
}

// writeMigratedSQLite writes a freshly migrated SQLite database to path.
func writeMigratedSQLite(t testing.TB, path string) {
	t.Helper()
	m := &migratedSQLite
	m.once.Do(func() { m.file, m.err = makeMigratedSQLite() })
	if m.err != nil {
		t.Fatalf("migrate a SQLite database: %v", m.err)
	}
	if err := os.WriteFile(path, m.file, 0o600); err != nil {
		t.Fatalf("write the SQLite database: %v", err)
	}
}

func makeMigratedSQLite() ([]byte, error) {
	dir, err := os.MkdirTemp("", "agent-vault-sqltest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "agent-vault.db")
	db, err := sqlstore.OpenSQLite(path, sqlstore.SQLiteOptions{})
	if err != nil {
		return nil, err
	}
	_, err = db.Migrate(context.Background())
	if err == nil {
		// Everything into the main file, so that it alone is the database.
		_, err = db.SQL().ExecContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// NewPostgresDatabase creates an empty database on the test server and
// returns its URL; it is dropped when t ends. It fails t when no server
// is configured.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	return newPostgresDatabase(t, "")
}

// newMigratedPostgresDatabase is NewPostgresDatabase with every migration
// applied: a copy of a database migrated once per test binary.
func newMigratedPostgresDatabase(t testing.TB) string {
	t.Helper()
	m := &migratedPostgres
	m.once.Do(func() { m.name, m.err = makeMigratedPostgres() })
	if m.err != nil {
		t.Fatalf("migrate a PostgreSQL template database: %v", m.err)
	}
	return newPostgresDatabase(t, m.name)
}

// newPostgresDatabase creates a database, a copy of template (PostgreSQL's
// template1, an empty one, when ""), dropped when t ends.
func newPostgresDatabase(t testing.TB, template string) string {
	t.Helper()
	admin := adminURL(t)
	ctx := context.Background()
	root, err := sqlstore.OpenPostgres(ctx, admin, sqlstore.PostgresOptions{MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL server: %v", err)
	}
	name := "avtest_" + randomHex()
	if err := createDatabase(ctx, root, name, template); err != nil {
		_ = root.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = root.SQL().ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		_ = root.Close()
	})
	u, err := databaseURL(admin, name)
	if err != nil {
		t.Fatalf("%s is not a URL", EnvPostgresURL)
	}
	return u
}

// migratedPostgres is the template database of this test binary:
// avtest_tpl_<unix time>_<random>. Nothing connects to it once migrated,
// as copying requires. It outlives the binary (nothing runs after its
// last test); templates over an hour old are dropped when the next
// binary makes its own.
var migratedPostgres struct {
	once sync.Once
	name string
	err  error
}

func makeMigratedPostgres() (string, error) {
	ctx := context.Background()
	admin := os.Getenv(EnvPostgresURL)
	root, err := sqlstore.OpenPostgres(ctx, admin, sqlstore.PostgresOptions{MaxOpenConns: 2})
	if err != nil {
		return "", err
	}
	defer root.Close()
	dropOldTemplates(ctx, root)
	name := "avtest_tpl_" + strconv.FormatInt(time.Now().Unix(), 10) + "_" + randomHex()
	if err := createDatabase(ctx, root, name, ""); err != nil {
		return "", err
	}
	u, err := databaseURL(admin, name)
	if err != nil {
		return "", err
	}
	db, err := sqlstore.OpenPostgres(ctx, u, sqlstore.PostgresOptions{MaxOpenConns: 2})
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return name, err
}

// dropOldTemplates drops the template databases of test binaries that
// started over an hour ago; errors are ignored (another binary may be
// dropping the same one).
func dropOldTemplates(ctx context.Context, root *sqlstore.DB) {
	rows, err := root.SQL().QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'avtest\_tpl\_%'`)
	if err != nil {
		return
	}
	var old []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		stamp, _, _ := strings.Cut(strings.TrimPrefix(name, "avtest_tpl_"), "_")
		if at, err := strconv.ParseInt(stamp, 10, 64); err == nil && time.Since(time.Unix(at, 0)) > time.Hour {
			old = append(old, name)
		}
	}
	_ = rows.Close()
	for _, name := range old {
		_, _ = root.SQL().ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	}
}

// createDatabase creates name as a copy of template ("": template1). On
// PostgreSQL 15 and later it copies the files rather than writing every
// page to the write-ahead log, which is twice as fast for a test
// database.
func createDatabase(ctx context.Context, root *sqlstore.DB, name, template string) error {
	q := `CREATE DATABASE ` + name
	if template != "" {
		q += ` TEMPLATE ` + template
	}
	var version int
	if err := root.SQL().QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err == nil && version >= 150000 {
		q += ` STRATEGY = FILE_COPY`
	}
	_, err := root.SQL().ExecContext(ctx, q)
	return err
}

// adminURL is the test server's URL; it fails t when none is configured.
func adminURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgresURL)
	if admin == "" {
		t.Fatalf("%s is not set", EnvPostgresURL)
	}
	return admin
}

// databaseURL is the server's URL admin naming database name instead.
func databaseURL(admin, name string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
