package ratelimit

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is an injected clock that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newLimiter(t testing.TB, o Options) (*Limiter, *clock) {
	t.Helper()
	c := newClock()
	if o.Now == nil {
		o.Now = c.Now
	}
	l, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l, c
}

// spend calls Allow until it refuses and returns how many passed, the
// refusal's retryAfter, and fails the test past limit calls.
func spend(t *testing.T, l *Limiter, tier Tier, key string, limit int) (int, time.Duration) {
	t.Helper()
	for i := 0; i < limit; i++ {
		if ok, ra := l.Allow(tier, key); !ok {
			return i, ra
		}
	}
	t.Fatalf("%v/%s: still allowed after %d calls", tier, key, limit)
	return 0, 0
}

func TestEachTierTripsAndRecovers(t *testing.T) {
	def, _ := ProfileLimits(ProfileDefault)
	for _, tier := range keyedTiers {
		t.Run(tier.String(), func(t *testing.T) {
			l, c := newLimiter(t, Options{})
			lim := def[tier]
			interval := time.Duration(float64(time.Second) / lim.Rate)

			n, ra := spend(t, l, tier, "k", 10*lim.Burst)
			if n != lim.Burst {
				t.Fatalf("passed %d at once, want the burst %d", n, lim.Burst)
			}
			if ra != interval {
				t.Fatalf("retryAfter = %v, want %v", ra, interval)
			}
			// Another key is unaffected.
			if ok, _ := l.Allow(tier, "other"); !ok {
				t.Fatal("another key was refused")
			}
			// Just before retryAfter: still refused, with the remainder.
			c.Advance(ra - time.Nanosecond)
			if ok, ra2 := l.Allow(tier, "k"); ok || ra2 != time.Nanosecond {
				t.Fatalf("1ns early: ok=%v retryAfter=%v, want refused with 1ns", ok, ra2)
			}
			c.Advance(time.Nanosecond)
			if ok, _ := l.Allow(tier, "k"); !ok {
				t.Fatal("refused at retryAfter")
			}
			if ok, ra := l.Allow(tier, "k"); ok || ra != interval {
				t.Fatalf("second request after recovery of one: ok=%v retryAfter=%v", ok, ra)
			}
			// After burst × interval the whole burst is back.
			c.Advance(time.Duration(lim.Burst) * interval)
			if n, _ := spend(t, l, tier, "k", 10*lim.Burst); n != lim.Burst {
				t.Fatalf("after full recovery passed %d, want %d", n, lim.Burst)
			}
			if d := l.Stats().Denied[tier]; d != 4 {
				t.Fatalf("Denied[%v] = %d, want 4", tier, d)
			}
		})
	}
}

func TestBurstSemantics(t *testing.T) {
	l, c := newLimiter(t, Options{Limits: map[Tier]Limits{TierAPI: {Rate: 2, Burst: 5}}})
	if n, ra := spend(t, l, TierAPI, "s", 100); n != 5 || ra != 500*time.Millisecond {
		t.Fatalf("burst: passed %d retryAfter %v, want 5 and 500ms", n, ra)
	}
	// 1.25 s later two requests have recovered (one per 500 ms) and the
	// third waits for the remaining 250 ms.
	c.Advance(1250 * time.Millisecond)
	if n, ra := spend(t, l, TierAPI, "s", 100); n != 2 || ra != 250*time.Millisecond {
		t.Fatalf("partial recovery: passed %d retryAfter %v, want 2 and 250ms", n, ra)
	}
	// Idle far longer than needed: the burst does not grow past Burst.
	c.Advance(time.Hour)
	if n, _ := spend(t, l, TierAPI, "s", 100); n != 5 {
		t.Fatalf("after an hour passed %d, want 5", n)
	}
	// A steady stream at the rate is never refused.
	c.Advance(time.Hour)
	for i := range 1000 {
		if ok, _ := l.Allow(TierAPI, "steady"); !ok {
			t.Fatalf("steady request %d refused", i)
		}
		c.Advance(500 * time.Millisecond)
	}
}

