package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	// DefaultMaxKeys bounds the keys tracked per tier when
	// Options.MaxKeys is zero.
	DefaultMaxKeys = 10000
	// DefaultIdleTTL is Options.IdleTTL when zero.
	DefaultIdleTTL = 10 * time.Minute
)

// BusyRetryAfter is the retry delay reported when a concurrency cap or the
// global ceiling refuses a request: how long a slot takes to free cannot be
// known, so the client is asked to come back shortly.
const BusyRetryAfter = time.Second

// ErrLocked is returned by Update when the limits were locked at start-up
// (AGENT_VAULT_RATELIMIT_LOCK).
var ErrLocked = errors.New("ratelimit: limits are locked by AGENT_VAULT_RATELIMIT_LOCK and cannot be changed at runtime")

// maxSpan caps every computed duration so that sums of a timestamp and a
// few spans cannot overflow int64.
const maxSpan = int64(1) << 60

// Options configures New.
type Options struct {
	// Profile names the default limits; empty means ProfileDefault.
	// ProfileOff disables every limit, whatever Limits and Global say.
	Profile Profile
	// Limits overrides the profile knob by knob, as Merge does (a map
	// already merged with ProfileLimits works too). A TierGlobal entry's
	// Concurrency (or Max) sets the in-flight ceiling.
	Limits map[Tier]Limits
	// Global, when non-zero, sets the in-flight ceiling, taking precedence
	// over Limits and the profile; negative means no ceiling.
	Global int
	// Locked makes Update refuse every change (AGENT_VAULT_RATELIMIT_LOCK).
	Locked bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxKeys bounds the keys tracked per keyed tier; zero means
	// DefaultMaxKeys.
	MaxKeys int
	// IdleTTL is how long a key whose budget has recovered is kept after
	// its last use; zero means DefaultIdleTTL.
	IdleTTL time.Duration
}

// tierConfig is one tier's limits in the units the hot path uses.
type tierConfig struct {
	interval  int64 // ns between requests; 0 = no rate limit
	tolerance int64 // interval × burst
	finterval int64 // ns between failures; 0 = no failure budget
	flimit    int64 // finterval × Max
	conc      int32 // 0 = no concurrency cap
}

// config is an immutable snapshot of the limits, swapped by Update.
type config struct {
	profile Profile
	off     bool
	limits  map[Tier]Limits // effective, for Settings
	global  int64           // 0 = no ceiling
	tiers   [numTiers]tierConfig
}

func compile(p Profile, overrides map[Tier]Limits, global int) (*config, error) {
	if p == "" {
		p = ProfileDefault
	}
	if !p.valid() {
		return nil, fmt.Errorf("ratelimit: unknown profile %q (want default, strict, loose or off)", p)
	}
	c := &config{profile: p}
	if p == ProfileOff {
		c.off = true
		c.limits, _ = ProfileLimits(ProfileOff)
		return c, nil
	}
	base, g := ProfileLimits(p)
	eff := Merge(base, overrides)
	ceiling := int(g)
	if o, ok := eff[TierGlobal]; ok {
		if o.Max != 0 {
			ceiling = o.Max
		}
		if o.Concurrency != 0 {
			ceiling = o.Concurrency
		}
		delete(eff, TierGlobal)
	}
	if global != 0 {
		ceiling = global
	}
	c.global = int64(max(ceiling, 0))
	for t, l := range eff {
		if !t.keyed() {
			return nil, fmt.Errorf("ratelimit: limits for unknown %v", t)
		}
		if math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0) {
			return nil, fmt.Errorf("ratelimit: %v rate %v is not a finite number", t, l.Rate)
		}
		c.tiers[t] = compileTier(l)
	}
	c.limits = eff
	return c, nil
}

