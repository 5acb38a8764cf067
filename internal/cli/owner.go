package cli

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func (a *app) ownerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "owner", Short: "Instance owner commands"}
	vault := &cobra.Command{Use: "vault", Short: "Every vault on the instance"}
	vault.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List every vault",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.AdminVaults(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, v := range out.Vaults {
					rows = append(rows, []string{v.Name, v.ID, strconv.FormatBool(v.IsDefault), ts(v.CreatedAt)})
				}
				a.table([]string{"NAME", "ID", "DEFAULT", "CREATED"}, rows)
			})
		},
	}, a.vaultJoinCmd(), a.vaultDeleteCmd())

	user := &cobra.Command{Use: "user", Short: "Every user on the instance"}
	var yes bool
	del := &cobra.Command{
		Use:   "delete <email>",
		Short: "Delete a user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return fmt.Errorf("this deletes %s's account: run again with --yes to confirm", args[0])
			}
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.AdminDeleteUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "User %s removed.\n", out.Email) })
		},
	}
	del.Flags().BoolVar(&yes, "yes", false, "confirm")
	user.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List users with their vaults",
		Args:  cobra.NoArgs,
		RunE:  a.listUsers,
	}, &cobra.Command{
		Use:   "show <email|me>",
		Short: "Show one user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.AdminUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "email: %s\nrole: %s\nvaults: %v\ncreated: %s\n", out.Email, out.Role, out.Vaults, ts(out.CreatedAt))
			})
		},
	}, &cobra.Command{
		Use:   "set-role <email> <owner|member|no-access>",
		Short: "Change a user's instance role",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.AdminSetRole(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "%s is now %s.\n", out.Email, out.Role) })
		},
	}, del)

	settings := &cobra.Command{Use: "settings", Short: "Instance settings"}
	var inviteOnly string
	set := &cobra.Command{
		Use:   "set",
		Short: "Change instance settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var in apitype.InstanceSettings
			if inviteOnly == "" {
				return fmt.Errorf("nothing to change: pass --invite-only=true or --invite-only=false")
			}
			v, err := strconv.ParseBool(inviteOnly)
			if err != nil {
				return fmt.Errorf("--invite-only must be true or false, not %q", inviteOnly)
			}
			in.InviteOnly = &v
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.UpdateInstanceSettings(cmd.Context(), in)
			if err != nil {
				return err
			}
			return a.showSettings(out)
		},
	}
	set.Flags().StringVar(&inviteOnly, "invite-only", "", "true: only invited users can register")
	settings.AddCommand(&cobra.Command{
		Use:   "get",
		Short: "Show instance settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.InstanceSettings(cmd.Context())
			if err != nil {
				return err
			}
			return a.showSettings(out)
		},
	}, set)
	cmd.AddCommand(vault, user, settings)
	return cmd
}

func (a *app) showSettings(s apitype.InstanceSettings) error {
	return a.show(s, func(w io.Writer) {
		if s.InviteOnly != nil {
			fmt.Fprintf(w, "invite_only: %t\n", *s.InviteOnly)
		}
	})
}
