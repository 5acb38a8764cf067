package e2e

// Prometheus metrics through the real binary: off by default, served on
// --metrics-addr only (never on the control plane or the proxy port), and
// moved by proxied requests, tunnels, the leaf cache and the request log.

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mtScrape GETs /metrics and returns the text exposition.
func mtScrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := httpClient.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// mtValue sums the samples of name whose labels contain every one of
// labels (each `key="value"`); ok is false when no sample matched.
func mtValue(text, name string, labels ...string) (sum float64, ok bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		sum, ok = sum+v, true
	}
	return sum, ok
}

// mtWait scrapes until cond holds for the value of name{labels}.
func mtWait(t *testing.T, addr, what string, cond func(float64) bool, name string, labels ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		text := mtScrape(t, addr)
		if v, _ := mtValue(text, name, labels...); cond(v) {
			return text
		}
		if time.Now().After(deadline) {
			v, ok := mtValue(text, name, labels...)
			t.Fatalf("%s: %s%v = %v (found %v)\n%s", what, name, labels, v, ok, grepPrefix(text, "agent_vault_"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func grepPrefix(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func eq(n float64) func(float64) bool { return func(v float64) bool { return v == n } }
func ge(n float64) func(float64) bool { return func(v float64) bool { return v >= n } }

func TestMetricsListener(t *testing.T) {
	t.Parallel()
	maddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	b, up, tok := pxSetup(t, pxOpts{args: []string{"--metrics-addr", maddr}}, nil)
	mustContain(t, "server log", b.srv.stderr.String(), "metrics listening", maddr)

	// Before any traffic: build info, the runtime, zero request log rows.
	text := mtScrape(t, maddr)
	mustContain(t, "/metrics", text, `agent_vault_build_info{goversion="go`, `version="`, "go_goroutines",
		"agent_vault_leaf_cache_mints_total 0", "agent_vault_request_log_dropped_rows_total 0", "agent_vault_proxy_active_tunnels 0")
	if v, ok := mtValue(text, "agent_vault_build_info"); !ok || v != 1 {
		t.Errorf("build info = %v (%v)", v, ok)
	}

	// Two requests on one kept-alive tunnel (one leaf minted), then one on a
	// new tunnel (a leaf cache hit).
	c := b.client(tok, "", false)
	lgGet(t, b, c, "GET", up.url()+"/m/one", "", 200)
	lgGet(t, b, c, "POST", up.url()+"/m/two", "0123456789", 200)
	text = mtWait(t, maddr, "two requests", eq(2), "agent_vault_proxy_requests_total", `service="api"`, `status_class="2xx"`)
	if v, _ := mtValue(text, "agent_vault_proxy_active_tunnels"); v != 1 {
		t.Errorf("active tunnels with one kept-alive tunnel open = %v, want 1", v)
	}
	c2 := b.client(tok, "", false)
	lgGet(t, b, c2, "GET", up.url()+"/m/three", "", 200)
	text = mtWait(t, maddr, "three requests", eq(3), "agent_vault_proxy_requests_total", `service="api"`, `status_class="2xx"`)
	if v, _ := mtValue(text, "agent_vault_proxy_active_tunnels"); v != 2 {
		t.Errorf("active tunnels with two tunnels open = %v, want 2", v)
	}

	// A blind tunnel to a closed port: a 5xx without a service, and its
	// broker error code.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	if _, resp, _ := b.connect(deadAddr, pxBasic(tok, "")); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("CONNECT to a closed port: %d", resp.StatusCode)
	}
	text = mtWait(t, maddr, "the failed tunnel", eq(1), "agent_vault_proxy_requests_total", `service=""`, `status_class="5xx"`)
	for _, m := range []struct {
		name   string
		labels []string
		cond   func(float64) bool
	}{
		{"agent_vault_proxy_errors_total", []string{`code="upstream_unreachable"`}, eq(1)},
		{"agent_vault_proxy_request_duration_seconds_count", []string{`ingress="connect"`}, eq(3)},
		{"agent_vault_proxy_request_duration_seconds_count", []string{`ingress="tunnel"`}, eq(1)},
		{"agent_vault_proxy_request_bytes_total", []string{`service="api"`}, eq(10)},
		{"agent_vault_proxy_response_bytes_total", []string{`service="api"`}, ge(3)},
		{"agent_vault_leaf_cache_mints_total", nil, eq(1)},
		{"agent_vault_leaf_cache_hits_total", nil, ge(1)},
		{"agent_vault_leaf_cache_entries", nil, eq(1)},
		{"agent_vault_request_log_dropped_rows_total", nil, eq(0)},
	} {
		// Each row updates its series one after another, so a scrape may
		// fall between two of them: wait for each.
		text = mtWait(t, maddr, "after the failed tunnel", m.cond, m.name, m.labels...)
		if _, ok := mtValue(text, m.name, m.labels...); !ok {
			t.Errorf("%s%v is missing", m.name, m.labels)
		}
	}
	mtWait(t, maddr, "rows written", eq(4), "agent_vault_request_log_written_rows_total")

	// The rate limiter's series are there (off in this test: no denial).
	for _, tier := range []string{"auth", "api", "proxy", "global"} {
		if v, ok := mtValue(text, "agent_vault_ratelimit_denials_total", `tier="`+tier+`"`); !ok || v != 0 {
			t.Errorf("denials of tier %s = %v (found %v)", tier, v, ok)
		}
	}

	// Tunnels closed by the agent leave the gauge.
	c.Transport.(*http.Transport).CloseIdleConnections()
	c2.Transport.(*http.Transport).CloseIdleConnections()
	mtWait(t, maddr, "tunnels closed", eq(0), "agent_vault_proxy_active_tunnels")

	// Never a label value that is a secret, a path or a query.
	text = mtScrape(t, maddr)
	for _, s := range []string{pxAPIKey, tok, "/m/one", "localhost"} {
		if strings.Contains(text, s) {
			t.Errorf("/metrics holds %q", s)
		}
	}

	// /metrics is served on its own listener only.
	for _, u := range []string{b.srv.url + "/metrics", "http://" + b.proxyAddr + "/metrics"} {
		resp, err := httpClient.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "agent_vault_proxy_requests_total") {
			t.Errorf("GET %s: %d serves metrics:\n%.300s", u, resp.StatusCode, body)
		}
	}
}

func TestMetricsRateLimitDenials(t *testing.T) {
	t.Parallel()
	maddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	b, up, tok := pxSetup(t, pxOpts{args: []string{"--metrics-addr", maddr}, env: []string{
		"AGENT_VAULT_RATELIMIT_PROFILE=default", "AGENT_VAULT_RATELIMIT_PROXY_RATE=1/h", "AGENT_VAULT_RATELIMIT_PROXY_BURST=2"}}, nil)
	c := b.client(tok, "", false)
	var codes []int
	for i := 0; i < 4; i++ {
		resp, err := c.Get(up.url() + "/limited")
		if err != nil {
			t.Fatal(err)
		}
		b.read(resp)
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 200 || codes[3] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v, want 200 first and 429 last (burst 2)", codes)
	}
	denied := 0
	for _, c := range codes {
		if c == http.StatusTooManyRequests {
			denied++
		}
	}
	text := mtWait(t, maddr, "proxy denials", eq(float64(denied)), "agent_vault_ratelimit_denials_total", `tier="proxy"`)
	if v, _ := mtValue(text, "agent_vault_ratelimit_keys", `tier="proxy"`); v != 1 {
		t.Errorf("proxy keys = %v, want 1 (one agent, one vault)", v)
	}
	// The refused requests are in the request log and the request counters
	// as 4xx with their code.
	mtWait(t, maddr, "429 rows", eq(float64(denied)), "agent_vault_proxy_errors_total", `code="rate_limited"`)
}

func TestMetricsAddrIsValidated(t *testing.T) {
	t.Parallel()
	out := expectStartFailure(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "d"), args: []string{"--metrics-addr", "nonsense"}})
	mustContain(t, "bad --metrics-addr", out, "metrics address", "nonsense")
	out = expectStartFailure(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "e"), env: []string{"AGENT_VAULT_METRICS_ADDR=127.0.0.1:99999"}})
	mustContain(t, "bad AGENT_VAULT_METRICS_ADDR", out, "AGENT_VAULT_METRICS_ADDR")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	out = expectStartFailure(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "f"), args: []string{"--metrics-addr", taken.Addr().String()}})
	mustContain(t, "taken --metrics-addr", out, "cannot listen for metrics")
}
