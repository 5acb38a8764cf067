package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "List and invite users"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the instance's users",
		Args:  cobra.NoArgs,
		RunE:  a.listUsers,
	}, a.inviteCmd())
	return cmd
}

func (a *app) listUsers(cmd *cobra.Command, _ []string) error {
	c, _, err := a.authed()
	if err != nil {
		return err
	}
	out, err := c.Users(cmd.Context())
	if err != nil {
		return err
	}
	return a.show(out, func(io.Writer) {
		rows := [][]string{}
		for _, u := range out.Users {
			vs := []string{}
			for _, v := range u.Vaults {
				vs = append(vs, v.VaultName+":"+v.VaultRole)
			}
			rows = append(rows, []string{u.Email, u.Role, strings.Join(vs, ","), ts(u.CreatedAt)})
		}
		a.table([]string{"EMAIL", "ROLE", "VAULTS", "CREATED"}, rows)
	})
}

// parseVaultGrants reads repeated --vault name[:role] flags.
func parseVaultGrants(specs []string, defaultRole string) ([]apitype.UserVault, error) {
	out := []apitype.UserVault{}
	for _, s := range specs {
		name, role, ok := strings.Cut(s, ":")
		if !ok {
			role = defaultRole
		}
		if name == "" {
			return nil, fmt.Errorf("--vault %q must look like name:role (role admin or member)", s)
		}
		out = append(out, apitype.UserVault{VaultName: name, VaultRole: role})
	}
	return out, nil
}

func (a *app) inviteCmd() *cobra.Command {
	var (
		role   string
		vaults []string
	)
	cmd := &cobra.Command{
		Use:   "invite <email>",
		Short: "Invite a user; prints the one-time link (valid 48 hours)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			grants, err := parseVaultGrants(vaults, "member")
			if err != nil {
				return err
			}
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.CreateInvite(cmd.Context(), apitype.InviteRequest{Email: args[0], Role: role, Vaults: grants})
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "Invited %s as %s (expires %s).\n", out.Email, out.Role, ts(out.ExpiresAt))
				fmt.Fprintf(w, "Send them this link; it works once:\n%s\n", out.InviteLink)
				fmt.Fprintf(w, "Or they run: agent-vault auth accept-invite %s\n", out.Token)
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "member", "instance role: owner, member or no-access")
	cmd.Flags().StringArrayVar(&vaults, "vault", nil, "grant a vault as name:role (repeatable)")
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the invites you sent, those into vaults you administer (owners: all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.Invites(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, i := range out.Invites {
					vs := []string{}
					for _, v := range i.Vaults {
						vs = append(vs, v.VaultName+":"+v.VaultRole)
					}
					rows = append(rows, []string{i.ID, i.Email, i.Role, i.Status, strings.Join(vs, ","), i.CreatedBy, ts(i.ExpiresAt)})
				}
				a.table([]string{"ID", "EMAIL", "ROLE", "STATUS", "VAULTS", "INVITED BY", "EXPIRES"}, rows)
			})
		},
	}, &cobra.Command{
		Use:   "revoke <id-or-token>",
		Short: "Revoke a pending invite you sent, or one into a vault you administer (owners: any)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.RevokeInvite(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintln(w, out.Message+".") })
		},
	})
	return cmd
}
