package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// verifyCmd finishes a registration with the code emailed to its address.
func (a *app) verifyCmd() *cobra.Command {
	var email, code string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Finish registering with the code emailed to you, and log in",
		Long:  "Finish registering with the six-digit code emailed to you. The code is read from --code, a prompt, or the first line of standard input.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := a.anon()
			if err != nil {
				return err
			}
			if email, err = a.readValue(email, "Email"); err != nil {
				return err
			}
			if code, err = a.readValue(code, "Code"); err != nil {
				return err
			}
			out, err := c.VerifyEmail(cmd.Context(), apitype.VerifyEmailRequest{Email: email, Code: strings.TrimSpace(code), DeviceLabel: deviceLabel()})
			if err != nil {
				return err
			}
			if err := a.saveSession(cfg, out.Token, out.Email); err != nil {
				return err
			}
			out.Token = "" // saved; never printed
			return a.show(out, func(w io.Writer) { fmt.Fprintln(w, out.Message) })
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the address you registered")
	cmd.Flags().StringVar(&code, "code", "", "the six-digit code from the email")
	return cmd
}

// resendVerificationCmd asks for a new registration code.
func (a *app) resendVerificationCmd() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "resend-verification",
		Short: "Have a new registration code emailed to you",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.anon()
			if err != nil {
				return err
			}
			if email, err = a.readValue(email, "Email"); err != nil {
				return err
			}
			out, err := c.ResendVerification(cmd.Context(), email)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintln(w, out.Message) })
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the address you registered")
	return cmd
}
