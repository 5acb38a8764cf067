package broker

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// touchEvery throttles the sliding-expiry write so that a busy session does
// not turn every request into a database write.
const touchEvery = time.Minute

// Status reports whether the instance has its first user.
func (b *Broker) Status(ctx context.Context) (apitype.Status, error) {
	n, err := b.st.Users().Count(ctx)
	if err != nil {
		return apitype.Status{}, internal(err, "counting users")
	}
	s, err := b.st.Settings().Get(ctx)
	if err != nil {
		return apitype.Status{}, internal(err, "reading settings")
	}
	return apitype.Status{
		Initialized: n > 0, NeedsFirstUser: n == 0, Version: b.version, Build: b.build,
		BaseURL: b.baseURL, InviteOnly: s.InviteOnly, ProxyPort: int(b.proxyPort.Load()),
	}, nil
}

// Register creates an account. The first account becomes the instance
// owner and admin of the default vault and is logged in at once; it needs
// the server's one-time setup code when the gate is armed (firstrun.go).
// After
// that, registration is open only when the instance is not invite-only.
func (b *Broker) Register(ctx context.Context, in apitype.Credentials) (apitype.RegisterResponse, error) {
	email, err := model.NormalizeEmail("email", in.Email)
	if err != nil {
		return apitype.RegisterResponse{}, err
	}
	if err := model.ValidatePassword("password", in.Password); err != nil {
		return apitype.RegisterResponse{}, err
	}
	// Everything that can refuse the request is checked before the
	// Argon2id run (anyone can call this); the transaction checks again.
	if err := b.registrationOpen(ctx, email, in.SetupCode); err != nil {
		return apitype.RegisterResponse{}, err
	}
	hash, err := b.hashPassword(in.Password)
	if err != nil {
		return apitype.RegisterResponse{}, err
	}
	now := b.now()
	var out apitype.RegisterResponse
	pending := false
	err = b.tx(ctx, func(tx store.Store) error {
		n, err := tx.Users().Count(ctx)
		if err != nil {
			return internal(err, "counting users")
		}
		role := model.RoleMember
		if n == 0 {
			// Checked again (not counted again): the code was checked
			// before the password was hashed, when accounts may have
			// existed.
			if err := b.checkSetupCode(in.SetupCode, false); err != nil {
				return err
			}
			role = model.RoleOwner
		} else if err := registrationAllowed(ctx, tx, email); err != nil {
			return err
		}
		if role == model.RoleMember && b.mailer != nil {
			pending = true // no account until the address is verified
			return nil
		}
		if role == model.RoleMember {
			// An address with an account gets the answer a new account
			// gets, so that registering never tells whether an address is
			// registered; nothing is written.
			if _, err := tx.Users().ByEmail(ctx, email); err == nil {
				out = memberRegistered(email)
				return nil
			} else if !errors.Is(err, store.ErrNotFound) {
				return internal(err, "reading users")
			}
		}
		u := model.User{ID: token.ID(16), Email: email, PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now}
		if err := tx.Users().Create(ctx, u); err != nil {
			return conflict(err, "an account for %s already exists: log in with `agent-vault auth login`", email)
		}
		if role == model.RoleOwner {
			v, err := tx.Vaults().ByName(ctx, model.DefaultVault)
			if err != nil {
				return internal(err, "reading the default vault")
			}
			if err := tx.Grants().Put(ctx, model.VaultGrant{VaultID: v.ID, UserID: u.ID, Role: model.VaultAdmin, CreatedAt: now}); err != nil {
				return internal(err, "granting the default vault")
			}
		}
		if err := b.record(ctx, tx, with(userEvent(trail.Register, u), "role="+string(role))); err != nil {
			return err
		}
		out = memberRegistered(email)
		if role == model.RoleOwner {
			out.Role = string(role)
			tok, exp, err := b.newSession(ctx, tx, u.ID, in.DeviceLabel)
			if err != nil {
				return err
			}
			out.Authenticated, out.Token, out.ExpiresAt = true, tok, exp
			out.Message = "Account created. You are the instance owner and an admin of the default vault."
		}
		return nil
	})
	if err == nil && pending {
		return b.registerPending(email, hash), nil
	}
	if err == nil && out.Role == string(model.RoleOwner) {
		b.setupUsed()
	}
	return out, err
}

