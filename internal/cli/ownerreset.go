package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/daemon"
)

// ownerResetCmd wipes the local instance back to a fresh install: users,
// vaults, credentials, services, agents, proposals and the proxy CA. It
// needs an owner's session on this machine's server, and typing "reset"
// (or --yes). Only the database files of the data dir and the CLI
// session are removed, never the directory itself.
func (a *app) ownerResetCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Delete every user, vault, credential and agent of the local instance (owners only)",
		Long: "Stops the local server and deletes the instance's database, returning it to a fresh install. " +
			"Needs an owner's session on this machine's server and confirmation (type reset, or --yes). " +
			"A PostgreSQL instance (DATABASE_URL) is not reset: drop and recreate that database instead.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := config.DataDir(a.dataDir, nil)
			if err != nil {
				return err
			}
			db, err := config.LoadDatabase("", dir, os.Getenv)
			if err != nil {
				return err
			}
			if db.Postgres() {
				return errors.New("reset removes local files and would not touch the shared PostgreSQL database (DATABASE_URL is set): drop and recreate that database with your database tools, then restart the servers")
			}
			if _, err := os.Stat(db.Path); err != nil {
				return fmt.Errorf("no local instance at %s: nothing to reset (check --data-dir)", db.Path)
			}
			c, cfg, err := a.authed()
			if err != nil {
				return err
			}
			if !isLoopbackURL(cfg.Address) {
				return fmt.Errorf("your session is for %s, not a server on this machine: reset only deletes the local instance, so log in to the local server first", cfg.Address)
			}
			me, err := c.Me(cmd.Context())
			if err != nil {
				return err
			}
			if me.Type != "user" || !me.IsOwner {
				return errors.New("only an instance owner may reset the instance")
			}
			if !yes {
				fmt.Fprintf(a.errOut, "This permanently deletes every user, vault, credential, service, agent and proposal in %s.\nType reset to confirm: ", db.Path)
				answer, err := a.line()
				if err != nil {
					return err
				}
				if answer != "reset" {
					fmt.Fprintln(a.out, "Aborted: nothing was deleted.")
					return nil
				}
			}
			if pid, err := daemon.Stop(dir, 40*time.Second); err != nil && !errors.Is(err, daemon.ErrNotRunning) {
				return fmt.Errorf("stopping the server first: %w (nothing was deleted)", err)
			} else if err == nil && !a.json {
				fmt.Fprintf(a.errOut, "Stopped the server (pid %d).\n", pid)
			}
			for _, p := range []string{db.Path, db.Path + "-wal", db.Path + "-shm", db.Path + "-journal"} {
				if err := wipeFile(p); err != nil {
					return fmt.Errorf("deleting %s: %w", p, err)
				}
			}
			if err := config.RemoveSession(dir); err != nil {
				return err
			}
			return a.show(map[string]any{"reset": true, "database": db.Path}, func(w io.Writer) {
				fmt.Fprintln(w, "Instance reset. Start a fresh one with `agent-vault server`; the first account registered becomes its owner.")
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// wipeFile overwrites a file with zeros before removing it (sealed
// credentials are useless without the key, but leave nothing behind); a
// missing file is fine.
func wipeFile(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st, err := f.Stat(); err == nil {
		zeros := make([]byte, 64<<10)
		for left := st.Size(); left > 0; {
			n := min(left, int64(len(zeros)))
			if _, err := f.Write(zeros[:n]); err != nil {
				break
			}
			left -= n
		}
		_ = f.Sync()
	}
	_ = f.Close()
	return os.Remove(p)
}

// isLoopbackURL reports whether u names a server on this machine.
func isLoopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
