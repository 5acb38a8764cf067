package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/logsegment"
)

// requestLogs keeps the request log in segments of up to logsegment.MaxRows rows
// of one vault (package logsegment): writing is one blob per segment,
// reading decodes segments and filters in Go, and retention deletes whole
// segments and rewrites the one at each boundary, so that it stays exact
// to the row.
type requestLogs struct{ *handle }

// writeTx runs write in the caller's transaction, or in a new one.
func (s requestLogs) writeTx(ctx context.Context, write func(h *handle) error) error {
	if s.inTx {
		return write(s.handle)
	}
	return s.db.InTx(ctx, func(tx store.Store) error { return write(tx.(*handle)) })
}

// Insert assigns the rows ids in their order and writes them in one
// transaction. Rows of vaults deleted while they waited in the queue are
// skipped instead of failing the whole batch on the foreign key.
func (s requestLogs) Insert(ctx context.Context, rows []model.RequestLog) error {
	return s.writeTx(ctx, func(h *handle) error {
		live, err := liveVaults(ctx, h)
		if err != nil {
			return err
		}
		n, perVault := 0, map[string]int{}
		for _, r := range rows {
			if live[r.VaultID] {
				n++
				perVault[r.VaultID]++
			}
		}
		if n == 0 {
			return nil
		}
		var last int64
		if err := h.row(ctx, `UPDATE request_log_seq SET last_id = last_id + ? RETURNING last_id`, n).Scan(&last); err != nil {
			return fmt.Errorf("request log ids: %w", h.d.mapErr(err))
		}
		id := last - int64(n)
		kept := make([]model.RequestLog, 0, n)
		hosts := map[hostKey]model.HostCount{}
		for _, r := range rows {
			if !live[r.VaultID] {
				continue
			}
			id++
			r.ID = id
			kept = append(kept, r)
			if r.Service == "" {
				k := hostKey{r.VaultID, model.CapLogField(r.Host), r.Port}
				c := hosts[k]
				c.Count++
				if r.At.After(c.LastSeen) {
					c.LastSeen = r.At
				}
				hosts[k] = c
			}
		}
		if err := putSegments(ctx, h, kept, perVault, true); err != nil {
			return err
		}
		for k, c := range hosts {
			if _, err := h.exec(ctx, `INSERT INTO discovered_hosts (vault_id, host, port, count, last_seen) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (vault_id, host, port) DO UPDATE SET count = discovered_hosts.count + excluded.count,
					last_seen = CASE WHEN excluded.last_seen > discovered_hosts.last_seen
						THEN excluded.last_seen ELSE discovered_hosts.last_seen END`, k.vault, k.host, k.port, c.Count, fmtTime(c.LastSeen)); err != nil {
				return err
			}
		}
		return capDiscoveredHosts(ctx, h, hosts)
	})
}

// capDiscoveredHosts keeps at most store.MaxDiscoveredHostsPerVault
// discovered hosts in each vault the batch touched, removing the least
// recently seen.
func capDiscoveredHosts(ctx context.Context, h *handle, touched map[hostKey]model.HostCount) error {
	done := map[string]bool{}
	for k := range touched {
		if done[k.vault] {
			continue
		}
		done[k.vault] = true
		var n int
		if err := h.row(ctx, `SELECT COUNT(*) FROM discovered_hosts WHERE vault_id = ?`, k.vault).Scan(&n); err != nil {
			return h.d.mapErr(err)
		}
		if n <= store.MaxDiscoveredHostsPerVault {
			continue
		}
		if _, err := h.exec(ctx, `DELETE FROM discovered_hosts WHERE vault_id = ? AND (host, port) IN
			(SELECT host, port FROM discovered_hosts WHERE vault_id = ? ORDER BY last_seen, host, port LIMIT ?)`,
			k.vault, k.vault, n-store.MaxDiscoveredHostsPerVault); err != nil {
			return err
		}
	}
	return nil
}

