package sqlstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/logsegment"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// Filtered listings give the same rows whether segments are skipped by
// their summaries or all decoded, over a history where older segments
// have no summary (written before summaries existed) and newer ones do,
// at every fetch size.
func TestRequestLogSummariesAgreeWithScanning(t *testing.T) {
	db := newDB(t)
	createVaults(t, db, "va", "vb")
	restore := sqlstore.SetSegmentSummaries(false, true)
	seedLogs(t, db, 450, "va", "vb") // the older half: no summaries
	restore()
	var batch []model.RequestLog
	for i := 450; i < 900; i++ {
		for _, v := range []string{"va", "vb"} {
			batch = append(batch, logRow(v, i, t0.Add(time.Duration(i)*time.Second)))
		}
		if len(batch) >= 700 || i == 899 {
			mustNil(t, db.RequestLogs().Insert(ctx, batch))
			batch = nil
		}
	}
	everything := listAll(t, db, store.RequestLogFilter{VaultID: "va"})
	if len(everything) != 900 {
		t.Fatalf("va has %d rows", len(everything))
	}
	since, until := t0.Add(100*time.Second), t0.Add(700*time.Second)
	for _, perQuery := range []int{256, 3, 1} {
		r1 := sqlstore.SetSummariesPerQuery(perQuery)
		r2 := sqlstore.SetSegmentsPerQuery(min(perQuery, 8))
		checkFilters(t, db, everything, since, until)
		r2()
		r1()
	}
}

// A segment whose summary excludes the filter is not even read: its
// damaged data goes unnoticed by a filter it cannot match, and is
// reported by one it may match, and by any filter when it has no summary.
func TestRequestLogSummarySkipsSegmentsWithoutDecoding(t *testing.T) {
	for _, summarized := range []bool{true, false} {
		db := newDB(t)
		createVaults(t, db, "va")
		restore := sqlstore.SetSegmentSummaries(summarized, true)
		rows := []model.RequestLog{logRow("va", 0, t0), logRow("va", 1, t0.Add(time.Second))}
		rows[0].Host, rows[1].Host = "seen.example.com", "seen.example.com"
		mustNil(t, db.RequestLogs().Insert(ctx, rows))
		restore()
		if _, err := db.SQL().Exec(db.Rebind(`UPDATE request_log_segments SET data = ?`), []byte{logsegment.Version, 0xff}); err != nil {
			t.Fatal(err)
		}
		_, errOther := db.RequestLogs().List(ctx, store.RequestLogFilter{VaultID: "va", Host: "other.example.com"})
		_, errSeen := db.RequestLogs().List(ctx, store.RequestLogFilter{VaultID: "va", Host: "seen.example.com"})
		if errSeen == nil || !strings.Contains(errSeen.Error(), "corrupt") {
			t.Errorf("summarized=%v: a matching filter read the damaged segment without an error: %v", summarized, errSeen)
		}
		if summarized && errOther != nil {
			t.Errorf("a filter the summary excludes decoded the segment: %v", errOther)
		}
		if !summarized && errOther == nil {
			t.Error("a segment without a summary was skipped")
		}
	}
}

// Segments stored before the summary column existed load after the
// migration and are found by filters (they are scanned).
func TestRequestLogSegmentsFromBeforeSummaries(t *testing.T) {
	db, _ := openDB(t, sqlstore.SQLiteOptions{})
	v := sqlstore.SQLVersionOf(db, "_request_log_summaries.sql")
	if v == 0 {
		t.Fatal("no summaries migration")
	}
	if _, err := sqlstore.MigrateTo(ctx, db, v-1); err != nil {
		t.Fatal(err)
	}
	createVaults(t, db, "va")
	rows := []model.RequestLog{logRow("va", 0, t0), logRow("va", 1, t0.Add(time.Second))}
	rows[0].ID, rows[1].ID = 1, 2
	rows[1].Host = "rare.example.com"
	data := logsegment.Encode(nil, 1, rows)
	if _, err := db.SQL().Exec(`INSERT INTO request_log_segments (id, vault_id, first_id, rows, min_at, max_at, data) VALUES (2, 'va', 1, 2, ?, ?, ?)`,
		t0.UTC().Format(time.RFC3339Nano), t0.Add(time.Second).UTC().Format(time.RFC3339Nano), data); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`UPDATE request_log_seq SET last_id = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.RequestLogs().List(ctx, store.RequestLogFilter{VaultID: "va", Host: "rare.example.com"})
	mustNil(t, err)
	if len(got) != 1 || got[0].ID != 2 {
		t.Fatalf("the old segment's row was not found: %+v", got)
	}
	// A new write next to it carries a summary and is found too.
	mustNil(t, db.RequestLogs().Insert(ctx, []model.RequestLog{logRow("va", 2, t0.Add(2*time.Second))}))
	got, err = db.RequestLogs().List(ctx, store.RequestLogFilter{VaultID: "va", Service: "", Host: "h2.example.com"})
	mustNil(t, err)
	if len(got) != 1 || got[0].ID != 3 {
		t.Fatalf("the new row: %+v", got)
	}
}
