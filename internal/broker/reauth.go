package broker

import (
	"context"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/trail"
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

// RevealCredential is a member's read of one value after typing their
// password again (the browser's reveal page): the password is checked
// first, a wrong one recorded in the admin audit trail as a failed
// credential.reveal (a sign of someone else at the keyboard), then the
// value is read as ListCredentials reads it, with its permission check and
// its audit row.
func (b *Broker) RevealCredential(ctx context.Context, a Actor, vault, key, pw string) (apitype.Credential, error) {
	if err := b.ConfirmPassword(ctx, a, pw); err != nil {
		if errs.Is(err, errs.KindUnauthorized) {
			v, verr := b.st.Vaults().ByName(ctx, vault)
			if verr != nil {
				v = model.Vault{Name: vault}
			}
			b.recordFailure(ctx, a.event(trail.CredentialRead, v, key), err)
		}
		return apitype.Credential{}, err
	}
	out, err := b.ListCredentials(ctx, a, vault, true, key)
	if err != nil {
		return apitype.Credential{}, err
	}
	if len(out.Credentials) == 1 && out.Credentials[0].Type == string(model.CredentialOAuth) {
		return apitype.Credential{}, errs.Conflict("credential %s is an OAuth credential: its tokens are never shown; see its state with `agent-vault vault credential oauth status %s`", key, key).WithCode("oauth_not_revealed")
	}
	if len(out.Credentials) != 1 || out.Credentials[0].Value == nil {
		return apitype.Credential{}, errs.NotFound("credential %s not found in vault %q", key, vault)
	}
	return out.Credentials[0], nil
}
