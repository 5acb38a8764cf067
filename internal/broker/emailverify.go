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

// Email verification of self-registration (docs/operations.md, "Email
// verification"). When the server sends email, registering (other than
// the first account) creates no account: it stores the chosen password's
// hash with a six-digit code, mailed to the address, valid 15 minutes.
// Verifying the code creates the account with that password. So:
//
//   - an address nobody verified has no account and cannot log in;
//   - registering an address that has an account, or a pending
//     registration, changes nothing anyone else relies on, and the answer
//     is the same as for a new address (the lookup and the mail happen in
//     the background);
//   - each registration's password travels with its own code, so a
//     stranger registering someone else's address first can neither
//     block them nor choose their password: only the inbox's owner gets
//     a code.
//
// The codes are emailed codes (emailcode.go) bound to the address.

const codeInvalidVerification = "invalid_verification_code"

const registerPendingMessage = "If this address can still register, a verification code is on its way to it. " +
	"It is valid for 15 minutes: finish with `agent-vault auth verify --email ADDRESS` (or POST /v1/auth/verify)."

const resendMessage = "If a registration of this address is waiting for its code, a new code is on its way to it."

// registerPending answers a self-registration that needs its address
// verified; hash is the chosen password's hash.
func (b *Broker) registerPending(email, hash string) apitype.RegisterResponse {
	b.background(func(ctx context.Context) {
		if err := b.sendVerificationCode(ctx, email, hash); err != nil {
			b.log.Warn("verification code not sent", "err", err)
		}
	})
	return apitype.RegisterResponse{Email: email, Role: string(model.RoleMember), RequiresVerification: true, EmailSent: true, Message: registerPendingMessage}
}

// sendVerificationCode stores and mails a code for a registration of
// email with password hash, unless the address already has an account.
// An empty hash re-sends: the newest pending registration's password is
// kept.
func (b *Broker) sendVerificationCode(ctx context.Context, email, hash string) error {
	code, err := newEmailCode()
	if err != nil {
		return err
	}
	send := false
	err = b.st.InTx(ctx, func(tx store.Store) error {
		if _, err := tx.Users().ByEmail(ctx, email); err == nil {
			return nil // an account exists: nothing to verify, nothing said
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := b.now()
		if hash == "" {
			pending, err := tx.EmailVerifications().Pending(ctx, email, now)
			if err != nil || len(pending) == 0 {
				return err // nothing waiting: a re-send sends nothing
			}
			hash = pending[0].PasswordHash
		}
		n, err := tx.EmailVerifications().CountSince(ctx, email, sinceHour(now))
		if err != nil {
			return err
		}
		if capReached(n) {
			b.log.Info("verification code not sent: three were sent to this address within the hour")
			return nil
		}
		send = true
		return tx.EmailVerifications().Create(ctx, model.EmailVerification{ID: token.ID(12), Email: email, PasswordHash: hash,
			CodeHash: verificationCodes.hash(email, code), CreatedAt: now, ExpiresAt: now.Add(model.PasswordResetTTL)})
	})
	if err != nil || !send {
		return err
	}
	return verificationCodes.send(ctx, b.mailer, b.baseURL, email, code)
}

// VerifyEmail checks a registration's code and creates its account, then
// opens a session. Every failure is the same invalid-code error, whether
// or not the address registered.
func (b *Broker) VerifyEmail(ctx context.Context, in apitype.VerifyEmailRequest) (apitype.VerifyEmailResult, error) {
	email, err := model.NormalizeEmail("email", in.Email)
	if err != nil {
		return apitype.VerifyEmailResult{}, err
	}
	if err := verificationCodes.checkFormat(in.Code); err != nil {
		return apitype.VerifyEmailResult{}, err
	}
	invalid := errs.Invalid("code", "invalid or expired verification code: ask for a new one with `agent-vault auth resend-verification --email %s`", email).WithCode(codeInvalidVerification)
	want := verificationCodes.hash(email, in.Code)
	var out apitype.VerifyEmailResult
	matched := false
	err = b.tx(ctx, func(tx store.Store) error {
		now := b.now()
		pending, err := tx.EmailVerifications().Pending(ctx, email, now)
		if err != nil {
			return internal(err, "reading verification codes")
		}
		i := matchCode(pending, func(v *model.EmailVerification) []byte { return v.CodeHash }, want)
		if i < 0 {
			return internal(tx.EmailVerifications().Fail(ctx, email, now), "counting a wrong verification code")
		}
		if err := tx.EmailVerifications().UseAll(ctx, email, now); err != nil {
			return internal(err, "using the verification code")
		}
		if _, err := tx.Users().ByEmail(ctx, email); err == nil {
			return nil // verified meanwhile by another code: this one is spent
		} else if !errors.Is(err, store.ErrNotFound) {
			return internal(err, "reading users")
		}
		// The instance's rules are checked again: they may have changed
		// since the code was sent.
		s, err := tx.Settings().Get(ctx)
		if err != nil {
			return internal(err, "reading settings")
		}
		if !s.EmailAllowed(email) {
			return errDomain(email)
		}
		if s.InviteOnly {
			return errs.Forbidden("registration became invite-only on this instance after the code was sent: ask an owner or member for an invite").WithCode("invite_only")
		}
		u := model.User{ID: token.ID(16), Email: email, PasswordHash: pending[i].PasswordHash, Role: model.RoleMember, CreatedAt: now, UpdatedAt: now}
		if err := tx.Users().Create(ctx, u); err != nil {
			return internal(err, "creating the account")
		}
		if err := b.record(ctx, tx, with(userEvent(trail.Register, u), "role="+string(u.Role)+" verified=email")); err != nil {
			return err
		}
		tok, exp, err := b.newSession(ctx, tx, u.ID, in.DeviceLabel)
		if err != nil {
			return err
		}
		matched = true
		out = apitype.VerifyEmailResult{Email: email, Role: string(u.Role), Authenticated: true, Token: tok, ExpiresAt: exp,
			Message: "Address verified and account created. You are logged in."}
		return nil
	})
	if err != nil {
		return apitype.VerifyEmailResult{}, err
	}
	if !matched {
		return apitype.VerifyEmailResult{}, invalid
	}
	return out, nil
}

// ResendVerification mails a new code to a registration waiting for one.
// The answer is the same for every address.
func (b *Broker) ResendVerification(ctx context.Context, in apitype.ResendVerificationRequest) (apitype.ForgotPasswordResult, error) {
	email, err := model.NormalizeEmail("email", in.Email)
	if err != nil {
		return apitype.ForgotPasswordResult{}, err
	}
	if b.mailer == nil {
		return apitype.ForgotPasswordResult{Message: "This server sends no email, so registrations need no verification: log in, or register again."}, nil
	}
	b.background(func(ctx context.Context) {
		if err := b.sendVerificationCode(ctx, email, ""); err != nil {
			b.log.Warn("verification code not re-sent", "err", err)
		}
	})
	return apitype.ForgotPasswordResult{Message: resendMessage, EmailSent: true}, nil
}
