package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/config"
)

// resolveVault applies the vault resolution order (README, "CLI") to the
// --vault flag value.
func (a *app) resolveVault(flag string) (config.ResolvedVault, error) {
	cfg, err := a.clientConfig()
	if err != nil {
		return config.ResolvedVault{}, err
	}
	cwd, _ := os.Getwd()
	rv, err := config.ResolveVault(flag, nil, cwd, cfg.DataDir)
	if err == nil && agentToken() != "" && (rv.Source == config.FromContext || rv.Source == config.FromDefault) {
		// An agent's token names its vault, not a human's `vault use`:
		// ask the server which it is.
		c, _, err := a.authed()
		if err != nil {
			return rv, err
		}
		d, err := c.Discover(context.Background(), "")
		if err != nil {
			return rv, fmt.Errorf("finding the agent token's vault: %w (name it with --vault or AGENT_VAULT_VAULT)", err)
		}
		return config.ResolvedVault{Name: d.Vault, Source: config.FromToken}, nil
	}
	return rv, err
}

func (a *app) vaultCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "vault", Short: "Create, list and manage vaults"}
	cmd.AddCommand(a.vaultCreateCmd(), a.vaultListCmd(), a.vaultDeleteCmd(), a.vaultRenameCmd(),
		a.vaultUseCmd(), a.vaultCurrentCmd(), a.vaultInitCmd(), a.vaultJoinCmd(), a.vaultLeaveCmd(),
		a.vaultSettingsCmd(), a.vaultUserCmd(), a.credentialCmd(), a.serviceCmd(), a.vaultAgentCmd(),
		a.vaultTokenCmd(), a.vaultDiscoverCmd(), a.runCmd(), a.vaultLogsCmd(), a.proposalCmd())
	return cmd
}

func (a *app) vaultCreateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "create <name>",
		Short: "Create a vault (you become its admin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.CreateVault(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Vault %s created.\n", out.Name) })
		},
	}
}

func (a *app) vaultListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List your vaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.Vaults(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, v := range out.Vaults {
					role := v.Role
					if role == "" {
						role = "-"
					}
					rows = append(rows, []string{v.Name, role, v.Membership, ts(v.CreatedAt)})
				}
				a.table([]string{"NAME", "ROLE", "MEMBERSHIP", "CREATED"}, rows)
			})
		},
	}
}

func (a *app) vaultDeleteCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete <name>",
		Short: "Delete a vault and everything in it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			if !yes {
				// A mistyped name is said to be one before the
				// confirmation is asked for.
				if _, err := c.VaultSettings(cmd.Context(), args[0]); err != nil {
					return err
				}
				return fmt.Errorf("this deletes vault %q and everything in it: run again with --yes to confirm", args[0])
			}
			out, err := c.DeleteVault(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Vault %s deleted.\n", out.Name) })
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm")
	return cmd
}

func (a *app) vaultRenameCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rename <name> <new-name>",
		Short: "Rename a vault",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.RenameVault(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Vault %s renamed to %s.\n", out.OldName, out.NewName) })
		},
	}
}

func (a *app) vaultUseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "use <name>",
		Short: "Make a vault the CLI's default (below --vault, AGENT_VAULT_VAULT and agent-vault.json)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, cfg, err := a.authed()
			if err != nil {
				return err
			}
			if _, err := c.VaultSettings(cmd.Context(), args[0]); err != nil {
				return err
			}
			if err := config.UseVault(cfg.DataDir, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "Now using vault %s.\n", args[0])
			return nil
		},
	}
}

func (a *app) vaultCurrentCmd() *cobra.Command {
	var flag string
	cmd := &cobra.Command{
		Use:   "current",
		Short: "Show which vault commands act on, and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rv, err := a.resolveVault(flag)
			if err != nil {
				return err
			}
			return a.show(map[string]string{"vault": rv.Name, "source": string(rv.Source), "path": rv.Path}, func(w io.Writer) {
				if rv.Path != "" {
					fmt.Fprintf(w, "%s (from %s)\n", rv.Name, rv.Path)
					return
				}
				fmt.Fprintf(w, "%s (from %s)\n", rv.Name, rv.Source)
			})
		},
	}
	cmd.Flags().StringVar(&flag, "vault", "", "vault name")
	return cmd
}

func (a *app) vaultInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init <name>",
		Short: "Pin this directory (and below) to a vault with an agent-vault.json file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cwd, err := os.Getwd()
			if err != nil {
				return err
			}
			p, err := config.WriteProjectFile(cwd, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "Wrote %s: commands here use vault %s.\n", p, args[0])
			return nil
		},
	}
}

func (a *app) vaultJoinCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "join <name>",
		Short: "Join a vault as admin (owners)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.JoinVault(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Joined vault %s as %s.\n", out.Vault, out.Role) })
		},
	}
}

func (a *app) vaultLeaveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "leave <name>",
		Short: "Leave a vault",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.LeaveVault(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintln(w, out.Message) })
		},
	}
}

func (a *app) vaultSettingsCmd() *cobra.Command {
	var vault, policy string
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show or change a vault's settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rv, err := a.resolveVault(vault)
			if err != nil {
				return err
			}
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			var out apitype.VaultSettings
			if policy != "" {
				out, err = c.UpdateVaultSettings(cmd.Context(), rv.Name, apitype.VaultSettings{UnmatchedHostPolicy: policy})
			} else {
				out, err = c.VaultSettings(cmd.Context(), rv.Name)
			}
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "vault: %s\nunmatched_host_policy: %s\n", rv.Name, out.UnmatchedHostPolicy)
			})
		},
	}
	cmd.Flags().StringVar(&vault, "vault", "", "vault name")
	cmd.Flags().StringVar(&policy, "unmatched-host-policy", "", "set to passthrough or deny")
	return cmd
}
