package sqlstore_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// A flow's state is taken once: the second Take, and all but one of many
// racing ones, find nothing.
func TestOAuthStates(t *testing.T) {
	db := newDB(t)
	createUser(t, db, user("u1", "a@example.com", model.RoleOwner))
	createUser(t, db, user("u2", "b@example.com", model.RoleMember))
	createVault(t, db, vault("v1", "default"))
	st := db.OAuthStates()
	mk := func(id, uid string, created time.Time) model.OAuthState {
		t.Helper()
		s := model.OAuthState{ID: id, StateHash: []byte(id + "-hash"), UserID: uid, VaultID: "v1", Key: "K", Sealed: []byte("sealed-" + id),
			CreatedAt: created, ExpiresAt: created.Add(model.OAuthStateTTL)}
		mustNil(t, st.Create(ctx, s))
		return s
	}
	a := mk("a", "u1", t0)
	mk("b", "u1", t0.Add(-time.Hour)) // expired
	mk("c", "u2", t0)
	got, err := st.ByHash(ctx, a.StateHash)
	mustNil(t, err)
	if got.ID != "a" || got.UserID != "u1" || got.Key != "K" || string(got.Sealed) != "sealed-a" || !got.ExpiresAt.Equal(a.ExpiresAt) {
		t.Fatalf("ByHash = %+v", got)
	}
	if n, err := st.CountByUser(ctx, "u1", t0); err != nil || n != 1 {
		t.Errorf("CountByUser = %d, %v; want 1 (the expired one left out)", n, err)
	}
	taken, err := st.Take(ctx, a.StateHash)
	mustNil(t, err)
	if taken.ID != "a" || string(taken.Sealed) != "sealed-a" {
		t.Fatalf("Take = %+v", taken)
	}
	_, err = st.Take(ctx, a.StateHash)
	wantErr(t, "Take twice", err, store.ErrNotFound)
	_, err = st.ByHash(ctx, a.StateHash)
	wantErr(t, "ByHash after Take", err, store.ErrNotFound)

	// Racing callbacks: exactly one gets the row.
	r := mk("race", "u1", t0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, misses := 0, 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.Take(ctx, r.StateHash)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrNotFound):
				misses++
			default:
				t.Errorf("Take: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || misses != 9 {
		t.Fatalf("racing takes: %d won, %d missed; want 1 and 9", wins, misses)
	}

	if n, err := st.DeleteExpired(ctx, t0); err != nil || n != 1 {
		t.Errorf("DeleteExpired = %d, %v; want 1", n, err)
	}
	// A deleted user's flows go with them.
	mustNil(t, db.Users().Delete(ctx, "u2"))
	_, err = st.ByHash(ctx, []byte("c-hash"))
	wantErr(t, "flow of a deleted user", err, store.ErrNotFound)
}