func compileTier(l Limits) tierConfig {
	var tc tierConfig
	if l.Rate > 0 {
		iv := int64(min(math.Max(float64(time.Second)/l.Rate, 1), float64(maxSpan)))
		burst := int64(l.Burst)
		if burst <= 0 {
			burst = max(1, int64(math.Ceil(min(l.Rate, float64(math.MaxInt32)))))
		}
		tc.interval, tc.tolerance = iv, mulCap(iv, burst)
	}
	if l.Max > 0 && l.Window > 0 {
		fi := max(1, int64(l.Window)/int64(l.Max))
		tc.finterval, tc.flimit = fi, mulCap(fi, int64(l.Max))
	}
	if l.Concurrency > 0 {
		tc.conc = int32(min(l.Concurrency, math.MaxInt32))
	}
	return tc
}

// mulCap returns a×b capped at maxSpan, for positive a and b.
func mulCap(a, b int64) int64 {
	if a > maxSpan/b {
		return maxSpan
	}
	return a * b
}

// counter is an atomic counter on its own cache line.
type counter struct {
	n atomic.Uint64
	_ [56]byte
}

// Limiter enforces the budgets. Its methods are safe for concurrent use;
// none takes a lock shared by all keys.
type Limiter struct {
	now      func() time.Time
	epoch    time.Time
	ttl      int64
	locked   bool
	cfg      atomic.Pointer[config]
	stores   [numTiers]*store // nil for TierGlobal
	shared   atomic.Pointer[sharedState]
	_        [64]byte // keep the read-mostly fields above off inflight's line
	inflight atomic.Int64
	_        [56]byte
	denied   [numTiers]counter
}

// New returns a Limiter configured by o. It fails on an unknown profile or
// a rate that is not a finite number.
func New(o Options) (*Limiter, error) {
	c, err := compile(o.Profile, o.Limits, o.Global)
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	maxKeys := o.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	ttl := o.IdleTTL
	if ttl <= 0 {
		ttl = DefaultIdleTTL
	}
	l := &Limiter{now: now, epoch: now(), ttl: int64(ttl), locked: o.Locked}
	for _, t := range keyedTiers {
		l.stores[t] = newStore(maxKeys)
	}
	l.cfg.Store(c)
	return l, nil
}

// nanos converts a time to the limiter's clock: ns since New.
func (l *Limiter) nanos(t time.Time) int64 { return int64(t.Sub(l.epoch)) }

// keyed returns the tier's limits and store, or false when t is not a
// keyed tier or the limiter is off.
func (l *Limiter) keyed(t Tier) (*tierConfig, *store, bool) {
	if !t.keyed() {
		return nil, nil, false
	}
	c := l.cfg.Load()
	if c.off {
		return nil, nil, false
	}
	return &c.tiers[t], l.stores[t], true
}

func (l *Limiter) deny(t Tier) { l.denied[t].n.Add(1) }

// Allow spends one request of key's rate budget in tier t. When the budget
// is exhausted it returns false and how long until a request would pass.
// A tier without a rate, TierGlobal, an unknown tier and a limiter that is
// off always allow.
func (l *Limiter) Allow(t Tier, key string) (ok bool, retryAfter time.Duration) {
	tc, st, on := l.keyed(t)
	if !on || tc.interval == 0 {
		return true, 0
	}
	if t == TierProxy {
		if sh := l.shared.Load(); sh != nil {
			return l.allowShared(sh, t, tc, st, key)
		}
	}
	return l.allowLocal(t, tc, st, key)
}

// allowLocal is Allow on this server's own budget.
func (l *Limiter) allowLocal(t Tier, tc *tierConfig, st *store, key string) (ok bool, retryAfter time.Duration) {
	now := l.nanos(l.now())
	s := st.shard(key)
	s.mu.Lock()
	e := s.get(st, key, now, now-l.ttl)
	tat := max(e.tat, now) + tc.interval
	if wait := tat - now - tc.tolerance; wait > 0 {
		s.mu.Unlock()
		l.deny(t)
		return false, time.Duration(wait)
	}
	e.tat = tat
	s.mu.Unlock()
	return true, 0
}

