package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// forgotPasswordCmd asks the server to email a reset code.
func (a *app) forgotPasswordCmd() *cobra.Command {
	return a.sendCodeCmd("forgot-password", "Have a password reset code emailed to you", "your account's email",
		func(ctx context.Context, c *client.Client, email string) (apitype.ForgotPasswordResult, error) {
			return c.ForgotPassword(ctx, email)
		},
		func(email string) string { return "Then run: agent-vault auth reset-password --email " + email })
}

// resetPasswordCmd sets a new password with the emailed code.
func (a *app) resetPasswordCmd() *cobra.Command {
	return a.redeemCodeCmd(redeemCode{
		use:   "reset-password",
		short: "Set a new password with the code from the reset email",
		long: "Reads the six-digit code, then the new password (twice at a terminal), from hidden prompts, " +
			"or one per line from standard input. Every session of the account ends; log in again afterwards.",
		emailHelp:   "your account's email",
		newPassword: true,
		redeem: func(ctx context.Context, c *client.Client, _ config.Client, in codeInput) (any, string, error) {
			out, err := c.ResetPassword(ctx, apitype.ResetPasswordRequest{Email: in.email, Code: in.code, NewPassword: in.newPassword})
			if err != nil {
				return nil, "", err
			}
			return out, out.Message + "\nLog in with: agent-vault auth login --email " + out.Email, nil
		},
	})
}
