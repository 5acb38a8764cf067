// Package proxy is the broker proxy (docs/proxy.md, docs/protocol.md): a forward proxy
// that accepts CONNECT and absolute-form requests, authenticates the agent
// from Proxy-Authorization, terminates TLS with a leaf minted for the
// CONNECT target, matches each request to a service of the caller's vault,
// injects the credential and forwards the request upstream through the
// netguard dialer, streaming both ways. It does no database work per
// request: grants come from the broker's in-memory view.
package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// Authority resolves proxy credentials to a grant (the broker's view).
type Authority interface {
	ProxyAuthorize(ctx context.Context, token, vaultHint string) (*broker.ProxyGrant, error)
}

// Certs terminates TLS for an intercepted CONNECT target.
type Certs interface {
	TLSServer(conn net.Conn, host string) *tls.Conn
}

// Options configure a Proxy. Zero fields mean the defaults.
type Options struct {
	Authority Authority // required
	Certs     Certs     // required
	// Dial opens upstream connections; the daemon passes the netguard
	// dialer. It must refuse blocked destinations with an error that
	// Blocked recognises.
	Dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	Blocked func(err error) bool
	// UpstreamRoots verify upstream TLS: system roots plus an operator
	// bundle; nil means the system roots alone (loaded on first use).
	UpstreamRoots    *x509.CertPool
	MaxRequestBytes  int64 // default 1 GiB
	MaxResponseBytes int64 // 0: unlimited
	Logger           *slog.Logger
	// Recorder receives one row per proxied request and blind tunnel (the
	// audit log); nil records nothing. It must not block.
	Recorder Recorder
	// Limiter applies the proxy's rate limits (per actor and vault, the
	// global ceiling, failed authentications per address); nil: none.
	Limiter *ratelimit.Limiter
	// TrustedProxies may set X-Forwarded-For for the client address.
	TrustedProxies []netip.Prefix
	// TunnelRecheck is how often an open blind tunnel checks that it is
	// still authorized (tunnelwatch.go); default one second.
	TunnelRecheck time.Duration
	// Conns bound connections and their timeouts (conns.go).
	Conns ConnLimits
}

// Recorder takes request log rows.
type Recorder interface{ Record(model.RequestLog) }

// Proxy is the broker proxy's HTTP handler for the outer listener.
type Proxy struct {
	o           Options
	log         *slog.Logger
	transport   *ownerTransports // HTTP/2 when the upstream offers it; per owner (upstreampools.go)
	transportH1 *ownerTransports // HTTP/1.1 only: for HTTP/1 agents and websockets
	h1          *h1Leg           // simple requests (h1leg.go), else transportH1
	rp          *httputil.ReverseProxy
	inner       *http.Server
	tunnels     *chanListener
	tunnelInfo  sync.Map // net.Conn handed to the inner server → tunnelInfo
	lanes       laneSet  // intercepted connections the HTTP/1.1 lane serves (h1lane.go)
	laneServed  atomic.Int64
	blind       blindWatch // open blind tunnels' rechecks
	startOnce   sync.Once
	redactions  redactionCounters
}

