package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/daemon"
)

// backupCmd copies the data dir's SQLite database into a new file.
func (a *app) backupCmd() *cobra.Command {
	var out, dbURL string
	cmd := &cobra.Command{
		Use:   "backup -o FILE",
		Short: "Write a consistent copy of this instance's SQLite database, also while the server runs",
		Long: `Writes a consistent snapshot of the data dir's database to FILE (mode 0600; it must not exist).
The copy holds the encrypted credentials, the wrapped data key, the proxy CA, users, agents and their
tokens: keep it as safe as the data dir. It does not hold the master password, which a restored
instance needs. To restore: stop the server, copy FILE to agent-vault.db in an empty data dir (or over
the old one, removing agent-vault.db-wal and agent-vault.db-shm), and start the server with the same
master password. On PostgreSQL, back up the database with pg_dump instead (docs/self-hosting.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("-o is required: the file to write the backup to, e.g. -o agent-vault-$(date +%F).db")
			}
			dir, err := config.DataDir(a.dataDir, nil)
			if err != nil {
				return err
			}
			d, err := config.LoadDatabase(dbURL, dir, nil)
			if err != nil {
				return err
			}
			res, err := daemon.Backup(cmd.Context(), d, out)
			if err != nil {
				return err
			}
			return a.show(res, func(w io.Writer) {
				fmt.Fprintf(w, "Backed up %s to %s (%d bytes, schema %d).\n", d, res.Path, res.Bytes, res.SchemaVersion)
				fmt.Fprintln(w, "It holds encrypted credentials and the proxy CA: keep it as safe as the data dir; restoring needs the same master password.")
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (must not exist)")
	cmd.Flags().StringVar(&dbURL, "database-url", "", "the server's PostgreSQL URL, if any (env DATABASE_URL): refused, use pg_dump")
	return cmd
}
