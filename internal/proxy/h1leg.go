package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"syscall"
	"time"
)

// h1Leg is the upstream leg of simple requests, from HTTP/1 and HTTP/2
// agents alike: GET and HEAD without a body, no upgrade. It writes the
// request and reads the response on the handler's own goroutine, over a
// pooled HTTP/1.1 connection. http.Transport hands every request to a writer goroutine and
// every response back from a reader goroutine; on a small request those
// hand-offs (and the wake-ups of idle threads they cause) cost more than
// the request itself (docs/performance.md). Every other request goes
// through fallback, the HTTP/1.1 Transport.
//
// The request is written by net/http's own Request.Write and the response
// parsed by http.ReadResponse, so framing is net/http's. A connection is
// reused only when its response was read to its exact end (declared
// length or last chunk), nothing more was buffered after it, the upstream
// did not ask to close, and, just before reuse, not one byte has arrived
// since: not in the response reader, not decrypted and unread in the TLS
// layer, not between the socket and the TLS layer (recordConn,
// tlsrecordconn.go, keeps crypto/tls from reading ahead past the record
// it needs, so even the first bytes of a TLS record cut short are seen),
// not in the socket (no byte and no end of stream). An upstream's
// unsolicited extra response can never be taken for the answer to a
// later request (the same agent's and service's: pools are per agent and
// service, upstreampools.go); the tests that try are
// TestUpstreamUnsolicitedResponseNotServed and
// TestUpstreamUnsolicitedPartialRecordNotServed. What arrives after the
// next request was written is its answer as far as HTTP/1.1 can tell,
// for this client as for any.
type h1Leg struct {
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	tls      *tls.Config // cloned per dial with the host's ServerName
	fallback http.RoundTripper

	mu        sync.Mutex
	idle      map[h1Key][]*h1Conn // last in, first out
	nIdle     int
	lastSweep time.Time
	closed    bool
}

const (
	h1MaxIdlePerHost = 256
	h1MaxIdle        = 1024
	h1IdleTimeout    = 90 * time.Second
	h1HandshakeLimit = 15 * time.Second
	// h1MaxHeaderBytes bounds a response's status line and header, as
	// http.Transport's default does.
	h1MaxHeaderBytes = 10 << 20
	// h1Max1xx bounds the informational responses before the final one.
	h1Max1xx = 5
)

func newH1Leg(dial func(ctx context.Context, network, addr string) (net.Conn, error), cfg *tls.Config, fallback http.RoundTripper) *h1Leg {
	c := cfg.Clone()
	c.NextProtos = []string{"http/1.1"}
	return &h1Leg{dial: dial, tls: c, fallback: fallback, idle: map[h1Key][]*h1Conn{}}
}

// h1Conn is one upstream connection of the h1Leg.
type h1Conn struct {
	nc     net.Conn
	raw    syscall.RawConn // the TCP socket, to check an idle connection; nil: never reused
	rec    *recordConn     // between the socket and the TLS layer (tlsrecordconn.go); nil for http
	lim    limitReader
	br     *bufio.Reader
	bw     *bufio.Writer
	key    h1Key
	reused bool
	since  time.Time // idle since
}

// limitReader fails reads past n bytes: it bounds a response header.
type limitReader struct {
	r io.Reader
	n int64
}

var errHeaderTooLarge = errors.New("the upstream's response header is too large")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// simpleRequest reports whether the fast leg may carry r: a GET or HEAD
// with no body, no upgrade and no Expect. An HTTP/2 agent's simple
// requests take it too: an HTTP/1.1 exchange costs the proxy and the
// upstream less CPU than a stream multiplexed over HTTP/2 (hand-offs to
// the connection's reader and writer goroutines, HPACK); what needs
// HTTP/2 end to end (gRPC) is a POST.
func simpleRequest(r *http.Request) bool {
	return (r.ProtoMajor == 1 || r.ProtoMajor == 2) && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(r.Body == nil || r.Body == http.NoBody) && r.ContentLength == 0 && !r.Close &&
		len(r.Header["Connection"]) == 0 && len(r.Header["Upgrade"]) == 0 && len(r.Header["Expect"]) == 0 &&
		len(r.TransferEncoding) == 0 && r.URL.User == nil && (r.URL.Scheme == "https" || r.URL.Scheme == "http")
}

