package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The HTTP/1.1 lane serves the requests of an intercepted tunnel on the
// tunnel's own goroutine while they are simple: a GET or HEAD in
// HTTP/1.1, origin form, no body, no upgrade, a header that fits in the
// lane's buffer. net/http's server, which serves everything else, starts a
// background read for every request (to notice a client that goes away)
// and stops it again when the handler returns: two goroutine hand-offs per
// request, which cost more than the rest of a small request's work
// (docs/performance.md).
//
// The lane parses with net/http's own http.ReadRequest and decides only
// whether to keep a request or hand the connection over. The first request
// it does not keep — any method with a body, anything it does not
// positively recognise, a header it would have to wait for beyond its
// buffer — goes, with every byte read so far and unchanged, to the inner
// net/http server, which serves the connection from then on: it parses
// and judges exactly what it would have without the lane. So the lane
// never decides how a body is framed, and a request smuggled after one
// (Content-Length beside Transfer-Encoding, a bare LF) meets net/http's
// rules as before (TestLaneHandsOverWhatItDoesNotKeep).
//
// What the lane does not do: it does not notice that an agent went away
// while its request is upstream (the exchange ends with the upstream's
// answer or its timeouts), it does not sniff a Content-Type the upstream
// did not send, and it frames answers of unknown length with chunked
// encoding instead of buffering them to count them.

const (
	laneReadBuffer  = 8 << 10 // a request header longer than this is handed over
	laneWriteBuffer = 4 << 10
	laneHandshake   = 30 * time.Second // as the inner server's header timeout
	laneHeaderWait  = 30 * time.Second
)

var laneBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, laneReadBuffer) }}

// serveIntercepted runs an intercepted tunnel once the CONNECT has been
// answered: the TLS handshake with the agent, then the lane for HTTP/1.1,
// or the inner server for HTTP/2.
func (p *Proxy) serveIntercepted(tc *tls.Conn, batch *batchConn, info tunnelInfo) {
	growStack() // a new goroutine: the handshake alone would grow it in steps
	if !p.lanes.add(tc) {
		tc.Close()
		return
	}
	handedOver := false
	defer func() {
		p.lanes.remove(tc)
		if !handedOver {
			tc.Close()
		}
	}()
	_ = tc.SetDeadline(time.Now().Add(laneHandshake))
	if err := tc.HandshakeContext(context.Background()); err != nil {
		p.log.Debug("intercepted tunnel: TLS handshake failed", "host", info.host, "err", err)
		return
	}
	_ = tc.SetDeadline(time.Time{})
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		handedOver = true
		p.handOver(tc, info, nil)
		return
	}
	handedOver = p.serveLane(tc, batch, info)
}

// serveLane serves simple requests until the connection ends (false) or a
// request is handed to the inner server (true).
func (p *Proxy) serveLane(tc *tls.Conn, batch *batchConn, info tunnelInfo) bool {
	br := laneBuffers.Get().(*bufio.Reader)
	br.Reset(tc)
	defer func() {
		br.Reset(nil)
		laneBuffers.Put(br)
	}()
	bw := bufio.NewWriterSize(tc, laneWriteBuffer)
	cs := tc.ConnectionState()
	// The values net/http's server puts in a request's context: with
	// ServerContextKey, httputil.ReverseProxy aborts (panics with
	// http.ErrAbortHandler) when an upstream body breaks off, so that the
	// agent's connection is cut rather than the answer ended as if whole.
	ctx := context.WithValue(context.Background(), http.ServerContextKey, p.inner)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, tc.LocalAddr())
	ctx = context.WithValue(ctx, tunnelKey{}, info)
	remote := tc.RemoteAddr().String()
	var raw []byte // the request header as read, kept for a hand-over
	for {
		if br.Buffered() == 0 {
			_ = tc.SetReadDeadline(time.Now().Add(p.o.Conns.IdleTimeout))
			if _, err := br.Peek(1); err != nil {
				return false
			}
		}
		// A header usually arrives whole with its first byte; one that is
		// still arriving gets laneHeaderWait to finish. (No deadline is
		// cleared after it: nothing reads the connection while a request
		// is served, and the next read sets its own.)
		head, complete := laneHeader(br, func() { _ = tc.SetReadDeadline(time.Now().Add(laneHeaderWait)) })
		if !complete {
			return p.handOverRead(tc, info, nil, br)
		}
		raw = append(raw[:0], head...)
		before := br.Buffered()
		r, err := http.ReadRequest(br)
		if err != nil || !laneKeeps(r, raw) {
			// ReadRequest read at most the header (all of it was
			// buffered, so it read nothing new); what it left of it is
			// skipped, since raw carries the whole header.
			_, _ = br.Discard(len(raw) - (before - br.Buffered()))
			return p.handOverRead(tc, info, raw, br)
		}
		delete(r.Header, "Host")
		r.RemoteAddr = remote
		r.TLS = &cs
		r = r.WithContext(ctx)
		p.laneServed.Add(1)
		w := &laneWriter{bw: bw, batch: batch, req: r, h: http.Header{}, closeAfter: r.Close}
		if !p.serveLaneRequest(w, r) || w.mustClose() {
			return false
		}
	}
}