func TestBurstDefaultsToOneSecondOfRate(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want int
	}{{10, 10}, {2.5, 3}, {0.1, 1}} {
		l, _ := newLimiter(t, Options{Limits: map[Tier]Limits{TierAPI: {Rate: tc.rate, Burst: -1}}})
		if n, _ := spend(t, l, TierAPI, "s", 100); n != tc.want {
			t.Errorf("rate %v with no burst: passed %d, want %d", tc.rate, n, tc.want)
		}
	}
}

func TestFailureOnlyAuthBudget(t *testing.T) {
	l, c := newLimiter(t, Options{}) // default: 10 failures per minute
	const ip = "203.0.113.7"

	// Successes spend nothing: a client that authenticates every time
	// only ever asks Blocked, and reserves-then-refunds with Attempt.
	for range 1000 {
		if b, _ := l.Blocked(TierAuth, ip); b {
			t.Fatal("blocked without failures")
		}
		done, ok, _ := l.Attempt(TierAuth, ip)
		if !ok {
			t.Fatal("Attempt refused without failures")
		}
		done(true)
	}
	// Blocked creates no state for unknown keys.
	if b, _ := l.Blocked(TierAuth, "198.51.100.1"); b {
		t.Fatal("unknown key blocked")
	}

	for i := 1; i <= 9; i++ {
		if b, _ := l.Fail(TierAuth, ip); b {
			t.Fatalf("blocked after %d failures, want 10", i)
		}
	}
	if b, _ := l.Blocked(TierAuth, ip); b {
		t.Fatal("Blocked after 9 failures")
	}
	b, ra := l.Fail(TierAuth, ip)
	if !b || ra != 6*time.Second {
		t.Fatalf("10th failure: blocked=%v retryAfter=%v, want true 6s", b, ra)
	}
	if b, ra := l.Blocked(TierAuth, ip); !b || ra != 6*time.Second {
		t.Fatalf("Blocked = %v %v, want true 6s", b, ra)
	}
	if _, ok, ra := l.Attempt(TierAuth, ip); ok || ra != 6*time.Second {
		t.Fatalf("Attempt while blocked: ok=%v retryAfter=%v", ok, ra)
	}
	// Other addresses are not affected; nor is the auth tier's rate.
	if b, _ := l.Blocked(TierAuth, "203.0.113.8"); b {
		t.Fatal("another address blocked")
	}
	if ok, _ := l.Allow(TierAuth, ip); !ok {
		t.Fatal("failures spent the request rate")
	}

	// One attempt comes back every Window/Max.
	c.Advance(6*time.Second - time.Millisecond)
	if b, ra := l.Blocked(TierAuth, ip); !b || ra != time.Millisecond {
		t.Fatalf("1ms early: %v %v", b, ra)
	}
	c.Advance(time.Millisecond)
	if b, _ := l.Blocked(TierAuth, ip); b {
		t.Fatal("still blocked after retryAfter")
	}
	if b, ra := l.Fail(TierAuth, ip); !b || ra != 6*time.Second {
		t.Fatalf("failure after one recovered: %v %v", b, ra)
	}
	// Failures while blocked (a Blocked/Fail race) do not dig deeper.
	for range 50 {
		l.Fail(TierAuth, ip)
	}
	if _, ra := l.Blocked(TierAuth, ip); ra != 6*time.Second {
		t.Fatalf("after excess failures retryAfter = %v, want 6s", ra)
	}
	// A full window restores the whole budget.
	c.Advance(time.Minute)
	for i := 1; i <= 9; i++ {
		if b, _ := l.Fail(TierAuth, ip); b {
			t.Fatalf("after a window: blocked after %d failures", i)
		}
	}
	// Every refusal counts: 3 Blocked, 1 Attempt and the 52 failures that
	// found the budget spent (the callers answer those with 429 too).
	if s := l.Stats(); s.Denied[TierAuth] != 56 {
		t.Fatalf("Denied[auth] = %d, want 56 (3 Blocked + 1 Attempt + 52 blocked Fail)", s.Denied[TierAuth])
	}
}

