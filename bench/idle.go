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
	"os"
	"sync"
	"syscall"
	"time"
)

// The idle-connection scenario (-idle N, -idle-mitm M): how much resident
// memory the server needs per idle connection it holds open.
//
//   - A blind tunnel is a CONNECT to a host no service of the agent's
//     vault could match; the proxy splices it to the target without
//     looking inside. Its target here is a "hold" child process on
//     127.0.0.2 that accepts connections and keeps them open.
//   - An intercepted connection is a CONNECT to the bench upstream (a
//     service), a TLS handshake with the broker's leaf, one GET through
//     it (so the proxy has its upstream leg pooled), then nothing; once
//     over HTTP/1.1 and once over HTTP/2.
//
// For each kind it opens the connections, waits for the server to settle
// and reads VmRSS; the figure per connection is (RSS with them − RSS
// before) ÷ count. Every process raises its open-file limit to the hard
// limit (Go does this itself); the server needs two descriptors per blind
// tunnel, so N is capped at what the hard limit allows, and the report
// says so.

// idleResult is one kind's measurement.
type idleResult struct {
	kind        string
	asked, open int
	setup       int64 // server VmRSS right after setup, kB
	before      int64 // with one connection opened and closed
	with        int64
	after       int64 // once the connections were closed again
	cpuPerSec   float64
	took        time.Duration
	note        string
}

func (r idleResult) perConn() float64 {
	if r.open == 0 {
		return 0
	}
	return float64(r.with-r.before) * 1024 / float64(r.open)
}

// runIdle measures blind tunnels, then intercepted connections, each on
// a fresh server from start (so that neither reuses memory the other
// freed).
func runIdle(ctx context.Context, o options, up *upstream, start func(name string) (*server, error)) ([]idleResult, error) {
	hold, err := startHold()
	if err != nil {
		return nil, fmt.Errorf("hold process: %w", err)
	}
	defer hold.close()
	var lim syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	var out []idleResult
	if o.idle > 0 {
		n, note := o.idle, ""
		// The server holds two descriptors per tunnel (agent and target)
		// plus its own few dozen.
		if lim.Max > 0 && uint64(2*n+100) > lim.Max {
			n = int((lim.Max - 100) / 2)
			note = fmt.Sprintf("open-file hard limit %d allows %d tunnels in one process (2 descriptors each)", lim.Max, n)
		}
		srv, err := start("blind")
		if err != nil {
			return nil, err
		}
		r, err := holdIdle(ctx, srv, "blind tunnel (6.5 KB carried)", n, func(ctx context.Context) (net.Conn, error) {
			return blindIdle(ctx, srv, hold.addr)
		})
		srv.stop()
		if err != nil {
			return nil, err
		}
		r.asked, r.note = o.idle, note
		out = append(out, r)
	}
	if o.idleMITM > 0 {
		srv, err := start("intercepted")
		if err != nil {
			return nil, err
		}
		r, err := holdIdle(ctx, srv, "intercepted (HTTP/1.1, one request done)", o.idleMITM, func(ctx context.Context) (net.Conn, error) {
			return interceptedIdle(ctx, srv, up)
		})
		srv.stop()
		if err != nil {
			return nil, err
		}
		r.asked = o.idleMITM
		out = append(out, r)

		if srv, err = start("intercepted-h2"); err != nil {
			return nil, err
		}
		r, err = holdIdle(ctx, srv, "intercepted (HTTP/2, one request done)", o.idleMITM, func(ctx context.Context) (net.Conn, error) {
			return interceptedIdleH2(ctx, srv, up)
		})
		srv.stop()
		if err != nil {
			return nil, err
		}
		r.asked = o.idleMITM
		out = append(out, r)
	}
	return out, nil
}

// h2Idle is an idle HTTP/2 connection through the proxy: the client's
// transport holds it; Conn is the TCP connection to the proxy under it.
type h2Idle struct {
	net.Conn
	tr *http.Transport
}

func (c *h2Idle) Close() error {
	c.tr.CloseIdleConnections()
	return c.Conn.Close()
}

// stillOpen cannot read from under the HTTP/2 client: the proxy's idle
// timeout for intercepted connections (90 s) is far beyond the
// measurement, and a closed connection would show in the RSS anyway.
func (c *h2Idle) stillOpen() error { return nil }

// interceptedIdleH2 opens an intercepted tunnel to the upstream over
// HTTP/2, does one GET through it and leaves it idle.
func interceptedIdleH2(ctx context.Context, srv *server, up *upstream) (net.Conn, error) {
	var raw net.Conn
	tr := &http.Transport{
		Proxy: http.ProxyURL(srv.proxyURL),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{Timeout: 30 * time.Second}).DialContext(ctx, network, addr)
			raw = c
			return c, err
		},
		TLSClientConfig:   &tls.Config{RootCAs: srv.brokerPool},
		ForceAttemptHTTP2: true,
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+up.addr+"/small", nil)
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || raw == nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("GET /small over HTTP/2 through the tunnel: %s %s", resp.Proto, resp.Status)
	}
	return &h2Idle{Conn: raw, tr: tr}, nil
}

