package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// A database at schema 5 keeps its request log through migration 6: every
// row with its id, discovered hosts counted, and ids continuing above the
// highest ever assigned.
func TestMigration6ConvertsTheRequestLogTable(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "agent-vault.db"), SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := migrationsOf(sqliteDialect{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:5] {
		if _, err := db.sql.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:5] {
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 'before')`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 5, time.UTC)
	for _, v := range []string{"va", "vb"} {
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO vaults (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`, v, "n"+v, fmtTime(t0), fmtTime(t0)); err != nil {
			t.Fatal(err)
		}
	}
	// 5000 legacy rows (more than a conversion page), both vaults
	// interleaved; then the newest 10 deleted, so that the highest id
	// ever assigned is above every row left.
	var want []model.RequestLog
	for i := 1; i <= 5000; i++ {
		r := model.RequestLog{VaultID: []string{"va", "vb"}[i%2], At: t0.Add(time.Duration(i) * time.Millisecond),
			ActorKind: model.ActorAgent, ActorName: "agent:bot", Ingress: "connect", Method: "GET",
			Host: fmt.Sprintf("h%d.example.com", i%3), Port: 443, Path: fmt.Sprintf("/p/%d", i), Service: []string{"svc", ""}[i%5/4],
			Status: 200, RequestBytes: int64(i), ResponseBytes: 7, Duration: time.Duration(i%9) * time.Millisecond, ErrorCode: ""}
		if r.Service != "" {
			r.CredentialKeys = []string{"A", "B"}
		}
		res, err := db.sql.ExecContext(ctx, `INSERT INTO request_logs (vault_id, at, actor_kind, actor_name, ingress, method, host, port, path, service,
			credential_keys, status, req_bytes, resp_bytes, duration_ms, error_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.VaultID, fmtTime(r.At), string(r.ActorKind), r.ActorName, r.Ingress, r.Method, r.Host, r.Port, r.Path, r.Service,
			map[bool]string{true: "A,B", false: ""}[r.Service != ""], r.Status, r.RequestBytes, r.ResponseBytes, r.Duration.Milliseconds(), r.ErrorCode)
		if err != nil {
			t.Fatal(err)
		}
		r.ID, _ = res.LastInsertId()
		want = append(want, r)
	}
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM request_logs WHERE id > 4990`); err != nil {
		t.Fatal(err)
	}
	want = want[:4990]
	unmatched := map[string]int64{}
	for _, r := range want {
		if r.Service == "" && r.VaultID == "va" {
			unmatched[r.Host]++
		}
	}

	if n, err := db.Migrate(ctx); err != nil || n != len(ms)-5 {
		t.Fatalf("Migrate: %d, %v", n, err)
	}
	var tables int
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'request_logs'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("request_logs still exists (%d, %v)", tables, err)
	}
	for _, v := range []string{"va", "vb"} {
		// Newest first, a page at a time, then turned oldest first.
		var got []model.RequestLog
		for f := (store.RequestLogFilter{VaultID: v, Limit: 1000}); ; {
			page, err := db.RequestLogs().List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if len(page) < f.Limit {
				break
			}
			f.Before = page[len(page)-1].ID
		}
		slices.Reverse(got)
		var wantV []model.RequestLog
		for _, r := range want {
			if r.VaultID == v {
				wantV = append(wantV, r)
			}
		}
		if len(got) != len(wantV) {
			t.Fatalf("%s: %d rows after the migration, want %d", v, len(got), len(wantV))
		}
		for i := range wantV {
			if !reflect.DeepEqual(got[i], wantV[i]) {
				t.Fatalf("%s row %d:\n got %+v\nwant %+v", v, i, got[i], wantV[i])
			}
		}
	}
	hosts, err := db.RequestLogs().Unmatched(ctx, "va", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if h.Count != unmatched[h.Host] {
			t.Errorf("discovered %s: %d, want %d", h.Host, h.Count, unmatched[h.Host])
		}
	}
	if len(hosts) != len(unmatched) {
		t.Errorf("discovered %d hosts, want %d", len(hosts), len(unmatched))
	}
	// New rows continue above the highest id request_logs ever assigned.
	if err := db.RequestLogs().Insert(ctx, []model.RequestLog{{VaultID: "va", At: t0, ActorKind: model.ActorAgent, Method: "GET", Host: "x", Port: 1}}); err != nil {
		t.Fatal(err)
	}
	page, err := db.RequestLogs().List(ctx, store.RequestLogFilter{VaultID: "va", Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != 5001 {
		t.Errorf("the first new row is %+v (%v), want id 5001", page, err)
	}
}
