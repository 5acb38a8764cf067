package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
)

// serveConnect handles CONNECT host:port: authenticate, then either
// intercept (TLS terminated with a leaf for the target) or, when no
// service of a passthrough vault could match the host, tunnel blind.
func (p *Proxy) serveConnect(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		w = &connectWriter{ResponseWriter: w} // refusals carry their reason in the status line (refusal.go)
	}
	host, port, err := splitTarget(r.Host, "https")
	if err != nil {
		writeError(w, fail(http.StatusBadRequest, "bad_request", err.Error(), ""))
		return
	}
	proxyAuth := r.Header.Get("Proxy-Authorization")
	g, berr := p.authorize(r, proxyAuth)
	if berr != nil {
		writeError(w, berr)
		return
	}
	intercept := g.Policy() == model.PolicyDeny || service.CouldMatch(g.Services(), host, port)
	var (
		upstream net.Conn
		refusal  *brokerError // answered inside the tunnel
	)
	release := func() {}
	start := time.Now()
	if !intercept {
		// The admission is held for the whole blind tunnel.
		var berr *brokerError
		if release, berr = p.admit(g); berr != nil {
			writeError(w, berr)
			return
		}
		// Dial before answering 200, so a blocked or dead target is a
		// proper error rather than a tunnel that closes at once.
		upstream, err = p.o.Dial(r.Context(), "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil && (port != 443 || len(host) > maxHostName) {
			release()
			lw := &logWriter{ResponseWriter: w}
			p.upstreamError(lw, r, err)
			p.recordTunnel(g, host, port, lw.status, lw.errCode, 0, 0, time.Since(start))
			return
		}
		if err != nil {
			// An authenticated agent asked for an HTTPS destination the
			// proxy cannot or may not reach: accept the tunnel and answer
			// its requests with the error, so that an agent trusting the
			// broker CA reads the JSON (a refused CONNECT shows only its
			// status line). Nothing is dialled for it, and no blind tunnel
			// holds the admission.
			release()
			refusal = p.upstreamFailure(r, err)
			p.recordTunnel(g, host, port, refusal.status, refusal.body.Error, 0, 0, time.Since(start))
			intercept = true
		}
	}
	abandon := func() {
		if upstream != nil {
			upstream.Close()
			release()
		}
	}
	rc := http.NewResponseController(w)
	conn, brw, err := rc.Hijack()
	if err != nil {
		abandon()
		writeError(w, fail(http.StatusInternalServerError, "internal", "cannot take over the connection", ""))
		return
	}
	_ = conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		conn.Close()
		abandon()
		return
	}
	// Bytes the client sent after the CONNECT (a ClientHello already) sit
	// in the buffered reader: keep them.
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		buf, _ := brw.Reader.Peek(n)
		early = append([]byte(nil), buf...)
	}
	if !intercept {
		p.log.Debug("tunnel", "vault", g.VaultName, "actor", g.ActorName, "host", host, "port", port)
		// The tunnel runs on its own goroutines and this handler returns:
		// the HTTP server's per-connection buffers and this goroutine's
		// stack are freed instead of being held for the tunnel's life.
		go p.blindTunnel(g, conn, upstream, early, proxyAuth, host, port, start, release)
		return
	}
	client := net.Conn(conn)
	if len(early) > 0 {
		client = &prefixConn{Conn: conn, prefix: early}
	}
	batch := &batchConn{Conn: client}
	tlsConn := p.o.Certs.TLSServer(batch, host)
	// The handshake and the requests run on the tunnel's own goroutine
	// (h1lane.go), and this handler returns.
	go p.serveIntercepted(tlsConn, batch, tunnelInfo{host: host, port: port, proxyAuth: proxyAuth, refusal: refusal})
}

// maxHostName is the longest DNS name; a refusal for a longer one is not
// answered inside a tunnel (no certificate is minted for it).
const maxHostName = 253

// tunnelInfo is what an intercepted connection carries to its requests.
type tunnelInfo struct {
	host      string
	port      int
	proxyAuth string
	refusal   *brokerError // set: every request gets this error, nothing is forwarded
}

type tunnelKey struct{}

// tunnelContext puts the tunnel's target into its requests' context.
func (p *Proxy) tunnelContext(ctx context.Context, c net.Conn) context.Context {
	if info, ok := p.tunnelInfo.Load(c); ok {
		return context.WithValue(ctx, tunnelKey{}, info)
	}
	return ctx
}

// tunnelState forgets a tunnel's target once its connection is closed.
func (p *Proxy) tunnelState(c net.Conn, st http.ConnState) {
	if st == http.StateClosed || st == http.StateHijacked {
		p.tunnelInfo.Delete(c)
	}
}

// serveInner is the inner server's handler: serveTunnelled, on a grown
// stack for HTTP/2, whose requests each run on a new goroutine
// (stackgrow.go).
func (p *Proxy) serveInner(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 2 {
		growStack()
	}
	p.serveTunnelled(w, r)
}

// serveTunnelled handles one request inside an intercepted tunnel. The
// grant is looked up again for every request (from memory), so a revoked
// token stops working on open tunnels at the next request.
func (p *Proxy) serveTunnelled(w http.ResponseWriter, r *http.Request) {
	closeIfChunked(w, r)
	info, ok := r.Context().Value(tunnelKey{}).(tunnelInfo)
	if !ok {
		writeError(w, fail(http.StatusInternalServerError, "internal", "request outside a tunnel", ""))
		return
	}
	if info.refusal != nil {
		if r.ProtoMajor == 1 {
			w.Header().Set("Connection", "close")
		}
		writeError(w, info.refusal)
		return
	}
	if h, port, err := splitTarget(r.Host, "https"); err != nil || h != info.host || port != info.port {
		writeError(w, fail(http.StatusForbidden, "host_mismatch", "the Host header ("+r.Host+") does not match the CONNECT target ("+info.host+")",
			"send requests to the host you connected to; the proxy never re-routes"))
		return
	}
	g, berr := p.authorize(r, info.proxyAuth)
	if berr != nil {
		writeError(w, berr)
		return
	}
	p.forward(w, r, g, target{scheme: "https", host: info.host, port: info.port, ingress: "connect", proxyAuth: info.proxyAuth})
}

// chanListener feeds intercepted connections to the inner server.
type chanListener struct {
	ch     chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// prefixConn replays bytes already read from a connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// splice copies both ways until either side closes, and returns the bytes
// copied from a to b and from b to a. One direction runs on the calling
// goroutine.
func splice(a, b net.Conn) (aToB, bToA int64) {
	pipe := func(dst, src net.Conn) int64 {
		n, _ := copyTunnel(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
		return n
	}
	done := make(chan struct{})
	go func() {
		aToB = pipe(b, a)
		close(done)
	}()
	bToA = pipe(a, b)
	<-done
	a.Close()
	b.Close()
	return aToB, bToA
}
