package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type users struct{ *handle }

const userCols = `id, email, password_hash, role, created_at, updated_at`

func scanUser(sc interface{ Scan(...any) error }) (model.User, error) {
	var u model.User
	var role string
	var c, up dbTime
	if err := sc.Scan(&u.ID, &u.Email, &u.PasswordHash, &role, &c, &up); err != nil {
		return model.User{}, scanErr(err)
	}
	u.Role, u.CreatedAt, u.UpdatedAt = model.InstanceRole(role), c.t, up.t
	return u, nil
}

func (s users) Create(ctx context.Context, u model.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.PasswordHash, string(u.Role), fmtTime(u.CreatedAt), fmtTime(u.UpdatedAt))
	return err
}

func (s users) ByEmail(ctx context.Context, email string) (model.User, error) {
	return scanUser(s.row(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, email))
}

func (s users) ByID(ctx context.Context, id string) (model.User, error) {
	return scanUser(s.row(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
}

func (s users) List(ctx context.Context) ([]model.User, error) {
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users ORDER BY email`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

func (s users) Count(ctx context.Context) (int, error) {
	var n int
	err := s.row(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

func (s users) CountByRole(ctx context.Context, r model.InstanceRole) (int, error) {
	var n int
	err := s.row(ctx, `SELECT count(*) FROM users WHERE role = ?`, string(r)).Scan(&n)
	return n, err
}

func (s users) SetPassword(ctx context.Context, id, hash string, at time.Time) error {
	return mustAffect(s.exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, fmtTime(at), id))
}

func (s users) SetRole(ctx context.Context, id string, r model.InstanceRole, at time.Time) error {
	return mustAffect(s.exec(ctx, `UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, string(r), fmtTime(at), id))
}

func (s users) Delete(ctx context.Context, id string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM users WHERE id = ?`, id))
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

var _ store.Users = users{}
