package daemon

import (
	"context"
	"fmt"
	"os"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// MigrateDBDryRun counts what MigrateDB would copy from the data dir's
// SQLite instance, changing nothing: not the SQLite file (no schema
// upgrade) and no target. It holds the data dir's lock like MigrateDB, so
// it also tells whether the server is stopped.
func MigrateDBDryRun(ctx context.Context, dataDir string, progress sqlstore.CopyProgress) (source string, err error) {
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
		return "", fmt.Errorf("no Agent Vault instance found at %s: nothing to migrate (check --data-dir or --from)", from.Path)
	}
	src, err := openDatabase(ctx, from, false)
	if err != nil {
		return "", err
	}
	defer src.Close()
	if v, err := src.SchemaVersion(ctx); err != nil || v == 0 {
		return "", fmt.Errorf("no Agent Vault instance found at %s: nothing to migrate", from.Path)
	}
	return from.Path, sqlstore.CountAll(ctx, src, progress)
}
