package ratelimit

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// maxShards is the number of shards of a store with room for them.
const maxShards = 64

// evictScan bounds how many entries from the least recently used end a full
// shard inspects for one it can drop cheaply.
const evictScan = 16

// entry is the state of one key in one tier. Every field is guarded by the
// mutex of the shard that holds it (or held it, once evicted).
type entry struct {
	key        string
	prev, next *entry // LRU list; prev is more recently used
	tat        int64  // rate GCRA: theoretical arrival time, ns since epoch
	ftat       int64  // failure GCRA: theoretical arrival time
	last       int64  // last access
	inflight   int32  // held by Acquire
	// On a shared budget (SetShared): requests leased and not yet spent,
	// until leaseExp, and a remembered denial.
	leased      int64
	leaseExp    int64
	deniedUntil int64
}

// atRest reports whether the entry is indistinguishable from a fresh one,
// so that dropping it loses nothing.
func (e *entry) atRest(now int64) bool {
	return e.inflight == 0 && e.tat <= now && e.ftat <= now
}

// shard is one mutex-protected part of a store.
type shard struct {
	mu   sync.Mutex
	m    map[string]*entry
	head *entry // most recently used
	tail *entry // least recently used
	_    [96]byte
}

// store holds the entries of one keyed tier.
type store struct {
	seed    maphash.Seed
	mask    uint64
	perCap  int // entries per shard
	shards  []shard
	evicted atomic.Uint64
}

func newStore(maxKeys int) *store {
	n := 1
	for n*2 <= maxShards && maxKeys/(n*2) >= 8 {
		n *= 2
	}
	return &store{
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		perCap: max(1, maxKeys/n),
		shards: make([]shard, n),
	}
}

func (st *store) shard(key string) *shard {
	if st.mask == 0 {
		return &st.shards[0]
	}
	return &st.shards[maphash.String(st.seed, key)&st.mask]
}

// len counts the entries of the store.
func (st *store) len() int {
	n := 0
	for i := range st.shards {
		s := &st.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// sweep removes the entries idle since before cutoff whose budgets have
// recovered by now.
func (st *store) sweep(now, cutoff int64) int {
	n := 0
	for i := range st.shards {
		s := &st.shards[i]
		s.mu.Lock()
		n += s.reap(now, cutoff, -1)
		s.mu.Unlock()
	}
	return n
}

// lookup returns the entry of key, marking it used, or nil.
func (s *shard) lookup(key string, now int64) *entry {
	e := s.m[key]
	if e != nil {
		e.last = now
		if s.head != e {
			s.unlink(e)
			s.pushFront(e)
		}
	}
	return e
}

// get returns the entry of key, creating it (and making room) if needed.
func (s *shard) get(st *store, key string, now, cutoff int64) *entry {
	if e := s.lookup(key, now); e != nil {
		return e
	}
	s.reap(now, cutoff, 2)
	if len(s.m) >= st.perCap {
		s.evict(now)
		st.evicted.Add(1)
	}
	if s.m == nil {
		s.m = make(map[string]*entry, min(st.perCap, 64))
	}
	e := &entry{key: key, tat: now, ftat: now, last: now}
	s.m[key] = e
	s.pushFront(e)
	return e
}

// reap removes up to limit (all if negative) entries last used before
// cutoff whose budgets have recovered, walking from the least recently
// used end until it reaches an entry used since cutoff.
func (s *shard) reap(now, cutoff int64, limit int) int {
	n := 0
	for e := s.tail; e != nil && e.last < cutoff && n != limit; {
		prev := e.prev
		if e.atRest(now) {
			s.remove(e)
			n++
		}
		e = prev
	}
	return n
}

// evict drops one entry of a full shard: the first at rest near the least
// recently used end, else the least recently used one with nothing in
// flight among those, else the least recently used one. An entry dropped
// with requests in flight is released harmlessly later, but its key starts
// afresh: under that much memory pressure the cap is best effort.
func (s *shard) evict(now int64) {
	var idle *entry
	i := 0
	for e := s.tail; e != nil && i < evictScan; e, i = e.prev, i+1 {
		if e.atRest(now) {
			s.remove(e)
			return
		}
		if idle == nil && e.inflight == 0 {
			idle = e
		}
	}
	if idle == nil {
		idle = s.tail
	}
	s.remove(idle)
}

func (s *shard) remove(e *entry) {
	delete(s.m, e.key)
	s.unlink(e)
}

func (s *shard) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *shard) pushFront(e *entry) {
	e.prev, e.next = nil, s.head
	if s.head != nil {
		s.head.prev = e
	} else {
		s.tail = e
	}
	s.head = e
}