type hostKey struct {
	vault, host string
	port        int
}

func liveVaults(ctx context.Context, h *handle) (map[string]bool, error) {
	vs, err := h.query(ctx, `SELECT id FROM vaults`)
	if err != nil {
		return nil, err
	}
	defer vs.Close()
	live := map[string]bool{}
	for vs.Next() {
		var id string
		if err := vs.Scan(&id); err != nil {
			return nil, err
		}
		live[id] = true
	}
	return live, vs.Err()
}

// putSegments writes rows (ids ascending) as segments: each vault's rows,
// in their order, in runs of up to logsegment.MaxRows. perVault, when not
// nil, holds each vault's row count, to size its run at once. summarize
// is false only for the migration that creates segments, before the
// summary column exists.
func putSegments(ctx context.Context, h *handle, rows []model.RequestLog, perVault map[string]int, summarize bool) error {
	byVault := map[string][]model.RequestLog{}
	var order []string
	for _, r := range rows {
		if _, ok := byVault[r.VaultID]; !ok {
			order = append(order, r.VaultID)
			byVault[r.VaultID] = make([]model.RequestLog, 0, perVault[r.VaultID])
		}
		byVault[r.VaultID] = append(byVault[r.VaultID], r)
	}
	buf := make([]byte, 0, 64<<10)
	var err error
	for _, v := range order {
		vr := byVault[v]
		for start := 0; start < len(vr); start += logsegment.MaxRows {
			if buf, err = putSegment(ctx, h, v, vr[start:min(start+logsegment.MaxRows, len(vr))], buf, summarize); err != nil {
				return err
			}
		}
	}
	return nil
}