func (l *h1Leg) RoundTrip(r *http.Request) (*http.Response, error) {
	if !simpleRequest(r) {
		return l.fallback.RoundTrip(r)
	}
	key, host, err := h1KeyOf(r)
	if err != nil {
		return nil, err
	}
	if err := validHeader(r.Header); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		c := l.get(key)
		if c == nil {
			if c, err = l.connect(r.Context(), key, host); err != nil {
				return nil, err
			}
		}
		resp, err := l.exchange(c, r)
		if err == nil {
			return resp, nil
		}
		// An idle connection the upstream closed meanwhile fails at once;
		// GET and HEAD may be sent again on a fresh one.
		if !c.reused || attempt > 0 || r.Context().Err() != nil {
			return nil, err
		}
	}
}

// h1Key names a connection pool: the owner's connections to one scheme
// and host:port (upstreampools.go).
type h1Key struct {
	owner        poolOwner
	scheme, addr string
}

// h1KeyOf is the pool for r, with the TLS server name.
func h1KeyOf(r *http.Request) (key h1Key, host string, err error) {
	host, port := r.URL.Hostname(), r.URL.Port()
	if host == "" {
		return h1Key{}, "", errors.New("the request names no host")
	}
	if port == "" {
		port = "443"
		if r.URL.Scheme == "http" {
			port = "80"
		}
	}
	return h1Key{owner: ownerOf(r), scheme: r.URL.Scheme, addr: net.JoinHostPort(host, port)}, host, nil
}

// exchange writes r on c and reads the response header. On error c is
// closed.
func (l *h1Leg) exchange(c *h1Conn, r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := r.Write(c.bw); err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err)
	}
	c.lim.n = h1MaxHeaderBytes
	var resp *http.Response
	for n1xx := 0; ; n1xx++ {
		var err error
		if resp, err = http.ReadResponse(c.br, r); err != nil {
			return fail(err)
		}
		code := resp.StatusCode
		if code == http.StatusSwitchingProtocols {
			return fail(errors.New("the upstream switched protocols on a request that asked for no upgrade"))
		}
		if code >= 200 {
			break
		}
		if n1xx >= h1Max1xx {
			return fail(errors.New("the upstream sent too many informational responses"))
		}
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, map[string][]string(resp.Header)); err != nil {
				return fail(err)
			}
		}
		c.lim.n = h1MaxHeaderBytes
	}
	c.lim.n = 1<<63 - 1
	reusable := c.raw != nil && !resp.Close && (resp.Body == http.NoBody || resp.ContentLength >= 0 || chunked(resp.TransferEncoding))
	resp.Body = &h1Body{rc: resp.Body, c: c, l: l, reusable: reusable, stop: stop}
	return resp, nil
}

func chunked(te []string) bool { return len(te) == 1 && te[0] == "chunked" }

// h1Body hands its connection back to the pool once read to its end.
type h1Body struct {
	rc       io.ReadCloser
	c        *h1Conn
	l        *h1Leg
	reusable bool
	done     bool
	stop     func() bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err != nil {
		b.finish(err == io.EOF)
	}
	return n, err
}

func (b *h1Body) Close() error {
	if !b.done {
		// Not read to its end: what is left would be read as the next
		// response. Transport does the same (it closes, it does not drain).
		b.finish(false)
	}
	return nil
}

// finish returns the connection to the pool or closes it.
func (b *h1Body) finish(atEOF bool) {
	b.done = true
	notFired := b.stop()
	if atEOF && b.reusable && notFired && b.c.br.Buffered() == 0 && b.c.rec.idle() {
		b.l.put(b.c)
		return
	}
	b.c.nc.Close()
}

