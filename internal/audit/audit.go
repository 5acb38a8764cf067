// Package audit writes the request log: one row per proxied request and
// per blind tunnel, handed over by the proxy without ever blocking it. A
// bounded queue feeds a batcher that inserts rows in transactions; when the
// queue is full, rows are dropped and counted (the count is logged and
// exported as a metric). A background job enforces retention by age and by
// rows per vault.
package audit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// Options configure a Log. Zero fields mean the defaults.
type Options struct {
	Store      store.Store // required
	QueueSize  int         // default 8192
	BatchSize  int         // default 1024
	FlushEvery time.Duration
	// Retention: rows older than MaxAge, and rows beyond MaxRowsPerVault
	// in a vault, are removed by Prune.
	MaxAge          time.Duration // default 168h
	MaxRowsPerVault int           // default 10000
	Logger          *slog.Logger
	Now             func() time.Time
}

// Log is the asynchronous request log writer.
type Log struct {
	o Options
	// The queue is a slice under a mutex, not a channel: appending wakes
	// no goroutine, so a burst of requests costs the proxy no scheduling.
	mu      sync.Mutex
	queue   []model.RequestLog
	full    chan struct{} // a non-blocking nudge when a batch is ready
	dropped atomic.Uint64
	written atomic.Uint64
	maxAge  atomic.Int64 // nanoseconds
	maxRows atomic.Int64
	closed  atomic.Bool
	done    chan struct{}
	stop    sync.Once
	cancel  context.CancelFunc
}

// New starts the batcher; Close flushes and stops it.
func New(o Options) *Log {
	if o.QueueSize <= 0 {
		o.QueueSize = 8192
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1024
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 500 * time.Millisecond
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 168 * time.Hour
	}
	if o.MaxRowsPerVault <= 0 {
		o.MaxRowsPerVault = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Log{o: o, queue: make([]model.RequestLog, 0, o.BatchSize), full: make(chan struct{}, 1), done: make(chan struct{}), cancel: cancel}
	l.maxAge.Store(int64(o.MaxAge))
	l.maxRows.Store(int64(o.MaxRowsPerVault))
	go l.run(ctx)
	return l
}

// Record queues a row without blocking; a full queue drops it and counts.
// Texts longer than model.MaxLogField are cut first, whoever recorded the
// row, so that the queue holds at most a few KiB a row.
func (l *Log) Record(r model.RequestLog) {
	if l.closed.Load() {
		l.dropped.Add(1) // after Close nothing is written: count it
		return
	}
	l.mu.Lock()
	if len(l.queue) >= l.o.QueueSize {
		l.mu.Unlock()
		if n := l.dropped.Add(1); n&(n-1) == 0 { // log at 1, 2, 4, 8, …
			l.o.Logger.Warn("request log queue full: rows dropped", "dropped_total", n)
		}
		return
	}
	l.queue = append(l.queue, r.Capped())
	ready := len(l.queue) == l.o.BatchSize
	l.mu.Unlock()
	if ready {
		select {
		case l.full <- struct{}{}:
		default:
		}
	}
}

// take removes and returns everything queued.
func (l *Log) take(spare []model.RequestLog) []model.RequestLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.queue
	l.queue = spare[:0]
	return out
}

// Dropped is how many rows the full queue refused since start.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Written is how many rows reached the database since start.
func (l *Log) Written() uint64 { return l.written.Load() }

// Close stops accepting work, writes what is queued and returns.
func (l *Log) Close() {
	l.stop.Do(func() {
		l.closed.Store(true)
		l.cancel()
		<-l.done
	})
}

func (l *Log) run(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.o.FlushEvery)
	defer t.Stop()
	spare := make([]model.RequestLog, 0, l.o.BatchSize)
	flush := func() {
		batch := l.take(spare)
		for start := 0; start < len(batch); start += l.o.BatchSize {
			chunk := batch[start:min(start+l.o.BatchSize, len(batch))]
			wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := l.o.Store.RequestLogs().Insert(wctx, chunk); err != nil {
				l.dropped.Add(uint64(len(chunk)))
				l.o.Logger.Warn("writing the request log failed; rows dropped", "rows", len(chunk), "err", err)
			} else {
				l.written.Add(uint64(len(chunk)))
			}
			cancel()
		}
		clear(batch) // drop references to the rows' strings
		spare = batch[:0]
	}
	for {
		select {
		case <-l.full:
			flush()
		case <-t.C:
			flush()
		case <-ctx.Done():
			flush()
			return
		}
	}
}

// Prune applies retention: by age, then by rows per vault.
func (l *Log) Prune(ctx context.Context) (int64, error) {
	n1, err := l.o.Store.RequestLogs().DeleteBefore(ctx, l.o.Now().UTC().Add(-time.Duration(l.maxAge.Load())))
	if err != nil {
		return n1, err
	}
	n2, err := l.o.Store.RequestLogs().TrimVaults(ctx, int(l.maxRows.Load()))
	return n1 + n2, err
}

// SetRetention changes retention at runtime (instance settings).
func (l *Log) SetRetention(maxAge time.Duration, maxRows int) {
	if maxAge > 0 {
		l.maxAge.Store(int64(maxAge))
	}
	if maxRows > 0 {
		l.maxRows.Store(int64(maxRows))
	}
}
