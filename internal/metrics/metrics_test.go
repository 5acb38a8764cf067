package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/metrics"
	"github.com/agent-vault/agent-vault/internal/model"
)

// value finds one sample of name whose labels include want; ok is false
// when there is none.
func value(t *testing.T, m *metrics.Metrics, name string, want map[string]string) (float64, bool) {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range s.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case s.Counter != nil:
				return s.GetCounter().GetValue(), true
			case s.Gauge != nil:
				return s.GetGauge().GetValue(), true
			case s.Histogram != nil:
				return float64(s.GetHistogram().GetSampleCount()), true
			}
			return s.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

func mustValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string, want float64) {
	t.Helper()
	got, ok := value(t, m, name, labels)
	if !ok || got != want {
		t.Errorf("%s%v = %v (found %v), want %v", name, labels, got, ok, want)
	}
}

type sink struct {
	mu   sync.Mutex
	rows []model.RequestLog
}

func (s *sink) Record(r model.RequestLog) { s.mu.Lock(); s.rows = append(s.rows, r); s.mu.Unlock() }

func TestRecorderCountsAndForwards(t *testing.T) {
	m := metrics.New("1.2.3-test")
	next := &sink{}
	rec := m.Recorder(next)
	rows := []model.RequestLog{
		{VaultID: "v1", Service: "api", Ingress: "connect", Status: 200, RequestBytes: 10, ResponseBytes: 100, Duration: 20 * time.Millisecond},
		{VaultID: "v1", Service: "api", Ingress: "connect", Status: 204, ResponseBytes: 0, Duration: 2 * time.Second},
		{VaultID: "v1", Service: "api", Ingress: "absolute", Status: 403, ErrorCode: "service_disabled", ResponseBytes: 50},
		{VaultID: "v2", Service: "", Ingress: "tunnel", Status: 200, RequestBytes: 517, ResponseBytes: 4096, Duration: time.Minute},
		{VaultID: "v2", Service: "", Ingress: "tunnel", Status: 502, ErrorCode: "upstream_unreachable"},
		{VaultID: "v2", Service: "", Ingress: "connect", Status: 0},
	}
	for _, r := range rows {
		rec.Record(r)
	}
	if len(next.rows) != len(rows) {
		t.Fatalf("forwarded %d rows, want %d", len(next.rows), len(rows))
	}
	mustValue(t, m, metrics.NameRequests, map[string]string{"vault_id": "v1", "service": "api", "status_class": "2xx"}, 2)
	mustValue(t, m, metrics.NameRequests, map[string]string{"vault_id": "v1", "service": "api", "status_class": "4xx"}, 1)
	mustValue(t, m, metrics.NameRequests, map[string]string{"vault_id": "v2", "service": "", "status_class": "2xx"}, 1)
	mustValue(t, m, metrics.NameRequests, map[string]string{"vault_id": "v2", "service": "", "status_class": "5xx"}, 1)
	mustValue(t, m, metrics.NameRequests, map[string]string{"vault_id": "v2", "service": "", "status_class": "none"}, 1)
	mustValue(t, m, metrics.NameDuration, map[string]string{"ingress": "connect"}, 3)
	mustValue(t, m, metrics.NameDuration, map[string]string{"ingress": "tunnel"}, 2)
	mustValue(t, m, metrics.NameDuration, map[string]string{"ingress": "absolute"}, 1)
	mustValue(t, m, metrics.NameRequestBytes, map[string]string{"vault_id": "v1", "service": "api"}, 10)
	mustValue(t, m, metrics.NameResponseBytes, map[string]string{"vault_id": "v1", "service": "api"}, 150)
	mustValue(t, m, metrics.NameRequestBytes, map[string]string{"vault_id": "v2", "service": ""}, 517)
	mustValue(t, m, metrics.NameResponseBytes, map[string]string{"vault_id": "v2", "service": ""}, 4096)
	mustValue(t, m, metrics.NameErrors, map[string]string{"code": "service_disabled"}, 1)
	mustValue(t, m, metrics.NameErrors, map[string]string{"code": "upstream_unreachable"}, 1)
	mustValue(t, m, metrics.NameBuildInfo, map[string]string{"version": "1.2.3-test"}, 1)

	// The latency buckets hold the observations where they belong.
	fams, _ := m.Registry().Gather()
	for _, f := range fams {
		if f.GetName() != metrics.NameDuration {
			continue
		}
		for _, s := range f.GetMetric() {
			if s.GetLabel()[0].GetValue() != "tunnel" {
				continue
			}
			h := s.GetHistogram()
			if h.GetSampleSum() != 60 {
				t.Errorf("tunnel duration sum %v, want 60", h.GetSampleSum())
			}
			for _, b := range h.GetBucket() {
				if b.GetUpperBound() == 30 && b.GetCumulativeCount() != 1 {
					t.Errorf("tunnel le=30 holds %d, want 1", b.GetCumulativeCount())
				}
			}
		}
	}
}

