// Package metrics exports Agent Vault's Prometheus metrics on a listener
// of their own (--metrics-addr), off by default. It knows nothing of the
// other packages: the daemon hands it functions (leaf cache and request log
// counters) and puts its Recorder in front of the request log, so every
// proxied request and blind tunnel is counted from the row the proxy
// records — never from a value, a path or a query.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agent-vault/agent-vault/internal/model"
)

// Metric names, as the docs list them (docs/operations.md).
const (
	NameRequests          = "agent_vault_proxy_requests_total"
	NameDuration          = "agent_vault_proxy_request_duration_seconds"
	NameRequestBytes      = "agent_vault_proxy_request_bytes_total"
	NameResponseBytes     = "agent_vault_proxy_response_bytes_total"
	NameErrors            = "agent_vault_proxy_errors_total"
	NameActiveTunnels     = "agent_vault_proxy_active_tunnels"
	NameLeafHits          = "agent_vault_leaf_cache_hits_total"
	NameLeafMints         = "agent_vault_leaf_cache_mints_total"
	NameLeafShared        = "agent_vault_leaf_cache_shared_total"
	NameLeafEvictions     = "agent_vault_leaf_cache_evictions_total"
	NameLeafEntries       = "agent_vault_leaf_cache_entries"
	NameLogDropped        = "agent_vault_request_log_dropped_rows_total"
	NameLogWritten        = "agent_vault_request_log_written_rows_total"
	NameRateLimited       = "agent_vault_ratelimit_denials_total"
	NameRateLimitKeys     = "agent_vault_ratelimit_keys"
	NameRateLimitEvicted  = "agent_vault_ratelimit_evictions_total"
	NameRateLimitInFlight = "agent_vault_ratelimit_inflight"
	NameBuildInfo         = "agent_vault_build_info"
)

// DurationBuckets are the latency histogram's buckets in seconds: small
// API calls up to long streams.
var DurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// Recorder takes request log rows (proxy.Recorder has the same method).
type Recorder interface{ Record(model.RequestLog) }

// Metrics is the registry and its collectors. A nil *Metrics is valid and
// records nothing, so callers need not check whether metrics are on.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	reqBytes  *prometheus.CounterVec
	respBytes *prometheus.CounterVec
	errors    *prometheus.CounterVec
	tunnels   prometheus.Gauge
	rateLimit *rateLimitCollector
}

// Build labels agent_vault_build_info.
type Build struct {
	Version  string
	Commit   string // VCS revision; empty when not recorded
	Modified bool   // uncommitted changes at build time
}

// New builds the registry with the Go runtime and process collectors and
// the build information of version.
func New(version string) *Metrics { return NewBuild(Build{Version: version}) }

// NewBuild is New with the build's commit in agent_vault_build_info.
func NewBuild(b Build) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameRequests,
		Help: "Proxied requests and blind tunnels, by vault id, matched service (empty: none) and status class (2xx…5xx).",
	}, []string{"vault_id", "service", "status_class"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    NameDuration,
		Help:    "Duration of proxied requests by ingress (connect, absolute, tunnel), to the end of the stream; for a blind tunnel, its whole life.",
		Buckets: DurationBuckets,
	}, []string{"ingress"})
	m.reqBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameRequestBytes,
		Help: "Request body bytes sent upstream (client to upstream for blind tunnels), by vault id and service.",
	}, []string{"vault_id", "service"})
	m.respBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameResponseBytes,
		Help: "Response bytes returned to agents (upstream to client for blind tunnels), by vault id and service.",
	}, []string{"vault_id", "service"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: NameErrors,
		Help: "Requests the broker answered itself, by broker error code (X-Agent-Vault-Proxy-Error).",
	}, []string{"code"})
	m.tunnels = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: NameActiveTunnels,
		Help: "CONNECT tunnels (intercepted or blind) open now.",
	})
	m.rateLimit = newRateLimitCollector()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        NameBuildInfo,
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": b.Version, "goversion": runtime.Version(), "revision": b.Commit, "modified": strconv.FormatBool(b.Modified)},
	})
	build.Set(1)
	m.reg.MustRegister(m.requests, m.duration, m.reqBytes, m.respBytes, m.errors, m.tunnels, m.rateLimit, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry, for tests and for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Recorder returns a Recorder that counts each row and then hands it to
// next (the request log); next may be nil. On a nil *Metrics it is next.
func (m *Metrics) Recorder(next Recorder) Recorder {
	if m == nil {
		return next
	}
	return &recorder{m: m, next: next}
}

type recorder struct {
	m    *Metrics
	next Recorder
}

func (r *recorder) Record(row model.RequestLog) {
	r.m.Observe(row)
	if r.next != nil {
		r.next.Record(row)
	}
}

// Observe counts one request log row.
func (m *Metrics) Observe(row model.RequestLog) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(row.VaultID, row.Service, StatusClass(row.Status)).Inc()
	m.duration.WithLabelValues(row.Ingress).Observe(row.Duration.Seconds())
	if row.RequestBytes > 0 {
		m.reqBytes.WithLabelValues(row.VaultID, row.Service).Add(float64(row.RequestBytes))
	}
	if row.ResponseBytes > 0 {
		m.respBytes.WithLabelValues(row.VaultID, row.Service).Add(float64(row.ResponseBytes))
	}
	if row.ErrorCode != "" {
		m.errors.WithLabelValues(row.ErrorCode).Inc()
	}
}

