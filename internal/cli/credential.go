package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// vaultScoped adds --vault to cmd and returns a function that resolves it
// and opens a logged-in client.
func (a *app) vaultScoped(cmd *cobra.Command) func() (*client.Client, config.ResolvedVault, error) {
	var vault string
	cmd.PersistentFlags().StringVar(&vault, "vault", "", "vault name (default: the one 'agent-vault vault current' shows)")
	return func() (*client.Client, config.ResolvedVault, error) {
		rv, err := a.resolveVault(vault)
		if err != nil {
			return nil, rv, err
		}
		c, _, err := a.authed()
		return c, rv, err
	}
}

func (a *app) credentialCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "credential",
		Aliases: []string{"creds", "credentials"},
		Short:   "Manage a vault's credentials (encrypted values)",
	}
	setup := a.vaultScoped(cmd)
	var reveal bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List credential names (values with --reveal: users with member role or higher)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.Credentials(cmd.Context(), rv.Name, reveal, "")
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, cr := range out.Credentials {
					row := []string{cr.Key, oauthTypeCell(cr), ts(cr.UpdatedAt), allowedHostsCell(cr)}
					if reveal && cr.Value != nil {
						row = append(row, *cr.Value)
					}
					rows = append(rows, row)
				}
				head := []string{"KEY", "TYPE", "UPDATED", "ALLOWED HOSTS"}
				if reveal {
					head = append(head, "VALUE")
				}
				a.table(head, rows)
			})
		},
	}
	list.Flags().BoolVar(&reveal, "reveal", false, "also print the values")
	var setHosts []string
	set := &cobra.Command{
		Use:   "set <KEY>[=VALUE]...",
		Short: "Set credentials; a bare KEY reads its value from a hidden prompt or a line of standard input",
		Long: `Set one or more credentials in the vault.

  agent-vault vault credential set STRIPE_KEY          # prompts (hidden), or reads one line of stdin
  printf '%s\n' "$VALUE" | agent-vault vault credential set STRIPE_KEY
  agent-vault vault credential set A=1 B=2             # convenience: values land in shell history
  agent-vault vault credential set STRIPE_KEY --host api.stripe.com   # and allow it there

Keys are UPPER_SNAKE_CASE. --host (repeatable) binds every key set to the
host pattern, as ` + "`credential bind`" + ` does (users only).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			values := map[string]string{}
			for _, arg := range args {
				k, v, hasValue := strings.Cut(arg, "=")
				if !hasValue {
					s, err := a.readSecret("Value for "+k, false)
					if err != nil {
						return err
					}
					v = s
				}
				if _, dup := values[k]; dup {
					return fmt.Errorf("%s is given twice", k)
				}
				values[k] = v
			}
			c, rv, err := setup()
			if err != nil {
				return err
			}
			in := apitype.SetCredentialsRequest{Vault: rv.Name, Credentials: values}
			if len(setHosts) > 0 {
				in.AllowedHosts = map[string][]string{}
				for k := range values {
					in.AllowedHosts[k] = setHosts
				}
			}
			out, err := c.SetCredentialsWith(cmd.Context(), in)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "Set %s in vault %s.\n", strings.Join(out.Set, ", "), rv.Name)
			})
		},
	}
	set.Flags().StringArrayVar(&setHosts, "host", nil, "also bind the keys to this host pattern (repeatable)")
	cmd.AddCommand(list, set, a.bindCmd(setup, true), a.bindCmd(setup, false), a.oauthCmd(setup), &cobra.Command{
		Use:   "get <KEY>",
		Short: "Print one credential's value (users with member role or higher)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.Credentials(cmd.Context(), rv.Name, true, args[0])
			if err != nil {
				return err
			}
			if len(out.Credentials) == 1 && out.Credentials[0].OAuth != nil {
				return fmt.Errorf("credential %s is an OAuth credential: its tokens are never shown; see `agent-vault vault credential oauth status %s`", args[0], args[0])
			}
			if len(out.Credentials) != 1 || out.Credentials[0].Value == nil {
				return fmt.Errorf("credential %s not found in vault %s", args[0], rv.Name)
			}
			if a.json {
				return a.printJSON(out.Credentials[0])
			}
			fmt.Fprintln(a.out, *out.Credentials[0].Value)
			return nil
		},
	}, &cobra.Command{
		Use:   "delete <KEY>...",
		Short: "Delete credentials",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			keys := append([]string(nil), args...)
			sort.Strings(keys)
			out, err := c.DeleteCredentials(cmd.Context(), rv.Name, keys)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "Deleted %s from vault %s.\n", strings.Join(out.Deleted, ", "), rv.Name)
			})
		},
	})
	return cmd
}

// allowedHostsCell shows a credential's binding in a table, agent-made
// bindings marked.
func allowedHostsCell(cr apitype.Credential) string {
	if len(cr.AllowedHosts) == 0 {
		return "-"
	}
	parts := make([]string, len(cr.AllowedHosts))
	for i, h := range cr.AllowedHosts {
		parts[i] = h
		if slices.Contains(cr.AgentBoundHosts, h) {
			parts[i] += " (agent)"
		}
	}
	return strings.Join(parts, ", ")
}

// bindCmd is `credential bind` (widen) or `credential unbind` (narrow).
func (a *app) bindCmd(setup func() (*client.Client, config.ResolvedVault, error), widen bool) *cobra.Command {
	var hosts []string
	use, short := "bind <KEY> --host PATTERN...", "Allow a credential to be sent to host patterns (users only)"
	if !widen {
		use, short = "unbind <KEY> --host PATTERN...", "Stop a credential from being sent to host patterns (users only)"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.

A credential is injected only into services whose host pattern one of its
bound patterns covers: the same pattern, a port-less pattern for any port,
*.example.com for api.example.com, a path glob ending in * for longer paths.
Saving a service as a user, or approving a proposal, binds its credentials
to its host; agents can bind only values they wrote themselves.

  agent-vault vault credential bind STRIPE_KEY --host api.stripe.com
  agent-vault vault credential unbind STRIPE_KEY --host old.example.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(hosts) == 0 {
				return errors.New("name at least one host pattern with --host")
			}
			c, rv, err := setup()
			if err != nil {
				return err
			}
			do := c.BindCredential
			if !widen {
				do = c.UnbindCredential
			}
			out, err := do(cmd.Context(), rv.Name, args[0], hosts)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				if len(out.AllowedHosts) == 0 {
					fmt.Fprintf(w, "%s in vault %s is bound to no host: no service injects it.\n", out.Key, rv.Name)
					return
				}
				fmt.Fprintf(w, "%s in vault %s may now be sent to: %s\n", out.Key, rv.Name, strings.Join(out.AllowedHosts, ", "))
			})
		},
	}
	cmd.Flags().StringArrayVar(&hosts, "host", nil, "host pattern, e.g. api.example.com or *.example.com (repeatable)")
	return cmd
}

// errNeedYes asks for confirmation on destructive commands.
func errNeedYes(what string) error {
	return errors.New(what + ": run again with --yes to confirm")
}