func TestAttemptCannotBeOutrun(t *testing.T) {
	l, c := newLimiter(t, Options{})
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	var dones sync.Map
	for i := range 200 {
		wg.Go(func() {
			done, allowed, _ := l.Attempt(TierAuth, "ip")
			if allowed {
				ok.Add(1)
				dones.Store(i, done)
			} else {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 || refused.Load() != 190 {
		t.Fatalf("200 concurrent attempts: %d passed, %d refused; want 10 and 190", ok.Load(), refused.Load())
	}
	// Refunding the successes reopens the budget; a double call refunds once.
	n := 0
	dones.Range(func(_, v any) bool {
		done := v.(func(bool))
		if n < 3 {
			done(true)
			done(true)
		} else {
			done(false)
		}
		n++
		return true
	})
	for i := range 3 {
		if _, allowed, _ := l.Attempt(TierAuth, "ip"); !allowed {
			t.Fatalf("attempt %d after 3 refunds refused", i)
		}
	}
	if _, allowed, ra := l.Attempt(TierAuth, "ip"); allowed || ra != 6*time.Second {
		t.Fatalf("4th attempt after 3 refunds: allowed=%v retryAfter=%v", allowed, ra)
	}
	c.Advance(time.Minute)
	if _, allowed, _ := l.Attempt(TierAuth, "ip"); !allowed {
		t.Fatal("not recovered after a window")
	}
}

func TestConcurrencyCapWithRelease(t *testing.T) {
	l, _ := newLimiter(t, Options{Limits: map[Tier]Limits{TierProxy: {Concurrency: 3}}})
	key := Key("agent", "a1", "vault")
	var rels []func()
	for i := range 3 {
		rel, ok, _ := l.Acquire(TierProxy, key)
		if !ok {
			t.Fatalf("acquire %d refused", i)
		}
		rels = append(rels, rel)
	}
	rel, ok, ra := l.Acquire(TierProxy, key)
	if ok || ra != BusyRetryAfter || rel == nil {
		t.Fatalf("4th acquire: ok=%v retryAfter=%v release nil=%v", ok, ra, rel == nil)
	}
	rel() // the no-op release of a refusal is harmless
	if _, ok, _ := l.Acquire(TierProxy, Key("agent", "a1", "other-vault")); !ok {
		t.Fatal("another vault of the same agent was refused")
	}
	rels[0]()
	rels[0]() // idempotent: frees one slot, not two
	if _, ok, _ := l.Acquire(TierProxy, key); !ok {
		t.Fatal("refused after a release")
	}
	if _, ok, _ := l.Acquire(TierProxy, key); ok {
		t.Fatal("double release freed two slots")
	}
	if d := l.Stats().Denied[TierProxy]; d != 2 {
		t.Fatalf("Denied[proxy] = %d, want 2", d)
	}
}

func TestConcurrencyCapHoldsUnderContention(t *testing.T) {
	const limit = 8
	l, _ := newLimiter(t, Options{Limits: map[Tier]Limits{TierProxy: {Rate: -1, Concurrency: limit}}})
	var cur, peak atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 200 {
				rel, ok, _ := l.Acquire(TierProxy, "k")
				if !ok {
					continue
				}
				n := cur.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				cur.Add(-1)
				rel()
			}
		})
	}
	wg.Wait()
	if peak.Load() > limit {
		t.Fatalf("peak concurrency %d exceeds cap %d", peak.Load(), limit)
	}
}

func TestGlobalCeiling(t *testing.T) {
	l, _ := newLimiter(t, Options{Global: 2})
	r1, ok1, _ := l.AcquireGlobal()
	r2, ok2, _ := l.Acquire(TierGlobal, "ignored")
	if !ok1 || !ok2 {
		t.Fatal("slots under the ceiling refused")
	}
	if _, ok, ra := l.AcquireGlobal(); ok || ra != BusyRetryAfter {
		t.Fatalf("third global slot: ok=%v retryAfter=%v", ok, ra)
	}
	if s := l.Stats(); s.InFlight != 2 || s.Denied[TierGlobal] != 1 {
		t.Fatalf("stats = %+v, want 2 in flight and 1 global denial", s)
	}
	r1()
	r1()
	r3, ok, _ := l.AcquireGlobal()
	if !ok {
		t.Fatal("refused after release")
	}
	if _, ok, _ := l.AcquireGlobal(); ok {
		t.Fatal("double release freed two global slots")
	}
	r2()
	r3()
	if s := l.Stats(); s.InFlight != 0 {
		t.Fatalf("InFlight = %d after all releases", s.InFlight)
	}
}

func TestGlobalFromOverridesAndProfile(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want int
	}{
		{"profile", Options{}, 1024},
		{"strict", Options{Profile: ProfileStrict}, 256},
		{"override", Options{Limits: map[Tier]Limits{TierGlobal: {Concurrency: 7}}}, 7},
		{"override max", Options{Limits: map[Tier]Limits{TierGlobal: {Max: 9}}}, 9},
		{"option wins", Options{Global: 5, Limits: map[Tier]Limits{TierGlobal: {Concurrency: 7}}}, 5},
		{"switched off", Options{Limits: map[Tier]Limits{TierGlobal: {Concurrency: -1}}}, 0},
		{"off profile", Options{Profile: ProfileOff, Global: 5}, 0},
	} {
		l, _ := newLimiter(t, tc.o)
		if g := l.Settings().Global; g != tc.want {
			t.Errorf("%s: Global = %d, want %d", tc.name, g, tc.want)
		}
	}
}