// serveLaneRequest runs the tunnel's handler for one request and ends its
// answer; false: the connection must close (a failed write, an answer cut
// short, a handler that panicked).
func (p *Proxy) serveLaneRequest(w *laneWriter, r *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			if v != http.ErrAbortHandler { //nolint:errorlint // the sentinel is panicked as is
				p.log.Error("intercepted request: handler panicked", "host", r.Host, "panic", v)
			}
		}
	}()
	p.serveTunnelled(w, r)
	return w.finish() == nil
}

// laneHeader returns the request header at the start of br (request line
// to the empty line, inclusive) once all of it has arrived, reading more
// as needed; complete is false when it does not fit in the buffer, when a
// line ends in a bare LF, or when reading fails (the inner server then
// reads and judges it). beforeWait runs once, before the first read that
// may wait for more of the header.
func laneHeader(br *bufio.Reader, beforeWait func()) (head []byte, complete bool) {
	for waited := false; ; waited = true {
		buf, _ := br.Peek(br.Buffered())
		i := bytes.Index(buf, []byte("\r\n\r\n"))
		scope := buf // what may belong to this header
		if i >= 0 {
			scope = buf[:i+4]
		}
		// A bare LF ends a line for net/http: such a header is its to read.
		if bytes.Count(scope, []byte("\n")) != bytes.Count(scope, []byte("\r\n")) {
			return nil, false
		}
		if i >= 0 {
			return scope, true
		}
		if len(buf) >= laneReadBuffer {
			return nil, false
		}
		if !waited {
			beforeWait()
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return nil, false
		}
	}
}

// laneKeeps reports whether the lane serves r itself: the plainest of
// requests, whose framing has no choice in it. Everything else is handed
// over.
func laneKeeps(r *http.Request, head []byte) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 || len(head) > laneReadBuffer {
		return false
	}
	if r.Body != http.NoBody || r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		return false
	}
	if len(r.RequestURI) == 0 || r.RequestURI[0] != '/' || r.URL.IsAbs() || r.URL.User != nil {
		return false
	}
	// http.ReadRequest takes the Host field out of the header: the lane
	// counts it in the raw header (exactly one, a plain host[:port]).
	if hostFields(head) != 1 || !plainHost(r.Host) {
		return false
	}
	h := r.Header
	// "Connection: close" (a client that opens a connection per request)
	// is kept: the answer says so and the connection ends after it. Any
	// other Connection header names hop-by-hop fields: handed over.
	if c, ok := h["Connection"]; ok && (len(c) != 1 || !strings.EqualFold(c[0], "close")) {
		return false
	}
	for _, k := range [...]string{"Content-Length", "Transfer-Encoding", "Expect", "Upgrade", "Te", "Trailer", "Http2-Settings"} {
		if _, ok := h[k]; ok {
			return false
		}
	}
	return validHeader(h) == nil
}

// hostFields counts the Host fields of a raw request header; -1 when a
// field name is followed by white space (which net/http refuses).
func hostFields(head []byte) int {
	n := 0
	lines := bytes.Split(head, []byte("\r\n"))
	for _, line := range lines[1:] { // after the request line
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		if len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
			return -1
		}
		if bytes.EqualFold(name, []byte("host")) {
			n++
		}
	}
	return n
}

// plainHost reports a Host value made of name, address and port
// characters only.
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// handOverRead gives the connection to the inner server with the bytes
// read from it so far: the request header the lane read (if any), then
// whatever is buffered after it.
func (p *Proxy) handOverRead(tc *tls.Conn, info tunnelInfo, raw []byte, br *bufio.Reader) bool {
	_ = tc.SetReadDeadline(time.Time{})
	prefix := append([]byte(nil), raw...)
	if n := br.Buffered(); n > 0 {
		rest, _ := br.Peek(n)
		prefix = append(prefix, rest...)
	}
	p.handOver(tc, info, prefix)
	return true
}

// handOver gives an intercepted connection to the inner net/http server.
func (p *Proxy) handOver(tc *tls.Conn, info tunnelInfo, prefix []byte) {
	var c net.Conn = tc
	if len(prefix) > 0 {
		c = &prefixConn{Conn: tc, prefix: prefix}
	}
	p.start()
	// The inner server must see the *tls.Conn itself to negotiate HTTP/2,
	// so the tunnel's target travels beside it, keyed by the connection.
	p.tunnelInfo.Store(c, info)
	p.tunnels.push(c)
}

// laneSet tracks the connections the lane serves, so that Close ends them.
type laneSet struct {
	mu     sync.Mutex
	conns  map[*tls.Conn]struct{}
	closed bool
}

func (s *laneSet) add(c *tls.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = map[*tls.Conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *laneSet) remove(c *tls.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *laneSet) close() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}
