package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// An agent chooses the path, the host and the method of every row: a row
// never stores more than model.MaxLogField bytes of each, and says it was cut.
func TestRequestLogStoresAgentTextsCapped(t *testing.T) {
	db := newDB(t)
	createVaults(t, db, "va")
	huge := "/" + strings.Repeat("a", 900<<10)
	host := strings.Repeat("h", 70<<10) + ".example.com"
	var rows []model.RequestLog
	for i := 0; i < 40; i++ {
		r := logRow("va", i, t0.Add(time.Duration(i)*time.Second))
		r.Path, r.Host, r.Method, r.Service = huge, host, strings.Repeat("M", 5000), ""
		rows = append(rows, r)
	}
	mustNil(t, db.RequestLogs().Insert(ctx, rows))
	got, err := db.RequestLogs().List(ctx, store.RequestLogFilter{VaultID: "va", Limit: 100})
	mustNil(t, err)
	if len(got) != 40 {
		t.Fatalf("%d rows, want 40", len(got))
	}
	for _, r := range got {
		for name, v := range map[string]string{"path": r.Path, "host": r.Host, "method": r.Method} {
			if len(v) > model.MaxLogField {
				t.Fatalf("row %d keeps a %s of %d bytes, over %d", r.ID, name, len(v), model.MaxLogField)
			}
			if !strings.Contains(v, "bytes]") || !strings.Contains(v, "[cut: ") {
				t.Fatalf("row %d: %s cut without saying so: …%q", r.ID, name, v[max(0, len(v)-40):])
			}
		}
		if !strings.HasPrefix(r.Path, "/aaaa") || !strings.HasSuffix(r.Path, fmt.Sprintf("[cut: %d bytes]", len(huge))) {
			t.Fatalf("path marker: …%q", r.Path[len(r.Path)-40:])
		}
	}
	hosts, err := db.RequestLogs().Unmatched(ctx, "va", 10)
	mustNil(t, err)
	if len(hosts) != 1 || len(hosts[0].Host) > model.MaxLogField || hosts[0].Count != 40 {
		t.Fatalf("discovered hosts: %d, first %d bytes", len(hosts), len(hosts[0].Host))
	}
}

// Every host name an agent makes up is a discovered host: a vault keeps
// at most store.MaxDiscoveredHostsPerVault, dropping the least recently
// seen, and other vaults are untouched.
func TestDiscoveredHostsBoundedPerVault(t *testing.T) {
	db := newDB(t)
	createVaults(t, db, "va", "vb")
	const extra = 37
	n := store.MaxDiscoveredHostsPerVault + extra
	var batch []model.RequestLog
	for i := 0; i < n; i++ {
		r := logRow("va", 2, t0.Add(time.Duration(i)*time.Second)) // service "" : unmatched
		r.Host = fmt.Sprintf("made-up-%05d.example.com", i)
		batch = append(batch, r)
		if len(batch) == 300 || i == n-1 {
			mustNil(t, db.RequestLogs().Insert(ctx, batch))
			batch = nil
		}
	}
	b := logRow("vb", 2, t0)
	b.Host = "kept.example.com"
	mustNil(t, db.RequestLogs().Insert(ctx, []model.RequestLog{b}))
	hosts, err := db.RequestLogs().Unmatched(ctx, "va", 1000)
	mustNil(t, err)
	if len(hosts) != store.MaxDiscoveredHostsPerVault {
		t.Fatalf("vault va keeps %d discovered hosts, want %d", len(hosts), store.MaxDiscoveredHostsPerVault)
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		seen[h.Host] = true
	}
	for i := 0; i < extra; i++ {
		if seen[fmt.Sprintf("made-up-%05d.example.com", i)] {
			t.Errorf("host %d, among the %d oldest, was kept", i, extra)
		}
	}
	if !seen[fmt.Sprintf("made-up-%05d.example.com", n-1)] || !seen[fmt.Sprintf("made-up-%05d.example.com", extra)] {
		t.Error("a recent host was dropped")
	}
	if vb, _ := db.RequestLogs().Unmatched(ctx, "vb", 10); len(vb) != 1 {
		t.Errorf("vault vb: %v", hostNames(vb))
	}
}
