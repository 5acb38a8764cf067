package broker

import (
	"context"
	"errors"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// ListUsers lists the instance's users (members and owners). Owners also
// see each user's vault grants.
func (b *Broker) ListUsers(ctx context.Context, a Actor) (apitype.UserList, error) {
	out := apitype.UserList{Users: []apitype.User{}}
	if err := authorize(a, "", policy.ListUsers); err != nil {
		return out, err
	}
	us, err := b.st.Users().List(ctx)
	if err != nil {
		return out, internal(err, "listing users")
	}
	owner := a.Role() == model.RoleOwner
	for _, u := range us {
		e := apitype.User{Email: u.Email, Role: string(u.Role), CreatedAt: u.CreatedAt}
		if owner {
			gs, err := b.st.Grants().ListByUser(ctx, u.ID)
			if err != nil {
				return out, internal(err, "listing grants")
			}
			for _, g := range gs {
				e.Vaults = append(e.Vaults, apitype.UserVault{VaultName: g.VaultName, VaultRole: string(g.Role)})
			}
		}
		out.Users = append(out.Users, e)
	}
	return out, nil
}

// userByEmail loads a user by email ("me" means the actor).
func (b *Broker) userByEmail(ctx context.Context, st store.Store, a Actor, field, email string) (model.User, error) {
	if email == "me" {
		email = a.User.Email
	}
	norm, err := model.NormalizeEmail(field, email)
	if err != nil {
		return model.User{}, err
	}
	u, err := st.Users().ByEmail(ctx, norm)
	if err != nil {
		return model.User{}, notFound(err, "user %s not found: list users with `agent-vault user list`", norm)
	}
	return u, nil
}

// AdminGetUser shows one user with their vaults (owners).
func (b *Broker) AdminGetUser(ctx context.Context, a Actor, email string) (apitype.UserDetail, error) {
	if err := authorize(a, "", policy.ManageInstanceUsers); err != nil {
		return apitype.UserDetail{}, err
	}
	u, err := b.userByEmail(ctx, b.st, a, "email", email)
	if err != nil {
		return apitype.UserDetail{}, err
	}
	gs, err := b.st.Grants().ListByUser(ctx, u.ID)
	if err != nil {
		return apitype.UserDetail{}, internal(err, "listing grants")
	}
	out := apitype.UserDetail{Email: u.Email, Role: string(u.Role), Vaults: []string{}, CreatedAt: u.CreatedAt}
	for _, g := range gs {
		out.Vaults = append(out.Vaults, g.VaultName)
	}
	return out, nil
}

// AdminDeleteUser removes a user (owners). The last owner cannot be
// removed. The agents the user owned are revoked, or, when transferTo names
// another user, handed to them (see transferAgents for who may take them).
func (b *Broker) AdminDeleteUser(ctx context.Context, a Actor, email, transferTo string) (apitype.UserRemoved, error) {
	if err := authorize(a, "", policy.ManageInstanceUsers); err != nil {
		return apitype.UserRemoved{}, err
	}
	var out apitype.UserRemoved
	err := b.tx(ctx, func(tx store.Store) error {
		u, err := b.userByEmail(ctx, tx, a, "email", email)
		if err != nil {
			return err
		}
		var heir *model.User
		if transferTo != "" {
			h, err := b.userByEmail(ctx, tx, a, "transfer_agents_to", transferTo)
			if err != nil {
				return err
			}
			if h.ID == u.ID {
				return errs.Invalid("transfer_agents_to", "transfer_agents_to must name another user than the one deleted")
			}
			heir = &h
		}
		out = apitype.UserRemoved{Status: "removed", Email: u.Email}
		out.AgentsRevoked, out.AgentsTransferred, err = b.deleteUser(ctx, tx, u, heir)
		e := a.event(trail.UserDelete, model.Vault{}, u.Email)
		if heir != nil {
			out.TransferredTo = heir.Email
			e.Detail = "agents transferred to " + heir.Email
		}
		return b.recordAfter(ctx, tx, err, e)
	})
	return out, err
}

// AdminSetRole changes a user's instance role (owners). The last owner
// cannot be demoted.
func (b *Broker) AdminSetRole(ctx context.Context, a Actor, email string, in apitype.RoleRequest) (apitype.UserRole, error) {
	if err := authorize(a, "", policy.ManageInstanceUsers); err != nil {
		return apitype.UserRole{}, err
	}
	role, err := model.ParseInstanceRole("role", in.Role)
	if err != nil {
		return apitype.UserRole{}, err
	}
	var out apitype.UserRole
	err = b.tx(ctx, func(tx store.Store) error {
		u, err := b.userByEmail(ctx, tx, a, "email", email)
		if err != nil {
			return err
		}
		if u.Role == model.RoleOwner && role != model.RoleOwner {
			if err := lastOwnerGuard(ctx, tx, "demote"); err != nil {
				return err
			}
		}
		if err := tx.Users().SetRole(ctx, u.ID, role, b.now()); err != nil {
			return notFound(err, "user %s not found", u.Email)
		}
		out = apitype.UserRole{Email: u.Email, Role: string(role)}
		return b.record(ctx, tx, with(a.event(trail.UserRole, model.Vault{}, u.Email), "role="+string(role)))
	})
	return out, err
}

// ListVaultUsers lists a vault's users and pending invites into it, to
// its members and admins: emails are not for the proxy role (people.go).
func (b *Broker) ListVaultUsers(ctx context.Context, a Actor, name string) (apitype.VaultUserList, error) {
	out := apitype.VaultUserList{Users: []apitype.VaultUser{}}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, name, policy.ViewMemberEmails)
	if err != nil {
		return out, err
	}
	gs, err := b.st.Grants().ListByVault(ctx, v.ID)
	if err != nil {
		return out, internal(err, "listing vault users")
	}
	for _, g := range gs {
		out.Users = append(out.Users, apitype.VaultUser{Email: g.Email, Role: string(g.Role), Status: "active"})
	}
	invs, err := b.st.Invites().List(ctx)
	if err != nil {
		return out, internal(err, "listing invites")
	}
	now := b.now()
	for _, inv := range invs {
		if inv.StatusAt(now) != model.InvitePending {
			continue
		}
		for _, iv := range inv.Vaults {
			if iv.VaultID == v.ID {
				out.Users = append(out.Users, apitype.VaultUser{Email: inv.Email, Role: string(iv.Role), Status: string(model.InvitePending)})
			}
		}
	}
	return out, nil
}

