package sqlstore_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
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
	b.ReportAllocs()
	for b.Loop() {
		// b.N counts batches; ns/row is reported below.
		if err := db.RequestLogs().Insert(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
}
