package proxy_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/audit"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/ca"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/metrics"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/proxy"
	"github.com/agent-vault/agent-vault/internal/secret"
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
// Compare the req/s of the sides over several runs, e.g.
//
//	go test -run '^$' -bench ProxyRequestLog -count 6 -benchtime 3s ./internal/proxy/
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
	ctx := context.Background()
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	dbPath := filepath.Join(b.TempDir(), "av.db")
	db, err := sqlstore.OpenSQLite(dbPath, sqlstore.SQLiteOptions{})
	must(err)
	b.Cleanup(func() { db.Close() })
	_, err = db.Migrate(ctx)
	must(err)
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	must(err)
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	br := broker.New(broker.Options{Store: db, Keyring: kr, PasswordParams: password.Params{Time: 1, MemoryKiB: 64, Threads: 1}, Logger: logger})
	must(br.Bootstrap(ctx))
	reg, err := br.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	must(err)
	owner, err := br.Authenticate(ctx, reg.Token)
	must(err)
	agent, err := br.CreateAgent(ctx, owner, apitype.CreateAgentRequest{Name: "bench-agent", Role: "member",
		Vaults: []apitype.AgentVault{{VaultName: "default", VaultRole: "proxy"}}})
	must(err)
	_, err = br.SetCredentials(ctx, owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"BENCH_KEY": benchSecret}})
	must(err)
	_, err = br.ReplaceServices(ctx, owner, "default", apitype.ServiceList{Services: []apitype.Service{
		{Name: "bench-upstream", Host: "127.0.0.1", Auth: apitype.ServiceAuth{Type: "bearer", Token: "BENCH_KEY"}},
	}}, false)
	must(err)

	upKR, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	must(err)
	upRoot, _, err := ca.NewRoot(upKR, time.Now().UTC())
	must(err)
	upMinter, err := ca.NewMinter(upRoot, ca.MinterOptions{})
	must(err)
	leaf, err := upMinter.Leaf("127.0.0.1")
	must(err)
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	up := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+benchSecret {
				http.Error(w, "no credential", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(benchSmallBody)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{*leaf}},
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	up.Protocols = new(http.Protocols)
	up.Protocols.SetHTTP1(true)
	up.Protocols.SetHTTP2(true)
	go func() { _ = up.ServeTLS(upLn, "", "") }()

	var rec proxy.Recorder
	var reqlog *audit.Log
	recorded := new(atomic.Int64)
	switch mode {
	case "off":
	case "on", "on+metrics":
		// As the daemon does: the log writes through a handle of its own
		// that commits without waiting for the disk.
		logDB, err := sqlstore.OpenSQLite(dbPath, sqlstore.SQLiteOptions{Relaxed: true, MaxOpenConns: 2})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { logDB.Close() })
		reqlog = audit.New(audit.Options{Store: logDB, Logger: logger})
		b.Cleanup(reqlog.Close)
		rec = reqlog
		if mode == "on+metrics" {
			rec = metrics.New("bench").Recorder(reqlog)
		}
		rec = countingRecorder{n: recorded, next: rec}
	default:
		b.Fatalf("mode %q", mode)
	}
	root, _, err := ca.NewRoot(kr, time.Now().UTC())
	must(err)
	minter, err := ca.NewMinter(root, ca.MinterOptions{})
	must(err)
	dialer := &netguard.Dialer{Policy: netguard.Policy{AllowPrivate: true}, Resolver: net.DefaultResolver}
	p := proxy.New(proxy.Options{
		Authority: br, Certs: minter, Dial: dialer.DialContext,
		Blocked: func(err error) bool {
			var be *netguard.BlockedError
			return errors.As(err, &be)
		},
		UpstreamRoots: upRoot.CertPool(), Logger: logger, Recorder: rec,
	})
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	ps := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = ps.Serve(pl) }()
	b.Cleanup(func() { ps.Close(); p.Close(); up.Close() })
	return &logBenchEnv{
		benchProxyEnv: &benchProxyEnv{
			proxyURL:   &url.URL{Scheme: "http", Host: pl.Addr().String(), User: url.UserPassword(agent.Token, "default")},
			brokerPool: root.CertPool(),
			upPool:     upRoot.CertPool(),
			target:     "https://" + upLn.Addr().String() + "/small",
		},
		log: reqlog, recorded: recorded,
	}
}

var logBenchModes = []string{"off", "on", "on+metrics"}

// BenchmarkProxyRequestLogc32 is 32 client goroutines, each with its own
// kept-alive HTTP/1.1 tunnel: the proxy's request rate.
func BenchmarkProxyRequestLogc32(b *testing.B) {
	for _, mode := range logBenchModes {
		b.Run("log-"+mode, func(b *testing.B) {
			e := newLogBenchEnv(b, mode)
			c, closeIdle := e.client(true, false)
			defer closeIdle()
			for i := 0; i < 32; i++ {
				if err := e.get(c, true); err != nil {
					b.Fatal(err)
				}
			}
			b.SetParallelism((32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := e.get(c, true); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
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
			c, closeIdle := e.client(true, false)
			defer closeIdle()
			if err := e.get(c, true); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				if err := e.get(c, true); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
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