func TestNilMetricsAreOff(t *testing.T) {
	var m *metrics.Metrics
	next := &sink{}
	if rec := m.Recorder(next); rec != metrics.Recorder(next) {
		t.Error("a nil *Metrics wraps the recorder")
	}
	if m.Recorder(nil) != nil {
		t.Error("a nil *Metrics turns a nil recorder into a non-nil one")
	}
	m.Observe(model.RequestLog{Status: 200})
	m.RateLimitDenied("proxy")
	m.RateLimits(func() metrics.RateLimitStats { return metrics.RateLimitStats{} })
	m.LeafCache(func() metrics.LeafStats { return metrics.LeafStats{} })
	m.RequestLog(func() uint64 { return 0 }, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got, hook := m.TrackTunnels(ln); got != ln || hook != nil {
		t.Error("a nil *Metrics wraps the listener")
	}
}

func TestStatusClass(t *testing.T) {
	for s, want := range map[int]string{0: "none", 99: "none", 101: "1xx", 200: "2xx", 299: "2xx", 302: "3xx", 404: "4xx", 429: "4xx", 599: "5xx", 600: "none", -1: "none"} {
		if got := metrics.StatusClass(s); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", s, got, want)
		}
	}
}

func TestFuncCollectorsAndRateLimits(t *testing.T) {
	m := metrics.New("v")
	var mu sync.Mutex
	st := metrics.LeafStats{Hits: 5, Mints: 2, Shared: 1, Evictions: 0, Entries: 2}
	m.LeafCache(func() metrics.LeafStats { mu.Lock(); defer mu.Unlock(); return st })
	var dropped, written uint64 = 3, 40
	m.RequestLog(func() uint64 { return dropped }, func() uint64 { return written })
	mustValue(t, m, metrics.NameLeafHits, nil, 5)
	mustValue(t, m, metrics.NameLeafMints, nil, 2)
	mustValue(t, m, metrics.NameLeafShared, nil, 1)
	mustValue(t, m, metrics.NameLeafEvictions, nil, 0)
	mustValue(t, m, metrics.NameLeafEntries, nil, 2)
	mustValue(t, m, metrics.NameLogDropped, nil, 3)
	mustValue(t, m, metrics.NameLogWritten, nil, 40)
	mu.Lock()
	st.Hits, st.Entries = 9, 1
	mu.Unlock()
	dropped = 7
	mustValue(t, m, metrics.NameLeafHits, nil, 9)
	mustValue(t, m, metrics.NameLeafEntries, nil, 1)
	mustValue(t, m, metrics.NameLogDropped, nil, 7)

	// Rate limits: refusals pushed one by one, plus the limiter's snapshot.
	if _, ok := value(t, m, metrics.NameRateLimited, nil); ok {
		t.Error("denials are exported before any")
	}
	m.RateLimitDenied("proxy")
	m.RateLimitDenied("proxy")
	mustValue(t, m, metrics.NameRateLimited, map[string]string{"tier": "proxy"}, 2)
	rl := metrics.RateLimitStats{Denied: map[string]uint64{"auth": 4, "proxy": 1, "api": 0, "global": 0},
		Keys: map[string]int{"auth": 3, "api": 1, "proxy": 2}, Evicted: 5, InFlight: 7}
	m.RateLimits(func() metrics.RateLimitStats { mu.Lock(); defer mu.Unlock(); return rl })
	mustValue(t, m, metrics.NameRateLimited, map[string]string{"tier": "proxy"}, 3)
	mustValue(t, m, metrics.NameRateLimited, map[string]string{"tier": "auth"}, 4)
	mustValue(t, m, metrics.NameRateLimited, map[string]string{"tier": "global"}, 0)
	mustValue(t, m, metrics.NameRateLimitKeys, map[string]string{"tier": "auth"}, 3)
	mustValue(t, m, metrics.NameRateLimitEvicted, nil, 5)
	mustValue(t, m, metrics.NameRateLimitInFlight, nil, 7)
	mu.Lock()
	rl.Denied = map[string]uint64{"auth": 6}
	rl.InFlight = 0
	mu.Unlock()
	mustValue(t, m, metrics.NameRateLimited, map[string]string{"tier": "auth"}, 6)
	mustValue(t, m, metrics.NameRateLimitInFlight, nil, 0)
}

