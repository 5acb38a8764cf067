package sqlstore

import (
	"context"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type emailVerifications struct{ *handle }

func (h *handle) EmailVerifications() store.EmailVerifications { return emailVerifications{h} }

func (s emailVerifications) Create(ctx context.Context, v model.EmailVerification) error {
	_, err := s.exec(ctx, `INSERT INTO email_verifications (id, email, password_hash, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		v.ID, v.Email, v.PasswordHash, v.CodeHash, fmtTime(v.CreatedAt), fmtTime(v.ExpiresAt))
	return err
}

func (s emailVerifications) Pending(ctx context.Context, email string, now time.Time) ([]model.EmailVerification, error) {
	rows, err := s.query(ctx, `SELECT id, email, password_hash, code_hash, created_at, expires_at, failures FROM email_verifications
		WHERE email = ? AND used_at IS NULL AND expires_at > ? AND failures < ? ORDER BY created_at DESC`,
		email, fmtTime(now), model.PasswordResetMaxFailures)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(sc interface{ Scan(...any) error }) (model.EmailVerification, error) {
		var v model.EmailVerification
		var created, expires dbTime
		err := sc.Scan(&v.ID, &v.Email, &v.PasswordHash, &v.CodeHash, &created, &expires, &v.Failures)
		v.CreatedAt, v.ExpiresAt = created.t, expires.t
		return v, err
	})
}

func (s emailVerifications) Fail(ctx context.Context, email string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE email_verifications SET failures = failures + 1 WHERE email = ? AND used_at IS NULL AND expires_at > ?`,
		email, fmtTime(now))
	return err
}

func (s emailVerifications) UseAll(ctx context.Context, email string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE email_verifications SET used_at = ? WHERE email = ? AND used_at IS NULL`, fmtTime(now), email)
	return err
}

func (s emailVerifications) CountSince(ctx context.Context, email string, t time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT count(*) FROM email_verifications WHERE email = ? AND created_at >= ?`, email, fmtTime(t)).Scan(&n)
	return n, err
}

func (s emailVerifications) DeleteCreatedBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM email_verifications WHERE created_at < ?`, fmtTime(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