// TestFanOut64 drives 64 concurrent streams from one agent through one
// vault under the default profile: none may be refused.
func TestFanOut64(t *testing.T) {
	l, c := newLimiter(t, Options{})
	key := Key("agent", "agt_1", "prod")
	for round := range 10 {
		var refused atomic.Int32
		var held, wg sync.WaitGroup
		release := make(chan struct{})
		held.Add(64)
		for range 64 {
			wg.Go(func() {
				g, ok, _ := l.AcquireGlobal()
				if !ok {
					refused.Add(1)
				}
				defer g()
				if ok, _ := l.Allow(TierProxy, key); !ok {
					refused.Add(1)
				}
				r, ok, _ := l.Acquire(TierProxy, key)
				if !ok {
					refused.Add(1)
				}
				defer r()
				held.Done()
				<-release // all 64 streams are open at once
			})
		}
		held.Wait()
		if s := l.Stats(); s.InFlight != 64 {
			t.Fatalf("round %d: InFlight = %d, want 64", round, s.InFlight)
		}
		close(release)
		wg.Wait()
		if n := refused.Load(); n != 0 {
			t.Fatalf("round %d: %d refusals for 64 concurrent streams", round, n)
		}
		c.Advance(time.Second) // a new wave of 64 streams every second
	}
	if s := l.Stats(); s.Denied[TierProxy]+s.Denied[TierGlobal] != 0 {
		t.Fatalf("denials: %v", s.Denied)
	}
}

func TestOffNeverDenies(t *testing.T) {
	l, _ := newLimiter(t, Options{
		Profile: ProfileOff,
		Global:  1,
		Limits:  map[Tier]Limits{TierProxy: {Rate: 1, Burst: 1, Concurrency: 1}, TierAuth: {Max: 1, Window: time.Hour}},
	})
	for i := range 10000 {
		for _, tier := range keyedTiers {
			if ok, _ := l.Allow(tier, "k"); !ok {
				t.Fatalf("Allow %v refused (%d)", tier, i)
			}
			if _, ok, _ := l.Acquire(tier, "k"); !ok {
				t.Fatalf("Acquire %v refused (%d)", tier, i)
			}
		}
		if _, ok, _ := l.AcquireGlobal(); !ok {
			t.Fatal("AcquireGlobal refused")
		}
		if b, _ := l.Fail(TierAuth, "ip"); b {
			t.Fatal("Fail blocked")
		}
		if b, _ := l.Blocked(TierAuth, "ip"); b {
			t.Fatal("Blocked")
		}
		if _, ok, _ := l.Attempt(TierAuth, "ip"); !ok {
			t.Fatal("Attempt refused")
		}
	}
	s := l.Stats()
	for tier, n := range s.Denied {
		if n != 0 {
			t.Errorf("Denied[%v] = %d", tier, n)
		}
	}
	for tier, n := range s.Keys {
		if n != 0 {
			t.Errorf("Keys[%v] = %d: off should track nothing", tier, n)
		}
	}
	if st := l.Settings(); st.Profile != ProfileOff || st.Global != 0 || st.Limits[TierProxy] != (Limits{}) {
		t.Errorf("Settings = %+v", st)
	}
}

