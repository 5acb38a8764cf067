package broker

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// CreateInvite invites a new user. Inviting an owner needs an owner; each
// vault grant in the invite needs the inviter to administer that vault.
func (b *Broker) CreateInvite(ctx context.Context, a Actor, in apitype.InviteRequest) (apitype.InviteCreated, error) {
	return b.createInvite(ctx, a, in, nil)
}

// createInvite is CreateInvite; first, in the same transaction, it runs
// before (when not nil), which may refuse.
func (b *Broker) createInvite(ctx context.Context, a Actor, in apitype.InviteRequest, before func(tx store.Store) error) (apitype.InviteCreated, error) {
	if err := authorize(a, "", policy.InviteUser); err != nil {
		return apitype.InviteCreated{}, err
	}
	email, err := model.NormalizeEmail("email", in.Email)
	if err != nil {
		return apitype.InviteCreated{}, err
	}
	role := model.RoleMember
	if in.Role != "" {
		if role, err = model.ParseInstanceRole("role", in.Role); err != nil {
			return apitype.InviteCreated{}, err
		}
	}
	if role == model.RoleOwner {
		if err := authorize(a, "", policy.InviteOwner); err != nil {
			return apitype.InviteCreated{}, err
		}
	}
	if len(in.Vaults) > 50 {
		return apitype.InviteCreated{}, errs.Invalid("vaults", "an invite can grant at most 50 vaults")
	}
	tok := token.New(token.PrefixInvite)
	now := b.now()
	inv := model.Invite{
		ID: token.ID(8), TokenHash: token.Hash(tok), Email: email, Role: role,
		CreatedBy: a.User.Email, CreatedByID: a.User.ID, CreatedAt: now, ExpiresAt: now.Add(model.InviteTTL),
	}
	out := apitype.InviteCreated{Email: email, Role: string(role), Vaults: []apitype.UserVault{}, ExpiresAt: inv.ExpiresAt}
	err = b.tx(ctx, func(tx store.Store) error {
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		seen := map[string]bool{}
		for i, uv := range in.Vaults {
			field := "vaults[" + strconv.Itoa(i) + "]"
			vr, err := model.ParseUserVaultRole(field+".vault_role", uv.VaultRole)
			if err != nil {
				return err
			}
			if seen[uv.VaultName] {
				return errs.Invalid(field+".vault_name", "vault %q is listed twice", uv.VaultName)
			}
			seen[uv.VaultName] = true
			v, _, err := b.vaultAuthorized(ctx, tx, a, uv.VaultName, policy.ManageVaultUsers)
			if err != nil {
				return err
			}
			inv.Vaults = append(inv.Vaults, model.InviteVault{VaultID: v.ID, VaultName: v.Name, Role: vr})
			out.Vaults = append(out.Vaults, apitype.UserVault{VaultName: v.Name, VaultRole: string(vr)})
		}
		if st, err := tx.Settings().Get(ctx); err != nil {
			return internal(err, "reading settings")
		} else if !st.EmailAllowed(email) {
			return errDomain(email)
		}
		if _, err := tx.Users().ByEmail(ctx, email); err == nil {
			return errs.Conflict("%s already has an account: add them to a vault with `agent-vault vault user add`", email).WithCode("user_exists")
		} else if !errors.Is(err, store.ErrNotFound) {
			return internal(err, "reading users")
		}
		pending, err := tx.Invites().List(ctx)
		if err != nil {
			return internal(err, "listing invites")
		}
		for _, p := range pending {
			if p.Email == email && p.StatusAt(now) == model.InvitePending {
				// One its sender could no longer back is void: it gives way.
				if b.inviteStillBacked(ctx, tx, p) != nil {
					if err := tx.Invites().Revoke(ctx, p.ID, now); err != nil {
						return internal(err, "revoking a void invite")
					}
					continue
				}
				return errs.Conflict("%s already has a pending invite (%s): its sender, an admin of its vaults or an instance owner can revoke it with `agent-vault user invite revoke %s`", email, p.ID, p.ID).WithCode("invite_exists")
			}
		}
		return b.recordAfter(ctx, tx, internal(tx.Invites().Create(ctx, inv), "saving the invite"), with(a.event(trail.InviteCreate, model.Vault{}, email), "invite="+inv.ID+" role="+string(role)))
	})
	if err != nil {
		return apitype.InviteCreated{}, err
	}
	out.Token = tok
	out.InviteLink = strings.TrimRight(b.baseURL, "/") + "/invite/" + tok
	out.EmailSent = b.mailer != nil // the email goes out in the background
	b.notifyInvite(a.User.Email, out)
	return out, nil
}

