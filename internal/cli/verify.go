package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// verifyCmd finishes a registration with the code emailed to its address.
func (a *app) verifyCmd() *cobra.Command {
	return a.redeemCodeCmd(redeemCode{
		use:       "verify",
		short:     "Finish registering with the code emailed to you, and log in",
		long:      "Finish registering with the six-digit code emailed to you. The code is read from --code, a prompt, or the first line of standard input.",
		emailHelp: "the address you registered",
		codeFlag:  true,
		redeem: func(ctx context.Context, c *client.Client, cfg config.Client, in codeInput) (any, string, error) {
			out, err := c.VerifyEmail(ctx, apitype.VerifyEmailRequest{Email: in.email, Code: in.code, DeviceLabel: deviceLabel()})
			if err != nil {
				return nil, "", err
			}
			if err := a.saveSession(cfg, out.Token, out.Email); err != nil {
				return nil, "", err
			}
			out.Token = "" // saved; never printed
			return out, out.Message, nil
		},
	})
}

// resendVerificationCmd asks for a new registration code.
func (a *app) resendVerificationCmd() *cobra.Command {
	return a.sendCodeCmd("resend-verification", "Have a new registration code emailed to you", "the address you registered",
		func(ctx context.Context, c *client.Client, email string) (apitype.ForgotPasswordResult, error) {
			return c.ResendVerification(ctx, email)
		}, nil)
}