func TestUpdate(t *testing.T) {
	l, c := newLimiter(t, Options{Limits: map[Tier]Limits{TierAPI: {Rate: 1, Burst: 2}}})
	spend(t, l, TierAPI, "s", 10)
	if err := l.Update(ProfileDefault, map[Tier]Limits{TierAPI: {Rate: 10, Burst: 2}}, 0); err != nil {
		t.Fatal(err)
	}
	// The key keeps its state: still refused, but now for the new interval.
	if ok, ra := l.Allow(TierAPI, "s"); ok || ra > 2*time.Second {
		t.Fatalf("after Update: ok=%v retryAfter=%v", ok, ra)
	}
	c.Advance(2 * time.Second)
	if n, ra := spend(t, l, TierAPI, "s", 10); n != 2 || ra != 100*time.Millisecond {
		t.Fatalf("new limits: passed %d retryAfter %v", n, ra)
	}
	if got := l.Settings().Limits[TierAPI]; got != (Limits{Rate: 10, Burst: 2}) {
		t.Fatalf("Settings API = %+v", got)
	}
	if err := l.Update("bogus", nil, 0); err == nil {
		t.Fatal("unknown profile accepted")
	}
	if err := l.Update(ProfileOff, nil, 0); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Allow(TierAPI, "s"); !ok {
		t.Fatal("refused after Update to off")
	}
}

