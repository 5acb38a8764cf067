package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
)

// Forgotten passwords (SPEC §9 auth forgot-password, reset-password): a
// six-digit code is emailed to the account's address, valid 15 minutes,
// used once; five wrong tries void a user's pending codes, and at most
// three are sent per user per hour, so guessing stays hopeless. The
// answers never say whether an account exists.

const forgotMessage = "If an account with that email exists, a password reset code has been sent to it. It is valid for 15 minutes."

// ForgotPassword emails a reset code to the account, if there is one.
func (b *Broker) ForgotPassword(ctx context.Context, in apitype.ForgotPasswordRequest) (apitype.ForgotPasswordResult, error) {
	email, err := model.NormalizeEmail("email", in.Email)
	if err != nil {
		return apitype.ForgotPasswordResult{}, err
	}
	if b.mailer == nil {
		// Says nothing about the account: no server without email can help.
		return apitype.ForgotPasswordResult{Message: "This server sends no email, so it cannot send a reset code: ask an owner to set up email (AGENT_VAULT_SMTP_*), or to remove your account (`agent-vault owner user delete`) and invite you again."}, nil
	}
	out := apitype.ForgotPasswordResult{Message: forgotMessage, EmailSent: true}
	u, err := b.st.Users().ByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return apitype.ForgotPasswordResult{}, internal(err, "reading the user")
	}
	now := b.now()
	n, err := b.st.PasswordResets().CountSince(ctx, u.ID, now.Add(-time.Hour))
	if err != nil {
		return apitype.ForgotPasswordResult{}, internal(err, "counting reset codes")
	}
	if n >= model.PasswordResetMaxPerHour {
		b.log.Info("password reset code not sent: three were sent to this user within the hour")
		return out, nil
	}
	code, err := resetCode()
	if err != nil {
		return apitype.ForgotPasswordResult{}, internal(err, "making a reset code")
	}
	r := model.PasswordReset{ID: token.ID(12), UserID: u.ID, CodeHash: resetCodeHash(u.ID, code), CreatedAt: now, ExpiresAt: now.Add(model.PasswordResetTTL)}
	if err := b.st.PasswordResets().Create(ctx, r); err != nil {
		return apitype.ForgotPasswordResult{}, internal(err, "saving the reset code")
	}
	text := fmt.Sprintf("Someone (probably you) asked to reset the password of your Agent Vault account at %s.\n\n"+
		"Your reset code: %s\n\nIt is valid for 15 minutes. Use it with:\n\n    agent-vault auth reset-password --email %s\n\n"+
		"If you did not ask for it, ignore this message: your password stays as it is.\n", b.baseURL, code, u.Email)
	// In the background, so that the answer takes as long for an unknown
	// address as for a known one.
	b.notify("password-reset", func(context.Context) []string { return []string{u.Email} }, "Your Agent Vault password reset code", text)
	return out, nil
}

// ResetPassword sets a new password with an emailed code and ends every
// session of the account.
func (b *Broker) ResetPassword(ctx context.Context, in apitype.ResetPasswordRequest) (apitype.ResetPasswordResult, error) {
	email, err := model.NormalizeEmail("email", in.Email)
	if err != nil {
		return apitype.ResetPasswordResult{}, err
	}
	if len(in.Code) != 6 || !allDigits(in.Code) {
		return apitype.ResetPasswordResult{}, errs.Invalid("code", "code must be the six digits from the reset email")
	}
	if err := model.ValidatePassword("new_password", in.NewPassword); err != nil {
		return apitype.ResetPasswordResult{}, err
	}
	invalid := errs.Invalid("code", "invalid or expired reset code: ask for a new one with `agent-vault auth forgot-password`").WithCode("invalid_reset_code")
	u, err := b.st.Users().ByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return apitype.ResetPasswordResult{}, invalid
	}
	if err != nil {
		return apitype.ResetPasswordResult{}, internal(err, "reading the user")
	}
	hash := password.Hash([]byte(in.NewPassword), b.pw)
	want := resetCodeHash(u.ID, in.Code)
	matched := false
	err = b.tx(ctx, func(tx store.Store) error {
		now := b.now()
		pending, err := tx.PasswordResets().Pending(ctx, u.ID, now)
		if err != nil {
			return internal(err, "reading reset codes")
		}
		var hit *model.PasswordReset
		for i := range pending {
			if subtle.ConstantTimeCompare(pending[i].CodeHash, want) == 1 {
				hit = &pending[i]
			}
		}
		if hit == nil {
			return invalid
		}
		matched = true
		if err := tx.PasswordResets().Use(ctx, hit.ID, now); err != nil {
			return internal(err, "using the reset code")
		}
		if err := tx.Users().SetPassword(ctx, u.ID, hash, now); err != nil {
			return internal(err, "saving the password")
		}
		return internal(tx.Sessions().DeleteAllForUser(ctx, u.ID, ""), "ending sessions")
	})
	if err != nil {
		if !matched { // counted outside the failed transaction, so that it sticks
			if ferr := b.st.PasswordResets().Fail(ctx, u.ID, b.now()); ferr != nil {
				b.log.Warn("counting a wrong reset code", "err", ferr)
			}
		}
		return apitype.ResetPasswordResult{}, err
	}
	return apitype.ResetPasswordResult{Email: u.Email, Message: "Password changed, and every session of the account ended: log in with the new password."}, nil
}

// resetCode is six random digits.
func resetCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// resetCodeHash binds a code to its user, so that one stored hash does not
// match another user's code.
func resetCodeHash(userID, code string) []byte {
	h := sha256.Sum256([]byte("agent-vault password reset\x00" + userID + "\x00" + code))
	return h[:]
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
