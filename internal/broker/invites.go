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
)

// CreateInvite invites a new user. Inviting an owner needs an owner; each
// vault grant in the invite needs the inviter to administer that vault.
func (b *Broker) CreateInvite(ctx context.Context, a Actor, in apitype.InviteRequest) (apitype.InviteCreated, error) {
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
		CreatedBy: a.User.Email, CreatedAt: now, ExpiresAt: now.Add(model.InviteTTL),
	}
	out := apitype.InviteCreated{Email: email, Role: string(role), Vaults: []apitype.UserVault{}, ExpiresAt: inv.ExpiresAt}
	err = b.tx(ctx, func(tx store.Store) error {
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
				return errs.Conflict("%s already has a pending invite: revoke it first with `agent-vault user invite revoke %s`", email, p.ID).WithCode("invite_exists")
			}
		}
		return internal(tx.Invites().Create(ctx, inv), "saving the invite")
	})
	if err != nil {
		return apitype.InviteCreated{}, err
	}
	out.Token = tok
	out.InviteLink = strings.TrimRight(b.baseURL, "/") + "/invite/" + tok
	b.notifyInvite(a.User.Email, out)
	return out, nil
}

// ListInvites lists invites (members and owners).
func (b *Broker) ListInvites(ctx context.Context, a Actor) (apitype.InviteList, error) {
	out := apitype.InviteList{Invites: []apitype.Invite{}}
	if err := authorize(a, "", policy.InviteUser); err != nil {
		return out, err
	}
	invs, err := b.st.Invites().List(ctx)
	if err != nil {
		return out, internal(err, "listing invites")
	}
	now := b.now()
	for _, inv := range invs {
		out.Invites = append(out.Invites, apitype.Invite{
			ID: inv.ID, Email: inv.Email, Role: string(inv.Role), Status: string(inv.StatusAt(now)),
			CreatedBy: inv.CreatedBy, Vaults: inviteVaults(inv), ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt,
		})
	}
	return out, nil
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

// RevokeInvite cancels a pending invite, by token or id.
func (b *Broker) RevokeInvite(ctx context.Context, a Actor, ref string) (apitype.MessageResponse, error) {
	if err := authorize(a, "", policy.InviteUser); err != nil {
		return apitype.MessageResponse{}, err
	}
	err := b.tx(ctx, func(tx store.Store) error {
		inv, err := inviteByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		if s := inv.StatusAt(b.now()); s != model.InvitePending {
			return errs.Conflict("invite is already %s", s)
		}
		return internal(tx.Invites().Revoke(ctx, inv.ID, b.now()), "revoking the invite")
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
	return inv, nil
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
		return nil
	})
	return out, err
}
