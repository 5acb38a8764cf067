package sqlstore

import (
	"context"
	"errors"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type caStore struct{ *handle }

func (s caStore) Load(ctx context.Context) (model.CAState, bool, error) {
	var st model.CAState
	var c dbTime
	err := scanErr(s.row(ctx, `SELECT cert_pem, sealed_key, created_at FROM ca WHERE id = 1`).Scan(&st.CertPEM, &st.SealedKey, &c))
	if errors.Is(err, store.ErrNotFound) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	st.CreatedAt = c.t
	return st, true, nil
}

func (s caStore) Create(ctx context.Context, st model.CAState) error {
	_, err := s.exec(ctx, `INSERT INTO ca (id, cert_pem, sealed_key, created_at) VALUES (1, ?, ?, ?)`, st.CertPEM, st.SealedKey, fmtTime(st.CreatedAt))
	return err
}
