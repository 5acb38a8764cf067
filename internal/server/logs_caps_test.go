package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
)

// An agent that fills the log with the longest paths and hosts it may
// (each capped at model.MaxLogField) still cannot make one page of
// GET …/logs?limit=1000 large: the page ends near 1 MiB with a cursor,
// and following the cursors returns every row exactly once.
func TestLogsPageSizeBounded(t *testing.T) {
	f := newCfx(t)
	mkVault(t, f.own, "fat")
	v, err := f.e.db.Vaults().ByName(cbg, "fat")
	mustOK(t, "vault", err)
	const n = 600
	var rows []model.RequestLog
	for i := 0; i < n; i++ {
		rows = append(rows, model.RequestLog{VaultID: v.ID, At: lgT0.Add(time.Duration(i) * time.Second), ActorKind: model.ActorAgent,
			ActorName: "agent:fat", Ingress: "absolute", Method: "GET", Host: strings.Repeat("h", 70<<10), Port: 443,
			Path: "/" + strconv.Itoa(i) + "/" + strings.Repeat("p", 900<<10), Status: 403, ErrorCode: "forbidden"})
		if len(rows) == 100 {
			mustOK(t, "insert", f.e.db.RequestLogs().Insert(cbg, rows))
			rows = nil
		}
	}
	seen := map[int64]bool{}
	cursor, pages := "", 0
	for {
		r := f.raw(t, http.MethodGet, "/v1/vaults/fat/logs?limit=1000"+cursor, f.ownTok, nil)
		if r.code != http.StatusOK {
			t.Fatalf("status %d: %.200s", r.code, r.body)
		}
		if len(r.body) > 1200<<10 {
			t.Fatalf("page %d is %d bytes, over ~1 MiB", pages, len(r.body))
		}
		var page apitype.RequestLogList
		r.into(t, &page)
		pages++
		for _, l := range page.Logs {
			if seen[l.ID] {
				t.Fatalf("row %d returned twice", l.ID)
			}
			seen[l.ID] = true
			if len(l.Path) > model.MaxLogField || len(l.Host) > model.MaxLogField || !strings.Contains(l.Path, "[cut: ") {
				t.Fatalf("row %d: path %d bytes, host %d bytes", l.ID, len(l.Path), len(l.Host))
			}
		}
		if page.NextCursor == 0 {
			break
		}
		if len(page.Logs) == 0 || pages > 50 {
			t.Fatalf("page %d: %d rows, cursor %d", pages, len(page.Logs), page.NextCursor)
		}
		cursor = "&before=" + strconv.FormatInt(page.NextCursor, 10)
	}
	if len(seen) != n || pages < 2 {
		t.Fatalf("%d rows in %d pages, want %d rows in several pages", len(seen), pages, n)
	}
}
