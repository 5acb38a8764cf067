package proxy

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ConnLimits bound what a client can hold open on the proxy listener.
// Zero fields mean the defaults, chosen so that long SSE and websocket
// streams keep working: "idle" always means that no byte moved either
// way, and a stream that sends an event now and then never is.
type ConnLimits struct {
	// IdleTimeout closes a kept-alive connection (or an intercepted
	// tunnel) that waits this long for its next request. Default 90 s.
	IdleTimeout time.Duration
	// BodyTimeout cuts a request whose body sends no byte for this long,
	// and closes its connection. Default 60 s.
	BodyTimeout time.Duration
	// StreamIdleTimeout closes any connection, whatever it is doing (a
	// request waiting for its upstream, a blind tunnel, a websocket), on
	// which no byte moved either way for this long. Default 15 min.
	StreamIdleTimeout time.Duration
	// MaxConnsPerIP and MaxConns bound open connections from one client
	// address and in total; beyond them a new connection is answered 503
	// and closed. Defaults 1024 and 8192.
	MaxConnsPerIP int
	MaxConns      int
}

// Default connection limits.
const (
	DefaultIdleTimeout       = 90 * time.Second
	DefaultBodyTimeout       = 60 * time.Second
	DefaultStreamIdleTimeout = 15 * time.Minute
	DefaultMaxConnsPerIP     = 1024
	DefaultMaxConns          = 8192
)

func (c ConnLimits) withDefaults() ConnLimits {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	if c.StreamIdleTimeout <= 0 {
		c.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if c.MaxConnsPerIP <= 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c
}

// Server returns the http.Server for the proxy's outer listener: header
// and idle timeouts set, the proxy as its handler. Serve it on
// p.Listen(ln).
func (p *Proxy) Server() *http.Server {
	return &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       p.o.Conns.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
}

// Listen wraps the proxy's listener: it refuses connections beyond the
// per-address and total caps (503, then close), and closes connections on
// which no byte moved either way for StreamIdleTimeout. Closing the
// returned listener stops the idle sweep.
func (p *Proxy) Listen(ln net.Listener) net.Listener {
	l := &connLimiter{Listener: ln, lim: p.o.Conns, log: p.log, perIP: map[netip.Addr]int{}, conns: map[*trackedConn]struct{}{}, done: make(chan struct{})}
	go l.sweep()
	return l
}

// connLimiter is the listener Listen returns.
type connLimiter struct {
	net.Listener
	lim   ConnLimits
	log   *slog.Logger
	mu    sync.Mutex
	perIP map[netip.Addr]int
	conns map[*trackedConn]struct{}
	done  chan struct{}
	once  sync.Once
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		l.mu.Lock()
		over := ""
		switch {
		case len(l.conns) >= l.lim.MaxConns:
			over = "too many connections to the proxy"
		case l.perIP[ip] >= l.lim.MaxConnsPerIP:
			over = "too many connections from this address"
		}
		if over != "" {
			l.mu.Unlock()
			l.log.Debug("proxy connection refused", "client", ip.String(), "reason", over)
			go refuseConn(c, over)
			continue
		}
		tc := &trackedConn{Conn: rawSocket(c), l: l, ip: ip}
		tc.touch()
		l.perIP[ip]++
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

func (l *connLimiter) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// forget drops a closed connection from the counts.
func (l *connLimiter) forget(c *trackedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.conns[c]; !ok {
		return
	}
	delete(l.conns, c)
	if l.perIP[c.ip]--; l.perIP[c.ip] <= 0 {
		delete(l.perIP, c.ip)
	}
}

// sweep closes connections idle (no byte either way) past StreamIdleTimeout.
func (l *connLimiter) sweep() {
	every := max(l.lim.StreamIdleTimeout/4, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		cut := time.Now().Add(-l.lim.StreamIdleTimeout).UnixNano()
		var idle []*trackedConn
		l.mu.Lock()
		for c := range l.conns {
			if c.last.Load() < cut {
				idle = append(idle, c)
			}
		}
		l.mu.Unlock()
		for _, c := range idle {
			l.log.Debug("proxy connection closed: no bytes either way", "client", c.ip.String(), "idle_timeout", l.lim.StreamIdleTimeout)
			_ = c.Close()
		}
	}
}

// refuseConn answers a connection over a cap with 503 and closes it.
func refuseConn(c net.Conn, why string) {
	defer c.Close()
	body, _ := json.Marshal(errorBody{Error: "too_many_connections", Message: why, Help: "close idle connections, or retry after the Retry-After delay"})
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n" + ErrorHeader + ": true\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)+1) + "\r\n\r\n" + string(body) + "\n"))
}

func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// trackedConn counts toward the caps until closed and remembers when a
// byte last moved either way.
type trackedConn struct {
	net.Conn
	l    *connLimiter
	ip   netip.Addr
	last atomic.Int64 // Unix nanoseconds
	once sync.Once
}

func (c *trackedConn) touch() { c.last.Store(time.Now().UnixNano()) }

func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.touch()
	}
	return n, err
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.touch()
	}
	return n, err
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.forget(c) })
	return err
}

// NetConn is the accepted connection, for waiting on its socket
// (tunnelcopy.go).
func (c *trackedConn) NetConn() net.Conn { return c.Conn }

// CloseWrite keeps half-closing working for blind tunnels.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
