package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Each engine has its own numbered migrations: the SQLite ones record how
// the embedded schema grew; PostgreSQL support began at SQLite's schema 6,
// so its first migration is that whole schema.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationsOf returns the migrations of a dialect.
func migrationsOf(d dialect) ([]migration, error) {
	return loadMigrations(migrationFiles, "migrations/"+d.name())
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations must be numbered 1, 2, 3…: %s is out of sequence", m.name)
		}
	}
	return out, nil
}

// SchemaVersion returns the highest applied migration, 0 on a fresh file.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	ok, err := db.d.tableExists(ctx, db.sql, "schema_migrations")
	if err != nil || !ok {
		return 0, err
	}
	var v int
	err = db.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Migrate applies every embedded migration newer than the schema, each in
// its own transaction together with its version row. It returns how many
// it applied. A database newer than this binary is refused.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	return db.migrateTo(ctx, 0)
}

// migrateTo is Migrate stopping after version last (0: the newest); tests
// use it to build a database as an older release left it.
func (db *DB) migrateTo(ctx context.Context, last int) (int, error) {
	ms, err := migrationsOf(db.d)
	if err != nil {
		return 0, err
	}
	unlock, err := db.d.lockMigrations(ctx, db.sql)
	if err != nil {
		return 0, fmt.Errorf("wait for other servers' migrations: %w", err)
	}
	defer unlock()
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	cur, err := db.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	if cur > len(ms) {
		return 0, fmt.Errorf("the database schema (version %d) is newer than this binary understands (%d): upgrade agent-vault", cur, len(ms))
	}
	if last > 0 && last < len(ms) {
		ms = ms[:last]
	}
	applied := 0
	for _, m := range ms[min(cur, len(ms)):] {
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			return applied, err
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			_ = tx.Rollback()
			return applied, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if step := migrationSteps[db.d.name()][m.version]; step != nil {
			if err := step(ctx, &handle{q: tx, d: db.d, db: db, inTx: true}); err != nil {
				_ = tx.Rollback()
				return applied, fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, fmtTime(time.Now())); err != nil {
			_ = tx.Rollback()
			return applied, err
		}
		if err := tx.Commit(); err != nil {
			return applied, fmt.Errorf("migration %s: commit: %w", m.name, err)
		}
		applied++
	}
	return applied, nil
}
