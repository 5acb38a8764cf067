package sqlstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// logRow is row i of a vault: services, statuses, actors and hosts cycle
// so that every filter selects a scattered subset.
func logRow(vault string, i int, at time.Time) model.RequestLog {
	r := model.RequestLog{VaultID: vault, At: at, ActorKind: model.ActorAgent, ActorName: fmt.Sprintf("agent:a%d", i%3),
		Ingress: "connect", Method: "GET", Host: fmt.Sprintf("h%d.example.com", i%4), Port: 443,
		Path: fmt.Sprintf("/items/%d", i), Service: []string{"alpha", "beta", ""}[i%3], Status: []int{200, 201, 404, 502, 200}[i%5],
		RequestBytes: int64(i), ResponseBytes: 10, Duration: time.Millisecond}
	if r.Service != "" {
		r.CredentialKeys = []string{"KEY"}
	}
	return r
}

// seedLogs writes n rows to each of the vaults, interleaved, in batches
// (so that segments of several sizes exist), one second apart.
func seedLogs(t *testing.T, s store.Store, n int, vaults ...string) {
	t.Helper()
	var batch []model.RequestLog
	for i := 0; i < n; i++ {
		for _, v := range vaults {
			batch = append(batch, logRow(v, i, t0.Add(time.Duration(i)*time.Second)))
		}
		if len(batch) >= 700 || i == n-1 {
			mustNil(t, s.RequestLogs().Insert(ctx, batch))
			batch = nil
		}
	}
}

func TestRequestLogListMatchesAModelAcrossSegments(t *testing.T) {
	db := newDB(t)
	createVaults(t, db, "va", "vb")
	seedLogs(t, db, 900, "va", "vb")
	everything := listAll(t, db, store.RequestLogFilter{VaultID: "va"})
	if len(everything) != 900 {
		t.Fatalf("va has %d rows, want 900", len(everything))
	}
	for i := 1; i < len(everything); i++ {
		if everything[i].ID >= everything[i-1].ID {
			t.Fatalf("rows not newest first at %d: %d then %d", i, everything[i-1].ID, everything[i].ID)
		}
	}
	for i, r := range everything {
		if want := logRow("va", 899-i, t0.Add(time.Duration(899-i)*time.Second)); r.Path != want.Path || !r.At.Equal(want.At) || r.VaultID != "va" {
			t.Fatalf("row %d = %+v, want %+v", i, r, want)
		}
	}
	since, until := t0.Add(100*time.Second), t0.Add(700*time.Second)
	// Segments are fetched a few at a time: with one per query every
	// page crosses fetch boundaries too.
	for _, perQuery := range []int{8, 1} {
		restore := sqlstore.SetSegmentsPerQuery(perQuery)
		checkFilters(t, db, everything, since, until)
		restore()
	}
	// Paging with the cursor visits every row once.
	var paged []model.RequestLog
	for f := (store.RequestLogFilter{VaultID: "va", Limit: 77}); ; {
		page, err := db.RequestLogs().List(ctx, f)
		mustNil(t, err)
		paged = append(paged, page...)
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	if !slices.EqualFunc(paged, everything, func(a, b model.RequestLog) bool { return a.ID == b.ID }) {
		t.Errorf("paging saw %d rows, want %d", len(paged), len(everything))
	}
}

// keep is the filter's meaning, written plainly.
func keep(f store.RequestLogFilter, r model.RequestLog) bool {
	return (f.Service == "" || r.Service == f.Service) &&
		(f.Status == 0 || r.Status == f.Status) &&
		(f.StatusClass == 0 || r.Status/100 == f.StatusClass) &&
		(f.Actor == "" || r.ActorName == f.Actor) &&
		(f.Host == "" || r.Host == f.Host) &&
		(f.Since.IsZero() || !r.At.Before(f.Since)) &&
		(f.Until.IsZero() || r.At.Before(f.Until)) &&
		(f.Before == 0 || r.ID < f.Before) &&
		(f.After == 0 || r.ID > f.After)
}

func listAll(t *testing.T, s store.Store, f store.RequestLogFilter) []model.RequestLog {
	t.Helper()
	var out []model.RequestLog
	f.Limit = 1000
	for {
		page, err := s.RequestLogs().List(ctx, f)
		mustNil(t, err)
		out = append(out, page...)
		if len(page) < f.Limit {
			return out
		}
		f.Before = page[len(page)-1].ID
	}
}

func ids(rows []model.RequestLog, n int) []int64 {
	var out []int64
	for _, r := range rows[:min(n, len(rows))] {
		out = append(out, r.ID)
	}
	return out
}

func TestRequestLogRetentionAcrossSegments(t *testing.T) {
	db := newDB(t)
	createVaults(t, db, "va", "vb")
	seedLogs(t, db, 1000, "va", "vb")
	before := listAll(t, db, store.RequestLogFilter{VaultID: "va"})
	// Age: rows at t0+0s … t0+299s go; several whole segments and one
	// boundary segment in each vault.
	n, err := db.RequestLogs().DeleteBefore(ctx, t0.Add(300*time.Second))
	mustNil(t, err)
	if n != 600 {
		t.Errorf("DeleteBefore removed %d rows, want 600", n)
	}
	if got := listAll(t, db, store.RequestLogFilter{VaultID: "va"}); !slices.EqualFunc(got, before[:700], func(a, b model.RequestLog) bool { return a.ID == b.ID }) {
		t.Errorf("after age retention va has %d rows, want its newest 700", len(got))
	}
	// Rows: keep 333 per vault.
	n, err = db.RequestLogs().TrimVaults(ctx, 333)
	mustNil(t, err)
	if n != 2*(700-333) {
		t.Errorf("TrimVaults removed %d rows, want %d", n, 2*(700-333))
	}
	if got := listAll(t, db, store.RequestLogFilter{VaultID: "va"}); !slices.EqualFunc(got, before[:333], func(a, b model.RequestLog) bool { return a.ID == b.ID }) {
		t.Errorf("after row retention va has %d rows, want its newest 333", len(got))
	}
	if n, err := db.RequestLogs().TrimVaults(ctx, 333); err != nil || n != 0 {
		t.Errorf("second TrimVaults removed %d (%v)", n, err)
	}
	// Emptied entirely: new rows still get ids above every earlier one, so
	// a follower's cursor stays valid.
	last := before[0].ID
	_, err = db.RequestLogs().DeleteBefore(ctx, t0.Add(time.Hour))
	mustNil(t, err)
	if got := listAll(t, db, store.RequestLogFilter{VaultID: "va"}); len(got) != 0 {
		t.Fatalf("%d rows left", len(got))
	}
	mustNil(t, db.RequestLogs().Insert(ctx, []model.RequestLog{logRow("va", 1, t0.Add(2*time.Hour))}))
	got, err := db.RequestLogs().List(ctx, store.RequestLogFilter{VaultID: "va", After: last})
	mustNil(t, err)
	if len(got) != 1 || got[0].ID <= last {
		t.Errorf("after emptying, new row ids %v, want one above %d", ids(got, 5), last)
	}
}

func TestDiscoveredHostsOutliveRowTrimmingNotAge(t *testing.T) {
	db := newDB(t)
	createVaults(t, db, "va", "gone")
	seedLogs(t, db, 120, "va") // every third row unmatched: 40, on h0…h3
	hosts, err := db.RequestLogs().Unmatched(ctx, "va", 100)
	mustNil(t, err)
	want := map[string]int64{"h0.example.com": 10, "h1.example.com": 10, "h2.example.com": 10, "h3.example.com": 10}
	total := int64(0)
	for _, h := range hosts {
		if want[h.Host] != h.Count || h.Port != 443 {
			t.Errorf("host %+v, want count %d", h, want[h.Host])
		}
		total += h.Count
	}
	if total != 40 || len(hosts) != 4 {
		t.Fatalf("hosts %+v", hosts)
	}
	// Trimming rows leaves the counts: hosts stay candidates for services.
	_, err = db.RequestLogs().TrimVaults(ctx, 5)
	mustNil(t, err)
	if again, _ := db.RequestLogs().Unmatched(ctx, "va", 100); !slices.Equal(hostNames(again), hostNames(hosts)) {
		t.Errorf("after trimming rows: %+v, want %+v", again, hosts)
	}
	// Age retention forgets hosts not seen since the cut.
	latest := map[string]time.Time{}
	for _, h := range hosts {
		latest[h.Host] = h.LastSeen
	}
	cut := latest["h2.example.com"].Add(time.Nanosecond)
	_, err = db.RequestLogs().DeleteBefore(ctx, cut)
	mustNil(t, err)
	left, _ := db.RequestLogs().Unmatched(ctx, "va", 100)
	for _, h := range left {
		if h.LastSeen.Before(cut) {
			t.Errorf("host %+v outlived age retention at %v", h, cut)
		}
	}
	if len(left) == len(hosts) {
		t.Errorf("age retention removed no host (cut %v, hosts %+v)", cut, hosts)
	}
	// Rows of a vault deleted while queued are skipped, not an error.
	mustNil(t, db.Vaults().Delete(ctx, "gone"))
	mustNil(t, db.RequestLogs().Insert(ctx, []model.RequestLog{logRow("gone", 2, t0), logRow("va", 2, t0.Add(time.Hour))}))
}

func hostNames(hs []model.HostCount) []string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s:%d=%d", h.Host, h.Port, h.Count))
	}
	return out
}

