package sqlstore

import (
	"context"
	"errors"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type credentials struct{ *handle }

const credentialCols = `vault_id, key, type, ciphertext, created_at, updated_at`

func scanCredential(sc interface{ Scan(...any) error }) (model.Credential, error) {
	var c model.Credential
	var t string
	var cr, up dbTime
	if err := sc.Scan(&c.VaultID, &c.Key, &t, &c.Ciphertext, &cr, &up); err != nil {
		return model.Credential{}, scanErr(err)
	}
	c.Type, c.CreatedAt, c.UpdatedAt = model.CredentialType(t), cr.t, up.t
	return c, nil
}

func (s credentials) Put(ctx context.Context, c model.Credential) error {
	_, err := s.exec(ctx, `INSERT INTO credentials (`+credentialCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (vault_id, key) DO UPDATE SET type = excluded.type, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
		c.VaultID, c.Key, string(c.Type), c.Ciphertext, fmtTime(c.CreatedAt), fmtTime(c.UpdatedAt))
	return err
}

func (s credentials) Get(ctx context.Context, vaultID, key string) (model.Credential, error) {
	return scanCredential(s.row(ctx, `SELECT `+credentialCols+` FROM credentials WHERE vault_id = ? AND key = ?`, vaultID, key))
}

func (s credentials) List(ctx context.Context, vaultID string) ([]model.Credential, error) {
	rows, err := s.query(ctx, `SELECT `+credentialCols+` FROM credentials WHERE vault_id = ? ORDER BY key`, vaultID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanCredential)
}

func (s credentials) Delete(ctx context.Context, vaultID, key string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM credentials WHERE vault_id = ? AND key = ?`, vaultID, key))
}

type services struct{ *handle }

func (s services) Get(ctx context.Context, vaultID string) (model.ServiceSet, error) {
	set := model.ServiceSet{VaultID: vaultID}
	var js string
	var up dbTime
	err := scanErr(s.row(ctx, `SELECT services, version, updated_at FROM service_sets WHERE vault_id = ?`, vaultID).Scan(&js, &set.Version, &up))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return model.ServiceSet{VaultID: vaultID, JSON: []byte("[]")}, nil
		}
		return set, err
	}
	set.JSON, set.UpdatedAt = []byte(js), up.t
	return set, nil
}

func (s services) Put(ctx context.Context, set model.ServiceSet) (int64, error) {
	var v int64
	err := scanErr(s.row(ctx, `INSERT INTO service_sets (vault_id, services, version, updated_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (vault_id) DO UPDATE SET services = excluded.services, version = service_sets.version + 1, updated_at = excluded.updated_at
		RETURNING version`, set.VaultID, string(set.JSON), fmtTime(set.UpdatedAt)).Scan(&v))
	return v, err
}