// StatusClass is "2xx" for 200…299 and so on, "none" when no status was
// sent (the client went away first).
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "none"
	}
	return strconv.Itoa(status/100) + "xx"
}

// RateLimitDenied counts one 429 of the rate limiter's tier (auth, api,
// proxy, global), for a limiter that reports refusals one by one. Safe on
// a nil *Metrics.
func (m *Metrics) RateLimitDenied(tier string) {
	if m == nil {
		return
	}
	m.rateLimit.mu.Lock()
	m.rateLimit.pushed[tier]++
	m.rateLimit.mu.Unlock()
}

// RateLimitStats is a snapshot of the rate limiter (ratelimit.Limiter.Stats),
// by tier name.
type RateLimitStats struct {
	Denied   map[string]uint64 // refusals since start
	Keys     map[string]int    // keys tracked now
	Evicted  uint64            // keys dropped to bound memory
	InFlight int64             // requests holding a global slot
}

// RateLimits exports the rate limiter's counters, read from stats at each
// scrape; its refusals are added to those of RateLimitDenied.
func (m *Metrics) RateLimits(stats func() RateLimitStats) {
	if m == nil || stats == nil {
		return
	}
	m.rateLimit.mu.Lock()
	m.rateLimit.pull = stats
	m.rateLimit.mu.Unlock()
}

// rateLimitCollector exports the rate limiter's numbers: refusals pushed
// by RateLimitDenied plus those of the limiter's own snapshot.
type rateLimitCollector struct {
	mu       sync.Mutex
	pushed   map[string]uint64
	pull     func() RateLimitStats
	denied   *prometheus.Desc
	keys     *prometheus.Desc
	evicted  *prometheus.Desc
	inFlight *prometheus.Desc
}

func newRateLimitCollector() *rateLimitCollector {
	return &rateLimitCollector{
		pushed:   map[string]uint64{},
		denied:   prometheus.NewDesc(NameRateLimited, "Requests refused with 429 by the rate limiter, by tier.", []string{"tier"}, nil),
		keys:     prometheus.NewDesc(NameRateLimitKeys, "Keys (addresses, sessions, actor and vault pairs) the rate limiter tracks now, by tier.", []string{"tier"}, nil),
		evicted:  prometheus.NewDesc(NameRateLimitEvicted, "Rate limiter keys dropped to bound its memory.", nil, nil),
		inFlight: prometheus.NewDesc(NameRateLimitInFlight, "Requests holding a slot of the global in-flight ceiling.", nil, nil),
	}
}

func (c *rateLimitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.denied
	ch <- c.keys
	ch <- c.evicted
	ch <- c.inFlight
}

func (c *rateLimitCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	denied := make(map[string]uint64, len(c.pushed))
	for t, n := range c.pushed {
		denied[t] = n
	}
	pull := c.pull
	c.mu.Unlock()
	var st RateLimitStats
	if pull != nil {
		st = pull()
		for t, n := range st.Denied {
			denied[t] += n
		}
	}
	for t, n := range denied {
		ch <- prometheus.MustNewConstMetric(c.denied, prometheus.CounterValue, float64(n), t)
	}
	if pull == nil {
		return
	}
	for t, n := range st.Keys {
		ch <- prometheus.MustNewConstMetric(c.keys, prometheus.GaugeValue, float64(n), t)
	}
	ch <- prometheus.MustNewConstMetric(c.evicted, prometheus.CounterValue, float64(st.Evicted))
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(st.InFlight))
}