// memberRegistered answers a self-registration without email
// verification, the same whether the account is new or existed.
func memberRegistered(email string) apitype.RegisterResponse {
	return apitype.RegisterResponse{Email: email, Role: string(model.RoleMember),
		Message: "Registration received: log in with `agent-vault auth login` (if this address already had an account, its password is unchanged)."}
}

// registrationOpen refuses, before any password is hashed, a
// registration that would fail: invite-only, a domain not allowed, and
// for the first account a missing or wrong setup code (firstrun.go). An address that has an account is not
// refused here: the answer must not tell whether it is registered (see
// memberRegistered), so it is hashed and answered like a new one.
func (b *Broker) registrationOpen(ctx context.Context, email, setupCode string) error {
	n, err := b.st.Users().Count(ctx)
	if err != nil {
		return internal(err, "counting users")
	}
	if n == 0 {
		return b.checkSetupCode(setupCode, true)
	}
	return registrationAllowed(ctx, b.st, email)
}

// registrationAllowed applies the instance's registration settings to a
// new account (not the first).
func registrationAllowed(ctx context.Context, st store.Store, email string) error {
	s, err := st.Settings().Get(ctx)
	if err != nil {
		return internal(err, "reading settings")
	}
	if !s.EmailAllowed(email) {
		return errDomain(email)
	}
	if s.InviteOnly {
		return errs.Forbidden("registration is invite-only on this instance: ask an owner or member for an invite (`agent-vault user invite %s`)", email).WithCode("invite_only")
	}
	return nil
}

// newSession stores a fresh session for userID and returns its token.
func (b *Broker) newSession(ctx context.Context, st store.Store, userID, label string) (string, time.Time, error) {
	if len(label) > 200 {
		return "", time.Time{}, errs.Invalid("device_label", "device_label must be at most 200 characters")
	}
	tok := token.New(token.PrefixSession)
	now := b.now()
	s := model.Session{
		ID: token.ID(10), UserID: userID, TokenHash: token.Hash(tok), DeviceLabel: label,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(model.SessionAbsoluteTTL),
	}
	if err := st.Sessions().Create(ctx, s); err != nil {
		return "", time.Time{}, internal(err, "creating a session")
	}
	return tok, s.ExpiresAt, nil
}

// errBadLogin is the one answer to a wrong email or password, so that the
// response does not tell which accounts exist.
func errBadLogin() error {
	return errs.Unauthorized("invalid email or password").WithCode("invalid_credentials")
}

// Login checks an email and password and opens a session. Unknown emails
// are checked against a dummy hash so that they cost the same time.
func (b *Broker) Login(ctx context.Context, in apitype.Credentials) (apitype.TokenResponse, error) {
	email, err := model.NormalizeEmail("email", in.Email)
	if err != nil {
		return apitype.TokenResponse{}, err
	}
	if in.Password == "" {
		return apitype.TokenResponse{}, errs.Invalid("password", "password is required")
	}
	u, err := b.st.Users().ByEmail(ctx, email)
	hash := u.PasswordHash
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return apitype.TokenResponse{}, internal(err, "reading the user")
		}
		hash = b.dummy()
	}
	ok, busy, verr := verifyPassword(in.Password, hash)
	if busy != nil {
		return apitype.TokenResponse{}, busy
	}
	if verr != nil {
		b.log.Error("stored password hash is unreadable", "user", email, "err", verr)
	}
	if err != nil || !ok {
		b.recordFailure(ctx, userEvent(trail.Login, model.User{ID: u.ID, Email: email}), errBadLogin())
		return apitype.TokenResponse{}, errBadLogin()
	}
	var tok string
	var exp time.Time
	err = b.st.InTx(ctx, func(tx store.Store) error {
		var err error
		tok, exp, err = b.newSession(ctx, tx, u.ID, in.DeviceLabel)
		return b.recordAfter(ctx, tx, err, userEvent(trail.Login, u))
	})
	if err != nil {
		return apitype.TokenResponse{}, err
	}
	return apitype.TokenResponse{Token: tok, ExpiresAt: exp}, nil
}

// notFoundAs returns alt when err is store.ErrNotFound.
func notFoundAs(err error, alt error) error {
	if errors.Is(err, store.ErrNotFound) {
		return alt
	}
	return internal(err, "reading the database")
}

