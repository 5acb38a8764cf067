package proxy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/ca"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/proxy"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// The in-process proxy benchmarks exist to profile the broker proxy (the
// server has no pprof endpoint): `bash bench/profile.sh` runs them with
// -cpuprofile. The proxy, the HTTPS upstream (own CA, 127.0.0.1) and the
// load generator share this process; every goroutine carries a pprof label
// role=proxy|upstream|client (labels are inherited by the goroutines a
// goroutine starts), so `go tool pprof -tagfocus role=proxy` shows the
// proxy alone. The wiring follows the daemon's (internal/daemon/proxy.go):
// broker on SQLite, netguard dialer, Info-level logging; it leaves out the
// request log Recorder and the rate Limiter (bench_log_test.go measures
// the log's cost; `bash bench/run.sh -perf DIR` profiles the real binary
// with both).

const benchSecret = "sk_bench_0123456789abcdef0123456789abcdef"

var benchSmallBody = []byte(strings.Repeat("x", 127) + "\n")

const benchBigLen = 100 << 20

var benchChunk = make([]byte, 256<<10)

// benchProxyEnv is a broker proxy, an upstream and an agent token.
type benchProxyEnv struct {
	proxyURL   *url.URL // http://token:default@127.0.0.1:port
	brokerPool *x509.CertPool
	upPool     *x509.CertPool
	target     string // https://127.0.0.1:port/small
	bigTarget  string // …/big: 100 MiB
	br         *broker.Broker
	owner      broker.Actor
}

func benchLabeled(role string, f func()) {
	pprof.Do(context.Background(), pprof.Labels("role", role), func(context.Context) { f() })
}

// newBenchProxyEnv starts a broker proxy and an upstream; an upH1
// upstream offers HTTP/1.1 only, so the proxy's upstream leg is HTTP/1.1
// too (by default it negotiates HTTP/2).
func newBenchProxyEnv(b *testing.B, upH1 bool) *benchProxyEnv {
	return newBenchProxyEnvWith(b, upH1, nil)
}