// putSegment writes rows (of vault, ids ascending, at least one) as one
// segment, encoding into buf, which it returns for reuse, with its
// summary when summarize is set.
func putSegment(ctx context.Context, h *handle, vault string, rows []model.RequestLog, buf []byte, summarize bool) ([]byte, error) {
	lo, hi := rows[0].At, rows[0].At
	for _, r := range rows[1:] {
		if r.At.Before(lo) {
			lo = r.At
		}
		if r.At.After(hi) {
			hi = r.At
		}
	}
	buf = logsegment.Encode(buf[:0], rows[0].ID, rows)
	if !summarize {
		_, err := h.exec(ctx, `INSERT INTO request_log_segments (id, vault_id, first_id, rows, min_at, max_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			rows[len(rows)-1].ID, vault, rows[0].ID, len(rows), fmtTime(lo), fmtTime(hi), buf)
		return buf, err
	}
	var sum []byte
	if summarizeSegments {
		sum = logsegment.Summarize(rows)
	}
	_, err := h.exec(ctx, `INSERT INTO request_log_segments (id, vault_id, first_id, rows, min_at, max_at, data, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		rows[len(rows)-1].ID, vault, rows[0].ID, len(rows), fmtTime(lo), fmtTime(hi), buf, sum)
	return buf, err
}

// segment is a stored segment, decoded.
type segment struct {
	id   int64
	rows []model.RequestLog
}

// rewrite replaces segment seg with the rows kept (none: it is deleted).
func (seg segment) rewrite(ctx context.Context, h *handle, vault string, kept []model.RequestLog) error {
	if _, err := h.exec(ctx, `DELETE FROM request_log_segments WHERE id = ?`, seg.id); err != nil {
		return err
	}
	if len(kept) == 0 {
		return nil
	}
	_, err := putSegment(ctx, h, vault, kept, nil, true)
	return err
}

// loadSegments reads and decodes the segments a query selects; its
// columns are id, vault_id, first_id and data.
func loadSegments(ctx context.Context, h *handle, query string, args ...any) (map[string][]segment, error) {
	rs, err := h.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string][]segment{}
	for rs.Next() {
		var id, first int64
		var vault string
		var data []byte
		if err := rs.Scan(&id, &vault, &first, &data); err != nil {
			return nil, err
		}
		rows, err := logsegment.Decode(data, vault, first)
		if err != nil {
			return nil, fmt.Errorf("request log segment %d: %w", id, err)
		}
		out[vault] = append(out[vault], segment{id, rows})
	}
	return out, rs.Err()
}

// segmentsPerQuery is how many segments List fetches at a time: a page
// usually fills from the first few, and a query's unread rows would still
// cross the wire (PostgreSQL) when it is closed.
var segmentsPerQuery = 8

// summariesPerQuery is how many segment summaries List reads at a time
// when a filter can use them: most are skipped, so many are read at once,
// and only the segments that may match are then fetched and decoded.
var summariesPerQuery = 256

// summarizeSegments and skipBySummary turn the segment summaries on for
// writing and for reading (tests and benchmarks compare both ways).
var summarizeSegments, skipBySummary = true, true

// summaryKeys are the summary keys a filter needs every one of; none when
// it filters on nothing a summary covers.
func summaryKeys(f store.RequestLogFilter) []summaryKey {
	var ks []summaryKey
	if f.Service != "" {
		ks = append(ks, summaryKey{logsegment.FieldService, f.Service})
	}
	if f.Actor != "" {
		ks = append(ks, summaryKey{logsegment.FieldActor, f.Actor})
	}
	if f.Host != "" {
		ks = append(ks, summaryKey{logsegment.FieldHost, f.Host})
	}
	switch {
	case f.Status != 0:
		ks = append(ks, summaryKey{logsegment.FieldStatus, strconv.Itoa(f.Status)})
	case f.StatusClass != 0:
		ks = append(ks, summaryKey{logsegment.FieldStatusClass, strconv.Itoa(f.StatusClass)})
	}
	return ks
}

type summaryKey struct {
	f logsegment.Field
	v string
}

// mayMatch reports whether a segment with summary sum may hold a row
// with every key.
func mayMatch(sum []byte, keys []summaryKey) bool {
	for _, k := range keys {
		if !logsegment.MayContain(sum, k.f, k.v) {
			return false
		}
	}
	return true
}

// List reads segments newest first (oldest first after a cursor), a few
// at a time, and filters their rows until the page is full.
func (s requestLogs) List(ctx context.Context, f store.RequestLogFilter) ([]model.RequestLog, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	keys := summaryKeys(f)
	skim := skipBySummary && len(keys) > 0
	q, args := `SELECT id, first_id, data FROM request_log_segments WHERE vault_id = ?`, []any{f.VaultID}
	perQuery := segmentsPerQuery
	if skim {
		// Summaries first; the data of the segments that may match after.
		q, perQuery = `SELECT id, first_id, summary FROM request_log_segments WHERE vault_id = ?`, summariesPerQuery
	}
	asc := f.After > 0
	switch {
	case asc:
		q += ` AND id > ?`
		args = append(args, f.After)
	case f.Before > 0:
		q += ` AND first_id < ?`
		args = append(args, f.Before)
	}
	if !f.Since.IsZero() {
		q += ` AND max_at >= ?`
		args = append(args, fmtTime(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND min_at < ?`
		args = append(args, fmtTime(f.Until))
	}
	out := []model.RequestLog{}
	var from int64 // the last segment read; 0 before the first query
	for len(out) < limit {
		bq, bargs := q, args
		switch {
		case from != 0 && asc:
			bq += ` AND id > ?`
			bargs = append(bargs[:len(bargs):len(bargs)], from)
		case from != 0:
			bq += ` AND id < ?`
			bargs = append(bargs[:len(bargs):len(bargs)], from)
		}
		if asc {
			bq += ` ORDER BY id ASC LIMIT ?`
		} else {
			bq += ` ORDER BY id DESC LIMIT ?`
		}
		list := s.listBatch
		if skim {
			list = func(ctx context.Context, f store.RequestLogFilter, asc bool, limit int, q string, args []any, out *[]model.RequestLog, from *int64) (int, error) {
				return s.skimBatch(ctx, f, keys, asc, limit, q, args, out, from)
			}
		}
		n, err := list(ctx, f, asc, limit, bq, append(bargs[:len(bargs):len(bargs)], perQuery), &out, &from)
		if err != nil {
			return nil, err
		}
		if n < perQuery { // the last of them
			break
		}
	}
	return out, nil
}

// listBatch runs one query of List, appending matching rows to out until
// it holds limit, and returns how many segments it read.
func (s requestLogs) listBatch(ctx context.Context, f store.RequestLogFilter, asc bool, limit int, q string, args []any, out *[]model.RequestLog, from *int64) (int, error) {
	rs, err := s.query(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	n := 0
	for len(*out) < limit && rs.Next() {
		var id, first int64
		var data []byte
		if err := rs.Scan(&id, &first, &data); err != nil {
			return n, err
		}
		n++
		*from = id
		rows, err := logsegment.Decode(data, f.VaultID, first)
		if err != nil {
			return n, fmt.Errorf("request log segment %d: %w", id, err)
		}
		if !asc {
			slices.Reverse(rows)
		}
		for _, r := range rows {
			if matchLog(f, r) {
				*out = append(*out, r)
				if len(*out) == limit {
					break
				}
			}
		}
	}
	return n, rs.Err()
}

// skimBatch runs one query of List over segment summaries: it collects
// the segments that may match, then reads and filters those in order
// until out holds limit. It returns how many summaries it read, and sets
// from to the last segment it is done with.
func (s requestLogs) skimBatch(ctx context.Context, f store.RequestLogFilter, keys []summaryKey, asc bool, limit int, q string, args []any, out *[]model.RequestLog, from *int64) (int, error) {
	type cand struct{ id, first int64 }
	var cands []cand
	var lastID int64
	n, err := func() (int, error) {
		rs, err := s.query(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		defer rs.Close()
		n := 0
		for rs.Next() {
			var c cand
			var sum []byte
			if err := rs.Scan(&c.id, &c.first, &sum); err != nil {
				return n, err
			}
			n++
			lastID = c.id
			if mayMatch(sum, keys) {
				cands = append(cands, c)
			}
		}
		return n, rs.Err()
	}()
	if err != nil {
		return n, err
	}
	for _, c := range cands {
		var data []byte
		if err := s.row(ctx, `SELECT data FROM request_log_segments WHERE id = ?`, c.id).Scan(&data); err != nil {
			return n, s.d.mapErr(err)
		}
		rows, err := logsegment.Decode(data, f.VaultID, c.first)
		if err != nil {
			return n, fmt.Errorf("request log segment %d: %w", c.id, err)
		}
		if !asc {
			slices.Reverse(rows)
		}
		for _, r := range rows {
			if matchLog(f, r) {
				*out = append(*out, r)
				if len(*out) == limit {
					*from = c.id
					return n, nil
				}
			}
		}
	}
	*from = lastID
	return n, nil
}

// matchLog applies a filter's conditions to one row.
func matchLog(f store.RequestLogFilter, r model.RequestLog) bool {
	switch {
	case f.After > 0 && r.ID <= f.After,
		f.After == 0 && f.Before > 0 && r.ID >= f.Before,
		f.Service != "" && r.Service != f.Service,
		f.Status != 0 && r.Status != f.Status,
		f.Status == 0 && f.StatusClass != 0 && r.Status/100 != f.StatusClass,
		f.Actor != "" && r.ActorName != f.Actor,
		f.Host != "" && r.Host != f.Host,
		!f.Since.IsZero() && r.At.Before(f.Since),
		!f.Until.IsZero() && !r.At.Before(f.Until):
		return false
	}
	return true
}

func (s requestLogs) Unmatched(ctx context.Context, vaultID string, limit int) ([]model.HostCount, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.query(ctx, `SELECT host, port, count, last_seen FROM discovered_hosts WHERE vault_id = ?
		ORDER BY count DESC, host, port LIMIT ?`, vaultID, limit)
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

// DeleteBefore removes log rows older than t, and discovered hosts not
// seen since t. It returns the log rows removed.
func (s requestLogs) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	cut := fmtTime(t)
	var removed int64
	err := s.writeTx(ctx, func(h *handle) error {
		removed = 0
		if err := h.row(ctx, `SELECT COALESCE(SUM(rows), 0) FROM request_log_segments WHERE max_at < ?`, cut).Scan(&removed); err != nil {
			return h.d.mapErr(err)
		}
		if _, err := h.exec(ctx, `DELETE FROM request_log_segments WHERE max_at < ?`, cut); err != nil {
			return err
		}
		// Segments that straddle t lose their older rows.
		straddling, err := loadSegments(ctx, h, `SELECT id, vault_id, first_id, data FROM request_log_segments WHERE min_at < ?`, cut)
		if err != nil {
			return err
		}
		for vault, segs := range straddling {
			for _, seg := range segs {
				kept := slices.DeleteFunc(seg.rows, func(r model.RequestLog) bool { return r.At.Before(t) })
				removed += int64(len(seg.rows) - len(kept))
				if err := seg.rewrite(ctx, h, vault, kept); err != nil {
					return err
				}
			}
		}
		_, err = h.exec(ctx, `DELETE FROM discovered_hosts WHERE last_seen < ?`, cut)
		return err
	})
	return removed, err
}

// TrimVaults keeps the newest keep rows of every vault: whole segments
// go from the oldest, and the segment at the boundary loses its oldest
// rows.
func (s requestLogs) TrimVaults(ctx context.Context, keep int) (int64, error) {
	keep = max(keep, 0)
	var removed int64
	err := s.writeTx(ctx, func(h *handle) error {
		removed = 0
		over := map[string]int64{}
		rs, err := h.query(ctx, `SELECT vault_id, SUM(rows) FROM request_log_segments GROUP BY vault_id HAVING SUM(rows) > ?`, keep)
		if err != nil {
			return err
		}
		for rs.Next() {
			var v string
			var n int64
			if err := rs.Scan(&v, &n); err != nil {
				rs.Close()
				return err
			}
			over[v] = n - int64(keep)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		for vault, excess := range over {
			n, err := trimVault(ctx, h, vault, excess)
			removed += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	return removed, err
}

// trimVault removes the oldest excess rows of vault.
func trimVault(ctx context.Context, h *handle, vault string, excess int64) (int64, error) {
	rs, err := h.query(ctx, `SELECT id, rows FROM request_log_segments WHERE vault_id = ? ORDER BY id`, vault)
	if err != nil {
		return 0, err
	}
	var whole []int64  // segments removed entirely
	var boundary int64 // the segment that loses only its oldest rows
	left := excess
	for left > 0 && rs.Next() {
		var id, n int64
		if err := rs.Scan(&id, &n); err != nil {
			rs.Close()
			return 0, err
		}
		if n > left {
			boundary = id
			break
		}
		whole = append(whole, id)
		left -= n
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	if len(whole) > 0 {
		if _, err := h.exec(ctx, `DELETE FROM request_log_segments WHERE vault_id = ? AND id <= ?`, vault, whole[len(whole)-1]); err != nil {
			return 0, err
		}
	}
	if left > 0 && boundary != 0 {
		segs, err := loadSegments(ctx, h, `SELECT id, vault_id, first_id, data FROM request_log_segments WHERE id = ?`, boundary)
		if err != nil {
			return 0, err
		}
		for _, seg := range segs[vault] {
			if err := seg.rewrite(ctx, h, vault, seg.rows[left:]); err != nil {
				return 0, err
			}
		}
		left = 0
	}
	return excess - left, nil
}
