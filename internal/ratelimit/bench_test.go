package ratelimit

import (
	"fmt"
	"sync/atomic"
	"testing"
)

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = Key("agent", fmt.Sprint("agt_", i), "vault")
	}
	return keys
}

// BenchmarkAllowParallel measures Allow from GOMAXPROCS goroutines on the
// real clock, with limits high enough that nothing is refused: over 1024
// keys (many agents) and on a single key (one agent's fan-out).
func BenchmarkAllowParallel(b *testing.B) {
	for _, n := range []int{1024, 1} {
		b.Run(fmt.Sprint("keys=", n), func(b *testing.B) {
			l, err := New(Options{Limits: map[Tier]Limits{TierProxy: {Rate: 1e9, Burst: 1 << 30}}})
			if err != nil {
				b.Fatal(err)
			}
			keys := benchKeys(n)
			var next atomic.Uint32
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(7919))
				for pb.Next() {
					if ok, _ := l.Allow(TierProxy, keys[i%n]); !ok {
						b.Error("refused")
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkAcquireParallel measures the proxy's per-request path:
// AcquireGlobal, Allow and Acquire on the proxy tier, then both releases.
func BenchmarkAcquireParallel(b *testing.B) {
	for _, n := range []int{1024, 1} {
		b.Run(fmt.Sprint("keys=", n), func(b *testing.B) {
			l, err := New(Options{
				Global: 1 << 20,
				Limits: map[Tier]Limits{TierProxy: {Rate: 1e9, Burst: 1 << 30, Concurrency: 1 << 20}},
			})
			if err != nil {
				b.Fatal(err)
			}
			keys := benchKeys(n)
			var next atomic.Uint32
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(7919))
				for pb.Next() {
					k := keys[i%n]
					g, ok1, _ := l.AcquireGlobal()
					ok2, _ := l.Allow(TierProxy, k)
					r, ok3, _ := l.Acquire(TierProxy, k)
					if !ok1 || !ok2 || !ok3 {
						b.Error("refused")
						return
					}
					r()
					g()
					i++
				}
			})
		})
	}
}
