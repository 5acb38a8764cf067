package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/daemon"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// masterPasswordCmd re-wraps the data encryption key. It works on the
// database directly, the data dir's SQLite file or the PostgreSQL one (the
// server may keep running: its unwrapped key does not change).
func (a *app) masterPasswordCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "master-password",
		Short: "Set, change or remove the master password that encrypts the data key",
		Long:  "Passwords are read from hidden prompts, or one per line from standard input (current first, when there is one).",
	}
	var databaseURL string
	cmd.PersistentFlags().StringVar(&databaseURL, "database-url", "", "the instance's PostgreSQL URL (env DATABASE_URL; default the SQLite file in the data dir)")
	run := func(wantProtected bool, askCurrent, askNew bool, done string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			dir, err := config.DataDir(a.dataDir, nil)
			if err != nil {
				return err
			}
			db, err := config.LoadDatabase(databaseURL, dir, nil)
			if err != nil {
				return err
			}
			var cur, next secret.Bytes
			if askCurrent {
				s, err := a.readSecret("Current master password", false)
				if err != nil {
					return err
				}
				cur = secret.FromString(s)
			}
			if askNew {
				s, err := a.readSecret("New master password", true)
				if err != nil {
					return err
				}
				if s == "" {
					return errors.New("the new master password is empty: to go passwordless use `agent-vault master-password remove`")
				}
				next = secret.FromString(s)
			}
			defer cur.Wipe()
			defer next.Wipe()
			if err := daemon.ChangeMasterPassword(cmd.Context(), db, cur, next, &wantProtected); err != nil {
				return err
			}
			fmt.Fprintln(a.out, done)
			return nil
		}
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "set",
		Short: "Protect a passwordless instance with a master password",
		Args:  cobra.NoArgs,
		RunE:  run(false, false, true, "Master password set. Start the server with it from now on."),
	}, &cobra.Command{
		Use:   "change",
		Short: "Change the master password",
		Args:  cobra.NoArgs,
		RunE:  run(true, true, true, "Master password changed."),
	}, &cobra.Command{
		Use:   "remove",
		Short: "Remove the master password (passwordless mode: the data key is stored unwrapped)",
		Args:  cobra.NoArgs,
		RunE:  run(true, true, false, "Master password removed. WARNING: the instance is now passwordless."),
	})
	return cmd
}
