package password

import (
	"errors"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Every Argon2id run takes Params.MemoryKiB of memory (64 MiB by
// default) for its duration, and some of them (registration, invite
// acceptance, login with an unknown email) can be started by anyone. A
// process-wide gate bounds how many run at once; a few more callers wait
// their turn, and beyond that Hash and Verify fail at once with ErrBusy
// (the server answers 503 with Retry-After), so that a burst of requests
// costs memory bounded by the gate, not by the burst.

// A run's memory is garbage once it returns, but the collector would only
// reclaim it when the heap reaches twice its size at the last collection:
// with runs back to back, the heap (and the resident set) grows to about
// twice what the runs in progress hold. Releasing a place therefore
// collects first (a few milliseconds next to a run's ~100 ms; the blocks
// hold no pointers, so there is little to mark), and the next run reuses
// the memory instead of growing the heap.

// Once the last run finishes and nobody waits, the memory is returned to
// the operating system at once (debug.FreeOSMemory: a collection, then
// the free pages released). Left to the runtime's background scavenger,
// a single unlock or login kept the resident set 60 MB or more above the
// steady state for minutes; returning it costs a few milliseconds after a
// burst, not after every run.

// Default limits of the gate: two runs at once (128 MiB with the default
// parameters) and eight callers waiting.
const (
	DefaultConcurrent = 2
	DefaultQueue      = 8
)

// ErrBusy means that the gate is full: try again shortly.
var ErrBusy = errors.New("password: too many password checks in progress; try again in a moment")

// RetryAfterSeconds is what to tell a caller refused with ErrBusy.
const RetryAfterSeconds = 1

type gate struct {
	slots   chan struct{}
	mu      sync.Mutex
	waiting int
	queue   int
}

var current atomic.Pointer[gate]

func init() { SetLimits(DefaultConcurrent, DefaultQueue) }

// SetLimits sets how many Argon2id runs may proceed at once (at least 1)
// and how many more callers may wait for one (at least 0). Runs already
// holding a place in the old gate finish under it.
func SetLimits(concurrent, queue int) {
	current.Store(&gate{slots: make(chan struct{}, max(concurrent, 1)), queue: max(queue, 0)})
}

// Acquire takes a place at the gate for one Argon2id run made outside
// this package (the keyring's key derivation), waiting in the queue if it
// has room; with wait set it waits however long the queue is. The caller
// must call release once the run is over.
func Acquire(wait bool) (release func(), err error) { return acquire(wait) }

func acquire(wait bool) (release func(), err error) {
	g := current.Load()
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	default:
	}
	g.mu.Lock()
	if !wait && g.waiting >= g.queue {
		g.mu.Unlock()
		return nil, ErrBusy
	}
	g.waiting++
	g.mu.Unlock()
	g.slots <- struct{}{}
	g.mu.Lock()
	g.waiting--
	g.mu.Unlock()
	return g.release, nil
}

// release collects the finished run's memory, then frees its place; the
// last one out hands the memory back to the operating system. "Last" is
// judged after freeing the place, so that of two runs ending together the
// later one always sees the gate empty.
func (g *gate) release() {
	runtime.GC()
	<-g.slots
	g.mu.Lock()
	idle := len(g.slots) == 0 && g.waiting == 0
	g.mu.Unlock()
	if idle {
		debug.FreeOSMemory()
	}
}