// Fail charges one failure (a bad password or token) to key's failure
// budget in tier t (normally TierAuth keyed by IPKey). It returns whether
// the key is now blocked, that is whether Blocked would refuse it, and for
// how long; a blocked answer counts as a denial in Stats, since the caller
// answers it with a 429. Successful authentications are never charged, so
// they do not spend the budget. The budget never runs deeper than Max
// failures: a key blocked by any number of failures gets one attempt back
// every Window/Max.
func (l *Limiter) Fail(t Tier, key string) (blocked bool, retryAfter time.Duration) {
	tc, st, on := l.keyed(t)
	if !on || tc.finterval == 0 {
		return false, 0
	}
	now := l.nanos(l.now())
	s := st.shard(key)
	s.mu.Lock()
	e := s.get(st, key, now, now-l.ttl)
	e.ftat = min(max(e.ftat, now)+tc.finterval, now+tc.flimit)
	wait := e.ftat + tc.finterval - now - tc.flimit
	s.mu.Unlock()
	if wait > 0 {
		l.deny(t) // both callers answer this attempt with a 429
		return true, time.Duration(wait)
	}
	return false, 0
}

// Blocked reports whether key has exhausted its failure budget in tier t,
// so that the request should be refused before authenticating, and how
// long until one more attempt is allowed. It charges nothing and never
// creates state for an unknown key.
func (l *Limiter) Blocked(t Tier, key string) (blocked bool, retryAfter time.Duration) {
	tc, st, on := l.keyed(t)
	if !on || tc.finterval == 0 {
		return false, 0
	}
	now := l.nanos(l.now())
	s := st.shard(key)
	s.mu.Lock()
	e := s.lookup(key, now)
	var wait int64
	if e != nil {
		wait = max(e.ftat, now) + tc.finterval - now - tc.flimit
	}
	s.mu.Unlock()
	if wait > 0 {
		l.deny(t)
		return true, time.Duration(wait)
	}
	return false, 0
}

// Attempt reserves one failure from key's failure budget in tier t before
// an authentication attempt, so that concurrent guesses cannot all pass a
// Blocked check before any Fail lands. When the budget is exhausted it
// returns ok false and the delay, and done does nothing. Otherwise the
// caller must call done once with the outcome: done(true) refunds the
// reservation (a success spends nothing), done(false) keeps it as the
// failure. done is never nil.
func (l *Limiter) Attempt(t Tier, key string) (done func(success bool), ok bool, retryAfter time.Duration) {
	tc, st, on := l.keyed(t)
	if !on || tc.finterval == 0 {
		return func(bool) {}, true, 0
	}
	now := l.nanos(l.now())
	s := st.shard(key)
	s.mu.Lock()
	e := s.get(st, key, now, now-l.ttl)
	tat := max(e.ftat, now) + tc.finterval
	if wait := tat - now - tc.flimit; wait > 0 {
		s.mu.Unlock()
		l.deny(t)
		return func(bool) {}, false, time.Duration(wait)
	}
	e.ftat = tat
	s.mu.Unlock()
	fi := tc.finterval
	var once atomic.Bool
	return func(success bool) {
		if once.Swap(true) || !success {
			return
		}
		s.mu.Lock()
		e.ftat -= fi
		s.mu.Unlock()
	}, true, 0
}

// Acquire takes one of key's concurrency slots in tier t (TierProxy by
// default). When all are taken it returns ok false and BusyRetryAfter.
// On success the caller must call release when the request or stream
// ends; release is idempotent and never nil. A tier without a cap, an
// unknown tier and a limiter that is off always succeed; TierGlobal is
// AcquireGlobal.
func (l *Limiter) Acquire(t Tier, key string) (release func(), ok bool, retryAfter time.Duration) {
	if t == TierGlobal {
		return l.AcquireGlobal()
	}
	tc, st, on := l.keyed(t)
	if !on || tc.conc == 0 {
		return noop, true, 0
	}
	now := l.nanos(l.now())
	s := st.shard(key)
	s.mu.Lock()
	e := s.get(st, key, now, now-l.ttl)
	if e.inflight >= tc.conc {
		s.mu.Unlock()
		l.deny(t)
		return noop, false, BusyRetryAfter
	}
	e.inflight++
	s.mu.Unlock()
	var once atomic.Bool
	return func() {
		if once.Swap(true) {
			return
		}
		s.mu.Lock()
		e.inflight--
		s.mu.Unlock()
	}, true, 0
}

