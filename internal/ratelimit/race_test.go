package ratelimit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRaceHammer drives every method from many goroutines over a small,
// overlapping key space with a store small enough to evict constantly.
// Run with -race; it also checks that caps hold and slots are returned.
func TestRaceHammer(t *testing.T) {
	const conc = 4
	c := newClock()
	l, err := New(Options{
		Now:     c.Now,
		MaxKeys: 64,
		IdleTTL: time.Millisecond,
		Global:  32,
		Limits:  map[Tier]Limits{TierProxy: {Rate: 1000, Burst: 50, Concurrency: conc}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = Key("agent", fmt.Sprint(i), "vault")
	}
	var held [16]atomic.Int32
	var over, globalHeld atomic.Int32
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 2000 {
				k := (g + i) % len(keys)
				switch i % 8 {
				case 0, 1, 2:
					l.Allow(TierProxy, keys[k])
				case 3, 4:
					gr, gok, _ := l.AcquireGlobal()
					if gok && globalHeld.Add(1) > 32 {
						over.Add(1)
					}
					rel, ok, _ := l.Acquire(TierProxy, keys[k])
					if ok {
						if held[k].Add(1) > conc {
							over.Add(1)
						}
						held[k].Add(-1)
					}
					rel()
					if gok {
						globalHeld.Add(-1)
					}
					gr()
				case 5:
					ip := fmt.Sprint("10.0.0.", i%300)
					if b, _ := l.Blocked(TierAuth, ip); !b {
						l.Fail(TierAuth, ip)
					}
					done, _, _ := l.Attempt(TierAuth, ip)
					done(i%2 == 0)
				case 6:
					l.Allow(TierAPI, fmt.Sprint("sess", i%500))
					c.Advance(time.Microsecond)
				case 7:
					switch i % 400 {
					case 7:
						l.Sweep(time.Time{})
					case 15:
						_ = l.Stats()
					case 23:
						_ = l.Update(ProfileDefault, map[Tier]Limits{TierProxy: {Concurrency: conc}}, 32)
					case 31:
						_ = l.Settings()
					}
				}
			}
		})
	}
	wg.Wait()
	if n := over.Load(); n != 0 {
		t.Fatalf("a cap was exceeded %d times", n)
	}
	s := l.Stats()
	if s.InFlight != 0 {
		t.Fatalf("InFlight = %d after all releases", s.InFlight)
	}
	for _, tier := range keyedTiers {
		if s.Keys[tier] > 64 {
			t.Errorf("Keys[%v] = %d > MaxKeys", tier, s.Keys[tier])
		}
	}
}
