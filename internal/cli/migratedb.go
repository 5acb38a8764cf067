package cli

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/daemon"
)

// migrateDBCmd copies the data dir's SQLite instance into PostgreSQL.
func (a *app) migrateDBCmd() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "migrate-db --to postgres://user:password@host:5432/db",
		Short: "Copy this instance from its SQLite file into an empty PostgreSQL database",
		Long: "Copies every user, vault, credential (still encrypted), service, agent, session, proposal, the proxy CA " +
			"and the request log into an empty PostgreSQL database, in one transaction. Stop the server first; the SQLite " +
			"file is left as it was. Then start servers with DATABASE_URL set to the same URL (and the same master password).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return fmt.Errorf("--to is required: the PostgreSQL URL to copy into, postgres://user:password@host:5432/db")
			}
			dir, err := config.DataDir(a.dataDir, nil)
			if err != nil {
				return err
			}
			type copied struct {
				Table string `json:"table"`
				Rows  int64  `json:"rows"`
			}
			var tables []copied
			if !a.json {
				fmt.Fprintf(a.errOut, "Copying %s …\n", config.Server{DataDir: dir}.DatabasePath())
			}
			target, err := daemon.MigrateDB(cmd.Context(), dir, to, func(table string, rows int64) {
				tables = append(tables, copied{table, rows})
				if !a.json {
					fmt.Fprintf(a.errOut, "  %-22s %d rows\n", table, rows)
				}
			})
			if err != nil {
				return err
			}
			return a.show(map[string]any{"target": target, "tables": tables}, func(w io.Writer) {
				total := int64(0)
				for _, t := range tables {
					total += t.Rows
				}
				fmt.Fprintf(w, "Copied %s rows in %d tables into %s.\n", strconv.FormatInt(total, 10), len(tables), target)
				fmt.Fprintln(w, "Next: start the server with DATABASE_URL set to that URL (and the same master password, if any).")
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "PostgreSQL URL of an empty database (postgres://user:password@host:5432/db)")
	return cmd
}