// Logout ends the actor's session. It always succeeds for a valid session.
func (b *Broker) Logout(ctx context.Context, a Actor) (apitype.StatusOK, error) {
	if a.SessionID != "" {
		err := b.tx(ctx, func(tx store.Store) error {
			if err := tx.Sessions().Delete(ctx, a.User.ID, a.SessionID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return internal(err, "ending the session")
			}
			return b.record(ctx, tx, a.event(trail.Logout, model.Vault{}, "session:"+a.SessionID))
		})
		if err != nil {
			return apitype.StatusOK{}, err
		}
	}
	return apitype.StatusOK{Status: "ok"}, nil
}

// Me describes the actor.
func (b *Broker) Me(_ context.Context, a Actor) (apitype.Me, error) {
	switch {
	case a.Scope != nil:
		return apitype.Me{Type: "session", Role: string(a.Scope.VaultRole), Vault: a.Scope.VaultName}, nil
	case a.Kind == model.ActorAgent:
		return apitype.Me{Type: "agent", AgentName: a.Agent.Name, Role: string(a.Agent.Role), IsOwner: a.Agent.Role == model.RoleOwner}, nil
	}
	return apitype.Me{Type: "user", Email: a.User.Email, Role: string(a.User.Role), IsOwner: a.User.Role == model.RoleOwner}, nil
}

// requireUser refuses agents for account operations.
func requireUser(a Actor) error { return authorize(a, "", policy.ManageOwnAccount) }

// ChangePassword replaces the actor's password, ends every session of the
// user (including the current one) and returns a fresh session.
func (b *Broker) ChangePassword(ctx context.Context, a Actor, in apitype.ChangePasswordRequest) (apitype.TokenResponse, error) {
	if err := requireUser(a); err != nil {
		return apitype.TokenResponse{}, err
	}
	if in.CurrentPassword == "" {
		return apitype.TokenResponse{}, errs.Invalid("current_password", "current_password is required")
	}
	if err := model.ValidatePassword("new_password", in.NewPassword); err != nil {
		return apitype.TokenResponse{}, err
	}
	ok, busy, err := verifyPassword(in.CurrentPassword, a.User.PasswordHash)
	if busy != nil {
		return apitype.TokenResponse{}, busy
	}
	if err != nil || !ok {
		wrong := errs.Unauthorized("current password is wrong").WithCode("invalid_credentials")
		b.recordFailure(ctx, a.event(trail.PasswordChange, model.Vault{}, a.User.Email), wrong)
		return apitype.TokenResponse{}, wrong
	}
	hash, err := b.hashPassword(in.NewPassword)
	if err != nil {
		return apitype.TokenResponse{}, err
	}
	var out apitype.TokenResponse
	err = b.tx(ctx, func(tx store.Store) error {
		if err := tx.Users().SetPassword(ctx, a.User.ID, hash, b.now()); err != nil {
			return internal(err, "saving the password")
		}
		if err := tx.Sessions().DeleteAllForUser(ctx, a.User.ID, ""); err != nil {
			return internal(err, "ending sessions")
		}
		// Vault sessions the user minted, and reset codes mailed to them,
		// go too: a password change is how a taken-over account is won back.
		if err := tx.ScopedSessions().DeleteByUser(ctx, a.User.ID); err != nil {
			return internal(err, "ending vault sessions")
		}
		if err := tx.PasswordResets().UseAll(ctx, a.User.ID, b.now()); err != nil {
			return internal(err, "voiding reset codes")
		}
		tok, exp, err := b.newSession(ctx, tx, a.User.ID, "")
		out = apitype.TokenResponse{Token: tok, ExpiresAt: exp}
		return b.recordAfter(ctx, tx, err, a.event(trail.PasswordChange, model.Vault{}, a.User.Email))
	})
	return out, err
}

// ListSessions lists the actor's own sessions.
func (b *Broker) ListSessions(ctx context.Context, a Actor) (apitype.SessionList, error) {
	if err := requireUser(a); err != nil {
		return apitype.SessionList{}, err
	}
	ss, err := b.st.Sessions().ListByUser(ctx, a.User.ID)
	if err != nil {
		return apitype.SessionList{}, internal(err, "listing sessions")
	}
	out := apitype.SessionList{Sessions: []apitype.Session{}}
	now := b.now()
	for _, s := range ss {
		if !s.ActiveAt(now) {
			continue
		}
		exp := s.ExpiresAt
		if ie := s.IdleExpiry(); ie.Before(exp) {
			exp = ie
		}
		out.Sessions = append(out.Sessions, apitype.Session{
			ID: s.ID, DeviceLabel: s.DeviceLabel, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt,
			ExpiresAt: exp, Current: s.ID == a.SessionID,
		})
	}
	return out, nil
}

