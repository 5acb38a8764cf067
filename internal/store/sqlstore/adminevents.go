package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

type adminEvents struct{ *handle }

const adminEventCols = `seq, at, actor_kind, actor_id, actor_name, vault_id, vault, action, target, source, outcome, detail, hash`

// Append reads the head and writes the row and the new head in one
// transaction that holds the writer lock (SQLite's immediate transaction,
// PostgreSQL's advisory lock), so two writers never chain after the same
// row.
func (s adminEvents) Append(ctx context.Context, key trail.Key, e trail.Event) (trail.Event, error) {
	if !key.Valid() {
		return e, errors.New("the admin trail has no key")
	}
	err := s.InTx(ctx, func(tx store.Store) error {
		h := tx.(*handle)
		head, ok, err := adminEvents{h}.Head(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("the admin trail's head record is missing: run `agent-vault audit verify`")
		}
		next := key.Chain(head, &e)
		if _, err := h.exec(ctx, `INSERT INTO admin_events (`+adminEventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, fmtTime(e.Time), e.ActorKind, e.ActorID, e.ActorName, e.VaultID, e.Vault, e.Action, e.Target,
			e.Source, e.Outcome, e.Detail, e.Hash); err != nil {
			return fmt.Errorf("append to the admin trail: %w", err)
		}
		return putHead(ctx, h, next)
	})
	return e, err
}

func putHead(ctx context.Context, h *handle, x trail.Head) error {
	return mustAffect(h.exec(ctx, `UPDATE admin_event_head SET seq = ?, hash = ?, cut_seq = ?, cut_hash = ?, mac = ? WHERE one = 1`,
		x.Seq, x.Hash, x.CutSeq, x.CutHash, x.MAC))
}

func (s adminEvents) Head(ctx context.Context) (trail.Head, bool, error) {
	var x trail.Head
	err := s.row(ctx, `SELECT seq, hash, cut_seq, cut_hash, mac FROM admin_event_head WHERE one = 1`).
		Scan(&x.Seq, &x.Hash, &x.CutSeq, &x.CutHash, &x.MAC)
	if errors.Is(scanErr(err), store.ErrNotFound) {
		return trail.Head{}, false, nil
	}
	if err != nil {
		return trail.Head{}, false, err
	}
	if len(x.Hash) == 0 {
		x.Hash = trail.Genesis
	}
	if len(x.CutHash) == 0 {
		x.CutHash = trail.Genesis
	}
	return x, true, nil
}

func (s adminEvents) List(ctx context.Context, f store.AdminEventFilter) ([]trail.Event, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.VaultID != "" {
		add("vault_id = ?", f.VaultID)
	}
	switch {
	case strings.HasSuffix(f.Action, "."):
		add("substr(action, 1, ?) = ?", len(f.Action), f.Action)
	case f.Action != "":
		add("action = ?", f.Action)
	}
	if f.Actor != "" {
		add("(actor_id = ? OR actor_name = ?)", f.Actor, f.Actor)
	}
	if !f.Since.IsZero() {
		add("at >= ?", fmtTime(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", fmtTime(f.Until))
	}
	order := "DESC"
	switch {
	case f.Ascending:
		add("seq > ?", f.After)
		order = "ASC"
	case f.Before > 0:
		add("seq < ?", f.Before)
	}
	q := `SELECT ` + adminEventCols + ` FROM admin_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY seq ` + order
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []trail.Event
	for rows.Next() {
		var e trail.Event
		var at dbTime
		if err := rows.Scan(&e.Seq, &at, &e.ActorKind, &e.ActorID, &e.ActorName, &e.VaultID, &e.Vault, &e.Action,
			&e.Target, &e.Source, &e.Outcome, &e.Detail, &e.Hash); err != nil {
			return nil, err
		}
		e.Time = at.t
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s adminEvents) Prune(ctx context.Context, key trail.Key, before time.Time) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(tx store.Store) error {
		h := tx.(*handle)
		var last int64
		var hash []byte
		err := h.row(ctx, `SELECT seq, hash FROM admin_events WHERE at < ? ORDER BY seq DESC LIMIT 1`, fmtTime(before)).Scan(&last, &hash)
		if errors.Is(scanErr(err), store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		head, ok, err := adminEvents{h}.Head(ctx)
		if err != nil || !ok {
			return errors.Join(err, errors.New("the admin trail's head record is missing"))
		}
		res, err := h.exec(ctx, `DELETE FROM admin_events WHERE seq <= ?`, last)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return putHead(ctx, h, key.Cut(head, last, hash))
	})
	return n, err
}

var _ store.AdminEvents = adminEvents{}

// HasAdminTrail reports whether the schema has the admin trail's tables
// (a tool working on a database not migrated yet must not write to it).
func (db *DB) HasAdminTrail(ctx context.Context) (bool, error) {
	return db.d.tableExists(ctx, db.sql, "admin_event_head")
}