// holdIdle opens n connections with dial (32 at a time), measures, and
// closes them.
func holdIdle(ctx context.Context, srv *server, kind string, n int, dial func(context.Context) (net.Conn, error)) (idleResult, error) {
	r := idleResult{kind: kind}
	// One connection first, so that whatever the first one sets up once
	// (the upstream pool, caches) is in the baseline.
	if c, err := dial(ctx); err != nil {
		return r, fmt.Errorf("%s: %w", kind, err)
	} else {
		c.Close()
	}
	r.setup, _ = procStatus(srv.pid(), "VmRSS")
	var err error
	if r.before, err = settledRSS(srv.pid()); err != nil {
		return r, err
	}
	conns := make([]net.Conn, n)
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := dial(ctx)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s %d: %w", kind, i, err)
					}
					mu.Unlock()
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	r.took = time.Since(start)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for _, c := range conns {
		if c != nil {
			r.open++
		}
	}
	if firstErr != nil {
		return r, fmt.Errorf("%d of %d %s connections failed, first: %w", n-r.open, n, kind, firstErr)
	}
	logf("%d idle %s connections open in %s", r.open, kind, r.took.Round(time.Millisecond))
	if r.with, err = settledRSS(srv.pid()); err != nil {
		return r, err
	}
	// CPU the server spends holding them (e.g. rechecking each blind
	// tunnel's authorization), over 5 s.
	c0, _ := procCPU(srv.pid())
	time.Sleep(5 * time.Second)
	c1, _ := procCPU(srv.pid())
	r.cpuPerSec = (c1 - c0).Seconds() / 5
	// Every connection must still be open: an idle timeout would make the
	// figure meaningless.
	for _, c := range conns {
		if o, ok := c.(interface{ stillOpen() error }); ok {
			if err := o.stillOpen(); err != nil {
				return r, fmt.Errorf("a %s connection was closed while idle: %v", kind, err)
			}
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			return r, fmt.Errorf("a %s connection was closed while idle: %v", kind, err)
		}
	}
	for i, c := range conns {
		c.Close()
		conns[i] = nil
	}
	r.after, err = settledRSS(srv.pid())
	return r, err
}

// settledRSS waits until the server's VmRSS stops moving (two readings
// 500 ms apart within 1 %, at most 10 s) and returns it in kB.
func settledRSS(pid int) (int64, error) {
	prev, err := procStatus(pid, "VmRSS")
	if err != nil {
		return 0, err
	}
	for i := 0; i < 20; i++ {
		time.Sleep(500 * time.Millisecond)
		cur, err := procStatus(pid, "VmRSS")
		if err != nil {
			return 0, err
		}
		if d := cur - prev; d*100 <= prev && -d*100 <= prev {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// What a blind tunnel carries before it goes idle: roughly a TLS
// handshake's client and server flights.
var (
	tunnelHello = make([]byte, 512)
	tunnelReply = make([]byte, 6000)
)

// blindIdle opens a blind tunnel to the hold process, exchanges a
// handshake-sized hello and leaves it idle.
func blindIdle(ctx context.Context, srv *server, target string) (net.Conn, error) {
	c, err := connectTunnel(ctx, srv, target)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(tunnelHello); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := io.ReadFull(c, make([]byte, len(tunnelReply))); err != nil {
		c.Close()
		return nil, fmt.Errorf("reading the target's reply through the tunnel: %w", err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// connectTunnel opens a CONNECT tunnel to target through the proxy.
func connectTunnel(ctx context.Context, srv *server, target string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", srv.proxyAddr)
	if err != nil {
		return nil, err
	}
	auth := base64.StdEncoding.EncodeToString([]byte(srv.token + ":default"))
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	_, _ = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+auth+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || br.Buffered() > 0 {
		c.Close()
		return nil, fmt.Errorf("CONNECT %s: %s", target, resp.Status)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// interceptedIdle opens an intercepted tunnel to the upstream, does one
// GET through it and leaves it idle.
func interceptedIdle(ctx context.Context, srv *server, up *upstream) (net.Conn, error) {
	raw, err := connectTunnel(ctx, srv, up.addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, &tls.Config{RootCAs: srv.brokerPool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+up.addr+"/small", nil)
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
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tc.Close()
		return nil, fmt.Errorf("GET /small through the tunnel: %s", resp.Status)
	}
	_ = tc.SetDeadline(time.Time{})
	return tc, nil
}

// startHold starts the child process that accepts blind-tunnel targets
// and keeps them open.
func startHold() (*child, error) { return startChild("hold", "-serve-hold") }

// serveHoldChild is the hold process's main: accept on 127.0.0.2 (a
// loopback address no bench service names, so tunnels to it are blind)
// and keep every connection open, reading and discarding, until stdin
// closes.
func serveHoldChild() error {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// Answer the client's hello with a server hello of about
				// the size a TLS handshake sends, so the tunnel has
				// carried bytes both ways before it goes idle.
				if _, err := io.ReadFull(c, make([]byte, len(tunnelHello))); err == nil {
					_, _ = c.Write(tunnelReply)
				}
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	serveUntilParentGoes(ln.Addr().String())
	return ln.Close()
}

// printIdleReport writes the idle-connection table.
func printIdleReport(w io.Writer, m machine, res []idleResult) {
	fmt.Fprintf(w, "## Idle connections\n\n%s, %d cores, %s, %s, %s\n\n", m.cpu, m.cores, m.kernel, m.goVer, m.started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintln(w, "| kind | open | RSS after setup | RSS before | RSS with them | per connection | RSS after closing | server CPU while idle | opened in |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range res {
		fmt.Fprintf(w, "| %s | %d | %.1f MB | %.1f MB | %.1f MB | %.1f KB | %.1f MB | %.1f %% of a core | %s |\n", r.kind, r.open,
			float64(r.setup)/1024, float64(r.before)/1024, float64(r.with)/1024, r.perConn()/1024, float64(r.after)/1024, 100*r.cpuPerSec, r.took.Round(time.Millisecond))
	}
	for _, r := range res {
		if r.note != "" {
			fmt.Fprintf(w, "\n%s: asked for %d, %s; at the measured rate %d would need %.0f MB.\n", r.kind, r.asked, r.note, r.asked,
				(float64(r.before)*1024+r.perConn()*float64(r.asked))/1e6)
		}
	}
	fmt.Fprintln(w)
}
