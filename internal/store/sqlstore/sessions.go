package sqlstore

import (
	"context"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type sessions struct{ *handle }

const sessionCols = `id, user_id, token_hash, device_label, created_at, last_used_at, expires_at`

func scanSession(sc interface{ Scan(...any) error }) (model.Session, error) {
	var s model.Session
	var c, l, e dbTime
	if err := sc.Scan(&s.ID, &s.UserID, &s.TokenHash, &s.DeviceLabel, &c, &l, &e); err != nil {
		return model.Session{}, scanErr(err)
	}
	s.CreatedAt, s.LastUsedAt, s.ExpiresAt = c.t, l.t, e.t
	return s, nil
}

func (s sessions) Create(ctx context.Context, x model.Session) error {
	_, err := s.exec(ctx, `INSERT INTO user_sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.UserID, x.TokenHash, x.DeviceLabel, fmtTime(x.CreatedAt), fmtTime(x.LastUsedAt), fmtTime(x.ExpiresAt))
	return err
}

func (s sessions) ByTokenHash(ctx context.Context, hash []byte) (model.Session, error) {
	return scanSession(s.row(ctx, `SELECT `+sessionCols+` FROM user_sessions WHERE token_hash = ?`, hash))
}

func (s sessions) ListByUser(ctx context.Context, userID string) ([]model.Session, error) {
	rows, err := s.query(ctx, `SELECT `+sessionCols+` FROM user_sessions WHERE user_id = ? ORDER BY created_at`, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSession)
}

func (s sessions) Touch(ctx context.Context, id string, at time.Time) error {
	return mustAffect(s.exec(ctx, `UPDATE user_sessions SET last_used_at = ? WHERE id = ?`, fmtTime(at), id))
}

func (s sessions) Delete(ctx context.Context, userID, id string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM user_sessions WHERE user_id = ? AND id = ?`, userID, id))
}

func (s sessions) DeleteAllForUser(ctx context.Context, userID, keepID string) error {
	_, err := s.exec(ctx, `DELETE FROM user_sessions WHERE user_id = ? AND id <> ?`, userID, keepID)
	return err
}

func (s sessions) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM user_sessions WHERE expires_at <= ? OR last_used_at <= ?`,
		fmtTime(now), fmtTime(now.Add(-model.SessionIdleTTL)))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

var _ store.Sessions = sessions{}
