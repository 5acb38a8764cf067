package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// forgotPasswordCmd asks the server to email a reset code.
func (a *app) forgotPasswordCmd() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "forgot-password",
		Short: "Have a password reset code emailed to you",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.anon()
			if err != nil {
				return err
			}
			if email, err = a.readValue(email, "Email"); err != nil {
				return err
			}
			out, err := c.ForgotPassword(cmd.Context(), email)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintln(w, out.Message)
				if out.EmailSent {
					fmt.Fprintf(w, "Then run: agent-vault auth reset-password --email %s\n", email)
				}
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "your account's email")
	return cmd
}

// resetPasswordCmd sets a new password with the emailed code.
func (a *app) resetPasswordCmd() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "reset-password",
		Short: "Set a new password with the code from the reset email",
		Long: "Reads the six-digit code, then the new password (twice at a terminal), from hidden prompts, " +
			"or one per line from standard input. Every session of the account ends; log in again afterwards.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.anon()
			if err != nil {
				return err
			}
			if email, err = a.readValue(email, "Email"); err != nil {
				return err
			}
			code, err := a.readSecret("Reset code", false)
			if err != nil {
				return err
			}
			pw, err := a.readSecret("New password", true)
			if err != nil {
				return err
			}
			out, err := c.ResetPassword(cmd.Context(), apitype.ResetPasswordRequest{Email: email, Code: code, NewPassword: pw})
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintln(w, out.Message)
				fmt.Fprintf(w, "Log in with: agent-vault auth login --email %s\n", out.Email)
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "your account's email")
	return cmd
}