// newBenchProxyEnvWith is newBenchProxyEnv with the proxy's Recorder built
// by rec from the database path (nil: no request log).
func newBenchProxyEnvWith(b *testing.B, upH1 bool, rec func(dbPath string, logger *slog.Logger) proxy.Recorder) *benchProxyEnv {
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

	// The upstream, with its own CA.
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
			if r.URL.Path == "/big" || r.URL.Path == "/big10" {
				size := benchBigLen
				if r.URL.Path == "/big10" {
					size = 10 << 20
				}
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Header().Set("Content-Length", strconv.Itoa(size))
				for left := size; left > 0; left -= len(benchChunk) {
					if _, err := w.Write(benchChunk[:min(left, len(benchChunk))]); err != nil {
						return
					}
				}
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
	up.Protocols.SetHTTP2(!upH1)
	benchLabeled("upstream", func() { go func() { _ = up.ServeTLS(upLn, "", "") }() })

	// The broker proxy, wired as the daemon wires it.
	root, _, err := ca.NewRoot(kr, time.Now().UTC())
	must(err)
	minter, err := ca.NewMinter(root, ca.MinterOptions{})
	must(err)
	dialer := &netguard.Dialer{Policy: netguard.Policy{AllowPrivate: true}, Resolver: net.DefaultResolver}
	var recorder proxy.Recorder
	if rec != nil {
		recorder = rec(dbPath, logger)
	}
	p := proxy.New(proxy.Options{
		Authority: br, Certs: minter, Dial: dialer.DialContext,
		Blocked: func(err error) bool {
			var be *netguard.BlockedError
			return errors.As(err, &be)
		},
		UpstreamRoots: upRoot.CertPool(), Logger: logger, Recorder: recorder,
	})
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	ps := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	benchLabeled("proxy", func() { go func() { _ = ps.Serve(pl) }() })
	b.Cleanup(func() { ps.Close(); p.Close(); up.Close() })

	return &benchProxyEnv{
		proxyURL:   &url.URL{Scheme: "http", Host: pl.Addr().String(), User: url.UserPassword(agent.Token, "default")},
		brokerPool: root.CertPool(),
		upPool:     upRoot.CertPool(),
		target:     "https://" + upLn.Addr().String() + "/small",
		bigTarget:  "https://" + upLn.Addr().String() + "/big",
		br:         br,
		owner:      owner,
	}
}

// client is an agent's client, through the proxy or straight to the
// upstream (then sending the credential itself).
func (e *benchProxyEnv) client(viaProxy, h2 bool) (*http.Client, func()) {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	if viaProxy {
		tr.Proxy = http.ProxyURL(e.proxyURL)
		tr.TLSClientConfig = &tls.Config{RootCAs: e.brokerPool}
	} else {
		tr.TLSClientConfig = &tls.Config{RootCAs: e.upPool}
	}
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

func (e *benchProxyEnv) get(c *http.Client, viaProxy bool) error {
	_, err := e.fetch(c, viaProxy, e.target)
	return err
}

func (e *benchProxyEnv) fetch(c *http.Client, viaProxy bool, target string) (int64, error) {
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	if !viaProxy {
		req.Header.Set("Authorization", "Bearer "+benchSecret)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return n, err
}

// benchSide is one client a benchmark compares.
type benchSide struct {
	name     string
	viaProxy bool
	h2       bool
	upH1     bool
}

// benchSides are the clients each benchmark compares. "uph1" is the
// proxy with an upstream that offers HTTP/1.1 only (both legs HTTP/1.1).
var benchSides = []benchSide{
	{"proxy-h1", true, false, false},
	{"proxy-h2", true, true, false},
	{"proxy-h1-uph1", true, false, true},
	{"direct-h1", false, false, false},
	{"direct-h2", false, true, false},
}

// benchEnvs are the two environments: [0] HTTP/2-capable upstream, [1]
// HTTP/1.1-only upstream.
type benchEnvPair [2]*benchProxyEnv

func benchEnvs(b *testing.B) benchEnvPair {
	return benchEnvPair{newBenchProxyEnv(b, false), newBenchProxyEnv(b, true)}
}

func (e benchEnvPair) pick(upH1 bool) *benchProxyEnv {
	if upH1 {
		return e[1]
	}
	return e[0]
}

// benchClient is side s's client, made and warmed with warm requests
// under the "client" profile label, closed when b ends; the calling
// goroutine keeps the label for the timed loop.
func benchClient(b *testing.B, e *benchProxyEnv, s benchSide, warm int) *http.Client {
	b.Helper()
	var c *http.Client
	benchLabeled("client", func() {
		var closeIdle func()
		c, closeIdle = e.client(s.viaProxy, s.h2)
		b.Cleanup(closeIdle)
		for range warm {
			if err := e.get(c, s.viaProxy); err != nil {
				b.Fatal(err)
			}
		}
	})
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("role", "client")))
	b.Cleanup(func() { pprof.SetGoroutineLabels(context.Background()) })
	return c
}

// BenchmarkProxySmallGETc32 is the c=32 kept-alive small GET through the
// in-process proxy (and direct, for comparison): 32 client goroutines,
// each with its own connection over HTTP/1.1, multiplexed over HTTP/2.
func BenchmarkProxySmallGETc32(b *testing.B) {
	envs := benchEnvs(b)
	for _, s := range benchSides {
		b.Run(s.name, func(b *testing.B) {
			e := envs.pick(s.upH1)
			c := benchClient(b, e, s, 32) // warm: open the 32 connections
			b.SetParallelism((32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("role", "client")))
				for pb.Next() {
					if err := e.get(c, s.viaProxy); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// BenchmarkProxySmallGETc1 is the c=1 kept-alive small GET: ns/op is the
// latency of one request.
func BenchmarkProxySmallGETc1(b *testing.B) {
	envs := benchEnvs(b)
	for _, s := range benchSides {
		b.Run(s.name, func(b *testing.B) {
			e := envs.pick(s.upH1)
			c := benchClient(b, e, s, 1)
			b.ReportAllocs()
			for b.Loop() {
				if err := e.get(c, s.viaProxy); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProxyDownload100MiB is one 100 MiB download per op on a
// kept-alive connection; MB/s is the throughput.
func BenchmarkProxyDownload100MiB(b *testing.B) {
	envs := benchEnvs(b)
	for _, s := range benchSides {
		b.Run(s.name, func(b *testing.B) {
			e := envs.pick(s.upH1)
			c := benchClient(b, e, s, 1)
			b.SetBytes(benchBigLen)
			for b.Loop() {
				if n, err := e.fetch(c, s.viaProxy, e.bigTarget); err != nil || n != benchBigLen {
					b.Fatalf("%d bytes, %v", n, err)
				}
			}
		})
	}
}
