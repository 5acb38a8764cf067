package sqlstore

import (
	"context"
	"time"
)

// codeRows is what the two tables of emailed codes share: password_resets
// (keyed by user_id) and email_verifications (keyed by email, as no
// account exists yet). Counting a wrong code, voiding, the hourly count
// and pruning read the same in both.
type codeRows struct {
	*handle
	table, key string // constants of this package, never input
}

func (s codeRows) Fail(ctx context.Context, subject string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE `+s.table+` SET failures = failures + 1 WHERE `+s.key+` = ? AND used_at IS NULL AND expires_at > ?`,
		subject, fmtTime(now))
	return err
}

func (s codeRows) UseAll(ctx context.Context, subject string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE `+s.table+` SET used_at = ? WHERE `+s.key+` = ? AND used_at IS NULL`, fmtTime(now), subject)
	return err
}

func (s codeRows) CountSince(ctx context.Context, subject string, t time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT count(*) FROM `+s.table+` WHERE `+s.key+` = ? AND created_at >= ?`, subject, fmtTime(t)).Scan(&n)
	return n, err
}

func (s codeRows) DeleteCreatedBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM `+s.table+` WHERE created_at < ?`, fmtTime(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
