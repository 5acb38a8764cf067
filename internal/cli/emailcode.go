package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// The two flows that go through an emailed code (finishing a
// registration, resetting a password) each have a command that asks for
// the code and one that redeems it; these build both kinds.

// sendCodeCmd builds a command that has the server email a code: it reads
// the address (--email, a prompt, or a line of standard input), calls send
// and prints the server's message, then next(email) when a mail went out.
func (a *app) sendCodeCmd(use, short, emailHelp string,
	send func(ctx context.Context, c *client.Client, email string) (apitype.ForgotPasswordResult, error),
	next func(email string) string) *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.anon()
			if err != nil {
				return err
			}
			if email, err = a.readValue(email, "Email"); err != nil {
				return err
			}
			out, err := send(cmd.Context(), c, email)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintln(w, out.Message)
				if out.EmailSent && next != nil {
					fmt.Fprintln(w, next(email))
				}
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", emailHelp)
	return cmd
}

// codeInput is what a code-redeeming command read.
type codeInput struct {
	email, code, newPassword string
}

// redeemCode describes a command that redeems an emailed code.
type redeemCode struct {
	use, short, long, emailHelp string
	codeFlag                    bool // --code is offered (else only a prompt or standard input)
	newPassword                 bool // a new password follows the code
	// redeem calls the server; it returns the value for --json and the
	// human text.
	redeem func(ctx context.Context, c *client.Client, cfg config.Client, in codeInput) (any, string, error)
}

// redeemCodeCmd builds the command: the address (--email, a prompt, or a
// line), the code (--code, a hidden prompt, or the next line), then the
// new password (hidden and confirmed at a terminal, else the next line).
func (a *app) redeemCodeCmd(r redeemCode) *cobra.Command {
	var email, code string
	cmd := &cobra.Command{
		Use:   r.use,
		Short: r.short,
		Long:  r.long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := a.anon()
			if err != nil {
				return err
			}
			in := codeInput{code: code}
			if in.email, err = a.readValue(email, "Email"); err != nil {
				return err
			}
			if in.code == "" {
				if in.code, err = a.readSecret("Code from the email", false); err != nil {
					return err
				}
			}
			in.code = strings.TrimSpace(in.code)
			if r.newPassword {
				if in.newPassword, err = a.readSecret("New password", true); err != nil {
					return err
				}
			}
			v, human, err := r.redeem(cmd.Context(), c, cfg, in)
			if err != nil {
				return err
			}
			return a.show(v, func(w io.Writer) { fmt.Fprintln(w, human) })
		},
	}
	cmd.Flags().StringVar(&email, "email", "", r.emailHelp)
	if r.codeFlag {
		cmd.Flags().StringVar(&code, "code", "", "the six-digit code from the email")
	}
	return cmd
}
