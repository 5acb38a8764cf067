package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/daemon"
)

// migrateDBCmd copies the data dir's SQLite instance into PostgreSQL.
func (a *app) migrateDBCmd() *cobra.Command {
	var (
		to, from    string
		dryRun, yes bool
	)
	cmd := &cobra.Command{
		Use:   "migrate-db --to postgres://user:password@host:5432/db",
		Short: "Copy this instance from its SQLite file into an empty PostgreSQL database",
		Long: "Copies every user, vault, credential (still encrypted), service, agent, session, proposal, the proxy CA " +
			"and the request log into an empty PostgreSQL database, in one transaction. Stop the server first; the SQLite " +
			"file is left as it was. Then start servers with DATABASE_URL set to the same URL (and the same master password).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" && !dryRun {
				return fmt.Errorf("--to is required: the PostgreSQL URL to copy into, postgres://user:password@host:5432/db")
			}
			dir, err := migrateSourceDir(a.dataDir, from)
			if err != nil {
				return err
			}
			type copied struct {
				Table string `json:"table"`
				Rows  int64  `json:"rows"`
			}
			var tables []copied
			if dryRun {
				source, err := daemon.MigrateDBDryRun(cmd.Context(), dir, func(table string, rows int64) {
					tables = append(tables, copied{table, rows})
				})
				if err != nil {
					return err
				}
				return a.show(map[string]any{"dry_run": true, "source": source, "tables": tables}, func(w io.Writer) {
					for _, t := range tables {
						fmt.Fprintf(w, "  %-22s %d rows\n", t.Table, t.Rows)
					}
					fmt.Fprintf(w, "Dry run: nothing was copied from %s. Run again without --dry-run (and with --to) to copy.\n", source)
				})
			}
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
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count the rows of each table without copying anything")
	cmd.Flags().StringVar(&from, "from", "", "the SQLite file to copy (default: agent-vault.db in the data dir)")
	// The copy never asks for confirmation (it only writes into an empty
	// database); --yes is accepted for scripts written for the public CLI.
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (nothing is asked)")
	_ = cmd.Flags().MarkHidden("yes")
	return cmd
}

// migrateSourceDir is the data dir whose SQLite file is copied: the one of
// --from when given (it must be a data dir's agent-vault.db, whose lock
// the copy holds), else the usual data dir.
func migrateSourceDir(dataDir, from string) (string, error) {
	if from == "" {
		return config.DataDir(dataDir, nil)
	}
	abs, err := filepath.Abs(from)
	if err != nil {
		return "", err
	}
	if filepath.Base(abs) != "agent-vault.db" {
		return "", fmt.Errorf("--from must name a data dir's agent-vault.db, not %s (or use --data-dir)", from)
	}
	return filepath.Dir(abs), nil
}
