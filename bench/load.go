//go:build bench

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// side is where a client sends its requests.
type side int

const (
	direct side = iota
	proxied
	// relayed goes through the same server in a blind tunnel (CONNECT to
	// localhost, a name no bench service has, so nothing is intercepted):
	// the agent's own TLS session reaches the upstream and the server only
	// copies bytes. It is the cheapest hop any proxy can add, so its ratio
	// to direct is the floor under what a proxy that terminates TLS can
	// reach on this machine (-relay).
	relayed
	// terminated goes through the TLS relay of -tls-relay (tlsrelay.go):
	// both TLS sessions terminated and the plaintext copied, nothing
	// else. It is the floor under what a proxy that reads requests can
	// reach on this machine.
	terminated
)

func (s side) String() string {
	switch s {
	case direct:
		return "direct"
	case relayed:
		return "via tunnel"
	case terminated:
		return "via TLS relay"
	}
	return "via proxy"
}

// relayHost is the upstream's address under a name the bench service
// does not match (the upstream's certificate names 127.0.0.1, which the
// relayed side's TLS configuration asks for).
func (h *harness) relayHost() string { return "localhost:" + strconv.Itoa(h.up.port) }

type harness struct {
	o     options
	up    *upstream
	srv   *server
	relay *tlsRelay // with -tls-relay
}

// hopPID is the process a side's traffic passes through (0 direct).
func (h *harness) hopPID(s side) int {
	switch s {
	case direct:
		return 0
	case terminated:
		return h.relay.pid()
	}
	return h.srv.pid()
}

// transport is an agent's HTTP client transport. The direct client holds
// the credential and sends it itself; through the proxy it sends none and
// the broker injects it.
func (h *harness) transport(s side, h2, keepAlive bool) *http.Transport {
	tr := &http.Transport{
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableCompression:  true,
		DisableKeepAlives:   !keepAlive,
		ForceAttemptHTTP2:   h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	switch s {
	case proxied:
		tr.Proxy = http.ProxyURL(h.srv.proxyURL)
		tr.TLSClientConfig = &tls.Config{RootCAs: h.srv.brokerPool}
	case relayed:
		tr.Proxy = http.ProxyURL(h.srv.proxyURL)
		tr.TLSClientConfig = &tls.Config{RootCAs: h.up.pool, ServerName: "127.0.0.1"}
	case terminated:
		tr.Proxy = http.ProxyURL(h.relay.url)
		tr.TLSClientConfig = &tls.Config{RootCAs: h.relay.pool}
	default:
		tr.TLSClientConfig = &tls.Config{RootCAs: h.up.pool}
	}
	return tr
}

func (h *harness) request(ctx context.Context, s side, path string) *http.Request {
	host := h.up.addr
	if s == relayed {
		host = h.relayHost()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+path, nil)
	if s != proxied { // nothing injects a credential on these sides
		req.Header.Set("Authorization", wantAuth)
	}
	return req
}

// get does one request and reads the whole body.
func (h *harness) get(ctx context.Context, c *http.Client, s side, path string) (int64, error) {
	resp, err := c.Do(h.request(ctx, s, path))
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return n, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("%s: status %d", path, resp.StatusCode)
	}
	return n, nil
}

