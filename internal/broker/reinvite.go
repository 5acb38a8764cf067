package broker

import (
	"context"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// Reinvite re-sends a pending invite, by token or id. Invite links are
// stored only as hashes, so the old link cannot be sent again: the old
// invite is revoked and a new one with the same email, role and vaults is
// created and mailed, in one transaction. The actor needs the right to
// revoke the old invite and every right creating the new one takes (it
// becomes its sender), so re-sending never keeps an invite alive on
// rights its first sender has lost.
func (b *Broker) Reinvite(ctx context.Context, a Actor, ref string) (apitype.InviteCreated, error) {
	if err := authorize(a, "", policy.InviteUser); err != nil {
		return apitype.InviteCreated{}, err
	}
	old, err := inviteByRef(ctx, b.st, ref)
	if err != nil {
		return apitype.InviteCreated{}, err
	}
	in := apitype.InviteRequest{Email: old.Email, Role: string(old.Role), Vaults: inviteVaults(old)}
	return b.createInvite(ctx, a, in, func(tx store.Store) error {
		inv, err := inviteByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		if inv.ID != old.ID {
			return errs.Conflict("the invite changed meanwhile: try again")
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
		if st := inv.StatusAt(b.now()); st != model.InvitePending {
			return errs.Conflict("invite is %s, so there is nothing to re-send: create a new one with `agent-vault user invite %s`", st, inv.Email)
		}
		return b.recordAfter(ctx, tx, internal(tx.Invites().Revoke(ctx, inv.ID, b.now()), "revoking the old invite"),
			with(a.event(trail.InviteRevoke, model.Vault{}, inv.Email), "invite="+inv.ID+" reinvite"))
	})
}
