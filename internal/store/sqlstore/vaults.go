package sqlstore

import (
	"context"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type vaults struct{ *handle }

const vaultCols = `id, name, unmatched_host_policy, created_at, updated_at`

func scanVault(sc interface{ Scan(...any) error }) (model.Vault, error) {
	var v model.Vault
	var p string
	var c, u dbTime
	if err := sc.Scan(&v.ID, &v.Name, &p, &c, &u); err != nil {
		return model.Vault{}, scanErr(err)
	}
	v.UnmatchedHostPolicy, v.CreatedAt, v.UpdatedAt = model.HostPolicy(p), c.t, u.t
	return v, nil
}

func (s vaults) Create(ctx context.Context, v model.Vault) error {
	_, err := s.exec(ctx, `INSERT INTO vaults (`+vaultCols+`) VALUES (?, ?, ?, ?, ?)`,
		v.ID, v.Name, string(v.UnmatchedHostPolicy), fmtTime(v.CreatedAt), fmtTime(v.UpdatedAt))
	return err
}

func (s vaults) ByName(ctx context.Context, name string) (model.Vault, error) {
	return scanVault(s.row(ctx, `SELECT `+vaultCols+` FROM vaults WHERE name = ?`, name))
}

func (s vaults) List(ctx context.Context) ([]model.Vault, error) {
	rows, err := s.query(ctx, `SELECT `+vaultCols+` FROM vaults ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanVault)
}

func (s vaults) Rename(ctx context.Context, id, newName string, at time.Time) error {
	return mustAffect(s.exec(ctx, `UPDATE vaults SET name = ?, updated_at = ? WHERE id = ?`, newName, fmtTime(at), id))
}

func (s vaults) SetPolicy(ctx context.Context, id string, p model.HostPolicy, at time.Time) error {
	return mustAffect(s.exec(ctx, `UPDATE vaults SET unmatched_host_policy = ?, updated_at = ? WHERE id = ?`, string(p), fmtTime(at), id))
}

func (s vaults) Delete(ctx context.Context, id string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM vaults WHERE id = ?`, id))
}

type grants struct{ *handle }

const grantSelect = `SELECT g.vault_id, v.name, g.user_id, u.email, g.role, g.created_at
	FROM vault_users g JOIN vaults v ON v.id = g.vault_id JOIN users u ON u.id = g.user_id`

func scanGrant(sc interface{ Scan(...any) error }) (model.VaultGrant, error) {
	var g model.VaultGrant
	var r string
	var c dbTime
	if err := sc.Scan(&g.VaultID, &g.VaultName, &g.UserID, &g.Email, &r, &c); err != nil {
		return model.VaultGrant{}, scanErr(err)
	}
	g.Role, g.CreatedAt = model.VaultRole(r), c.t
	return g, nil
}

func (s grants) Put(ctx context.Context, g model.VaultGrant) error {
	_, err := s.exec(ctx, `INSERT INTO vault_users (vault_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (vault_id, user_id) DO UPDATE SET role = excluded.role`,
		g.VaultID, g.UserID, string(g.Role), fmtTime(g.CreatedAt))
	return err
}

func (s grants) Get(ctx context.Context, vaultID, userID string) (model.VaultGrant, error) {
	return scanGrant(s.row(ctx, grantSelect+` WHERE g.vault_id = ? AND g.user_id = ?`, vaultID, userID))
}

func (s grants) ListByVault(ctx context.Context, vaultID string) ([]model.VaultGrant, error) {
	rows, err := s.query(ctx, grantSelect+` WHERE g.vault_id = ? ORDER BY u.email`, vaultID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGrant)
}

func (s grants) ListByUser(ctx context.Context, userID string) ([]model.VaultGrant, error) {
	rows, err := s.query(ctx, grantSelect+` WHERE g.user_id = ? ORDER BY v.name`, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGrant)
}

func (s grants) CountAdmins(ctx context.Context, vaultID string) (int, error) {
	var n int
	err := s.row(ctx, `SELECT count(*) FROM vault_users WHERE vault_id = ? AND role = 'admin'`, vaultID).Scan(&n)
	return n, err
}

func (s grants) Delete(ctx context.Context, vaultID, userID string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM vault_users WHERE vault_id = ? AND user_id = ?`, vaultID, userID))
}

var (
	_ store.Vaults = vaults{}
	_ store.Grants = grants{}
)
