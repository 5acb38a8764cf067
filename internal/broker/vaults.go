package broker

import (
	"context"
	"errors"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
	"github.com/google/uuid"
)

// DefaultVaultID is the fixed id of the vault that exists from the first start.
const DefaultVaultID = "00000000-0000-0000-0000-000000000000"

// Bootstrap creates what a fresh instance needs: the default vault.
func (b *Broker) Bootstrap(ctx context.Context) error {
	_, err := b.st.Vaults().ByName(ctx, model.DefaultVault)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return internal(err, "reading the default vault")
	}
	now := b.now()
	err = b.st.Vaults().Create(ctx, model.Vault{ID: DefaultVaultID, Name: model.DefaultVault, UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: now, UpdatedAt: now})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return internal(err, "creating the default vault")
	}
	return nil
}

// CreateVault creates a vault and makes the creator its admin.
func (b *Broker) CreateVault(ctx context.Context, a Actor, in apitype.CreateVaultRequest) (apitype.VaultCreated, error) {
	if err := authorize(a, "", policy.CreateVault); err != nil {
		return apitype.VaultCreated{}, err
	}
	if err := model.ValidateVaultName("name", in.Name); err != nil {
		return apitype.VaultCreated{}, err
	}
	now := b.now()
	v := model.Vault{ID: uuid.NewString(), Name: in.Name, UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: now, UpdatedAt: now}
	err := b.tx(ctx, func(tx store.Store) error {
		if err := tx.Vaults().Create(ctx, v); err != nil {
			return conflict(err, "a vault named %q already exists: pick another name", in.Name)
		}
		return b.recordAfter(ctx, tx, internal(b.grant(ctx, tx, a, v.ID, model.VaultAdmin), "granting the vault"), a.event(trail.VaultCreate, v, v.Name))
	})
	if err != nil {
		return apitype.VaultCreated{}, err
	}
	return apitype.VaultCreated{ID: v.ID, Name: v.Name, CreatedAt: v.CreatedAt}, nil
}

// ListVaults lists the vaults the actor holds a grant in; owners also see
// the others, marked as implicit membership.
func (b *Broker) ListVaults(ctx context.Context, a Actor) (apitype.VaultList, error) {
	out := apitype.VaultList{Vaults: []apitype.Vault{}}
	vs, err := b.st.Vaults().List(ctx)
	if err != nil {
		return out, internal(err, "listing vaults")
	}
	roles, err := b.rolesOf(ctx, b.st, a)
	if err != nil {
		return out, err
	}
	owner := seesEveryVault(a)
	for _, v := range vs {
		r := roles[v.ID]
		switch {
		case r != "":
			out.Vaults = append(out.Vaults, apitype.Vault{ID: v.ID, Name: v.Name, Role: string(r), Membership: "explicit", CreatedAt: v.CreatedAt})
		case owner:
			out.Vaults = append(out.Vaults, apitype.Vault{ID: v.ID, Name: v.Name, Membership: "implicit", CreatedAt: v.CreatedAt})
		}
	}
	return out, nil
}

// AdminListVaults lists every vault (owners only).
func (b *Broker) AdminListVaults(ctx context.Context, a Actor) (apitype.AdminVaultList, error) {
	out := apitype.AdminVaultList{Vaults: []apitype.AdminVault{}}
	if err := authorize(a, "", policy.ListAllVaults); err != nil {
		return out, err
	}
	vs, err := b.st.Vaults().List(ctx)
	if err != nil {
		return out, internal(err, "listing vaults")
	}
	for _, v := range vs {
		out.Vaults = append(out.Vaults, apitype.AdminVault{ID: v.ID, Name: v.Name, IsDefault: v.Name == model.DefaultVault, CreatedAt: v.CreatedAt})
	}
	return out, nil
}

// seesEveryVault reports whether a may know every vault exists: instance
// owners who are people (an agent with the owner role sees only the
// vaults it was granted, docs/permissions.md).
func seesEveryVault(a Actor) bool { return authorize(a, "", policy.ListAllVaults) == nil }

// vaultNotFound is the one answer for a vault name the actor cannot see:
// a typo and another team's vault read the same, so that the answer never
// tells a non-member whether a vault exists (owners see every vault in
// `vault list` anyway).
func vaultNotFound(name string) *errs.Error {
	return errs.NotFound("vault %q not found: list your vaults with `agent-vault vault list`", name)
}

