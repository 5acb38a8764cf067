package broker

import (
	"context"
	"errors"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// Forgotten passwords (auth forgot-password, reset-password): an emailed
// code (emailcode.go) bound to the account's user id sets a new password.
// The answers never say whether an account exists.

// codeInvalidReset is the error code of a wrong reset code.
const codeInvalidReset = "invalid_reset_code"

const forgotMessage = "If an account with that email exists, a password reset code is on its way to it. It is valid for 15 minutes."

// ForgotPassword emails a reset code to the account, if there is one. It
// answers at once, the same for every address: looking the account up,
// the hourly cap and the code all happen in the background, so neither
// the answer nor its timing tells whether the account exists.
func (b *Broker) ForgotPassword(ctx context.Context, in apitype.ForgotPasswordRequest) (apitype.ForgotPasswordResult, error) {
	email, err := model.NormalizeEmail("email", in.Email)
	if err != nil {
		return apitype.ForgotPasswordResult{}, err
	}
	if b.mailer == nil {
		// Says nothing about the account: no server without email can help.
		return apitype.ForgotPasswordResult{Message: "This server sends no email, so it cannot send a reset code: ask an owner to set up email (AGENT_VAULT_SMTP_*), or to remove your account (`agent-vault owner user delete`) and invite you again."}, nil
	}
	b.background(func(ctx context.Context) {
		if err := b.sendResetCode(ctx, email); err != nil {
			b.log.Warn("password reset code not sent", "err", err)
		}
	})
	return apitype.ForgotPasswordResult{Message: forgotMessage, EmailSent: true}, nil
}

// sendResetCode makes and mails a code for the account of email, within
// the hourly cap (counted and recorded in one transaction, so concurrent
// requests cannot pass it).
func (b *Broker) sendResetCode(ctx context.Context, email string) error {
	u, err := b.st.Users().ByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	code, err := newEmailCode()
	if err != nil {
		return err
	}
	capped := false
	err = b.st.InTx(ctx, func(tx store.Store) error {
		now := b.now()
		n, err := tx.PasswordResets().CountSince(ctx, u.ID, sinceHour(now))
		if err != nil {
			return err
		}
		if capped = capReached(n); capped {
			return nil
		}
		return tx.PasswordResets().Create(ctx, model.PasswordReset{ID: token.ID(12), UserID: u.ID,
			CodeHash: resetCodes.hash(u.ID, code), CreatedAt: now, ExpiresAt: now.Add(model.PasswordResetTTL)})
	})
	if err != nil || capped {
		if capped {
			b.log.Info("password reset code not sent: three were sent to this account within the hour")
		}
		return err
	}
	return resetCodes.send(ctx, b.mailer, b.baseURL, u.Email, code)
}

// ResetPassword sets a new password with an emailed code, voids the
// account's other codes and ends every session of the account, its vault
// sessions included.
func (b *Broker) ResetPassword(ctx context.Context, in apitype.ResetPasswordRequest) (apitype.ResetPasswordResult, error) {
	email, err := model.NormalizeEmail("email", in.Email)
	if err != nil {
		return apitype.ResetPasswordResult{}, err
	}
	if err := resetCodes.checkFormat(in.Code); err != nil {
		return apitype.ResetPasswordResult{}, err
	}
	if err := model.ValidatePassword("new_password", in.NewPassword); err != nil {
		return apitype.ResetPasswordResult{}, err
	}
	invalid := errs.Invalid("code", "invalid or expired reset code: ask for a new one with `agent-vault auth forgot-password`").WithCode(codeInvalidReset)
	u, err := b.st.Users().ByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return apitype.ResetPasswordResult{}, invalid
	}
	if err != nil {
		return apitype.ResetPasswordResult{}, internal(err, "reading the user")
	}
	want := resetCodes.hash(u.ID, in.Code)
	// Only a right code pays for the Argon2id run: an unknown address and
	// a wrong code both answer without one (so they take the same time),
	// and the transaction below checks the code again and counts a wrong one.
	var hash string
	if hit, err := b.resetCodeMatches(ctx, u.ID, want); err != nil {
		return apitype.ResetPasswordResult{}, err
	} else if hit {
		if hash, err = b.hashPassword(in.NewPassword); err != nil {
			return apitype.ResetPasswordResult{}, err
		}
	}
	matched := false
	// One transaction under the writer lock: the comparison and the count
	// of a wrong code cannot interleave with another attempt's, so five
	// wrong codes are five, however many arrive at once.
	err = b.st.InTx(ctx, func(tx store.Store) error {
		now := b.now()
		pending, err := tx.PasswordResets().Pending(ctx, u.ID, now)
		if err != nil {
			return internal(err, "reading reset codes")
		}
		i := matchCode(pending, resetCodeHashOf, want)
		if i < 0 {
			err := internal(tx.PasswordResets().Fail(ctx, u.ID, now), "counting a wrong reset code")
			return b.recordAfter(ctx, tx, err, failed(with(userEvent(trail.PasswordReset, u), codeInvalidReset)))
		}
		if hash == "" {
			return nil // the code was issued after the check above: not used, not counted
		}
		matched = true
		if err := tx.PasswordResets().Use(ctx, pending[i].ID, now); err != nil {
			return internal(err, "using the reset code")
		}
		if err := tx.PasswordResets().UseAll(ctx, u.ID, now); err != nil {
			return internal(err, "voiding the other reset codes")
		}
		if err := tx.Users().SetPassword(ctx, u.ID, hash, now); err != nil {
			return internal(err, "saving the password")
		}
		if err := tx.ScopedSessions().DeleteByUser(ctx, u.ID); err != nil {
			return internal(err, "ending vault sessions")
		}
		err = internal(tx.Sessions().DeleteAllForUser(ctx, u.ID, ""), "ending sessions")
		return b.recordAfter(ctx, tx, err, userEvent(trail.PasswordReset, u))
	})
	if err != nil {
		return apitype.ResetPasswordResult{}, err
	}
	if !matched {
		return apitype.ResetPasswordResult{}, invalid
	}
	b.changed() // sessions ended: the proxy must not keep them
	return apitype.ResetPasswordResult{Email: u.Email, Message: "Password changed, and every session of the account ended: log in with the new password."}, nil
}

// resetCodeMatches reports whether want is the hash of a pending code of
// the user, comparing in constant time; it changes nothing.
func (b *Broker) resetCodeMatches(ctx context.Context, userID string, want []byte) (bool, error) {
	pending, err := b.st.PasswordResets().Pending(ctx, userID, b.now())
	if err != nil {
		return false, internal(err, "reading reset codes")
	}
	return matchCode(pending, resetCodeHashOf, want) >= 0, nil
}

func resetCodeHashOf(r *model.PasswordReset) []byte { return r.CodeHash }
