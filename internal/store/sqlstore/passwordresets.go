package sqlstore

import (
	"context"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// passwordResets adds to codeRows (emailcodes.go) the use of one code.
type passwordResets struct{ codeRows }

func (h *handle) PasswordResets() store.PasswordResets {
	return passwordResets{codeRows{h, "password_resets", "user_id"}}
}

func (s passwordResets) Create(ctx context.Context, r model.PasswordReset) error {
	_, err := s.exec(ctx, `INSERT INTO password_resets (id, user_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		r.ID, r.UserID, r.CodeHash, fmtTime(r.CreatedAt), fmtTime(r.ExpiresAt))
	return err
}

func (s passwordResets) Pending(ctx context.Context, userID string, now time.Time) ([]model.PasswordReset, error) {
	rows, err := s.query(ctx, `SELECT id, user_id, code_hash, created_at, expires_at, failures FROM password_resets
		WHERE user_id = ? AND used_at IS NULL AND expires_at > ? AND failures < ? ORDER BY created_at DESC`,
		userID, fmtTime(now), model.PasswordResetMaxFailures)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(sc interface{ Scan(...any) error }) (model.PasswordReset, error) {
		var r model.PasswordReset
		var created, expires dbTime
		err := sc.Scan(&r.ID, &r.UserID, &r.CodeHash, &created, &expires, &r.Failures)
		r.CreatedAt, r.ExpiresAt = created.t, expires.t
		return r, err
	})
}

func (s passwordResets) Use(ctx context.Context, id string, now time.Time) error {
	return mustAffect(s.exec(ctx, `UPDATE password_resets SET used_at = ? WHERE id = ? AND used_at IS NULL`, fmtTime(now), id))
}