func TestTrackTunnels(t *testing.T) {
	m := metrics.New("v")
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, hook := m.TrackTunnels(raw)
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() (client, server net.Conn) {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c, <-accepted
	}
	c1, s1 := dial()
	c2, s2 := dial()
	defer c1.Close()
	defer c2.Close()
	mustValue(t, m, metrics.NameActiveTunnels, nil, 0)
	hook(s1, http.StateActive)
	mustValue(t, m, metrics.NameActiveTunnels, nil, 0)
	hook(s1, http.StateHijacked)
	hook(s1, http.StateHijacked) // counted once
	hook(s2, http.StateHijacked)
	mustValue(t, m, metrics.NameActiveTunnels, nil, 2)

	// Splicing through the wrapper works both ways, with half-closes.
	done := make(chan int64, 2)
	go func() { n, _ := io.Copy(s2, s1); _ = s2.(interface{ CloseWrite() error }).CloseWrite(); done <- n }()
	go func() { n, _ := io.Copy(s1, s2); _ = s1.(interface{ CloseWrite() error }).CloseWrite(); done <- n }()
	go func() { _, _ = io.WriteString(c1, "hello from one"); _ = c1.(*net.TCPConn).CloseWrite() }()
	go func() { _, _ = io.WriteString(c2, "and from two!"); _ = c2.(*net.TCPConn).CloseWrite() }()
	got2, _ := io.ReadAll(c2)
	got1, _ := io.ReadAll(c1)
	if string(got2) != "hello from one" || string(got1) != "and from two!" {
		t.Errorf("spliced %q and %q", got2, got1)
	}
	if a, b := <-done, <-done; a+b != int64(len("hello from one")+len("and from two!")) {
		t.Errorf("copied %d+%d bytes", a, b)
	}

	s1.Close()
	s1.Close() // uncounted once
	mustValue(t, m, metrics.NameActiveTunnels, nil, 1)
	s2.Close()
	mustValue(t, m, metrics.NameActiveTunnels, nil, 0)
	// A connection closed before it was hijacked is never counted.
	c3, s3 := dial()
	defer c3.Close()
	s3.Close()
	hook(s3, http.StateHijacked)
	mustValue(t, m, metrics.NameActiveTunnels, nil, 0)
}

func TestStartServesMetricsOnly(t *testing.T) {
	m := metrics.New("9.9.9")
	m.Recorder(nil).Record(model.RequestLog{VaultID: "v1", Service: "api", Ingress: "connect", Status: 200})
	stop, addr, err := m.Start("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`agent_vault_build_info{goversion="go`, `version="9.9.9"} 1`,
		`agent_vault_proxy_requests_total{service="api",status_class="2xx",vault_id="v1"} 1`,
		"# TYPE agent_vault_proxy_request_duration_seconds histogram",
		"go_goroutines", "process_",
	} {
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET /metrics (%d) lacks %q:\n%.2000s", resp.StatusCode, want, body)
		}
	}
	for _, path := range []string{"/", "/health", "/v1/status"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the metrics listener: %d, want 404", path, resp.StatusCode)
		}
	}
	if _, _, err := m.Start(addr, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Errorf("a second listener on a taken address: %v", err)
	}
}
