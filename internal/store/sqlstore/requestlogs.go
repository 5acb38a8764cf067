package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type requestLogs struct{ *handle }

const requestLogCols = `id, vault_id, at, actor_kind, actor_name, ingress, method, host, port, path, service, credential_keys,
	status, req_bytes, resp_bytes, duration_ms, error_code`

func scanRequestLog(sc interface{ Scan(...any) error }) (model.RequestLog, error) {
	var l model.RequestLog
	var at dbTime
	var kind, keys string
	var ms int64
	if err := sc.Scan(&l.ID, &l.VaultID, &at, &kind, &l.ActorName, &l.Ingress, &l.Method, &l.Host, &l.Port, &l.Path, &l.Service, &keys,
		&l.Status, &l.RequestBytes, &l.ResponseBytes, &ms, &l.ErrorCode); err != nil {
		return l, scanErr(err)
	}
	l.At, l.ActorKind, l.Duration = at.t, model.ActorKind(kind), time.Duration(ms)*time.Millisecond
	if keys != "" {
		l.CredentialKeys = strings.Split(keys, ",")
	}
	return l, nil
}

// requestLogColumns are the inserted columns, in order.
const requestLogColumns = `vault_id, at, actor_kind, actor_name, ingress, method, host, port, path, service,
	credential_keys, status, req_bytes, resp_bytes, duration_ms, error_code`

// requestLogChunk rows go into one multi-row INSERT (16 values a row stay
// far below SQLite's variable limit).
const requestLogChunk = 64

// Insert writes a batch in one transaction when called outside one, as
// multi-row INSERTs. Rows of vaults deleted while they waited in the queue
// are skipped instead of failing the whole batch on the foreign key.
func (s requestLogs) Insert(ctx context.Context, rows []model.RequestLog) error {
	write := func(h *handle) error {
		live := map[string]bool{}
		vs, err := h.query(ctx, `SELECT id FROM vaults`)
		if err != nil {
			return err
		}
		for vs.Next() {
			var id string
			if err := vs.Scan(&id); err != nil {
				vs.Close()
				return err
			}
			live[id] = true
		}
		vs.Close()
		kept := rows[:0:0]
		for _, l := range rows {
			if live[l.VaultID] {
				kept = append(kept, l)
			}
		}
		// A full chunk's statement is prepared once per batch and reused;
		// only the last, shorter chunk is prepared on its own.
		var full *sql.Stmt
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		for start := 0; start < len(kept); start += requestLogChunk {
			chunk := kept[start:min(start+requestLogChunk, len(kept))]
			args := make([]any, 0, len(chunk)*16)
			for _, l := range chunk {
				args = append(args, l.VaultID, fmtTime(l.At), string(l.ActorKind), l.ActorName, l.Ingress, l.Method, l.Host, l.Port, l.Path, l.Service,
					strings.Join(l.CredentialKeys, ","), l.Status, l.RequestBytes, l.ResponseBytes, l.Duration.Milliseconds(), l.ErrorCode)
			}
			prep, canPrepare := h.q.(interface {
				PrepareContext(context.Context, string) (*sql.Stmt, error)
			})
			if len(chunk) == requestLogChunk && canPrepare {
				if full == nil {
					st, err := prep.PrepareContext(ctx, h.d.rebind(multiRowInsert(requestLogChunk)))
					if err != nil {
						return err
					}
					full = st
				}
				if _, err := full.ExecContext(ctx, args...); err != nil {
					return err
				}
				continue
			}
			if _, err := h.exec(ctx, multiRowInsert(len(chunk)), args...); err != nil {
				return err
			}
		}
		return nil
	}
	if s.inTx {
		return write(s.handle)
	}
	return s.db.InTx(ctx, func(tx store.Store) error { return write(tx.(*handle)) })
}

func (s requestLogs) List(ctx context.Context, f store.RequestLogFilter) ([]model.RequestLog, error) {
	q, args := `SELECT `+requestLogCols+` FROM request_logs WHERE vault_id = ?`, []any{f.VaultID}
	add := func(cond string, v any) { q += ` AND ` + cond; args = append(args, v) }
	if f.Service != "" {
		add(`service = ?`, f.Service)
	}
	if f.Status != 0 {
		add(`status = ?`, f.Status)
	} else if f.StatusClass != 0 {
		q += ` AND status >= ? AND status < ?`
		args = append(args, f.StatusClass*100, f.StatusClass*100+100)
	}
	if f.Actor != "" {
		add(`actor_name = ?`, f.Actor)
	}
	if f.Host != "" {
		add(`host = ?`, f.Host)
	}
	if !f.Since.IsZero() {
		add(`at >= ?`, fmtTime(f.Since))
	}
	if !f.Until.IsZero() {
		add(`at < ?`, fmtTime(f.Until))
	}
	order := ` ORDER BY id DESC`
	switch {
	case f.After > 0:
		add(`id > ?`, f.After)
		order = ` ORDER BY id ASC`
	case f.Before > 0:
		add(`id < ?`, f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.query(ctx, q+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanRequestLog)
}

func (s requestLogs) Unmatched(ctx context.Context, vaultID string, limit int) ([]model.HostCount, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.query(ctx, `SELECT host, port, COUNT(*), MAX(at) FROM request_logs WHERE vault_id = ? AND service = ''
		GROUP BY host, port ORDER BY COUNT(*) DESC, host LIMIT ?`, vaultID, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(sc interface{ Scan(...any) error }) (model.HostCount, error) {
		var h model.HostCount
		var at dbTime
		err := sc.Scan(&h.Host, &h.Port, &h.Count, &at)
		h.LastSeen = at.t
		return h, err
	})
}

func (s requestLogs) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	// Ids grow with time: the first row at or after t, found by walking the
	// primary key from the oldest row, bounds a ranged delete.
	res, err := s.exec(ctx, `DELETE FROM request_logs WHERE id < COALESCE(
		(SELECT id FROM request_logs WHERE at >= ? ORDER BY id LIMIT 1),
		(SELECT COALESCE(MAX(id), 0) + 1 FROM request_logs))`, fmtTime(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s requestLogs) TrimVaults(ctx context.Context, keep int) (int64, error) {
	// For each vault, the id of its keep-th newest row bounds what stays:
	// computed once per vault (not per row), then one ranged delete per
	// vault through the (vault_id, id) index.
	res, err := s.exec(ctx, `WITH cut AS MATERIALIZED (
		SELECT v.vault_id AS vault_id,
			(SELECT x.id FROM request_logs x WHERE x.vault_id = v.vault_id ORDER BY x.id DESC LIMIT 1 OFFSET ?) AS id
		FROM (SELECT DISTINCT vault_id FROM request_logs) v)
		DELETE FROM request_logs WHERE id IN (
			SELECT r.id FROM cut JOIN request_logs r ON r.vault_id = cut.vault_id AND r.id < cut.id)`, keep-1)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// multiRowInsert is an INSERT of n request log rows.
func multiRowInsert(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO request_logs (` + requestLogColumns + `) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return q.String()
}