// vaultAuthorized loads the vault and checks act for the actor. Non-members
// get 404 rather than 403 so vault names do not leak, except owners (people),
// who can see every vault exists.
func (b *Broker) vaultAuthorized(ctx context.Context, st store.Store, a Actor, name string, act policy.Action) (model.Vault, model.VaultRole, error) {
	v, r, err := b.vaultFor(ctx, st, a, name)
	if err != nil {
		return v, r, err
	}
	if r == "" && !seesEveryVault(a) {
		return v, r, vaultNotFound(name)
	}
	return v, r, authorize(a, r, act)
}

// DeleteVault deletes a vault: its admins, or an owner. The default vault
// cannot be deleted.
func (b *Broker) DeleteVault(ctx context.Context, a Actor, name string) (apitype.VaultDeleted, error) {
	v, r, err := b.vaultFor(ctx, b.st, a, name)
	if err != nil {
		return apitype.VaultDeleted{}, err
	}
	if err := authorizeEither(a, r, policy.DeleteVault, policy.DeleteAnyVault); err != nil {
		if r == "" && !seesEveryVault(a) {
			return apitype.VaultDeleted{}, vaultNotFound(name)
		}
		return apitype.VaultDeleted{}, err
	}
	if v.Name == model.DefaultVault {
		return apitype.VaultDeleted{}, errs.Conflict("the default vault cannot be deleted").WithCode("default_vault")
	}
	if err := b.tx(ctx, func(tx store.Store) error {
		return b.recordAfter(ctx, tx, notFound(tx.Vaults().Delete(ctx, v.ID), "vault %q not found", name), a.event(trail.VaultDelete, v, v.Name))
	}); err != nil {
		return apitype.VaultDeleted{}, err
	}
	return apitype.VaultDeleted{Name: v.Name, Deleted: true}, nil
}

// authorizeEither allows when the vault-level or instance-level action is allowed.
func authorizeEither(a Actor, r model.VaultRole, vaultAct, instAct policy.Action) error {
	if authorize(a, "", instAct) == nil {
		return nil
	}
	return authorize(a, r, vaultAct)
}

// RenameVault renames a vault (admins). The default vault keeps its name.
func (b *Broker) RenameVault(ctx context.Context, a Actor, name string, in apitype.RenameVaultRequest) (apitype.VaultRenamed, error) {
	v, _, err := b.vaultAuthorized(ctx, b.st, a, name, policy.RenameVault)
	if err != nil {
		return apitype.VaultRenamed{}, err
	}
	if err := model.ValidateVaultName("name", in.Name); err != nil {
		return apitype.VaultRenamed{}, err
	}
	if v.Name == model.DefaultVault {
		return apitype.VaultRenamed{}, errs.Conflict("the default vault cannot be renamed").WithCode("default_vault")
	}
	if err := b.tx(ctx, func(tx store.Store) error {
		err := conflict(tx.Vaults().Rename(ctx, v.ID, in.Name, b.now()), "a vault named %q already exists: pick another name", in.Name)
		return b.recordAfter(ctx, tx, err, with(a.event(trail.VaultRename, model.Vault{ID: v.ID, Name: in.Name}, in.Name), "from="+v.Name))
	}); err != nil {
		return apitype.VaultRenamed{}, err
	}
	return apitype.VaultRenamed{Message: "Vault renamed.", OldName: v.Name, NewName: in.Name}, nil
}

// JoinVault lets an owner join any vault as admin.
func (b *Broker) JoinVault(ctx context.Context, a Actor, name string) (apitype.VaultJoined, error) {
	if err := authorize(a, "", policy.JoinAnyVault); err != nil {
		return apitype.VaultJoined{}, err
	}
	var out apitype.VaultJoined
	err := b.tx(ctx, func(tx store.Store) error {
		v, r, err := b.vaultFor(ctx, tx, a, name)
		if err != nil {
			return err
		}
		if r != "" {
			return errs.Conflict("you are already a %s of vault %q", r, v.Name).WithCode("already_member")
		}
		if err := tx.Grants().Put(ctx, model.VaultGrant{VaultID: v.ID, UserID: a.User.ID, Role: model.VaultAdmin, CreatedAt: b.now()}); err != nil {
			return internal(err, "joining the vault")
		}
		out = apitype.VaultJoined{Vault: v.Name, Role: string(model.VaultAdmin), Joined: true}
		return b.record(ctx, tx, a.event(trail.VaultJoin, v, a.Name()))
	})
	return out, err
}

