package client

import (
	"context"
	"net/http"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// VerifyEmail finishes a registration with its emailed code.
func (c *Client) VerifyEmail(ctx context.Context, in apitype.VerifyEmailRequest) (out apitype.VerifyEmailResult, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/auth/verify", in, &out)
}

// ResendVerification asks for a new registration code.
func (c *Client) ResendVerification(ctx context.Context, email string) (out apitype.ForgotPasswordResult, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/auth/resend-verification", apitype.ResendVerificationRequest{Email: email}, &out)
}
