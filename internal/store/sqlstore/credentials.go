package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type credentials struct{ *handle }

const credentialCols = `vault_id, key, type, ciphertext, created_at, updated_at, written_by`

func scanCredential(sc interface{ Scan(...any) error }) (model.Credential, error) {
	var c model.Credential
	var t string
	var cr, up dbTime
	if err := sc.Scan(&c.VaultID, &c.Key, &t, &c.Ciphertext, &cr, &up, &c.WrittenBy); err != nil {
		return model.Credential{}, scanErr(err)
	}
	c.Type, c.CreatedAt, c.UpdatedAt = model.CredentialType(t), cr.t, up.t
	return c, nil
}

func (s credentials) Put(ctx context.Context, c model.Credential) error {
	if _, err := s.exec(ctx, `INSERT INTO credentials (`+credentialCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (vault_id, key) DO UPDATE SET type = excluded.type, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at,
			written_by = excluded.written_by`,
		c.VaultID, c.Key, string(c.Type), c.Ciphertext, fmtTime(c.CreatedAt), fmtTime(c.UpdatedAt), c.WrittenBy); err != nil {
		return err
	}
	_, err := s.exec(ctx, `DELETE FROM credential_bindings WHERE vault_id = ? AND key = ? AND by_agent = 1`, c.VaultID, c.Key)
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

func (s credentials) SetValue(ctx context.Context, vaultID, key string, ciphertext []byte, updatedAt time.Time) error {
	return mustAffect(s.exec(ctx, `UPDATE credentials SET ciphertext = ?, updated_at = ? WHERE vault_id = ? AND key = ?`, ciphertext, fmtTime(updatedAt), vaultID, key))
}

func (s credentials) Delete(ctx context.Context, vaultID, key string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM credentials WHERE vault_id = ? AND key = ?`, vaultID, key))
}

const bindingCols = `vault_id, key, pattern, by_agent, added_by, created_at`

func scanBinding(sc interface{ Scan(...any) error }) (model.CredentialBinding, error) {
	var b model.CredentialBinding
	var byAgent int
	var cr dbTime
	if err := sc.Scan(&b.VaultID, &b.Key, &b.Pattern, &byAgent, &b.AddedBy, &cr); err != nil {
		return model.CredentialBinding{}, scanErr(err)
	}
	b.ByAgent, b.CreatedAt = byAgent == 1, cr.t
	return b, nil
}

func (s credentials) Bindings(ctx context.Context, vaultID string) ([]model.CredentialBinding, error) {
	rows, err := s.query(ctx, `SELECT `+bindingCols+` FROM credential_bindings WHERE vault_id = ? ORDER BY key, pattern`, vaultID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanBinding)
}

// Bind keeps one row per pattern: a user's binding replaces an agent's,
// never the other way round.
func (s credentials) Bind(ctx context.Context, b model.CredentialBinding) error {
	byAgent := 0
	if b.ByAgent {
		byAgent = 1
	}
	_, err := s.exec(ctx, `INSERT INTO credential_bindings (`+bindingCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (vault_id, key, pattern) DO UPDATE SET by_agent = excluded.by_agent, added_by = excluded.added_by, created_at = excluded.created_at
		WHERE credential_bindings.by_agent = 1 AND excluded.by_agent = 0`,
		b.VaultID, b.Key, b.Pattern, byAgent, b.AddedBy, fmtTime(b.CreatedAt))
	return err
}

func (s credentials) Unbind(ctx context.Context, vaultID, key, pattern string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM credential_bindings WHERE vault_id = ? AND key = ? AND pattern = ?`, vaultID, key, pattern))
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