// New builds a Proxy.
func New(o Options) *Proxy {
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 1 << 30
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Conns = o.Conns.withDefaults()
	if o.Dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		o.Dial = d.DialContext
	}
	o.Dial = rawSockets(o.Dial)
	if o.TunnelRecheck <= 0 {
		o.TunnelRecheck = defaultTunnelRecheck
	}
	if o.Blocked == nil {
		o.Blocked = func(error) bool { return false }
	}
	p := &Proxy{o: o, log: o.Logger, tunnels: newChanListener()}
	base := &http.Transport{
		Proxy:                 nil, // never chain to another proxy
		DialContext:           o.Dial,
		TLSClientConfig:       &tls.Config{RootCAs: o.UpstreamRoots, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Never decompress on the proxy's behalf: http.Transport would
		// undo one gzip layer when the first of several Content-Encoding
		// lines says gzip and then drop them all, so the redaction would
		// see the inner layer as plain bytes. Compressed answers reach
		// redactResponse as sent, with their codings.
		DisableCompression: true,
	}
	// HTTP/1 agents get an HTTP/1.1 upstream leg: fewer goroutine
	// hand-offs per request than multiplexing over HTTP/2 (measured: lower
	// latency and faster downloads); HTTP/2 agents keep HTTP/2 for all but
	// their simple GETs and HEADs (byProtocol), so gRPC stays HTTP/2.
	baseH1 := base.Clone()
	baseH1.ForceAttemptHTTP2 = false
	baseH1.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	baseH1.TLSClientConfig.NextProtos = []string{"http/1.1"}
	p.transport, p.transportH1 = newOwnerTransports(base), newOwnerTransports(baseH1)
	p.h1 = newH1Leg(o.Dial, baseH1.TLSClientConfig, p.transportH1)
	p.rp = &httputil.ReverseProxy{
		Rewrite:    rewrite,
		BufferPool: newBufferPool(),
		Transport:  oauthRetry{next: byProtocol{h1: p.h1, h2: p.transport}},
		// 0: responses of unknown length and event streams are flushed on
		// every write anyway (so SSE reaches the agent at once), while
		// bodies of known length are not flushed write by write.
		FlushInterval:  0,
		ErrorHandler:   p.upstreamError,
		ModifyResponse: p.modifyResponse,
		ErrorLog:       slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	p.inner = &http.Server{
		Handler:           http.HandlerFunc(p.serveInner),
		ConnContext:       p.tunnelContext,
		ConnState:         p.tunnelState,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       o.Conns.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	p.inner.Protocols = new(http.Protocols)
	p.inner.Protocols.SetHTTP1(true)
	p.inner.Protocols.SetHTTP2(true)
	return p
}

// start runs the inner server that serves intercepted tunnels.
func (p *Proxy) start() {
	p.startOnce.Do(func() { go func() { _ = p.inner.Serve(p.tunnels) }() })
}

// Close stops serving tunnels and drops idle upstream connections.
func (p *Proxy) Close() error {
	p.lanes.close()
	err := p.inner.Close()
	p.transport.close()
	p.transportH1.close()
	p.h1.Close()
	return err
}

// ServeHTTP handles the outer listener: CONNECT, or absolute-form requests.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.serveConnect(w, r)
		return
	}
	closeIfChunked(w, r)
	if !r.URL.IsAbs() || (r.URL.Scheme != "http" && r.URL.Scheme != "https") {
		writeError(w, fail(http.StatusBadRequest, "bad_request", "this is the Agent Vault proxy: send CONNECT host:port or an absolute http(s):// URL",
			"set HTTPS_PROXY and HTTP_PROXY to this address (agent-vault run does it for you)"))
		return
	}
	host, port, err := splitTarget(r.URL.Host, r.URL.Scheme)
	if err != nil {
		writeError(w, fail(http.StatusBadRequest, "bad_request", err.Error(), ""))
		return
	}
	// Defence in depth: net/http's server has already set r.Host to the
	// URL's authority for an absolute-form request (the Host header is
	// ignored, RFC 9112 §3.2.2), so routing and the upstream's Host follow
	// the URL (TestAbsoluteFormRoutesByTheURL). This refuses a request
	// should another server ever hand over a disagreeing r.Host
	// (TestAbsoluteFormRefusesADisagreeingHost).
	if hh, hp, err := splitTarget(r.Host, r.URL.Scheme); err != nil || hh != host || hp != port {
		writeError(w, fail(http.StatusForbidden, "host_mismatch", "the Host header does not match the request URL", "send requests unchanged; the proxy never re-routes"))
		return
	}
	g, berr := p.authorize(r, r.Header.Get("Proxy-Authorization"))
	if berr != nil {
		writeError(w, berr)
		return
	}
	if host == apitype.ProxyProbeHost {
		writeProbe(w, g) // doctor's check: answered here, never forwarded or logged
		return
	}
	p.forward(w, r, g, target{scheme: r.URL.Scheme, host: host, port: port, ingress: "absolute", proxyAuth: r.Header.Get("Proxy-Authorization")})
}

