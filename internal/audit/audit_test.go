package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/audit"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

var ctx = context.Background()

// t0 is the injected "now" of every test.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newDB opens a migrated SQLite file with the vaults named.
func newDB(t *testing.T, vaults ...string) *sqlstore.DB {
	t.Helper()
	db := sqltest.Open(t) // SQLite, or PostgreSQL under AGENT_VAULT_TEST_ENGINE=postgres
	for _, v := range vaults {
		if err := db.Vaults().Create(ctx, model.Vault{ID: v, Name: "vault-" + v, UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(&syncBuffer{}, nil)) }

func row(vault string, i int, at time.Time) model.RequestLog {
	return model.RequestLog{
		VaultID: vault, At: at, ActorKind: model.ActorAgent, ActorName: "agent:bot", Ingress: "connect",
		Method: "GET", Host: "api.example.com", Port: 443, Path: fmt.Sprintf("/v1/items/%d", i), Service: "api",
		CredentialKeys: []string{"API_KEY"}, Status: 200, RequestBytes: int64(i), ResponseBytes: 100, Duration: 12 * time.Millisecond,
	}
}

// all lists a vault's rows, oldest first (the tests keep fewer than 1000).
func all(t *testing.T, db store.Store, vault string) []model.RequestLog {
	t.Helper()
	rows, err := db.RequestLogs().List(ctx, store.RequestLogFilter{VaultID: vault, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 1000 {
		t.Fatal("too many rows for all()")
	}
	slices.Reverse(rows)
	return rows
}

func TestRowsAreWrittenAndReadBack(t *testing.T) {
	db := newDB(t, "v1", "v2")
	l := audit.New(audit.Options{Store: db, FlushEvery: 5 * time.Millisecond, Logger: quietLogger(), Now: func() time.Time { return t0 }})
	want := []model.RequestLog{
		row("v1", 1, t0.Add(-time.Minute)),
		{VaultID: "v1", At: t0, ActorKind: model.ActorUser, ActorName: "alice@example.com", Ingress: "tunnel", Method: "CONNECT",
			Host: "unmatched.example.org", Port: 8443, Status: 200, RequestBytes: 517, ResponseBytes: 4096, Duration: 3 * time.Second},
		{VaultID: "v2", At: t0, ActorKind: model.ActorAgent, ActorName: "session:abc", Ingress: "absolute", Method: "POST",
			Host: "api.example.com", Port: 80, Path: "/x", Service: "svc", CredentialKeys: []string{"A", "B_2"}, Status: 403,
			ErrorCode: "insecure_transport", Duration: 0},
	}
	for _, r := range want {
		l.Record(r)
	}
	l.Close()
	if l.Written() != 3 || l.Dropped() != 0 {
		t.Fatalf("written %d dropped %d, want 3 and 0", l.Written(), l.Dropped())
	}
	got := append(all(t, db, "v1"), all(t, db, "v2")...)
	if len(got) != 3 {
		t.Fatalf("read back %d rows, want 3: %+v", len(got), got)
	}
	for i := range got {
		if got[i].ID == 0 {
			t.Errorf("row %d has no id", i)
		}
		got[i].ID = 0
		if !got[i].At.Equal(want[i].At) {
			t.Errorf("row %d at %v, want %v", i, got[i].At, want[i].At)
		}
		got[i].At = want[i].At
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// blockingStore's request log Insert waits until release is closed; the
// first call announces itself on entered.
type blockingStore struct {
	store.Store
	entered chan struct{}
	release chan struct{}
	once    *sync.Once
}

func (s blockingStore) RequestLogs() store.RequestLogs {
	return blockingLogs{RequestLogs: s.Store.RequestLogs(), s: s}
}

type blockingLogs struct {
	store.RequestLogs
	s blockingStore
}

func (b blockingLogs) Insert(ctx context.Context, rows []model.RequestLog) error {
	b.s.once.Do(func() { close(b.s.entered) })
	<-b.s.release
	return b.RequestLogs.Insert(ctx, rows)
}

func TestBurstBeyondTheQueueIsDroppedAndCountedWithoutBlocking(t *testing.T) {
	db := newDB(t, "v1")
	bs := blockingStore{Store: db, entered: make(chan struct{}), release: make(chan struct{}), once: new(sync.Once)}
	logs := &syncBuffer{}
	const queue, batch, total = 10, 5, 1000
	l := audit.New(audit.Options{
		Store: bs, QueueSize: queue, BatchSize: batch,
		FlushEvery: time.Hour, // only a full batch flushes: the run is deterministic
		Logger:     slog.New(slog.NewTextHandler(logs, nil)), Now: func() time.Time { return t0 },
	})
	// One full batch: the batcher takes it and blocks in Insert.
	for i := 0; i < batch; i++ {
		l.Record(row("v1", i, t0))
	}
	<-bs.entered

	// The burst: every Record returns while the store is still blocked
	// (release is closed only after the loop has finished).
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := batch; i < total; i++ {
			l.Record(row("v1", i, t0))
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute): // a watchdog for a hang, not a timing assertion
		t.Fatal("Record blocked while the database was blocked")
	}
	select {
	case <-bs.release:
		t.Fatal("the store was released before the burst ended")
	default:
	}
	// The batcher holds one batch, the queue holds queue rows; the rest
	// were dropped and counted.
	if got, want := l.Dropped(), uint64(total-batch-queue); got != want {
		t.Errorf("Dropped() = %d during the block, want %d", got, want)
	}
	if l.Written() != 0 {
		t.Errorf("Written() = %d while the store was blocked", l.Written())
	}
	close(bs.release)
	l.Close()
	if l.Dropped() == 0 {
		t.Error("nothing was dropped")
	}
	if got := l.Dropped() + l.Written(); got != total {
		t.Errorf("Dropped %d + Written %d = %d, want %d", l.Dropped(), l.Written(), got, total)
	}
	if n := len(all(t, db, "v1")); uint64(n) != l.Written() {
		t.Errorf("the database holds %d rows, Written() says %d", n, l.Written())
	}
	// The count is in the logs (logged at powers of two).
	if !bytes.Contains([]byte(logs.String()), []byte("dropped_total=512")) {
		t.Errorf("the drop count is not logged:\n%s", logs.String())
	}
}

func TestRetentionByAgeUsesTheInjectedClock(t *testing.T) {
	db := newDB(t, "v1", "v2")
	now := t0
	l := audit.New(audit.Options{Store: db, MaxAge: 48 * time.Hour, Logger: quietLogger(), Now: func() time.Time { return now }})
	defer l.Close()
	ages := []time.Duration{200 * time.Hour, 49 * time.Hour, 48*time.Hour + time.Second, 47 * time.Hour, time.Hour, 0}
	var rows []model.RequestLog
	for i, a := range ages {
		rows = append(rows, row("v1", i, t0.Add(-a)), row("v2", i, t0.Add(-a)))
	}
	if err := db.RequestLogs().Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	n, err := l.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("Prune removed %d rows, want 6 (three per vault older than 48h)", n)
	}
	for _, v := range []string{"v1", "v2"} {
		got := all(t, db, v)
		if len(got) != 3 {
			t.Fatalf("%s kept %d rows, want 3", v, len(got))
		}
		for _, r := range got {
			if now.Sub(r.At) > 48*time.Hour {
				t.Errorf("%s kept a row of %v", v, r.At)
			}
		}
	}
	// The clock moves on: a day later, the 47h-old rows are 71h old.
	now = t0.Add(24 * time.Hour)
	if n, err = l.Prune(ctx); err != nil || n != 2 {
		t.Errorf("a day later Prune removed %d rows (%v), want 2", n, err)
	}
	// Retention shortened at runtime.
	l.SetRetention(30*time.Minute, 0)
	if n, err = l.Prune(ctx); err != nil || n != 4 {
		t.Errorf("after SetRetention(30m) Prune removed %d rows (%v), want 4", n, err)
	}
	if len(all(t, db, "v1"))+len(all(t, db, "v2")) != 0 {
		t.Error("rows older than 30 minutes are left")
	}
}

func TestRetentionByRowsPerVaultKeepsTheNewest(t *testing.T) {
	db := newDB(t, "big", "small", "exact", "empty")
	l := audit.New(audit.Options{Store: db, MaxRowsPerVault: 5, Logger: quietLogger(), Now: func() time.Time { return t0 }})
	defer l.Close()
	// Interleaved, so that ids of the vaults alternate.
	counts := map[string]int{"big": 12, "small": 3, "exact": 5}
	var rows []model.RequestLog
	for i := 0; i < 12; i++ {
		for _, v := range []string{"big", "small", "exact"} {
			if i < counts[v] {
				rows = append(rows, row(v, i, t0.Add(-time.Hour)))
			}
		}
	}
	if err := db.RequestLogs().Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	before := map[string][]model.RequestLog{}
	for v := range counts {
		before[v] = all(t, db, v)
	}
	n, err := l.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Errorf("Prune removed %d rows, want 7", n)
	}
	got := all(t, db, "big")
	if !reflect.DeepEqual(got, before["big"][7:]) {
		t.Errorf("big kept %+v, want its 5 newest %+v", got, before["big"][7:])
	}
	for _, v := range []string{"small", "exact"} {
		if got := all(t, db, v); !reflect.DeepEqual(got, before[v]) {
			t.Errorf("%s changed: %d rows, want its %d untouched", v, len(got), len(before[v]))
		}
	}
	// Idempotent.
	if n, err := l.Prune(ctx); err != nil || n != 0 {
		t.Errorf("second Prune removed %d (%v), want 0", n, err)
	}
	// Raised and lowered at runtime.
	l.SetRetention(0, 2)
	if n, err := l.Prune(ctx); err != nil || n != 3+1+3 {
		t.Errorf("Prune at 2 per vault removed %d (%v), want 7", n, err)
	}
	for _, v := range []string{"big", "small", "exact"} {
		if got := all(t, db, v); len(got) != 2 {
			t.Errorf("%s kept %d rows, want 2", v, len(got))
		}
	}
}

func TestCloseFlushesQueuedRows(t *testing.T) {
	db := newDB(t, "v1")
	l := audit.New(audit.Options{Store: db, BatchSize: 1000, FlushEvery: time.Hour, QueueSize: 100, Logger: quietLogger()})
	for i := 0; i < 50; i++ {
		l.Record(row("v1", i, t0))
	}
	l.Close()
	l.Close() // idempotent
	if l.Written() != 50 || l.Dropped() != 0 {
		t.Fatalf("written %d dropped %d, want 50 and 0", l.Written(), l.Dropped())
	}
	got := all(t, db, "v1")
	if len(got) != 50 {
		t.Fatalf("the database holds %d rows, want 50", len(got))
	}
	for i, r := range got {
		if r.Path != fmt.Sprintf("/v1/items/%d", i) {
			t.Fatalf("row %d is %q: order lost", i, r.Path)
		}
	}
}
