package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/config"
)

func (a *app) accountCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Your own account"}
	var yes bool
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete your account; the agents you own are revoked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return fmt.Errorf("this deletes your account for good: run again with --yes to confirm")
			}
			c, cfg, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.DeleteAccount(cmd.Context())
			if err != nil {
				return err
			}
			_ = config.RemoveSession(cfg.DataDir)
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "Account %s deleted.\n", out.Email)
				if len(out.AgentsRevoked) > 0 {
					fmt.Fprintf(w, "Your agents were revoked: %s.\n", strings.Join(out.AgentsRevoked, ", "))
				}
			})
		},
	}
	del.Flags().BoolVar(&yes, "yes", false, "confirm")
	cmd.AddCommand(&cobra.Command{
		Use:   "whoami",
		Short: "Show who the CLI is logged in as",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := a.authed()
			if err != nil {
				return err
			}
			me, err := c.Me(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(me, func(w io.Writer) { fmt.Fprintf(w, "%s on %s\n", whoName(me), cfg.Address) })
		},
	}, &cobra.Command{
		Use:   "change-password",
		Short: "Change your password (ends your other sessions)",
		Long:  "Change your password. Both passwords are read from hidden prompts, or from two lines of standard input (current, then new).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := a.authed()
			if err != nil {
				return err
			}
			cur, err := a.readSecret("Current password", false)
			if err != nil {
				return err
			}
			next, err := a.readSecret("New password", true)
			if err != nil {
				return err
			}
			out, err := c.ChangePassword(cmd.Context(), apitype.ChangePasswordRequest{CurrentPassword: cur, NewPassword: next})
			if err != nil {
				return err
			}
			s, _ := config.ReadSession(cfg.DataDir)
			if err := a.saveSession(cfg, out.Token, s.Email); err != nil {
				return err
			}
			fmt.Fprintln(a.out, "Password changed. Your other sessions were ended; this CLI stays logged in.")
			return nil
		},
	}, del)
	return cmd
}

// whoName names the caller: a user's email and role, an agent, or a
// vault session and its role.
func whoName(me apitype.Me) string {
	switch me.Type {
	case "agent":
		return "agent " + me.AgentName
	case "session":
		return "vault session for vault " + me.Vault + " (" + me.Role + ")"
	}
	return me.Email + " (" + me.Role + ")"
}
