package config

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// Database says where the data lives: the embedded SQLite file (URL
// empty), or a PostgreSQL server that several servers may share.
type Database struct {
	// URL is postgres://…; it may hold a password, so it is never
	// printed (see String).
	URL string
	// Path is the SQLite file, in the data dir.
	Path string
	// Pool sizing for PostgreSQL (README, "Configuration"); zero means the default.
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
}

// Postgres reports whether the data lives in PostgreSQL.
func (d Database) Postgres() bool { return d.URL != "" }

// String names the database for messages: the file, or the PostgreSQL
// server and database without credentials.
func (d Database) String() string {
	if !d.Postgres() {
		return d.Path
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		return "PostgreSQL"
	}
	return "PostgreSQL at " + u.Host + u.Path
}

// LoadDatabase reads --database-url (flag), then DATABASE_URL, and the
// pool settings DB_MAX_OPEN_CONNS, DB_MAX_IDLE_CONNS and
// DB_CONN_MAX_LIFETIME. Errors never quote the URL: it can hold a
// password.
func LoadDatabase(flagURL, dataDir string, env Env) (Database, error) {
	if env == nil {
		env = os.Getenv
	}
	d := Database{URL: first(flagURL, env(EnvDatabaseURL)), Path: filepath.Join(dataDir, "agent-vault.db")}
	if d.URL == "" {
		return d, nil
	}
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return d, errs.Invalid("database-url", "the database URL (from --database-url or %s) must look like postgres://user:password@host:5432/dbname", EnvDatabaseURL)
	}
	// At start a server holds up to three connections at once (the init
	// and migration locks, and a transaction), so the pool has at least 4.
	for _, n := range []struct {
		env string
		min int
		dst *int
	}{{EnvDBMaxOpen, 4, &d.MaxOpenConns}, {EnvDBMaxIdle, 1, &d.MaxIdleConns}} {
		if v := strings.TrimSpace(env(n.env)); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil || i < n.min || i > 10000 {
				return d, errs.Invalid(n.env, "%s must be a number of connections from %d to 10000, not %q", n.env, n.min, v)
			}
			*n.dst = i
		}
	}
	if v := strings.TrimSpace(env(EnvDBConnLifetime)); v != "" {
		lt, err := time.ParseDuration(v)
		if err != nil || lt < time.Second {
			return d, errs.Invalid(EnvDBConnLifetime, "%s must be a duration of at least 1s, like 30m, not %q", EnvDBConnLifetime, v)
		}
		d.ConnMaxLifetime = lt
	}
	return d, nil
}