// AcquireGlobal takes a slot under the instance-wide in-flight ceiling.
// When the ceiling is reached it returns ok false and BusyRetryAfter. On
// success the caller must call release when the request ends; release is
// idempotent and never nil.
func (l *Limiter) AcquireGlobal() (release func(), ok bool, retryAfter time.Duration) {
	c := l.cfg.Load()
	if c.off || c.global == 0 {
		return noop, true, 0
	}
	if l.inflight.Add(1) > c.global {
		l.inflight.Add(-1)
		l.deny(TierGlobal)
		return noop, false, BusyRetryAfter
	}
	var once atomic.Bool
	return func() {
		if !once.Swap(true) {
			l.inflight.Add(-1)
		}
	}, true, 0
}

func noop() {}

// Update replaces the limits at runtime, as New would compute them from
// the same three options, without losing the state of any key. It returns
// ErrLocked when Options.Locked was set, and an error for an unknown
// profile or a rate that is not a finite number; either way nothing
// changes.
func (l *Limiter) Update(p Profile, limits map[Tier]Limits, global int) error {
	if l.locked {
		return ErrLocked
	}
	c, err := compile(p, limits, global)
	if err != nil {
		return err
	}
	l.cfg.Store(c)
	return nil
}

// Settings describes the limits in force.
type Settings struct {
	// Profile is the profile the limits started from.
	Profile Profile
	// Limits holds the effective limits of TierAuth, TierAPI and
	// TierProxy; a knob ≤ 0 is off.
	Limits map[Tier]Limits
	// Global is the in-flight ceiling; 0 means none.
	Global int
	// Locked reports whether Update is refused.
	Locked bool
}

// Settings returns the limits in force.
func (l *Limiter) Settings() Settings {
	c := l.cfg.Load()
	return Settings{
		Profile: c.profile,
		Limits:  Merge(c.limits, nil),
		Global:  int(c.global),
		Locked:  l.locked,
	}
}

// Locked reports whether Update is refused.
func (l *Limiter) Locked() bool { return l.locked }

// Sweep removes every key idle for Options.IdleTTL before now whose budget
// has recovered, and returns how many it removed. The daemon calls it
// periodically; a zero now means the limiter's clock.
func (l *Limiter) Sweep(now time.Time) int {
	if now.IsZero() {
		now = l.now()
	}
	n := l.nanos(now)
	removed := 0
	for _, t := range keyedTiers {
		removed += l.stores[t].sweep(n, n-l.ttl)
	}
	return removed
}

// Stats is a snapshot of the limiter's counters, for metrics.
type Stats struct {
	// Denied counts refusals per tier since New: Allow, Acquire,
	// Attempt and Blocked refusals, and the global ceiling's under
	// TierGlobal.
	Denied map[Tier]uint64
	// Keys is the number of keys tracked per keyed tier.
	Keys map[Tier]int
	// Evicted counts keys dropped to honour MaxKeys (not idle removals).
	Evicted uint64
	// InFlight is the number of requests holding a global slot.
	InFlight int64
}

// Stats returns the current counters.
func (l *Limiter) Stats() Stats {
	s := Stats{
		Denied:   make(map[Tier]uint64, numTiers-1),
		Keys:     make(map[Tier]int, len(keyedTiers)),
		InFlight: l.inflight.Load(),
	}
	for t := TierAuth; t <= TierGlobal; t++ {
		s.Denied[t] = l.denied[t].n.Load()
	}
	for _, t := range keyedTiers {
		s.Keys[t] = l.stores[t].len()
		s.Evicted += l.stores[t].evicted.Load()
	}
	return s
}

// RetryAfterSeconds converts a retry delay into the whole seconds of a
// Retry-After header, rounding up, and at least 1.
func RetryAfterSeconds(d time.Duration) int {
	if d <= time.Second {
		return 1
	}
	s := (d + time.Second - 1) / time.Second
	return int(min(s, math.MaxInt32))
}