// LeaveVault removes the actor's own grant. The last admin cannot leave.
func (b *Broker) LeaveVault(ctx context.Context, a Actor, name string) (apitype.MessageResponse, error) {
	err := b.tx(ctx, func(tx store.Store) error {
		v, r, err := b.vaultFor(ctx, tx, a, name)
		if err != nil {
			return err
		}
		if r == "" {
			return errs.NotFound("you are not a member of vault %q", name)
		}
		// Leaving is a user's act. A vault session carries the user who
		// minted it, so without this check an agent running on one would
		// remove that user's own grant.
		if err := authorize(a, r, policy.LeaveVault); err != nil {
			return err
		}
		if r == model.VaultAdmin {
			if err := lastAdminGuard(ctx, tx, v, "leave"); err != nil {
				return err
			}
		}
		return b.recordAfter(ctx, tx, internal(tx.Grants().Delete(ctx, v.ID, a.User.ID), "leaving the vault"), a.event(trail.VaultLeave, v, a.Name()))
	})
	if err != nil {
		return apitype.MessageResponse{}, err
	}
	return apitype.MessageResponse{Message: "Left vault " + name + "."}, nil
}

// lastAdminGuard refuses to lose a vault's only admin.
func lastAdminGuard(ctx context.Context, tx store.Store, v model.Vault, verb string) error {
	n, err := tx.Grants().CountAdmins(ctx, v.ID)
	if err != nil {
		return internal(err, "counting vault admins")
	}
	if n <= 1 {
		return errs.Conflict("cannot %s: this is the last admin of vault %q; make another member admin first", verb, v.Name).WithCode("last_admin")
	}
	return nil
}

// VaultSettings reads a vault's settings (any member).
func (b *Broker) VaultSettings(ctx context.Context, a Actor, name string) (apitype.VaultSettings, error) {
	v, _, err := b.vaultAuthorized(ctx, b.st, a, name, policy.ViewVault)
	if err != nil {
		return apitype.VaultSettings{}, err
	}
	return apitype.VaultSettings{UnmatchedHostPolicy: string(v.UnmatchedHostPolicy)}, nil
}

// UpdateVaultSettings changes a vault's settings (admins).
func (b *Broker) UpdateVaultSettings(ctx context.Context, a Actor, name string, in apitype.VaultSettings) (apitype.VaultSettings, error) {
	v, _, err := b.vaultAuthorized(ctx, b.st, a, name, policy.ChangeVaultSettings)
	if err != nil {
		return apitype.VaultSettings{}, err
	}
	p := model.HostPolicy(in.UnmatchedHostPolicy)
	if !p.Valid() {
		return apitype.VaultSettings{}, errs.Invalid("unmatched_host_policy", "unmatched_host_policy must be %q or %q", model.PolicyPassthrough, model.PolicyDeny)
	}
	if err := b.tx(ctx, func(tx store.Store) error {
		err := notFound(tx.Vaults().SetPolicy(ctx, v.ID, p, b.now()), "vault %q not found", name)
		return b.recordAfter(ctx, tx, err, with(a.event(trail.VaultSettings, v, v.Name), "unmatched_host_policy="+string(p)))
	}); err != nil {
		return apitype.VaultSettings{}, err
	}
	return apitype.VaultSettings{UnmatchedHostPolicy: string(p)}, nil
}

// grant gives the actor (user or agent) role in vault vaultID.
func (b *Broker) grant(ctx context.Context, tx store.Store, a Actor, vaultID string, r model.VaultRole) error {
	if a.Kind == model.ActorAgent {
		return tx.AgentGrants().Put(ctx, model.AgentGrant{VaultID: vaultID, AgentID: a.Agent.ID, Role: r, CreatedAt: b.now()})
	}
	return tx.Grants().Put(ctx, model.VaultGrant{VaultID: vaultID, UserID: a.User.ID, Role: r, CreatedAt: b.now()})
}