// connect dials a new connection for key.
func (l *h1Leg) connect(ctx context.Context, key h1Key, host string) (*h1Conn, error) {
	nc, err := l.dial(ctx, "tcp", key.addr)
	if err != nil {
		return nil, err
	}
	var raw syscall.RawConn
	if sc, ok := nc.(syscall.Conn); ok {
		raw, _ = sc.SyscallConn()
	}
	var rec *recordConn
	if key.scheme == "https" {
		cfg := l.tls.Clone()
		cfg.ServerName = host
		rec = newRecordConn(nc)
		tc := tls.Client(rec, cfg)
		hctx, cancel := context.WithTimeout(ctx, h1HandshakeLimit)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	c := &h1Conn{nc: nc, raw: raw, rec: rec, key: key}
	c.lim.r = nc
	c.br = bufio.NewReaderSize(&c.lim, 4<<10) // bodies are read past it, straight into the copy buffer
	c.bw = bufio.NewWriterSize(nc, 4<<10)
	return c, nil
}

// get takes an idle connection for key that is still clean: nothing
// unread on it and not closed by the upstream.
func (l *h1Leg) get(key h1Key) *h1Conn {
	now := time.Now()
	for {
		l.mu.Lock()
		cs := l.idle[key]
		if len(cs) == 0 {
			l.mu.Unlock()
			return nil
		}
		c := cs[len(cs)-1]
		cs[len(cs)-1] = nil
		l.idle[key] = cs[:len(cs)-1]
		if len(cs) == 1 {
			delete(l.idle, key)
		}
		l.nIdle--
		l.mu.Unlock()
		if now.Sub(c.since) < h1IdleTimeout && c.clean() {
			c.reused = true
			return c
		}
		c.nc.Close()
	}
}

// clean reports whether nothing at all has arrived on an idle connection:
// not in the response reader, not in the TLS layer (decrypted and unread),
// not between the socket and the TLS layer (a byte of a later record:
// recordConn keeps the TLS layer from reading past the record it needs,
// so a partial record cannot hide in its read-ahead), not in the socket.
func (c *h1Conn) clean() bool {
	if c.br.Buffered() > 0 || !c.rec.idle() || !quiet(c.raw) {
		return false
	}
	// A read with an expired deadline returns what the TLS layer holds
	// decrypted, or times out at once, without a system call, when it
	// holds nothing: recordConn holds nothing either (checked above), so
	// the TLS layer's read goes to the socket, whose deadline has passed.
	if c.nc.SetReadDeadline(time.Unix(1, 0)) != nil {
		return false
	}
	_, err := c.br.Peek(1)
	if c.nc.SetReadDeadline(time.Time{}) != nil {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// quiet reports whether a socket has nothing to read and no end of stream
// pending: one non-blocking peek.
func quiet(raw syscall.RawConn) bool {
	ok := false
	err := raw.Read(func(fd uintptr) bool {
		n, errno := peekNoWait(fd)
		ok = n < 0 && (errno == syscall.EAGAIN || errno == syscall.EWOULDBLOCK)
		return true // never wait
	})
	return err == nil && ok
}

// put parks c for reuse, or closes it when the pool is full or closed.
func (l *h1Leg) put(c *h1Conn) {
	now := time.Now()
	c.since = now
	l.mu.Lock()
	if l.closed || l.nIdle >= h1MaxIdle || len(l.idle[c.key]) >= h1MaxIdlePerHost {
		l.mu.Unlock()
		c.nc.Close()
		return
	}
	l.idle[c.key] = append(l.idle[c.key], c)
	l.nIdle++
	var stale []*h1Conn
	if now.Sub(l.lastSweep) > h1IdleTimeout/3 {
		l.lastSweep = now
		stale = l.sweepLocked(now)
	}
	l.mu.Unlock()
	for _, s := range stale {
		s.nc.Close()
	}
}

// sweepLocked drops connections idle for longer than h1IdleTimeout.
func (l *h1Leg) sweepLocked(now time.Time) []*h1Conn {
	var stale []*h1Conn
	for k, cs := range l.idle {
		keep := cs[:0]
		for _, c := range cs {
			if now.Sub(c.since) >= h1IdleTimeout {
				stale = append(stale, c)
				continue
			}
			keep = append(keep, c)
		}
		clear(cs[len(keep):])
		if len(keep) == 0 {
			delete(l.idle, k)
		} else {
			l.idle[k] = keep
		}
	}
	l.nIdle -= len(stale)
	return stale
}

// Close closes the idle connections and stops pooling.
func (l *h1Leg) Close() {
	l.mu.Lock()
	l.closed = true
	idle := l.idle
	l.idle, l.nIdle = map[h1Key][]*h1Conn{}, 0
	l.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			c.nc.Close()
		}
	}
}

// validHeader refuses what http.Transport refuses to send: a field name
// that is not a token, or a value with a control byte other than tab
// (Request.Write would turn a line break into a space instead).
func validHeader(h http.Header) error {
	for k, vs := range h {
		if !validFieldName(k) {
			return errors.New("net/http: invalid header field name")
		}
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
					return errors.New("net/http: invalid header field value for " + k)
				}
			}
		}
	}
	return nil
}

// tokenByte reports whether c may appear in a field name (RFC 9110 token).
func tokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
