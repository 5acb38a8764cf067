package sqlstore

import (
	"context"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// emailVerifications adds to codeRows (emailcodes.go) what only pending
// registrations have: the chosen password's hash.
type emailVerifications struct{ codeRows }

func (h *handle) EmailVerifications() store.EmailVerifications {
	return emailVerifications{codeRows{h, "email_verifications", "email"}}
}

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
