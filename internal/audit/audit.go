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
	o       Options
	queue   chan model.RequestLog
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
	l := &Log{o: o, queue: make(chan model.RequestLog, o.QueueSize), done: make(chan struct{}), cancel: cancel}
	l.maxAge.Store(int64(o.MaxAge))
	l.maxRows.Store(int64(o.MaxRowsPerVault))
	go l.run(ctx)
	return l
}

// Record queues a row without blocking; a full queue drops it and counts.
func (l *Log) Record(r model.RequestLog) {
	if l.closed.Load() {
		l.dropped.Add(1) // after Close nothing is written: count it
		return
	}
	select {
	case l.queue <- r:
	default:
		if n := l.dropped.Add(1); n&(n-1) == 0 { // log at 1, 2, 4, 8, …
			l.o.Logger.Warn("request log queue full: rows dropped", "dropped_total", n)
		}
	}
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
	batch := make([]model.RequestLog, 0, l.o.BatchSize)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.o.Store.RequestLogs().Insert(wctx, batch); err != nil {
			l.dropped.Add(uint64(len(batch)))
			l.o.Logger.Warn("writing the request log failed; rows dropped", "rows", len(batch), "err", err)
		} else {
			l.written.Add(uint64(len(batch)))
		}
		batch = batch[:0]
	}
	for {
		select {
		case r := <-l.queue:
			batch = append(batch, r)
			if len(batch) >= l.o.BatchSize {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case r := <-l.queue:
					batch = append(batch, r)
					if len(batch) >= l.o.BatchSize {
						flush()
					}
				default:
					flush()
					return
				}
			}
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