// ListInvites lists the invites the actor may see: an owner all of them,
// a member those they sent and those into vaults they administer
// (policy.ViewInvite). Vaults the actor holds no role in are left out of
// an invite it did not send.
func (b *Broker) ListInvites(ctx context.Context, a Actor) (apitype.InviteList, error) {
	out := apitype.InviteList{Invites: []apitype.Invite{}}
	if err := authorize(a, "", policy.InviteUser); err != nil {
		return out, err
	}
	invs, err := b.st.Invites().List(ctx)
	if err != nil {
		return out, internal(err, "listing invites")
	}
	roles, err := b.rolesOf(ctx, b.st, a)
	if err != nil {
		return out, err
	}
	now := b.now()
	for _, inv := range invs {
		s := inviteSubject(a, inv, roles)
		if !policy.Decide(s, policy.ViewInvite).Allowed {
			continue
		}
		vs := inviteVaults(inv)
		if !s.Owns && a.Role() != model.RoleOwner {
			vs = []apitype.UserVault{}
			for _, v := range inv.Vaults {
				if roles[v.VaultID] != "" {
					vs = append(vs, apitype.UserVault{VaultName: v.VaultName, VaultRole: string(v.Role)})
				}
			}
		}
		out.Invites = append(out.Invites, apitype.Invite{
			ID: inv.ID, Email: inv.Email, Role: string(inv.Role), Status: string(inv.StatusAt(now)),
			CreatedBy: inv.CreatedBy, Vaults: vs, ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt,
		})
	}
	return out, nil
}

// inviteSubject is the actor as policy sees it for one invite: whether it
// sent the invite (by user id) and its strongest role among the invite's
// vaults (roles maps vault id to the actor's role).
func inviteSubject(a Actor, inv model.Invite, roles map[string]model.VaultRole) policy.Subject {
	var best model.VaultRole
	for _, v := range inv.Vaults {
		if r := roles[v.VaultID]; r.Satisfies(best) || best == "" {
			best = r
		}
	}
	s := a.subject(best)
	s.Owns = a.IsUser() && inv.CreatedByID != "" && inv.CreatedByID == a.User.ID
	return s
}

func inviteVaults(inv model.Invite) []apitype.UserVault {
	out := []apitype.UserVault{}
	for _, v := range inv.Vaults {
		out = append(out, apitype.UserVault{VaultName: v.VaultName, VaultRole: string(v.Role)})
	}
	return out
}

// inviteByRef finds an invite by its full av_uinv_ token or its listed id.
func inviteByRef(ctx context.Context, st store.Store, ref string) (model.Invite, error) {
	ref = strings.TrimSpace(ref)
	var (
		inv model.Invite
		err error
	)
	if strings.HasPrefix(ref, token.PrefixInvite) {
		inv, err = st.Invites().ByTokenHash(ctx, token.Hash(ref))
	} else {
		inv, err = st.Invites().ByID(ctx, ref)
	}
	if err != nil {
		return inv, notFound(err, "invite not found: list invites with `agent-vault user invite list`")
	}
	return inv, nil
}

// RevokeInvite cancels a pending invite, by token or id: the actor's own,
// one into a vault it administers, or any for an owner
// (policy.RevokeInvite). An invite the actor may not see is not found.
func (b *Broker) RevokeInvite(ctx context.Context, a Actor, ref string) (apitype.MessageResponse, error) {
	if err := authorize(a, "", policy.InviteUser); err != nil {
		return apitype.MessageResponse{}, err
	}
	err := b.tx(ctx, func(tx store.Store) error {
		inv, err := inviteByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		roles, err := b.rolesOf(ctx, tx, a)
		if err != nil {
			return err
		}
		s := inviteSubject(a, inv, roles)
		if !policy.Decide(s, policy.ViewInvite).Allowed {
			return errs.NotFound("invite not found: list invites with `agent-vault user invite list`")
		}
		if d := policy.Decide(s, policy.RevokeInvite); !d.Allowed {
			return errs.Forbidden("%s", d.Reason)
		}
		if s := inv.StatusAt(b.now()); s != model.InvitePending {
			return errs.Conflict("invite is already %s", s)
		}
		return b.recordAfter(ctx, tx, internal(tx.Invites().Revoke(ctx, inv.ID, b.now()), "revoking the invite"), with(a.event(trail.InviteRevoke, model.Vault{}, inv.Email), "invite="+inv.ID))
	})
	if err != nil {
		return apitype.MessageResponse{}, err
	}
	return apitype.MessageResponse{Message: "Invite revoked"}, nil
}

// pendingInvite loads the invite of a link token and checks it is usable.
func (b *Broker) pendingInvite(ctx context.Context, st store.Store, tok string) (model.Invite, error) {
	if !token.HasPrefix(tok, token.PrefixInvite) {
		return model.Invite{}, errs.NotFound("invite not found: check the link you were given")
	}
	inv, err := st.Invites().ByTokenHash(ctx, token.Hash(tok))
	if err != nil {
		return inv, notFound(err, "invite not found: check the link you were given")
	}
	if s := inv.StatusAt(b.now()); s != model.InvitePending {
		return inv, errs.Gone("this invite is %s: ask for a new one", s).WithCode("invite_" + string(s))
	}
	return inv, b.inviteStillBacked(ctx, st, inv)
}

