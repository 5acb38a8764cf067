package sqlstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
	"github.com/agent-vault/agent-vault/internal/trail"
)

var trailKey = trail.NewKey(bytes.Repeat([]byte{0x42}, 32))

func trailEvent(i int, at time.Time) trail.Event {
	vault := ""
	if i%2 == 0 {
		vault = "v-even"
	}
	return trail.Event{Time: at, ActorKind: trail.ActorUser, ActorID: fmt.Sprintf("u%d", i%3), ActorName: fmt.Sprintf("user%d@example.com", i%3),
		VaultID: vault, Vault: vault, Action: []string{trail.CredentialSet, trail.CredentialRead, trail.AgentCreate}[i%3],
		Target: fmt.Sprintf("KEY_%d", i), Source: "192.0.2.7", Outcome: trail.Success, Detail: "d"}
}

// verifyDB runs the verifier over the whole stored chain.
func verifyDB(t *testing.T, db *sqlstore.DB) (*trail.Problem, int64) {
	t.Helper()
	h, ok, err := db.AdminEvents().Head(ctx)
	if err != nil || !ok {
		t.Fatalf("head: ok=%v err=%v", ok, err)
	}
	rows, err := db.AdminEvents().List(ctx, store.AdminEventFilter{After: h.CutSeq, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	v := trail.NewVerifier(trailKey, h)
	for _, e := range rows {
		v.Next(e)
	}
	return v.Finish(), v.Checked()
}

func TestAdminEventsRoundTripAndChain(t *testing.T) {
	db := sqltest.Open(t)
	if p, _ := verifyDB(t, db); p != nil {
		t.Fatalf("fresh trail: %v", p)
	}
	for i := range 5 {
		e, err := db.AdminEvents().Append(ctx, trailKey, trailEvent(i, t0.Add(time.Duration(i)*time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != int64(i+1) || len(e.Hash) != 32 {
			t.Fatalf("row %d: seq %d hash %x", i, e.Seq, e.Hash)
		}
	}
	rows, err := db.AdminEvents().List(ctx, store.AdminEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0].Seq != 5 {
		t.Fatalf("newest first: %+v", rows)
	}
	want := trailEvent(4, t0.Add(4*time.Second))
	got := rows[0]
	if !got.Time.Equal(t0.Add(4*time.Second)) || got.Time.Nanosecond() != t0.Nanosecond() || got.ActorName != want.ActorName ||
		got.Action != want.Action || got.Target != want.Target || got.Source != want.Source || got.Vault != want.Vault {
		t.Fatalf("round trip: got %+v want %+v", got, want)
	}
	if p, n := verifyDB(t, db); p != nil || n != 5 {
		t.Fatalf("verify: %v, %d rows", p, n)
	}
}

func TestAdminEventsFilters(t *testing.T) {
	db := sqltest.Open(t)
	for i := range 9 {
		if _, err := db.AdminEvents().Append(ctx, trailKey, trailEvent(i, t0.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(f store.AdminEventFilter) []int64 {
		rows, err := db.AdminEvents().List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, e := range rows {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    store.AdminEventFilter
		want string
	}{
		{"vault", store.AdminEventFilter{VaultID: "v-even"}, "[9 7 5 3 1]"},
		{"action", store.AdminEventFilter{Action: trail.CredentialRead}, "[8 5 2]"},
		{"action prefix", store.AdminEventFilter{Action: "credential."}, "[8 7 5 4 2 1]"},
		{"actor by name", store.AdminEventFilter{Actor: "user1@example.com"}, "[8 5 2]"},
		{"actor by id", store.AdminEventFilter{Actor: "u0"}, "[7 4 1]"},
		{"since until", store.AdminEventFilter{Since: t0.Add(2 * time.Hour), Until: t0.Add(5 * time.Hour)}, "[5 4 3]"},
		{"before cursor", store.AdminEventFilter{Before: 4, Limit: 2}, "[3 2]"},
		{"after ascending", store.AdminEventFilter{After: 6, Ascending: true}, "[7 8 9]"},
		{"like metacharacters are literal", store.AdminEventFilter{Action: "%."}, "[]"},
	} {
		if got := fmt.Sprint(seqs(c.f)); got != c.want {
			t.Errorf("%s: got %s want %s", c.name, got, c.want)
		}
	}
}

// A row appended in a transaction that rolls back leaves no row and does
// not move the head: the action and its row commit together or not at all.
func TestAdminEventsRollBackWithTheAction(t *testing.T) {
	db := sqltest.Open(t)
	if _, err := db.AdminEvents().Append(ctx, trailKey, trailEvent(0, t0)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("the action failed")
	err := db.InTx(ctx, func(tx store.Store) error {
		if _, err := tx.AdminEvents().Append(ctx, trailKey, trailEvent(1, t0)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	rows, _ := db.AdminEvents().List(ctx, store.AdminEventFilter{})
	if len(rows) != 1 {
		t.Fatalf("%d rows after a rollback", len(rows))
	}
	if e, err := db.AdminEvents().Append(ctx, trailKey, trailEvent(2, t0)); err != nil || e.Seq != 2 {
		t.Fatalf("next row: seq %d, %v", e.Seq, err)
	}
	if p, _ := verifyDB(t, db); p != nil {
		t.Fatal(p)
	}
}

// Several servers write one chain: appends from two pools on one database
// (two servers) interleave into one gap-free chain that verifies.
func TestAdminEventsOneChainAcrossPools(t *testing.T) {
	first, second := sqltest.OpenTwo(t)
	const n = 40
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		db := first
		if i%2 == 1 {
			db = second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.AdminEvents().Append(ctx, trailKey, trailEvent(i, t0))
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p, checked := verifyDB(t, first); p != nil || checked != n {
		t.Fatalf("verify: %v, %d of %d rows", p, checked, n)
	}
}

// Retention deletes old rows and keeps a checkpoint of the hash at the
// cut, so that the rest still verifies; deleting a row by hand does not.
func TestAdminEventsPruneKeepsTheChainVerifiable(t *testing.T) {
	db := sqltest.Open(t)
	for i := range 6 {
		if _, err := db.AdminEvents().Append(ctx, trailKey, trailEvent(i, t0.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.AdminEvents().Prune(ctx, trailKey, t0.Add(150*time.Minute))
	if err != nil || n != 3 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	h, _, _ := db.AdminEvents().Head(ctx)
	if h.CutSeq != 3 || h.Seq != 6 {
		t.Fatalf("head after prune: %+v", h)
	}
	if p, checked := verifyDB(t, db); p != nil || checked != 3 {
		t.Fatalf("after prune: %v (%d rows)", p, checked)
	}
	if _, err := db.AdminEvents().Append(ctx, trailKey, trailEvent(9, t0.Add(10*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if p, _ := verifyDB(t, db); p != nil {
		t.Fatalf("append after prune: %v", p)
	}
	if n, err := db.AdminEvents().Prune(ctx, trailKey, t0); err != nil || n != 0 {
		t.Fatalf("nothing older: %d, %v", n, err)
	}
	if _, err := db.SQL().ExecContext(ctx, db.Rebind(`DELETE FROM admin_events WHERE seq = ?`), 4); err != nil {
		t.Fatal(err)
	}
	if p, _ := verifyDB(t, db); p == nil || p.Kind != trail.Deleted || p.Seq != 4 {
		t.Fatalf("deleted first row after the cut: %v", p)
	}
}

// An attacker with SQL access edits a row: the chain names it.
func TestAdminEventsSQLTamperingIsFound(t *testing.T) {
	for _, c := range []struct {
		name, sql string
		want      trail.Problem
	}{
		{"update", `UPDATE admin_events SET outcome = 'failure' WHERE seq = 2`, trail.Problem{Kind: trail.Changed, Seq: 2}},
		{"delete", `DELETE FROM admin_events WHERE seq = 3`, trail.Problem{Kind: trail.Deleted, Seq: 3, Last: 3}},
		{"insert", `INSERT INTO admin_events SELECT seq + 10, at, actor_kind, actor_id, actor_name, vault_id, vault, action, target, source, outcome, detail, hash FROM admin_events WHERE seq = 1`, trail.Problem{Kind: trail.Inserted, Seq: 11}},
		{"insert next", `INSERT INTO admin_events SELECT seq + 4, at, actor_kind, actor_id, actor_name, vault_id, vault, action, target, source, outcome, detail, hash FROM admin_events WHERE seq = 1`, trail.Problem{Kind: trail.Inserted, Seq: 5}},
		{"head moved back", `UPDATE admin_event_head SET seq = 3, hash = (SELECT hash FROM admin_events WHERE seq = 3)`, trail.Problem{Kind: trail.HeadBad}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := sqltest.Open(t)
			for i := range 4 {
				if _, err := db.AdminEvents().Append(ctx, trailKey, trailEvent(i, t0)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.SQL().ExecContext(ctx, c.sql); err != nil {
				t.Fatal(err)
			}
			p, _ := verifyDB(t, db)
			if p == nil || *p != c.want {
				t.Fatalf("got %v, want %+v", p, c.want)
			}
		})
	}
}

// BenchmarkAdminEventsAppend is the cost of one trail row in a transaction
// of its own (read the head, insert the row, update the head), against a
// baseline transaction inserting one vault row.
func BenchmarkAdminEventsAppend(b *testing.B) {
	db := sqltest.Open(b)
	e := trailEvent(1, t0)
	b.Run("append", func(b *testing.B) {
		for range b.N {
			if _, err := db.AdminEvents().Append(ctx, trailKey, e); err != nil {
				b.Fatal(err)
			}
		}
	})
	n := 0
	b.Run("baseline-vault-insert", func(b *testing.B) {
		for range b.N {
			n++
			v := model.Vault{ID: fmt.Sprintf("bench-%d", n), Name: fmt.Sprintf("bench-%d", n), UnmatchedHostPolicy: model.PolicyPassthrough, CreatedAt: t0, UpdatedAt: t0}
			if err := db.InTx(ctx, func(tx store.Store) error { return tx.Vaults().Create(ctx, v) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