// LeafStats is a snapshot of the proxy's leaf certificate cache
// (ca.Minter.Stats).
type LeafStats struct {
	Hits, Mints, Shared, Evictions uint64
	Entries                        int
}

// LeafCache exports the leaf certificate cache's counters, read from stats
// at each scrape.
func (m *Metrics) LeafCache(stats func() LeafStats) {
	if m == nil || stats == nil {
		return
	}
	counter := func(name, help string, f func(LeafStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(stats())) })
	}
	m.reg.MustRegister(
		counter(NameLeafHits, "TLS leaf certificates served from the cache.", func(s LeafStats) uint64 { return s.Hits }),
		counter(NameLeafMints, "TLS leaf certificates minted.", func(s LeafStats) uint64 { return s.Mints }),
		counter(NameLeafShared, "Leaf requests that waited for another request's mint of the same host.", func(s LeafStats) uint64 { return s.Shared }),
		counter(NameLeafEvictions, "Leaf certificates evicted from the full cache.", func(s LeafStats) uint64 { return s.Evictions }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: NameLeafEntries, Help: "Leaf certificates in the cache now."},
			func() float64 { return float64(stats().Entries) }),
	)
}

// RequestLog exports the request log writer's counters: rows dropped
// (queue full or write failed) and rows written.
func (m *Metrics) RequestLog(dropped, written func() uint64) {
	if m == nil {
		return
	}
	if dropped != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: NameLogDropped,
			Help: "Request log rows dropped because the queue was full or the write failed."}, func() float64 { return float64(dropped()) }))
	}
	if written != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: NameLogWritten,
			Help: "Request log rows written to the database."}, func() float64 { return float64(written()) }))
	}
}

// TrackTunnels wraps the proxy's listener so that the active tunnels gauge
// follows its CONNECT tunnels: connState (the proxy server's ConnState)
// counts a connection once it is hijacked for a tunnel, and its Close
// uncounts it. Without metrics it returns ln and a nil hook.
func (m *Metrics) TrackTunnels(ln net.Listener) (net.Listener, func(net.Conn, http.ConnState)) {
	if m == nil {
		return ln, nil
	}
	return trackingListener{Listener: ln}, func(c net.Conn, st http.ConnState) {
		if tc, ok := c.(*trackedConn); ok && st == http.StateHijacked {
			tc.hijacked(m.tunnels)
		}
	}
}

type trackingListener struct{ net.Listener }

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &trackedConn{Conn: c}, nil
}

// trackedConn is a proxy connection that may become a tunnel. It keeps
// what the proxy uses of a *net.TCPConn: CloseWrite (a half-close in
// blind tunnels) and zero-copy splicing to another TCP connection.
type trackedConn struct {
	net.Conn
	mu     sync.Mutex
	gauge  prometheus.Gauge // set while counted
	closed bool
}

func (c *trackedConn) hijacked(g prometheus.Gauge) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.gauge != nil {
		return
	}
	c.gauge = g
	g.Inc()
}

func (c *trackedConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		if c.gauge != nil {
			c.gauge.Dec()
		}
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// CloseWrite half-closes when the connection can.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// WriteTo lets io.Copy(dst, c) hand the raw connection to dst's
// ReadFrom, so that TCP to TCP copies still splice in the kernel.
func (c *trackedConn) WriteTo(w io.Writer) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(c.Conn)
	}
	return io.Copy(w, onlyReader{c.Conn})
}

// ReadFrom lets io.Copy(c, src) use the raw connection's ReadFrom.
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	if t, ok := r.(*trackedConn); ok {
		r = t.Conn
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(onlyWriter{c.Conn}, r)
}

type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// Start serves /metrics on addr until the returned stop is called. It
// returns the bound address (addr may name port 0).
func (m *Metrics) Start(addr string, log *slog.Logger) (stop func(context.Context), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("cannot listen for metrics on %s (%v): pick another address with --metrics-addr", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	return func(ctx context.Context) {
		_ = srv.Shutdown(ctx)
		_ = ln.Close() // Serve may not have taken it yet
	}, ln.Addr().String(), nil
}
