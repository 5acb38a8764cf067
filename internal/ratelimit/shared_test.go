package ratelimit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// gcraBudget is the arithmetic of the PostgreSQL rate_budgets lease
// (internal/store/sqlstore/ratebudget.go) on an injected clock, so that
// the limiter's batching can be measured without wall time. The SQL
// itself is tested against PostgreSQL (TestRateBudgetLeases) and end to
// end with three servers (TestPostgresRateLimitSharedAcrossServers).
type gcraBudget struct {
	mu    sync.Mutex
	clock *clock
	tat   map[string]int64
	fail  error
}

func (g *gcraBudget) Lease(_ context.Context, key string, n, iv, tol int64) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail != nil {
		return 0, g.fail
	}
	now := g.clock.Now().UnixNano()
	tat := max(g.tat[key], now)
	k := min(n, (tol-(tat-now))/iv)
	if k < 1 {
		return 0, nil
	}
	g.tat[key] = tat + k*iv
	return k, nil
}

// Three servers on one budget, each offered three times the rate for
// ten seconds: together they admit the burst plus the rate over the
// period, give or take one batch per server, and ask the shared budget
// far less often than once per request.
func TestSharedBudgetAcrossServers(t *testing.T) {
	c := newClock()
	shared := &gcraBudget{clock: c, tat: map[string]int64{}}
	const rate, burst = 100.0, 200
	var lims []*Limiter
	for range 3 {
		l, err := New(Options{Now: c.Now, Limits: map[Tier]Limits{TierProxy: {Rate: rate, Burst: burst}}})
		if err != nil {
			t.Fatal(err)
		}
		l.SetShared(shared, func(err error) { t.Errorf("shared budget error: %v", err) })
		lims = append(lims, l)
	}
	key := Key("agent", "a1", "vault-1")
	const step = time.Millisecond // each server sees one request per ms: 3000/s offered
	admitted, requests := 0, 0
	for range 10_000 {
		for _, l := range lims {
			requests++
			if ok, _ := l.Allow(TierProxy, key); ok {
				admitted++
			}
		}
		c.Advance(step)
	}
	ideal := burst + int(rate*10)                                 // 1200
	batch := int(batchSize(&lims[0].cfg.Load().tiers[TierProxy])) // 25
	roundTrips := lims[0].SharedRoundTrips() + lims[1].SharedRoundTrips() + lims[2].SharedRoundTrips()
	t.Logf("offered %d, admitted %d (ideal %d, batch %d), %d round trips to the shared budget", requests, admitted, ideal, batch, roundTrips)
	if admitted > ideal+3*batch || admitted < ideal-3*batch {
		t.Errorf("admitted %d across three servers, want %d ± %d", admitted, ideal, 3*batch)
	}
	// Without sharing each server would have admitted ideal on its own.
	if roundTrips*10 > uint64(requests) {
		t.Errorf("%d round trips for %d requests: not batched", roundTrips, requests)
	}
}

// A key that keeps asking after its budget is spent costs the shared
// store one round trip per interval, not one per request.
func TestSharedBudgetRemembersDenials(t *testing.T) {
	c := newClock()
	shared := &gcraBudget{clock: c, tat: map[string]int64{}}
	l, err := New(Options{Now: c.Now, Limits: map[Tier]Limits{TierProxy: {Rate: 1, Burst: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	l.SetShared(shared, nil)
	key := Key("agent", "a1", "v")
	allowed := 0
	for range 1000 {
		if ok, retry := l.Allow(TierProxy, key); ok {
			allowed++
		} else if retry <= 0 {
			t.Fatal("a denial without a retry delay")
		}
	}
	if allowed != 2 {
		t.Errorf("allowed %d of 1000 at once, want the burst, 2", allowed)
	}
	if rt := l.SharedRoundTrips(); rt > 3 {
		t.Errorf("%d round trips for 1000 requests on a spent budget, want at most 3", rt)
	}
}

// When the shared store fails, the server falls back to its own budget
// (so at most one budget per server passes) and reports the error.
func TestSharedBudgetFallsBackToLocal(t *testing.T) {
	c := newClock()
	shared := &gcraBudget{clock: c, tat: map[string]int64{}, fail: errors.New("connection refused")}
	l, err := New(Options{Now: c.Now, Limits: map[Tier]Limits{TierProxy: {Rate: 1, Burst: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	reported := 0
	l.SetShared(shared, func(error) { reported++ })
	allowed := 0
	for range 20 {
		if ok, _ := l.Allow(TierProxy, Key("agent", "a", "v")); ok {
			allowed++
		}
	}
	if allowed != 5 || reported == 0 {
		t.Errorf("with the shared store down: allowed %d (want the local burst, 5), errors reported %d", allowed, reported)
	}
}
