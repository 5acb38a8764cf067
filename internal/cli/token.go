package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func (a *app) vaultTokenCmd() *cobra.Command {
	var (
		ttl   time.Duration
		role  string
		label string
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a vault-scoped session token for an agent (prints it once)",
		Long: `Mint a vault-bound av_sess_ token, proxy role by default, valid 5 minutes to
7 days (default 24h). Hand it to an agent as AGENT_VAULT_TOKEN. You hold at most
10 active ones; see them with 'vault token list' and end one with 'vault token revoke'.`,
		Args: cobra.NoArgs,
	}
	setup := a.vaultScoped(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, rv, err := setup()
		if err != nil {
			return err
		}
		if ttl%time.Second != 0 {
			return fmt.Errorf("--ttl %s must be whole seconds", ttl)
		}
		out, err := c.CreateScopedSession(cmd.Context(), apitype.CreateScopedSessionRequest{Vault: rv.Name, VaultRole: role, TTLSeconds: int(ttl / time.Second), Label: label})
		if err != nil {
			return err
		}
		if a.json {
			return a.printJSON(out)
		}
		fmt.Fprintln(a.out, out.Token)
		fmt.Fprintf(a.errOut, "Vault %s, role %s, expires %s.\n", out.Vault, out.VaultRole, ts(out.ExpiresAt))
		return nil
	}
	f := cmd.Flags()
	f.DurationVar(&ttl, "ttl", 0, "lifetime, 5m to 168h (default 24h)")
	f.StringVar(&role, "role", "", "vault role of the token: proxy (default), member or admin, at most yours")
	f.StringVar(&label, "label", "", "a note shown by 'agent-vault vault token list'")
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the vault tokens you minted that are still valid",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.ScopedSessions(cmd.Context(), "")
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, s := range out.Sessions {
					rows = append(rows, []string{s.ID, s.Vault, s.VaultRole, s.Label, ts(s.ExpiresAt)})
				}
				a.table([]string{"ID", "VAULT", "ROLE", "LABEL", "EXPIRES"}, rows)
			})
		},
	}, &cobra.Command{
		Use:   "revoke <id>",
		Short: "End a vault token you minted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.RevokeScopedSession(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Vault token %s revoked.\n", args[0]) })
		},
	})
	return cmd
}

func (a *app) vaultDiscoverCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "discover",
		Short: "Show what the vault brokers, as an agent sees it",
		Args:  cobra.NoArgs,
	}
	setup := a.vaultScoped(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, rv, err := setup()
		if err != nil {
			return err
		}
		out, err := c.Discover(cmd.Context(), rv.Name)
		if err != nil {
			return err
		}
		return a.show(out, func(w io.Writer) {
			fmt.Fprintf(w, "vault: %s\n", out.Vault)
			rows := [][]string{}
			for _, s := range out.Services {
				rows = append(rows, []string{s.Name, s.Host})
			}
			a.table([]string{"SERVICE", "HOST"}, rows)
			fmt.Fprintf(w, "credentials: %s\n", strings.Join(out.AvailableCredentials, ", "))
		})
	}
	return cmd
}

func (a *app) catalogCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "catalog",
		Short: "List service templates for common APIs (use with `vault service add --from-catalog`)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.anon()
			if err != nil {
				return err
			}
			out, err := c.Catalog(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, e := range out.Services {
					rows = append(rows, []string{e.ID, e.Host, e.AuthType, e.CredentialKey})
				}
				a.table([]string{"ID", "HOST", "AUTH", "CREDENTIAL"}, rows)
			})
		},
	}
}
