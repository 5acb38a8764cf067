package sqlstore_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// BenchmarkRequestLogInsert is the request log's write cost: ns/op is one
// row, written in batches of 1024 as the audit batcher does, through a
// synchronous=NORMAL handle like the daemon's log handle.
func BenchmarkRequestLogInsert(b *testing.B) {
	path := filepath.Join(b.TempDir(), "agent-vault.db")
	db, err := sqlstore.OpenSQLite(path, sqlstore.SQLiteOptions{Relaxed: true, MaxOpenConns: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := db.Vaults().Create(ctx, model.Vault{ID: "v1", Name: "bench", UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	const batch = 1024
	rows := make([]model.RequestLog, batch)
	for i := range rows {
		rows[i] = model.RequestLog{VaultID: "v1", At: now.Add(time.Duration(i)), ActorKind: model.ActorAgent, ActorName: "agent-1",
			Ingress: "connect", Method: "GET", Host: "api.example.test", Port: 443, Path: fmt.Sprintf("/v1/items/%d", i),
			Service: "example", CredentialKeys: []string{"API_KEY"}, Status: 200, RequestBytes: 120, ResponseBytes: 2048,
			Duration: 3 * time.Millisecond}
	}
	// Without and with segment summaries, in the same run.
	for _, summarize := range []bool{false, true} {
		b.Run(fmt.Sprintf("summaries=%v", summarize), func(b *testing.B) {
			defer sqlstore.SetSegmentSummaries(summarize, true)()
			b.ReportAllocs()
			for b.Loop() {
				// b.N counts batches; ns/row is reported below.
				if err := db.RequestLogs().Insert(ctx, rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
		})
	}
}

// BenchmarkRequestLogRareFilter lists rows by a host that only the
// oldest of 1000 segments (256,000 rows) holds: the whole history is
// searched. "scan" decodes every segment, as before summaries; "skip"
// reads the summaries and decodes only segments that may match.
func BenchmarkRequestLogRareFilter(b *testing.B) {
	path := filepath.Join(b.TempDir(), "agent-vault.db")
	db, err := sqlstore.OpenSQLite(path, sqlstore.SQLiteOptions{Relaxed: true, MaxOpenConns: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := db.Vaults().Create(ctx, model.Vault{ID: "v1", Name: "bench", UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	const segments, perSegment = 1000, 256
	rows := make([]model.RequestLog, perSegment)
	for s := range segments {
		for i := range rows {
			rows[i] = model.RequestLog{VaultID: "v1", At: now.Add(time.Duration(s*perSegment + i)), ActorKind: model.ActorAgent,
				ActorName: fmt.Sprintf("agent-%d", i%4), Ingress: "connect", Method: "GET", Host: fmt.Sprintf("api%d.example.test", i%8), Port: 443,
				Path: fmt.Sprintf("/v1/items/%d", i), Service: fmt.Sprintf("svc-%d", i%8), Status: []int{200, 200, 201, 404}[i%4],
				RequestBytes: 120, ResponseBytes: 2048, Duration: 3 * time.Millisecond}
		}
		if s == 0 {
			rows[7].Host = "rare.example.test"
		}
		if err := db.RequestLogs().Insert(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	f := store.RequestLogFilter{VaultID: "v1", Host: "rare.example.test", Limit: 100}
	for _, skip := range []bool{false, true} {
		name := map[bool]string{false: "scan", true: "skip"}[skip]
		b.Run(name, func(b *testing.B) {
			defer sqlstore.SetSegmentSummaries(true, skip)()
			b.ReportAllocs()
			for b.Loop() {
				got, err := db.RequestLogs().List(ctx, f)
				if err != nil || len(got) != 1 {
					b.Fatalf("got %d rows, %v", len(got), err)
				}
			}
		})
	}
}