// AddVaultUser grants an existing user a role in a vault (admins).
func (b *Broker) AddVaultUser(ctx context.Context, a Actor, name string, in apitype.VaultUserRequest) (apitype.UserRole, error) {
	role := model.VaultMember
	if in.Role != "" {
		r, err := model.ParseUserVaultRole("role", in.Role)
		if err != nil {
			return apitype.UserRole{}, err
		}
		role = r
	}
	var out apitype.UserRole
	err := b.tx(ctx, func(tx store.Store) error {
		v, _, err := b.vaultAuthorized(ctx, tx, a, name, policy.ManageVaultUsers)
		if err != nil {
			return err
		}
		u, err := b.userByEmail(ctx, tx, a, "email", in.Email)
		if errs.Is(err, errs.KindNotFound) {
			return errs.NotFound("no user %s on this instance: invite them with `agent-vault user invite %s --vault %s:%s`", strings.ToLower(strings.TrimSpace(in.Email)), strings.TrimSpace(in.Email), v.Name, role)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Grants().Get(ctx, v.ID, u.ID); err == nil {
			return errs.Conflict("%s is already in vault %q: change their role with `agent-vault vault user set-role`", u.Email, v.Name).WithCode("already_member")
		} else if !errors.Is(err, store.ErrNotFound) {
			return internal(err, "reading vault membership")
		}
		if err := tx.Grants().Put(ctx, model.VaultGrant{VaultID: v.ID, UserID: u.ID, Role: role, CreatedAt: b.now()}); err != nil {
			return internal(err, "adding the user")
		}
		out = apitype.UserRole{Email: u.Email, Role: string(role)}
		return b.record(ctx, tx, with(a.event(trail.MemberAdd, v, u.Email), "role="+string(role)))
	})
	return out, err
}

// RemoveVaultUser removes a user's grant (admins). The last admin stays.
func (b *Broker) RemoveVaultUser(ctx context.Context, a Actor, name, email string) (apitype.MessageResponse, error) {
	var out apitype.MessageResponse
	err := b.tx(ctx, func(tx store.Store) error {
		v, _, err := b.vaultAuthorized(ctx, tx, a, name, policy.ManageVaultUsers)
		if err != nil {
			return err
		}
		u, g, err := b.member(ctx, tx, a, v, email)
		if err != nil {
			return err
		}
		if g.Role == model.VaultAdmin {
			if err := lastAdminGuard(ctx, tx, v, "remove "+u.Email); err != nil {
				return err
			}
		}
		if err := tx.Grants().Delete(ctx, v.ID, u.ID); err != nil {
			return internal(err, "removing the user")
		}
		out = apitype.MessageResponse{Message: "Removed " + u.Email + " from vault " + v.Name + "."}
		return b.record(ctx, tx, a.event(trail.MemberRemove, v, u.Email))
	})
	return out, err
}

// SetVaultUserRole changes a user's role in a vault (admins).
func (b *Broker) SetVaultUserRole(ctx context.Context, a Actor, name, email string, in apitype.RoleRequest) (apitype.UserRole, error) {
	role, err := model.ParseUserVaultRole("role", in.Role)
	if err != nil {
		return apitype.UserRole{}, err
	}
	var out apitype.UserRole
	err = b.tx(ctx, func(tx store.Store) error {
		v, _, err := b.vaultAuthorized(ctx, tx, a, name, policy.ManageVaultUsers)
		if err != nil {
			return err
		}
		u, g, err := b.member(ctx, tx, a, v, email)
		if err != nil {
			return err
		}
		if g.Role == model.VaultAdmin && role != model.VaultAdmin {
			if err := lastAdminGuard(ctx, tx, v, "demote "+u.Email); err != nil {
				return err
			}
		}
		g.Role = role
		if err := tx.Grants().Put(ctx, g); err != nil {
			return internal(err, "changing the role")
		}
		out = apitype.UserRole{Email: u.Email, Role: string(role), Message: "Role updated."}
		return b.record(ctx, tx, with(a.event(trail.MemberRole, v, u.Email), "role="+string(role)))
	})
	return out, err
}

// member loads a user and their grant in v.
func (b *Broker) member(ctx context.Context, tx store.Store, a Actor, v model.Vault, email string) (model.User, model.VaultGrant, error) {
	u, err := b.userByEmail(ctx, tx, a, "email", email)
	if err != nil {
		return u, model.VaultGrant{}, err
	}
	g, err := tx.Grants().Get(ctx, v.ID, u.ID)
	if err != nil {
		return u, g, notFound(err, "%s is not a member of vault %q", u.Email, v.Name)
	}
	return u, g, nil
}