// authorize turns Proxy-Authorization into a grant or a broker error.
// A valid token is never refused for other clients' failures; only a bad
// one spends the address's failure budget, and once that is exhausted the
// answer is 429 instead of 407.
func (p *Proxy) authorize(r *http.Request, h string) (*broker.ProxyGrant, *brokerError) {
	tok, hint, err := ParseProxyAuth(h)
	if err != nil {
		if berr := p.authFailed(r); berr != nil {
			return nil, berr
		}
		return nil, fail(http.StatusProxyAuthRequired, "proxy_auth_required", "proxy authentication required",
			"use HTTPS_PROXY=http://<token>:<vault>@host:port, or Proxy-Authorization: Bearer <token>")
	}
	g, err := p.o.Authority.ProxyAuthorize(r.Context(), tok, hint)
	if err == nil {
		return g, nil
	}
	if errs.KindOf(err) == errs.KindUnauthorized {
		if berr := p.authFailed(r); berr != nil {
			return nil, berr
		}
	}
	msg := err.Error()
	if e, ok := errs.As(err); ok {
		msg = e.Message
	}
	// The status is the control plane's for the same error, in the
	// proxy's terms: 401 is proxy authentication (407), and a vault the
	// token cannot see is refused like one it may not use (403).
	switch status := errs.StatusOf(err); status {
	case http.StatusUnauthorized:
		return nil, fail(http.StatusProxyAuthRequired, "proxy_auth_required", msg, "the token is unknown, expired or revoked")
	case http.StatusBadRequest:
		return nil, fail(status, "vault_required", msg, "name the vault in the proxy URL: http://<token>:<vault>@host:port")
	case http.StatusForbidden, http.StatusNotFound:
		return nil, fail(http.StatusForbidden, "forbidden", msg, "")
	}
	p.log.Error("proxy authorization failed", "err", err)
	return nil, fail(http.StatusInternalServerError, "internal", "internal error while authorizing the request", "")
}

// target is where a request goes.
type target struct {
	scheme  string
	host    string // lowercase, no brackets
	port    int
	ingress string // connect (intercepted), absolute, tunnel (blind)
	// proxyAuth is the agent's Proxy-Authorization, for rechecking a
	// long-lived stream (tunnelwatch.go); never forwarded.
	proxyAuth string
}

// splitTarget reads host[:port] with the scheme's default port.
func splitTarget(hostport, scheme string) (string, int, error) {
	if hostport == "" {
		return "", 0, errors.New("the request names no host")
	}
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		host, portStr = strings.Trim(hostport, "[]"), ""
	}
	port := 443
	if scheme == "http" {
		port = 80
	}
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, errors.New("invalid port in " + hostport)
		}
		port = n
	}
	host = model.LowerASCII(strings.TrimSuffix(host, "."))
	if host == "" {
		return "", 0, errors.New("the request names no host")
	}
	// Names travel as ASCII: a Unicode name is never folded onto an ASCII
	// one (see model.LowerASCII), it is refused.
	if !model.IsASCII(host) {
		return "", 0, errors.New("invalid host name " + strconv.Quote(hostport) + ": it is not ASCII; write an internationalised name in its IDNA form (xn--…)")
	}
	// One trailing dot names the same host; a second one is an empty
	// label, a name no service can match and no resolver serves.
	if strings.HasSuffix(host, ".") {
		return "", 0, errors.New("invalid host name " + strconv.Quote(hostport) + ": it ends in an empty label")
	}
	return host, port, nil
}

// authority formats host:port, dropping the scheme's default port so that
// signed URLs and Host-sensitive upstreams see what the agent meant.
func (t target) authority() string {
	h := t.host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if (t.scheme == "https" && t.port == 443) || (t.scheme == "http" && t.port == 80) {
		return h
	}
	return h + ":" + strconv.Itoa(t.port)
}

// byProtocol sends a request upstream over the agent's HTTP major
// version, except that simple requests (h1leg.go) always take the
// HTTP/1.1 leg.
type byProtocol struct{ h1, h2 http.RoundTripper }

func (b byProtocol) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.ProtoMajor == 2 && !simpleRequest(r) {
		return b.h2.RoundTrip(r)
	}
	return b.h1.RoundTrip(r)
}
