package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type invites struct{ *handle }

const inviteCols = `id, token_hash, email, role, created_by, created_by_id, created_at, expires_at, accepted_at, revoked_at`

func scanInvite(sc interface{ Scan(...any) error }) (model.Invite, error) {
	var i model.Invite
	var r string
	var by sql.NullString
	var c, e dbTime
	var a, rv nullTime
	if err := sc.Scan(&i.ID, &i.TokenHash, &i.Email, &r, &i.CreatedBy, &by, &c, &e, &a, &rv); err != nil {
		return model.Invite{}, scanErr(err)
	}
	i.CreatedByID = by.String
	i.Role, i.CreatedAt, i.ExpiresAt, i.AcceptedAt, i.RevokedAt = model.InstanceRole(r), c.t, e.t, a.t, rv.t
	return i, nil
}

func (s invites) Create(ctx context.Context, inv model.Invite) error {
	return s.InTx(ctx, func(tx store.Store) error {
		h := tx.(*handle)
		if _, err := h.exec(ctx, `INSERT INTO invites (`+inviteCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			inv.ID, inv.TokenHash, inv.Email, string(inv.Role), inv.CreatedBy, nullable(inv.CreatedByID),
			fmtTime(inv.CreatedAt), fmtTime(inv.ExpiresAt), fmtTimePtr(inv.AcceptedAt), fmtTimePtr(inv.RevokedAt)); err != nil {
			return err
		}
		for _, v := range inv.Vaults {
			if _, err := h.exec(ctx, `INSERT INTO invite_vaults (invite_id, vault_id, role) VALUES (?, ?, ?)`,
				inv.ID, v.VaultID, string(v.Role)); err != nil {
				return err
			}
		}
		return nil
	})
}

// withVaults loads each invite's vault grants.
func (s invites) withVaults(ctx context.Context, list []model.Invite) ([]model.Invite, error) {
	for i := range list {
		rows, err := s.query(ctx, `SELECT iv.vault_id, v.name, iv.role FROM invite_vaults iv
			JOIN vaults v ON v.id = iv.vault_id WHERE iv.invite_id = ? ORDER BY v.name`, list[i].ID)
		if err != nil {
			return nil, err
		}
		vs, err := collect(rows, func(sc interface{ Scan(...any) error }) (model.InviteVault, error) {
			var v model.InviteVault
			var r string
			err := sc.Scan(&v.VaultID, &v.VaultName, &r)
			v.Role = model.VaultRole(r)
			return v, err
		})
		if err != nil {
			return nil, err
		}
		list[i].Vaults = vs
	}
	return list, nil
}

func (s invites) one(ctx context.Context, where string, arg any) (model.Invite, error) {
	inv, err := scanInvite(s.row(ctx, `SELECT `+inviteCols+` FROM invites WHERE `+where, arg))
	if err != nil {
		return model.Invite{}, err
	}
	list, err := s.withVaults(ctx, []model.Invite{inv})
	if err != nil {
		return model.Invite{}, err
	}
	return list[0], nil
}

func (s invites) ByTokenHash(ctx context.Context, hash []byte) (model.Invite, error) {
	return s.one(ctx, `token_hash = ?`, hash)
}

func (s invites) ByID(ctx context.Context, id string) (model.Invite, error) {
	return s.one(ctx, `id = ?`, id)
}

func (s invites) List(ctx context.Context) ([]model.Invite, error) {
	rows, err := s.query(ctx, `SELECT `+inviteCols+` FROM invites ORDER BY created_at`)
	if err != nil {
		return nil, err
	}
	list, err := collect(rows, scanInvite)
	if err != nil {
		return nil, err
	}
	return s.withVaults(ctx, list)
}

func (s invites) MarkAccepted(ctx context.Context, id string, at time.Time) error {
	return mustAffect(s.exec(ctx, `UPDATE invites SET accepted_at = ? WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, fmtTime(at), id))
}

func (s invites) Revoke(ctx context.Context, id string, at time.Time) error {
	return mustAffect(s.exec(ctx, `UPDATE invites SET revoked_at = ? WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, fmtTime(at), id))
}

var _ store.Invites = invites{}
