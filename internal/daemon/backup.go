package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// BackupResult describes a finished backup.
type BackupResult struct {
	Path          string `json:"path"`
	Bytes         int64  `json:"bytes"`
	SchemaVersion int    `json:"schema_version"`
}

// ErrBackupPostgres is returned for an instance on PostgreSQL, whose
// backups are the database's own.
var ErrBackupPostgres = errors.New("this instance keeps its data in PostgreSQL: back it up with pg_dump (pg_dump --format=custom --file=agent-vault.dump \"$DATABASE_URL\"), together with the master password; see docs/self-hosting.md")

// Backup writes a consistent copy of the SQLite database d to out, while
// servers may be running on it: SQLite's VACUUM INTO reads one snapshot
// (one read transaction under WAL) and writes a compact, self-contained
// database file, which is then checked. The copy holds everything the
// instance needs (encrypted credentials, the wrapped data key, the proxy
// CA, agents and sessions) except the master password. out must not exist;
// it is created with mode 0600.
func Backup(ctx context.Context, d config.Database, out string) (BackupResult, error) {
	if d.Postgres() {
		return BackupResult{}, ErrBackupPostgres
	}
	if _, err := os.Stat(d.Path); err != nil {
		return BackupResult{}, fmt.Errorf("no Agent Vault database at %s (%v): pass the server's --data-dir", d.Path, err)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return BackupResult{}, err
	}
	// An empty file of our own making: VACUUM INTO fills an empty file,
	// and the mode is 0600 from the first byte.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return BackupResult{}, fmt.Errorf("%s already exists: choose a new file name (a backup never overwrites)", out)
		}
		return BackupResult{}, fmt.Errorf("creating the backup file: %w", err)
	}
	_ = f.Close()
	res, err := backupSQLite(ctx, d.Path, abs)
	if err != nil {
		_ = os.Remove(abs)
		return BackupResult{}, err
	}
	return res, nil
}

func backupSQLite(ctx context.Context, src, out string) (BackupResult, error) {
	db, err := sqlstore.OpenSQLite(src, sqlstore.SQLiteOptions{MaxOpenConns: 1})
	if err != nil {
		return BackupResult{}, err
	}
	defer db.Close()
	ver, err := db.SchemaVersion(ctx)
	if err != nil {
		return BackupResult{}, fmt.Errorf("reading the database schema: %w", err)
	}
	if ver == 0 {
		return BackupResult{}, fmt.Errorf("%s holds no Agent Vault instance yet: start the server once first", src)
	}
	if _, err := db.SQL().ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		return BackupResult{}, fmt.Errorf("copying the database: %w", err)
	}
	// Check the copy: an intact file at the same schema.
	cp, err := sqlstore.OpenSQLite(out, sqlstore.SQLiteOptions{MaxOpenConns: 1})
	if err != nil {
		return BackupResult{}, fmt.Errorf("opening the backup to check it: %w", err)
	}
	defer cp.Close()
	var check string
	if err := cp.SQL().QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		return BackupResult{}, fmt.Errorf("the backup failed its integrity check (%q, %v): nothing usable was written", check, err)
	}
	cver, err := cp.SchemaVersion(ctx)
	if err != nil || cver != ver {
		return BackupResult{}, fmt.Errorf("the backup has schema %d, the database %d (%v)", cver, ver, err)
	}
	if err := cp.Close(); err != nil {
		return BackupResult{}, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return BackupResult{}, err
	}
	return BackupResult{Path: out, Bytes: st.Size(), SchemaVersion: ver}, nil
}