func TestUpdateRefusedWhenLocked(t *testing.T) {
	l, _ := newLimiter(t, Options{Locked: true, Limits: map[Tier]Limits{TierAPI: {Rate: 1, Burst: 1}}})
	err := l.Update(ProfileOff, nil, 0)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Update while locked: %v, want ErrLocked", err)
	}
	if st := l.Settings(); !st.Locked || st.Profile != ProfileDefault || !l.Locked() {
		t.Fatalf("Settings = %+v", st)
	}
	l.Allow(TierAPI, "s")
	if ok, _ := l.Allow(TierAPI, "s"); ok {
		t.Fatal("limits changed despite the lock")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Profile: "medium"},
		{Limits: map[Tier]Limits{TierAPI: {Rate: nan()}}},
		{Limits: map[Tier]Limits{Tier(42): {Rate: 1}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func nan() float64 { var z float64; return z / z }

func TestUnknownTierAllows(t *testing.T) {
	l, _ := newLimiter(t, Options{Profile: ProfileStrict})
	for _, tier := range []Tier{0, TierGlobal, 99} {
		if ok, _ := l.Allow(tier, "k"); !ok {
			t.Errorf("Allow(%v) refused", tier)
		}
		if b, _ := l.Fail(tier, "k"); b {
			t.Errorf("Fail(%v) blocked", tier)
		}
	}
}

func TestMemoryBound(t *testing.T) {
	l, c := newLimiter(t, Options{MaxKeys: 1000})
	for i := range 100000 {
		key := fmt.Sprintf("203.0.%d.%d", i/256, i%256)
		l.Allow(TierAuth, key)
		l.Fail(TierAuth, key)
		rel, _, _ := l.Acquire(TierProxy, key)
		rel()
		if i%1000 == 0 {
			c.Advance(time.Millisecond)
		}
	}
	s := l.Stats()
	for _, tier := range keyedTiers {
		if s.Keys[tier] > 1000 {
			t.Errorf("Keys[%v] = %d, want ≤ 1000", tier, s.Keys[tier])
		}
	}
	if s.Keys[TierAuth] < 500 || s.Evicted == 0 {
		t.Errorf("Keys[auth] = %d, Evicted = %d: the store should be in use and evicting", s.Keys[TierAuth], s.Evicted)
	}
	if s.Keys[TierAPI] != 0 {
		t.Errorf("Keys[api] = %d: tiers do not share a store", s.Keys[TierAPI])
	}
}

func TestEvictionPrefersRecoveredKeys(t *testing.T) {
	// 8 keys fit in a single shard.
	l, c := newLimiter(t, Options{MaxKeys: 8, Limits: map[Tier]Limits{TierProxy: {Concurrency: 1}}})
	if _, ok, _ := l.Acquire(TierProxy, "busy"); !ok {
		t.Fatal("first acquire refused")
	}
	for i := range 1000 {
		l.Allow(TierProxy, fmt.Sprint("flood", i))
		c.Advance(20 * time.Millisecond) // each flood key recovers in 10ms
	}
	if _, ok, _ := l.Acquire(TierProxy, "busy"); ok {
		t.Fatal("the busy key was evicted by a flood of recovered keys")
	}
	if n := l.Stats().Keys[TierProxy]; n > 8 {
		t.Fatalf("Keys = %d, want ≤ 8", n)
	}
}

func TestEvictionKeepsBlockedAddresses(t *testing.T) {
	l, c := newLimiter(t, Options{MaxKeys: 8, Limits: map[Tier]Limits{TierAuth: {Max: 3, Window: time.Hour}}})
	for range 3 {
		l.Fail(TierAuth, "attacker")
	}
	// Fresh addresses, each recovered (rate 5/s) before the next arrives:
	// dropping them loses nothing, dropping the attacker would unblock it.
	for i := range 1000 {
		l.Allow(TierAuth, fmt.Sprint("198.51.100.", i))
		c.Advance(250 * time.Millisecond)
	}
	if b, _ := l.Blocked(TierAuth, "attacker"); !b {
		t.Fatal("a flood of fresh addresses evicted a blocked one")
	}
}

func TestIdleEviction(t *testing.T) {
	l, c := newLimiter(t, Options{IdleTTL: time.Minute, Limits: map[Tier]Limits{TierAuth: {Max: 10, Window: 10 * time.Minute}}})
	for i := range 100 {
		l.Allow(TierAPI, fmt.Sprint("s", i))
	}
	rel, _, _ := l.Acquire(TierProxy, "streaming")
	for range 10 {
		l.Fail(TierAuth, "attacker") // budget back after 10m
	}
	c.Advance(30 * time.Second)
	if n := l.Sweep(time.Time{}); n != 0 {
		t.Fatalf("Sweep before the TTL removed %d", n)
	}
	l.Allow(TierAPI, "s0") // used again: stays
	c.Advance(31 * time.Second)
	if n := l.Sweep(c.Now()); n != 99 {
		t.Fatalf("Sweep removed %d, want the 99 idle API keys", n)
	}
	s := l.Stats()
	if s.Keys[TierAPI] != 1 || s.Keys[TierProxy] != 1 || s.Keys[TierAuth] != 1 {
		t.Fatalf("Keys = %v, want 1 each (recent, in flight, still recovering)", s.Keys)
	}
	rel()
	c.Advance(10 * time.Minute)
	if n := l.Sweep(time.Time{}); n != 3 {
		t.Fatalf("final Sweep removed %d, want 3", n)
	}
}

func TestLazyIdleEviction(t *testing.T) {
	// One shard, so that new keys meet the idle ones.
	l, c := newLimiter(t, Options{IdleTTL: time.Minute, MaxKeys: 8})
	for i := range 8 {
		l.Allow(TierAPI, fmt.Sprint("old", i))
	}
	c.Advance(2 * time.Minute)
	for i := range 4 {
		l.Allow(TierAPI, fmt.Sprint("new", i))
	}
	if s := l.Stats(); s.Keys[TierAPI] != 4 || s.Evicted != 0 {
		t.Fatalf("Keys = %d, Evicted = %d: new keys should reap idle ones without evicting", s.Keys[TierAPI], s.Evicted)
	}
}

func TestSettingsIsACopy(t *testing.T) {
	l, _ := newLimiter(t, Options{})
	s := l.Settings()
	s.Limits[TierProxy] = Limits{Concurrency: 1}
	if l.Settings().Limits[TierProxy].Concurrency != 128 {
		t.Fatal("Settings exposed internal state")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{
		0: 1, time.Nanosecond: 1, time.Second: 1, time.Second + 1: 2,
		6 * time.Second: 6, 5900 * time.Millisecond: 6, time.Duration(1 << 62): 1<<31 - 1,
	} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestKey(t *testing.T) {
	if Key("a", "bc") == Key("ab", "c") || Key("a\x00", "b") == Key("a", "\x00b") {
		t.Fatal("keys collide")
	}
	if k := Key("agent", "agt_1", "prod"); k != "5:agent5:agt_14:prod" {
		t.Fatalf("Key = %q", k)
	}
}
