package broker

import (
	"context"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/password"
)

// ConfirmPassword checks that pw is the logged-in user's password: the
// browser asks for it again before a credential value is shown, so that a
// session left open on a shared screen does not reveal secrets. Agents and
// vault sessions have no password and are refused. A wrong password is an
// Unauthorized answer, which WrongGuess counts against the address's
// failed-login budget.
func (b *Broker) ConfirmPassword(_ context.Context, a Actor, pw string) error {
	if err := requireUser(a); err != nil {
		return err
	}
	if pw == "" {
		return errs.Invalid("password", "type your password to continue")
	}
	ok, err := password.Verify([]byte(pw), a.User.PasswordHash)
	if err != nil {
		b.log.Error("stored password hash is unreadable", "user", a.User.Email, "err", err)
	}
	if err != nil || !ok {
		return errs.Unauthorized("the password is wrong").WithCode("invalid_credentials")
	}
	return nil
}
