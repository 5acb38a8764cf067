package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

func (a *app) vaultUserCmd() *cobra.Command {
	var vault string
	cmd := &cobra.Command{Use: "user", Short: "Manage a vault's users"}
	cmd.PersistentFlags().StringVar(&vault, "vault", "", "vault name (default: the one 'agent-vault vault current' shows)")
	// setup resolves the vault and a logged-in client for every subcommand.
	setup := func() (*client.Client, config.ResolvedVault, error) {
		rv, err := a.resolveVault(vault)
		if err != nil {
			return nil, rv, err
		}
		c, _, err := a.authed()
		return c, rv, err
	}
	var role string
	add := &cobra.Command{
		Use:   "add <email>",
		Short: "Add an existing user to the vault",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.AddVaultUser(cmd.Context(), rv.Name, apitype.VaultUserRequest{Email: args[0], Role: role})
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Added %s to vault %s as %s.\n", out.Email, rv.Name, out.Role) })
		},
	}
	add.Flags().StringVar(&role, "role", "member", "admin or member")
	cmd.AddCommand(add, &cobra.Command{
		Use:   "list",
		Short: "List the vault's users and pending invites",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.VaultUsers(cmd.Context(), rv.Name)
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, u := range out.Users {
					rows = append(rows, []string{u.Email, u.Role, u.Status})
				}
				a.table([]string{"EMAIL", "ROLE", "STATUS"}, rows)
			})
		},
	}, &cobra.Command{
		Use:   "remove <email>",
		Short: "Remove a user from the vault",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.RemoveVaultUser(cmd.Context(), rv.Name, args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintln(w, out.Message) })
		},
	}, &cobra.Command{
		Use:   "set-role <email> <admin|member>",
		Short: "Change a user's role in the vault",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.SetVaultUserRole(cmd.Context(), rv.Name, args[0], args[1])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "%s is now %s of vault %s.\n", out.Email, out.Role, rv.Name) })
		},
	})
	return cmd
}