// inviteStillBacked checks, when an invite is shown or accepted, that its
// sender still holds every right it used: an account, the right to invite
// at the invite's instance role, and the admin role in each vault it
// grants. An invite is not a way to keep rights its sender has lost; one
// that fails is refused whole (no partial account), and a new one is
// needed.
func (b *Broker) inviteStillBacked(ctx context.Context, st store.Store, inv model.Invite) error {
	stale := func(why string) error {
		return errs.Conflict("this invite can no longer be accepted: %s; ask a vault admin or an instance owner for a new invite", why).WithCode("invite_no_longer_valid")
	}
	if inv.CreatedByID == "" {
		return stale("the account that sent it no longer exists")
	}
	u, err := st.Users().ByID(ctx, inv.CreatedByID)
	if errors.Is(err, store.ErrNotFound) {
		return stale("the account that sent it no longer exists")
	} else if err != nil {
		return internal(err, "reading the inviter")
	}
	by := Actor{Kind: model.ActorUser, User: u}
	act := policy.InviteUser
	if inv.Role == model.RoleOwner {
		act = policy.InviteOwner
	}
	if authorize(by, "", act) != nil {
		return stale("its sender may no longer invite with the role " + string(inv.Role))
	}
	for _, iv := range inv.Vaults {
		vr, err := b.roleIn(ctx, st, by, iv.VaultID)
		if err != nil {
			return err
		}
		if authorize(by, vr, policy.ManageVaultUsers) != nil {
			return stale("its sender no longer administers vault " + strconv.Quote(iv.VaultName))
		}
	}
	return nil
}

// revokeInvitesOf revokes the pending invites a user sent (before the
// user is deleted: they could not be accepted any more).
func (b *Broker) revokeInvitesOf(ctx context.Context, tx store.Store, userID string) error {
	invs, err := tx.Invites().List(ctx)
	if err != nil {
		return internal(err, "listing invites")
	}
	now := b.now()
	for _, inv := range invs {
		if inv.CreatedByID == userID && inv.StatusAt(now) == model.InvitePending {
			if err := tx.Invites().Revoke(ctx, inv.ID, now); err != nil {
				return internal(err, "revoking the user's invites")
			}
		}
	}
	return nil
}

// InviteDetails shows what an invite link grants (public: the token is
// the credential).
func (b *Broker) InviteDetails(ctx context.Context, tok string) (apitype.InviteDetails, error) {
	inv, err := b.pendingInvite(ctx, b.st, tok)
	if err != nil {
		return apitype.InviteDetails{}, err
	}
	return apitype.InviteDetails{Email: inv.Email, Role: string(inv.Role), Vaults: inviteVaults(inv), NeedsAccount: true, Status: string(model.InvitePending)}, nil
}

// AcceptInvite creates the invited account with the chosen password and
// applies the invite's vault grants, all in one transaction.
func (b *Broker) AcceptInvite(ctx context.Context, tok string, in apitype.AcceptInviteRequest) (apitype.InviteAccepted, error) {
	if err := model.ValidatePassword("password", in.Password); err != nil {
		return apitype.InviteAccepted{}, err
	}
	// The link and the account are checked before the Argon2id run, and
	// again in the transaction.
	inv, err := b.pendingInvite(ctx, b.st, tok)
	if err != nil {
		return apitype.InviteAccepted{}, err
	}
	if _, err := b.st.Users().ByEmail(ctx, inv.Email); err == nil {
		return apitype.InviteAccepted{}, errs.Conflict("an account for %s already exists: log in instead", inv.Email)
	} else if !errors.Is(err, store.ErrNotFound) {
		return apitype.InviteAccepted{}, internal(err, "reading the user")
	}
	hash, err := b.hashPassword(in.Password)
	if err != nil {
		return apitype.InviteAccepted{}, err
	}
	var out apitype.InviteAccepted
	err = b.tx(ctx, func(tx store.Store) error {
		inv, err := b.pendingInvite(ctx, tx, tok)
		if err != nil {
			return err
		}
		now := b.now()
		u := model.User{ID: token.ID(16), Email: inv.Email, PasswordHash: hash, Role: inv.Role, CreatedAt: now, UpdatedAt: now}
		if err := tx.Users().Create(ctx, u); err != nil {
			return conflict(err, "an account for %s already exists: log in instead", inv.Email)
		}
		for _, iv := range inv.Vaults {
			if err := tx.Grants().Put(ctx, model.VaultGrant{VaultID: iv.VaultID, UserID: u.ID, Role: iv.Role, CreatedAt: now}); err != nil {
				return internal(err, "applying vault grants")
			}
		}
		if err := tx.Invites().MarkAccepted(ctx, inv.ID, now); err != nil {
			return internal(err, "marking the invite accepted")
		}
		out = apitype.InviteAccepted{Email: u.Email, Message: "Account created. Log in with `agent-vault auth login --email " + u.Email + "`."}
		return b.record(ctx, tx, with(userEvent(trail.InviteAccept, u), "invite="+inv.ID+" role="+string(u.Role)))
	})
	return out, err
}