// createVaults creates vaults with these ids, named "n"+id.
func createVaults(t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		createVault(t, s, model.Vault{ID: id, Name: "n" + id, UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: t0, UpdatedAt: t0})
	}
}

// checkFilters compares List under each filter and page size with the
// filter applied to everything (va's rows, newest first).
func checkFilters(t *testing.T, db store.Store, everything []model.RequestLog, since, until time.Time) {
	t.Helper()
	for _, f := range []store.RequestLogFilter{
		{Service: "alpha"}, {StatusClass: 5}, {Status: 404}, {Actor: "agent:a1"}, {Host: "h2.example.com"},
		{Since: since}, {Until: until}, {Since: since, Until: until, Service: "beta", StatusClass: 2},
		{Before: everything[450].ID}, {After: everything[450].ID}, {Host: "nowhere"},
	} {
		f.VaultID = "va"
		want := []model.RequestLog{}
		for _, r := range everything {
			if keep(f, r) {
				want = append(want, r)
			}
		}
		if f.After > 0 {
			slices.Reverse(want) // oldest first after a cursor
		}
		for _, limit := range []int{1, 7, 100, 1000} {
			f.Limit = limit
			got, err := db.RequestLogs().List(ctx, f)
			mustNil(t, err)
			if n := min(limit, len(want)); len(got) != n || !slices.EqualFunc(got, want[:n], func(a, b model.RequestLog) bool { return a.ID == b.ID }) {
				t.Errorf("%+v: got %d rows (%v…), want %d", f, len(got), ids(got, 5), n)
			}
		}
	}
}
