package proxy_test

import (
	"log/slog"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/audit"
	"github.com/agent-vault/agent-vault/internal/metrics"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/proxy"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// The request log's cost on the proxy (issue: "the proxy's request rate
// with logging on is within 5 % of logging off"): kept-alive small GETs
// through the in-process proxy, wired as newBenchProxyEnv (and the
// daemon) wire it, with
//
//	off:         Recorder nil
//	on:          Recorder = audit.Log on the same SQLite file (defaults)
//	on+metrics:  Recorder = metrics.Recorder(audit.Log), as --metrics-addr
//
// Besides req/s, cpu-µs/req is the CPU time of the whole test process
// (clients, proxy and upstream) per request: on a shared machine it moves
// less than req/s with what other tenants do. bench/logcost.sh runs the
// sides in turn, several rounds, and prints medians and ratios:
//
//	bash bench/logcost.sh          # 7 rounds of 3 s per side
//
// (the "dropped" metric must stay 0: a log that drops rows is cheaper).

type logBenchEnv struct {
	*benchProxyEnv
	log      *audit.Log
	recorded *atomic.Int64 // rows handed to the log
}

// countingRecorder counts rows on their way to next.
type countingRecorder struct {
	n    *atomic.Int64
	next proxy.Recorder
}

func (c countingRecorder) Record(r model.RequestLog) { c.n.Add(1); c.next.Record(r) }

// newLogBenchEnv is newBenchProxyEnv (HTTP/2-capable upstream) with the
// request log of mode: "off", "on" or "on+metrics".
func newLogBenchEnv(b *testing.B, mode string) *logBenchEnv {
	b.Helper()
	var reqlog *audit.Log
	recorded := new(atomic.Int64)
	var rec func(string, *slog.Logger) proxy.Recorder
	switch mode {
	case "off":
	case "on", "on+metrics":
		rec = func(dbPath string, logger *slog.Logger) proxy.Recorder {
			// As the daemon does: the log writes through a handle of its
			// own that commits without waiting for the disk.
			logDB, err := sqlstore.OpenSQLite(dbPath, sqlstore.SQLiteOptions{Relaxed: true, MaxOpenConns: 2})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { logDB.Close() })
			reqlog = audit.New(audit.Options{Store: logDB, Logger: logger})
			b.Cleanup(reqlog.Close)
			var next proxy.Recorder = reqlog
			if mode == "on+metrics" {
				next = metrics.New("bench").Recorder(reqlog)
			}
			return countingRecorder{n: recorded, next: next}
		}
	default:
		b.Fatalf("mode %q", mode)
	}
	return &logBenchEnv{benchProxyEnv: newBenchProxyEnvWith(b, false, rec), log: reqlog, recorded: recorded}
}

var logBenchModes = []string{"off", "on", "on+metrics"}

// logBenchSide is the client of the request-log benchmarks: HTTP/1.1
// through the proxy.
var logBenchSide = benchSide{name: "proxy-h1", viaProxy: true}

// BenchmarkProxyRequestLogc32 is 32 client goroutines, each with its own
// kept-alive HTTP/1.1 tunnel: the proxy's request rate.
func BenchmarkProxyRequestLogc32(b *testing.B) {
	for _, mode := range logBenchModes {
		b.Run("log-"+mode, func(b *testing.B) {
			e := newLogBenchEnv(b, mode)
			c := benchClient(b, e.benchProxyEnv, logBenchSide, 32)
			b.SetParallelism((32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := e.get(c, true); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
			e.reportLog(b, b.N+32)
		})
	}
}

// BenchmarkProxyRequestLogc1 is one kept-alive client: ns/op is the
// latency of one proxied request.
func BenchmarkProxyRequestLogc1(b *testing.B) {
	for _, mode := range logBenchModes {
		b.Run("log-"+mode, func(b *testing.B) {
			e := newLogBenchEnv(b, mode)
			c := benchClient(b, e.benchProxyEnv, logBenchSide, 1)
			b.ReportAllocs()
			start, cpu0 := time.Now(), processCPU()
			n := 0
			for b.Loop() {
				if err := e.get(c, true); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/req")
			e.reportLog(b, n+1)
		})
	}
}

// reportLog flushes the request log, checks that each of the requests
// made a row, and reports the rows dropped, so that a cheap run that lost
// rows is seen.
func (e *logBenchEnv) reportLog(b *testing.B, requests int) {
	if e.log == nil {
		return
	}
	b.StopTimer()
	// A row is recorded once the proxy's handler returns, which can be just
	// after the client has read the response.
	for deadline := time.Now().Add(10 * time.Second); e.recorded.Load() < int64(requests) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	e.log.Close()
	if got := e.log.Dropped() + e.log.Written(); got != uint64(requests) {
		b.Errorf("%d requests made %d rows", requests, got)
	}
	b.ReportMetric(float64(e.log.Dropped()), "dropped")
	if e.log.Dropped() > 0 {
		b.Logf("the request log dropped %d of %d rows", e.log.Dropped(), requests)
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
