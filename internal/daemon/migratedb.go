package daemon

import (
	"context"
	"fmt"
	"os"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// MigrateDB copies the instance in dataDir's SQLite file into the empty
// PostgreSQL database at toURL (`migrate-db --to`, docs/operations.md). It holds the
// data dir's lock, so the server must be stopped; the SQLite file is only
// brought to the current schema, never otherwise changed. The data key is
// copied still wrapped: no master password is needed, and the same one
// unlocks the copy. progress is told each table copied.
func MigrateDB(ctx context.Context, dataDir, toURL string, progress sqlstore.CopyProgress) (target string, err error) {
	pid, err := claimPIDFile(config.PIDPath(dataDir))
	if err != nil {
		return "", err
	}
	defer pid.release()
	from, err := config.LoadDatabase("", dataDir, func(string) string { return "" })
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(from.Path); err != nil {
		return "", fmt.Errorf("no Agent Vault instance found at %s: nothing to migrate (check --data-dir)", from.Path)
	}
	to, err := config.LoadDatabase(toURL, dataDir, func(string) string { return "" })
	if err != nil {
		return "", err
	}
	if !to.Postgres() {
		return "", fmt.Errorf("--to must be a PostgreSQL URL, postgres://user:password@host:5432/db")
	}
	src, err := openDatabase(ctx, from, false)
	if err != nil {
		return "", err
	}
	defer src.Close()
	if v, err := src.SchemaVersion(ctx); err != nil || v == 0 {
		return "", fmt.Errorf("no Agent Vault instance found at %s: nothing to migrate", from.Path)
	}
	if _, err := src.Migrate(ctx); err != nil {
		return "", fmt.Errorf("bringing %s to the current schema: %w", from.Path, err)
	}
	dst, err := openDatabase(ctx, to, false)
	if err != nil {
		return "", err
	}
	defer dst.Close()
	// A server starting on the target meanwhile waits (and then finds the
	// copied instance) instead of creating its own first.
	unlock, err := dst.LockInit(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := dst.Migrate(ctx); err != nil {
		return "", fmt.Errorf("creating the schema in %s: %w", to, err)
	}
	if err := sqlstore.CopyAll(ctx, src, dst, progress); err != nil {
		return "", fmt.Errorf("copying into %s: %w (no data was written there)", to, err)
	}
	return to.String(), nil
}