// sanityCheck proves both paths work before measuring, and that the
// proxied request reached the upstream with the injected credential
// over the negotiated protocol.
func (h *harness) sanityCheck(ctx context.Context) error {
	for _, s := range h.sides() {
		if s == relayed {
			continue // checked by its first run: it needs no credential handling
		}
		for _, h2 := range []bool{false, true} {
			if h2 && h.o.h1only {
				continue
			}
			tr := h.transport(s, h2, true)
			resp, err := (&http.Client{Transport: tr}).Do(h.request(ctx, s, "/small"))
			if err != nil {
				return fmt.Errorf("sanity check %s h2=%v: %w", s, h2, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			want := 1
			if h2 {
				want = 2
			}
			if resp.StatusCode != 200 || len(body) != smallBodyLen || resp.ProtoMajor != want {
				return fmt.Errorf("sanity check %s h2=%v: status %d, HTTP/%d, %d bytes: %.300s", s, h2, resp.StatusCode, resp.ProtoMajor, len(body), body)
			}
		}
	}
	// Response redaction is on for the service (the default): an upstream
	// that echoes the injected credential shows the agent a placeholder.
	tr := h.transport(proxied, false, true)
	resp, err := (&http.Client{Transport: tr}).Do(h.request(ctx, proxied, "/echo-auth"))
	if err != nil {
		return fmt.Errorf("sanity check: echo: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tr.CloseIdleConnections()
	if resp.StatusCode != 200 || strings.Contains(string(body), credentialValue) || !strings.Contains(string(body), "[agent-vault:redacted]") {
		return fmt.Errorf("sanity check: response redaction is not on for the bench service: status %d", resp.StatusCode)
	}
	if n, err := h.up.refused(h.up.pool); err != nil || n != 0 {
		return fmt.Errorf("sanity check: the upstream refused %d requests for lack of the credential (%v)", n, err)
	}
	return nil
}

// loadResult is one closed-loop run.
type loadResult struct {
	done     int64           // requests completed inside the measured window
	errs     int64           // failed requests (any phase)
	elapsed  time.Duration   // the measured window
	lat      []time.Duration // latencies of requests started and ended inside it
	firstErr error
}

func (r loadResult) perSecond() float64 { return float64(r.done) / r.elapsed.Seconds() }

// closedLoop runs conc workers calling do back to back: warm-up first
// (connections open, caches fill), then the measured window. Throughput
// counts completions inside the window, latency only requests wholly
// inside it.
func closedLoop(ctx context.Context, conc int, warm, dur time.Duration, wantLat bool, do func(ctx context.Context) error) loadResult {
	const (
		warming = iota
		measuring
		stopped
	)
	var phase atomic.Int32
	var done, errs atomic.Int64
	var mu sync.Mutex
	var firstErr error
	lats := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for ctx.Err() == nil {
				p0 := phase.Load()
				if p0 == stopped {
					return
				}
				t0 := time.Now()
				err := do(ctx)
				d := time.Since(t0)
				p1 := phase.Load()
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					time.Sleep(time.Millisecond) // do not spin on a dead path
					continue
				}
				if p1 == measuring {
					done.Add(1)
					if wantLat && p0 == measuring {
						lats[w] = append(lats[w], d)
					}
				}
			}
		}(w)
	}
	sleepCtx(ctx, warm)
	phase.Store(measuring)
	t0 := time.Now()
	sleepCtx(ctx, dur)
	phase.Store(stopped)
	elapsed := time.Since(t0)
	wg.Wait()
	r := loadResult{done: done.Load(), errs: errs.Load(), elapsed: elapsed, firstErr: firstErr}
	for _, l := range lats {
		r.lat = append(r.lat, l...)
	}
	return r
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func usec(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// rssSampler records the peak VmRSS of a process while it runs.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Int64 // kB
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := procStatus(pid, "VmRSS"); err == nil && kb > s.peak.Load() {
				s.peak.Store(kb)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() int64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

// ---- scenarios ----

// sample is the outcome of one run of one scenario on one side: named
// figures (metric id → value).
type sample map[string]float64

func (h *harness) errCheck(name string, s side, r loadResult) error {
	if r.done == 0 {
		return fmt.Errorf("%s %s: no request succeeded (%d errors, first: %v)", name, s, r.errs, r.firstErr)
	}
	if r.errs*1000 > r.done {
		return fmt.Errorf("%s %s: %d errors for %d successes (first: %v)", name, s, r.errs, r.done, r.firstErr)
	}
	if r.errs > 0 {
		logf("%s %s: %d errors (first: %v)", name, s, r.errs, r.firstErr)
	}
	return nil
}

// smallC1: kept-alive small GETs one at a time over HTTP/1.1.
func (h *harness) smallC1(ctx context.Context, s side) (sample, error) {
	tr := h.transport(s, false, true)
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	r := closedLoop(ctx, 1, h.o.warmup, h.o.duration, true, func(ctx context.Context) error {
		_, err := h.get(ctx, c, s, "/small")
		return err
	})
	if err := h.errCheck("small GET c=1", s, r); err != nil {
		return nil, err
	}
	slices.Sort(r.lat)
	return sample{"p50": usec(percentile(r.lat, 50)), "p99": usec(percentile(r.lat, 99)), "rps": r.perSecond()}, nil
}

// smallC32: kept-alive small GETs from 32 workers, over HTTP/1.1 (one
// connection per worker) or HTTP/2 (multiplexed). Through the proxy it
// samples the server's RSS and CPU time.
func (h *harness) smallC32(h2 bool) func(ctx context.Context, s side) (sample, error) {
	return func(ctx context.Context, s side) (sample, error) {
		tr := h.transport(s, h2, true)
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		cpu0, _ := procCPU(h.hopPID(s))
		r := closedLoop(ctx, 32, h.o.warmup, h.o.duration, false, func(ctx context.Context) error {
			_, err := h.get(ctx, c, s, "/small")
			return err
		})
		out := sample{"rps": r.perSecond()}
		if s != direct {
			// Server CPU over warm-up and window, per request of the
			// window: a slight overestimate, fine for comparing protocols.
			cpu1, _ := procCPU(h.hopPID(s))
			out["srv_cpu_us_per_req"] = usec(cpu1-cpu0) / float64(r.done)
		}
		return out, h.errCheck("small GET c=32", s, r)
	}
}

// newConnC8: every request on a new connection (DisableKeepAlives), from 8
// workers: TCP connect, CONNECT and the client's TLS handshake through the
// proxy (the proxy's upstream leg is pooled), TCP and TLS direct.
func (h *harness) newConnC8(ctx context.Context, s side) (sample, error) {
	tr := h.transport(s, false, false)
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	r := closedLoop(ctx, 8, h.o.warmup, h.o.duration, true, func(ctx context.Context) error {
		_, err := h.get(ctx, c, s, "/small")
		return err
	})
	if err := h.errCheck("new connection c=8", s, r); err != nil {
		return nil, err
	}
	slices.Sort(r.lat)
	return sample{"rps": r.perSecond(), "p50": usec(percentile(r.lat, 50))}, nil
}

// download: 10 MB bodies back to back on one kept-alive connection, for
// the run's duration (at least one whole body). Through the proxy it also
// reports the server's CPU time per MB moved.
func (h *harness) download(h2 bool) func(ctx context.Context, s side) (sample, error) {
	return func(ctx context.Context, s side) (sample, error) {
		tr := h.transport(s, h2, true)
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		if _, err := h.get(ctx, c, s, "/small"); err != nil { // open the connection
			return nil, err
		}
		var total int64
		cpu0, _ := procCPU(h.hopPID(s))
		t0 := time.Now()
		for total == 0 || time.Since(t0) < h.o.duration {
			n, err := h.get(ctx, c, s, "/big")
			if err != nil {
				return nil, fmt.Errorf("download %s: %w", s, err)
			}
			if n != bigBodyLen {
				return nil, fmt.Errorf("download %s: %d bytes, want %d", s, n, bigBodyLen)
			}
			total += n
		}
		el := time.Since(t0)
		out := sample{"mbps": float64(total) / 1e6 / el.Seconds()}
		if s != direct {
			cpu1, _ := procCPU(h.hopPID(s))
			out["srv_cpu_ms_per_mb"] = float64(cpu1-cpu0) / float64(time.Millisecond) / (float64(total) / 1e6)
		}
		return out, nil
	}
}

// wsConn is a websocket client connection.
type wsConn struct {
	c  net.Conn
	br *bufio.Reader
}

// dialWS opens a websocket to the upstream's echo endpoint, through a
// CONNECT tunnel via the proxy or directly.
func (h *harness) dialWS(ctx context.Context, s side) (*wsConn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	var raw net.Conn
	var cfg *tls.Config
	if s != direct {
		target := h.up.addr
		if s == relayed {
			target = h.relayHost()
		}
		hop := h.srv.proxyAddr
		if s == terminated {
			hop = h.relay.addr
		}
		c, err := d.DialContext(ctx, "tcp", hop)
		if err != nil {
			return nil, err
		}
		auth := base64.StdEncoding.EncodeToString([]byte(h.srv.token + ":default"))
		_, _ = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+auth+"\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			c.Close()
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || br.Buffered() > 0 {
			c.Close()
			return nil, fmt.Errorf("CONNECT: %s", resp.Status)
		}
		raw, cfg = c, &tls.Config{RootCAs: h.srv.brokerPool}
		switch s {
		case relayed:
			cfg = &tls.Config{RootCAs: h.up.pool}
		case terminated:
			cfg = &tls.Config{RootCAs: h.relay.pool}
		}
	} else {
		c, err := d.DialContext(ctx, "tcp", h.up.addr)
		if err != nil {
			return nil, err
		}
		raw, cfg = c, &tls.Config{RootCAs: h.up.pool}
	}
	cfg.ServerName = "127.0.0.1"
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	req := h.request(ctx, s, "/ws")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	key := wsKey()
	req.Header.Set("Sec-WebSocket-Key", key)
	if err := req.Write(tc); err != nil {
		tc.Close()
		return nil, err
	}
	br := bufio.NewReader(tc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		tc.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		tc.Close()
		return nil, fmt.Errorf("websocket handshake %s: %s %s", s, resp.Status, b)
	}
	return &wsConn{c: tc, br: br}, nil
}

// websocket: echo round trips of a 128-byte text message, one at a time
// on one connection.
func (h *harness) websocket(ctx context.Context, s side) (sample, error) {
	ws, err := h.dialWS(ctx, s)
	if err != nil {
		return nil, err
	}
	defer ws.c.Close()
	msg := []byte(strings.Repeat("m", 127) + "\n")
	var buf []byte
	var mu sync.Mutex // closedLoop runs one worker; the lock documents it
	r := closedLoop(ctx, 1, h.o.warmup, h.o.duration, true, func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if err := writeFrame(ws.c, opText, msg, true); err != nil {
			return err
		}
		op, p, err := readFrame(ws.br, buf)
		if err != nil {
			return err
		}
		buf = p[:0]
		if op != opText || string(p) != string(msg) {
			return errors.New("websocket: echo differs")
		}
		return nil
	})
	if r.errs > 0 {
		return nil, fmt.Errorf("websocket %s: %v", s, r.firstErr)
	}
	_ = writeFrame(ws.c, opClose, nil, true)
	slices.Sort(r.lat)
	return sample{"rtps": r.perSecond(), "p50": usec(percentile(r.lat, 50))}, nil
}

// smallIdle: kept-alive small GETs one at a time with sseGap of quiet
// before each, as an event stream's first request meets the proxy: every
// process asleep, caches cold. Beside f's time to first event it tells a
// cost of waking up from one of streaming.
func (h *harness) smallIdle(ctx context.Context, s side) (sample, error) {
	tr := h.transport(s, false, true)
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	if _, err := h.get(ctx, c, s, "/small"); err != nil {
		return nil, err
	}
	var lat []time.Duration
	t0 := time.Now()
	for len(lat) == 0 || time.Since(t0) < h.o.duration {
		sleepCtx(ctx, sseGap)
		start := time.Now()
		if _, err := h.get(ctx, c, s, "/small"); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return sample{"p50": usec(percentile(lat, 50))}, nil
}

// SSE stream shape: sseEvents events sseGap apart.
const (
	sseEvents = 10
	sseGap    = 20 * time.Millisecond
)

// sse: streams one after another on a kept-alive HTTP/1.1 connection.
// Time to first event is from sending the request to reading the first
// event; an event's delay is from the upstream writing it to the client
// reading it (same process, same clock). An event delayed by more than
// the gap between events means a stream was buffered.
func (h *harness) sse(ctx context.Context, s side) (sample, error) {
	tr := h.transport(s, false, true)
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	if _, err := h.get(ctx, c, s, "/small"); err != nil {
		return nil, err
	}
	path := "/sse?n=" + strconv.Itoa(sseEvents) + "&gap=" + sseGap.String()
	var ttfe, delays []time.Duration
	t0 := time.Now()
	for len(ttfe) == 0 || time.Since(t0) < h.o.duration {
		start := time.Now()
		resp, err := c.Do(h.request(ctx, s, path))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return nil, fmt.Errorf("sse %s: status %d", s, resp.StatusCode)
		}
		br := bufio.NewReader(resp.Body)
		n := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				break
			}
			v, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: ")
			if !ok {
				continue
			}
			now := time.Now()
			sent, _ := strconv.ParseInt(v, 10, 64)
			if n == 0 {
				ttfe = append(ttfe, now.Sub(start))
			} else {
				delays = append(delays, now.Sub(time.Unix(0, sent)))
			}
			n++
		}
		resp.Body.Close()
		if n != sseEvents {
			return nil, fmt.Errorf("sse %s: %d events, want %d", s, n, sseEvents)
		}
	}
	slices.Sort(ttfe)
	slices.Sort(delays)
	return sample{
		"ttfe":      usec(percentile(ttfe, 50)),
		"delay":     usec(percentile(delays, 50)),
		"delay_max": usec(delays[len(delays)-1]),
	}, nil
}
