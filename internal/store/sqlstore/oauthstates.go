package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type oauthStates struct{ *handle }

func (h *handle) OAuthStates() store.OAuthStates { return oauthStates{h} }

const oauthStateCols = `id, state_hash, user_id, vault_id, credential_key, sealed, created_at, expires_at`

func (s oauthStates) Create(ctx context.Context, st model.OAuthState) error {
	_, err := s.exec(ctx, `INSERT INTO oauth_states (`+oauthStateCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		st.ID, st.StateHash, st.UserID, st.VaultID, st.Key, st.Sealed, fmtTime(st.CreatedAt), fmtTime(st.ExpiresAt))
	return err
}

func scanOAuthState(row *sql.Row) (model.OAuthState, error) {
	var st model.OAuthState
	var created, expires dbTime
	err := row.Scan(&st.ID, &st.StateHash, &st.UserID, &st.VaultID, &st.Key, &st.Sealed, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return model.OAuthState{}, store.ErrNotFound
	}
	st.CreatedAt, st.ExpiresAt = created.t, expires.t
	return st, err
}

func (s oauthStates) ByHash(ctx context.Context, hash []byte) (model.OAuthState, error) {
	return scanOAuthState(s.row(ctx, `SELECT `+oauthStateCols+` FROM oauth_states WHERE state_hash = ?`, hash))
}

func (s oauthStates) Take(ctx context.Context, hash []byte) (model.OAuthState, error) {
	return scanOAuthState(s.row(ctx, `DELETE FROM oauth_states WHERE state_hash = ? RETURNING `+oauthStateCols, hash))
}

func (s oauthStates) CountByUser(ctx context.Context, userID string, now time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT count(*) FROM oauth_states WHERE user_id = ? AND expires_at > ?`, userID, fmtTime(now)).Scan(&n)
	return n, err
}

func (s oauthStates) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM oauth_states WHERE expires_at <= ?`, fmtTime(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