// RevokeSession ends one of the actor's sessions.
func (b *Broker) RevokeSession(ctx context.Context, a Actor, id string) (apitype.SessionRevoked, error) {
	if err := requireUser(a); err != nil {
		return apitype.SessionRevoked{}, err
	}
	id = strings.TrimSpace(id)
	err := b.tx(ctx, func(tx store.Store) error {
		if err := tx.Sessions().Delete(ctx, a.User.ID, id); err != nil {
			return notFound(err, "session %q not found: list yours with `agent-vault auth sessions list`", id)
		}
		return b.record(ctx, tx, a.event(trail.SessionRevoke, model.Vault{}, "session:"+id))
	})
	if err != nil {
		return apitype.SessionRevoked{}, err
	}
	return apitype.SessionRevoked{Status: "revoked", Current: id == a.SessionID}, nil
}

// DeleteAccount removes the actor's own account. The last owner cannot.
func (b *Broker) DeleteAccount(ctx context.Context, a Actor) (apitype.AccountDeleted, error) {
	if err := requireUser(a); err != nil {
		return apitype.AccountDeleted{}, err
	}
	out := apitype.AccountDeleted{Status: "deleted", Email: a.User.Email}
	err := b.tx(ctx, func(tx store.Store) error {
		var err error
		out.AgentsRevoked, _, err = b.deleteUser(ctx, tx, a.User, nil)
		return b.recordAfter(ctx, tx, err, a.event(trail.AccountDelete, model.Vault{}, a.User.Email))
	})
	if err != nil {
		return apitype.AccountDeleted{}, err
	}
	return out, nil
}

// deleteUser removes u unless it is the last owner or the last admin of a
// vault someone else still uses. The agents u owned go to heir when set,
// otherwise they are revoked; u's pending invites are revoked (they could
// no longer be accepted). It returns the names of the agents revoked and
// of those handed over.
func (b *Broker) deleteUser(ctx context.Context, tx store.Store, u model.User, heir *model.User) (revoked, handed []string, err error) {
	if u.Role == model.RoleOwner {
		if err := lastOwnerGuard(ctx, tx, "delete"); err != nil {
			return nil, nil, err
		}
	}
	if err := b.checkNotLastAdmin(ctx, tx, u); err != nil {
		return nil, nil, err
	}
	if heir != nil {
		handed, err = b.transferAgents(ctx, tx, u, *heir)
	} else {
		revoked, err = b.revokeOwnedAgents(ctx, tx, u.ID, "")
	}
	if err != nil {
		return nil, nil, err
	}
	if err := b.revokeInvitesOf(ctx, tx, u.ID); err != nil {
		return nil, nil, err
	}
	if err := tx.Users().Delete(ctx, u.ID); err != nil {
		return nil, nil, notFound(err, "user %s not found", u.Email)
	}
	return revoked, handed, nil
}

// checkNotLastAdmin refuses to remove the last admin of a vault that other
// users still use.
func (b *Broker) checkNotLastAdmin(ctx context.Context, tx store.Store, u model.User) error {
	gs, err := tx.Grants().ListByUser(ctx, u.ID)
	if err != nil {
		return internal(err, "listing vault grants")
	}
	for _, g := range gs {
		if g.Role != model.VaultAdmin {
			continue
		}
		admins, err := tx.Grants().CountAdmins(ctx, g.VaultID)
		if err != nil {
			return internal(err, "counting vault admins")
		}
		members, err := tx.Grants().ListByVault(ctx, g.VaultID)
		if err != nil {
			return internal(err, "listing vault members")
		}
		if admins == 1 && len(members) > 1 {
			return errs.Conflict("%s is the last admin of vault %q, which other users still use: make one of them admin first (`agent-vault vault user set-role <email> admin --vault %s`)", u.Email, g.VaultName, g.VaultName).WithCode("last_admin")
		}
	}
	return nil
}

// lastOwnerGuard refuses to remove or demote the only owner.
func lastOwnerGuard(ctx context.Context, tx store.Store, verb string) error {
	n, err := tx.Users().CountByRole(ctx, model.RoleOwner)
	if err != nil {
		return internal(err, "counting owners")
	}
	if n <= 1 {
		return errs.Conflict("cannot %s the last owner: make another user owner first (`agent-vault owner user set-role <email> owner`)", verb).WithCode("last_owner")
	}
	return nil
}
