package password

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

func mustHash(t testing.TB, pw []byte, p Params) string {
	t.Helper()
	h, err := Hash(pw, p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// With every run busy and the queue full, Hash and Verify refuse at once
// with ErrBusy instead of starting another Argon2id run; queued callers
// run as soon as a place frees up.
func TestGateRefusesBeyondRunsAndQueue(t *testing.T) {
	t.Cleanup(func() { SetLimits(DefaultConcurrent, DefaultQueue) })
	good := mustHash(t, []byte("pw"), testParams)
	SetLimits(1, 1)
	hold, err := acquire(false) // the one run, held by the test
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan error, 1)
	go func() { _, err := Hash([]byte("queued"), testParams); queued <- err }()
	waitFor(t, func() bool { g := current.Load(); g.mu.Lock(); defer g.mu.Unlock(); return g.waiting == 1 })

	if _, err := Hash([]byte("third"), testParams); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash beyond the gate: %v, want ErrBusy", err)
	}
	if ok, err := Verify([]byte("pw"), good); ok || !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify beyond the gate: %v %v, want false ErrBusy", ok, err)
	}
	select {
	case err := <-queued:
		t.Fatalf("the queued Hash ran while the only run was held: %v", err)
	default:
	}
	hold()
	if err := <-queued; err != nil {
		t.Fatalf("queued Hash: %v", err)
	}
	if ok, err := Verify([]byte("pw"), good); !ok || err != nil {
		t.Fatalf("Verify after the gate emptied: %v %v", ok, err)
	}
}

// However many callers arrive at once, no more than the gate's runs are
// inside Argon2id together, and every caller either hashes or gets ErrBusy.
func TestGateBoundsConcurrentRuns(t *testing.T) {
	t.Cleanup(func() { SetLimits(DefaultConcurrent, DefaultQueue) })
	SetLimits(2, 3)
	var mu sync.Mutex
	in, peak := 0, 0
	var wg sync.WaitGroup
	var busy, done int
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := acquire(false)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				busy++
				return
			}
			in++
			peak = max(peak, in)
			mu.Unlock()
			_ = hash([]byte("x"), testParams)
			mu.Lock()
			in--
			done++
			release()
		}()
	}
	wg.Wait()
	if peak > 2 || busy+done != 40 || done < 2 {
		t.Fatalf("peak %d runs at once (limit 2), %d done, %d busy", peak, done, busy)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 2000 && !cond(); i++ {
		time.Sleep(time.Millisecond) // poll the condition for up to ~2 s
	}
	if !cond() {
		t.Fatal("condition not reached")
	}
}

// After the last Argon2id run the process holds no more than a little
// of its memory: it went back to the operating system, not merely to the
// Go heap (where the resident set would keep it for minutes).
func TestLastRunReturnsMemoryToTheOS(t *testing.T) {
	p := Params{Time: 1, MemoryKiB: 64 * 1024, Threads: 1}
	if _, err := Hash([]byte("pw"), p); err != nil {
		t.Fatal(err)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	// Idle heap still mapped and resident: before the fix it was the whole
	// 64 MiB run; after it only what the scavenger keeps (well under 16 MiB).
	if kept := m.HeapIdle - m.HeapReleased; kept > 16<<20 {
		t.Fatalf("after the last run %d MiB of free heap stayed resident, want < 16 MiB", kept>>20)
	}
}

// Runs that end together still leave the memory returned: whichever
// releases its place last sees the gate empty.
func TestConcurrentRunsReturnMemoryToTheOS(t *testing.T) {
	p := Params{Time: 1, MemoryKiB: 32 * 1024, Threads: 1}
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := Hash([]byte("pw"), p); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if kept := m.HeapIdle - m.HeapReleased; kept > 16<<20 {
			t.Fatalf("round %d: after concurrent runs %d MiB of free heap stayed resident, want < 16 MiB", round, kept>>20)
		}
	}
}
