package ratelimit

import (
	"context"
	"sync/atomic"
	"time"
)

// SharedBudget is a rate budget several servers draw from (on PostgreSQL:
// sqlstore's rate_budgets table). Lease takes up to n requests of key's
// budget at once, for a tier spending one request every interval with a
// burst of tolerance/interval, and returns how many it granted (0 when
// the budget is spent). The budget is one GCRA timestamp per key kept by
// the shared store and advanced on the store's clock, so servers with
// skewed clocks still share one budget.
type SharedBudget interface {
	Lease(ctx context.Context, key string, n, interval, tolerance int64) (granted int64, err error)
}

// Lease sizing and lifetime.
const (
	// leaseWindow sizes a batch: the requests the tier's rate allows in
	// this long, so that a busy key costs the database a round trip
	// about four times a second per server, whatever its rate.
	leaseWindow = 250 * time.Millisecond
	// leaseTTL is how long leased requests stay usable; what is unused
	// then is forfeited (it was already counted as spent).
	leaseTTL = time.Second
	// leaseTimeout bounds one round trip to the shared store; past it the
	// server falls back to its own budget for that request.
	leaseTimeout = 500 * time.Millisecond
)

// SetShared makes Allow(TierProxy, …) draw from b in batches instead of
// the server's own budget, so that servers sharing b enforce one budget
// per key together. nil goes back to per-server budgets. onErr, if set,
// is told when the shared store fails; the request is then judged by the
// server's own budget.
func (l *Limiter) SetShared(b SharedBudget, onErr func(error)) {
	if b == nil {
		l.shared.Store(nil)
		return
	}
	l.shared.Store(&sharedState{b: b, onErr: onErr})
}

type sharedState struct {
	b     SharedBudget
	onErr func(error)
	// leases and round trips, for tests and metrics
	roundTrips atomic.Uint64
}

// SharedRoundTrips counts the leases asked of the shared budget.
func (l *Limiter) SharedRoundTrips() uint64 {
	if s := l.shared.Load(); s != nil {
		return s.roundTrips.Load()
	}
	return 0
}

// batchSize is how many requests one lease asks for.
func batchSize(tc *tierConfig) int64 {
	burst := tc.tolerance / tc.interval
	n := int64(leaseWindow) / tc.interval
	return max(1, min(n, burst/2))
}

// allowShared is Allow for a tier on a shared budget: spend a leased
// request when one is left, else lease a batch. A denial is remembered
// until a batch has refilled, so that a key hammering a spent budget
// costs the database one round trip per batch, not one per request.
func (l *Limiter) allowShared(sh *sharedState, t Tier, tc *tierConfig, st *store, key string) (bool, time.Duration) {
	now := l.nanos(l.now())
	s := st.shard(key)
	s.mu.Lock()
	e := s.get(st, key, now, now-l.ttl)
	if e.leased > 0 && e.leaseExp > now {
		e.leased--
		s.mu.Unlock()
		return true, 0
	}
	if e.deniedUntil > now {
		wait := e.deniedUntil - now
		s.mu.Unlock()
		l.deny(t)
		return false, time.Duration(wait)
	}
	s.mu.Unlock()

	n := batchSize(tc)
	ctx, cancel := context.WithTimeout(context.Background(), leaseTimeout)
	granted, err := sh.b.Lease(ctx, t.String()+"|"+key, n, tc.interval, tc.tolerance)
	cancel()
	sh.roundTrips.Add(1)
	if err != nil {
		if sh.onErr != nil {
			sh.onErr(err)
		}
		return l.allowLocal(t, tc, st, key)
	}
	now = l.nanos(l.now())
	s.mu.Lock()
	defer s.mu.Unlock()
	e = s.get(st, key, now, now-l.ttl)
	if granted <= 0 {
		// Ask again when a whole batch has refilled: a key held at its
		// limit costs a round trip per batch, not per request.
		wait := n * tc.interval
		e.deniedUntil = now + wait
		l.deny(t)
		return false, time.Duration(wait)
	}
	// This request takes one; the rest wait for the next ones.
	if e.leaseExp <= now {
		e.leased = 0
	}
	e.leased += granted - 1
	e.leaseExp = now + int64(leaseTTL)
	return true, 0
}
