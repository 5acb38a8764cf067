package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/redact"
	"github.com/agent-vault/agent-vault/internal/service"
)

// outbound is what forward decided for one request.
type outbound struct {
	t       target
	owner   poolOwner // whose upstream connections carry it (upstreampools.go)
	inject  map[string]string
	svc     *service.Service
	keys    []string    // the service's credential keys, for the request log
	redact  *redact.Set // values the response must not carry; nil: none
	secrets *redact.Set // the same values, for errors and logs even when the service opted out
	oauth   *oauthState // set when OAuth credentials are injected (oauth.go)
}

// forward matches, injects and sends one request upstream, and records it
// in the request log once the response stream has ended.
func (p *Proxy) forward(rw http.ResponseWriter, r *http.Request, g *broker.ProxyGrant, t target) {
	lw := &logWriter{ResponseWriter: rw, coalesce: true}
	w := http.ResponseWriter(lw)
	var out *outbound
	loggedPath := r.URL.Path // before substitutions put values into it
	if body, req := r.Body, r; body != nil && body != http.NoBody {
		// net/http judges by the type of req.Body what to do with a body
		// the handler left unread (wait for it and drain it, or
		// close the connection); it must see its own again when we return.
		defer func() { req.Body = body }()
		r.Body = &countingBody{rc: p.withBodyTimeout(rw, body), n: &lw.reqBytes}
	}
	start := time.Now()
	defer func() { p.record(g, t, r.Method, loggedPath, out, lw, time.Since(start)) }()
	defer lw.finish() // before the record: the bytes count when handed on
	release, berr := p.admit(g)
	if berr != nil {
		writeError(w, berr)
		return
	}
	defer release() // held until the response stream ends (it may run twice)
	if r.URL.Opaque != "" {
		// A target such as "https:admin/keys" (HTTP/1.1 request line or
		// HTTP/2 :path) parses with an empty path and the rest in Opaque,
		// which net/http sends upstream as it came: the rules would judge
		// "/" and the upstream serve something else (TestOpaqueTargetRefused).
		writeError(w, fail(http.StatusBadRequest, "bad_request", "the request target is neither a path starting with / nor an absolute http(s):// URL",
			"send the path as the target, such as /v1/items"))
		return
	}
	if r.ContentLength > p.o.MaxRequestBytes {
		rejectBody(w, r, fail(http.StatusRequestEntityTooLarge, "request_too_large", "the request body is larger than the proxy allows", "send a smaller body"))
		return
	}
	svcs := g.Services()
	cp := canonicalize(r.URL)
	res := service.Match(svcs, t.host, t.port, cp.path)
	out = &outbound{t: t, owner: poolOwner{vault: g.VaultID, actor: g.ActorID, services: g.ServicesVersion()}}
	switch {
	case !res.Matched && g.Policy() == model.PolicyDeny:
		writeError(w, denyHint(t.authority()))
		return
	case !res.Matched:
		// Passthrough: forwarded without injection (still netguarded).
	case res.Disabled:
		s := svcs[res.Index]
		writeError(w, fail(http.StatusForbidden, "service_disabled", "service "+s.Name+" matches this request but is disabled", "ask a vault member to enable it"))
		return
	default:
		s := &svcs[res.Index] // the grant's view is immutable: read in place, not copied
		out.svc, out.keys = s, g.ServiceKeys(res.Index)
		out.owner.service = s.Name
		if k := g.UnboundKey(res.Index); k != "" {
			writeError(w, notBound(*s, k))
			return
		}
		if berr := admitService(r, s, t, cp); berr != nil {
			writeError(w, berr)
			return
		}
		lookup, fresh, berr := credentialLookup(r.Context(), g, s, r, out.keys)
		if berr != nil {
			writeError(w, berr)
			return
		}
		var inj *injection
		if fresh != nil {
			// OAuth tokens fetched for this request: rendered for it alone.
			out.oauth = &oauthState{grant: g, sent: fresh, lw: lw}
			inj = buildInjection(s, out.keys, lookup)
		} else {
			inj = injectionFor(g, res.Index, s, out.keys)
		}
		missing := inj.missing
		if missing != "" && g.OAuthPending(missing) {
			writeError(w, fail(http.StatusBadGateway, "oauth_not_connected", "credential "+missing+" of service "+s.Name+" is an OAuth credential that is not connected yet",
				"ask a vault member to connect it"))
			return
		}
		if missing != "" {
			writeError(w, fail(http.StatusBadGateway, "credential_not_found", "credential "+missing+" of service "+s.Name+" is not set in vault "+g.VaultName,
				"ask a vault member to set it, or raise a proposal with a credential slot"))
			return
		}
		if inj.err != nil {
			writeError(w, fail(http.StatusBadGateway, "credential_invalid", inj.err.Error(), ""))
			return
		}
		out.inject = inj.headers
		if out.oauth != nil {
			if err := out.oauth.keepOriginal(r, s); err != nil {
				rejectBody(w, r, fail(http.StatusBadRequest, "bad_request", "the request body could not be read: "+err.Error(), "send the request again"))
				return
			}
		}
		checked := r.URL.Path
		if berr := applySubstitutions(r, s, lookup); berr != nil {
			writeError(w, berr)
			return
		}
		if berr := recheckSubstituted(r, s, checked); berr != nil {
			writeError(w, berr)
			return
		}
		out.secrets = inj.secrets
		if s.RedactResponses {
			out.redact, lw.redact = out.secrets, out.secrets
		}
	}
	if isWebSocket(r) {
		// A websocket outlives the per-request grant check: watch it.
		ctx, stop := p.watchStream(r.Context(), t)
		defer stop()
		r = r.WithContext(ctx)
	}
	if subs := wsSubstitutions(out.svc); len(subs) > 0 && isWebSocket(r) {
		lookup, _, berr := credentialLookup(r.Context(), g, out.svc, r, out.keys)
		if berr != nil {
			writeError(w, berr)
			return
		}
		p.serveWebSocket(w, r, out, subs, lookup)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, p.o.MaxRequestBytes)
	if out.oauth != nil {
		if err := keepReplayBody(r, out.oauth); err != nil {
			rejectBody(w, r, fail(http.StatusBadRequest, "bad_request", "the request body could not be read: "+err.Error(), "send the request again"))
			return
		}
	}
	if p.log.Enabled(r.Context(), slog.LevelDebug) { // its arguments cost allocations even when off
		p.log.Debug("proxy", "vault", g.VaultName, "actor", g.ActorName, "method", r.Method, "host", t.host, "path", model.CapLogField(loggedPath), "service", serviceName(out.svc))
	}
	p.rewriteAndServe(w, r, out)
	if lw.status == 0 && isWebSocket(r) {
		lw.status = http.StatusSwitchingProtocols // the upgrade wrote around the wrapper
	}
	if e, ok := rw.(answerEnder); ok {
		// The request's place under the concurrency caps is given back
		// first: an agent may send its next request the moment it has
		// this answer. The request log and metrics follow the answer.
		release()
		lw.finish()
		e.endAnswer()
	}
}

// answerEnder is a ResponseWriter that can end its answer before the
// handler returns (the HTTP/1.1 lane's).
type answerEnder interface{ endAnswer() }

// injection is what a service of a grant's view injects and redacts: the
// rendered auth headers (or the key that is missing, or why they cannot
// be rendered) and the values responses must not carry. Without OAuth
// tokens fetched for the request it depends only on the view, so it is
// built once per view and service (broker.ProxyGrant.Derived) instead of
// on every request; it is shared and read-only.
type injection struct {
	headers map[string]string
	missing string
	err     error
	secrets *redact.Set
}

func injectionFor(g *broker.ProxyGrant, i int, s *service.Service, keys []string) *injection {
	return g.Derived(i, func() any { return buildInjection(s, keys, g.Credential) }).(*injection)
}

// buildInjection renders s's headers and compiles its redaction values
// from lookup.
func buildInjection(s *service.Service, keys []string, lookup func(string) ([]byte, bool)) *injection {
	inj := &injection{}
	inj.headers, inj.missing, inj.err = s.Auth.Render(lookup)
	if inj.missing == "" && inj.err == nil {
		inj.secrets = redactionFor(s, keys, lookup, inj.headers)
	}
	return inj
}

func serviceName(s *service.Service) string {
	if s == nil {
		return ""
	}
	return s.Name
}

// outboundKey carries a request's outbound decision to rewrite.
type outboundKey struct{}

// rewriteAndServe points the request at the upstream and streams it
// through the one shared ReverseProxy.
func (p *Proxy) rewriteAndServe(w http.ResponseWriter, r *http.Request, out *outbound) {
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), outboundKey{}, out)))
}

// rewrite is the shared ReverseProxy's Rewrite: the upstream URL and Host,
// broker headers dropped, the managed auth slot overwritten.
func rewrite(pr *httputil.ProxyRequest) {
	out := pr.In.Context().Value(outboundKey{}).(*outbound)
	u := *pr.In.URL
	u.Scheme, u.Host = out.t.scheme, out.t.authority()
	u.User = nil // userinfo in the request URL would become Authorization upstream
	pr.Out.URL = &u
	pr.Out.Host = u.Host
	stripBrokerRequestHeaders(pr.Out.Header)
	for k, v := range out.inject {
		pr.Out.Header.Set(k, v) // overwrite: never a second copy of the managed slot
	}
	if out.redact != nil {
		redactRequest(pr.Out.Header)
	}
	if bodyWithoutMeaning(pr.Out) {
		pr.Out.Close = true
	}
}

// bodyWithoutMeaning reports a request with a body whose method gives a
// body no defined meaning (GET, HEAD, OPTIONS, DELETE, TRACE). Some
// servers ignore such a body's length and read the body as the next
// request ("CL.0" desync): an agent could make it the start of a request
// that swallows the next one sent on the connection, with the credential
// the proxy injected in it, into content the server stores. Its upstream
// connection is closed after the answer, never reused. The agent's own
// protocol does not matter: an agent speaking HTTP/2 to the proxy may
// still be forwarded over HTTP/1.1 (an upstream that offers nothing
// else), and there the body is sent as bytes on the connection
// (TestUpstreamDesyncFromAnHTTP2AgentCannotCaptureACredential).
func bodyWithoutMeaning(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// bufferPool recycles the 32 KiB copy buffers of response streaming
// (without it every response allocates one: most of the proxy's garbage).
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }

// modifyResponse strips cookies (an agent's requests carry the vault's
// identity, and its cookies must not stick to the agent) and the broker's
// header namespace (only the broker speaks for the broker).
func (p *Proxy) modifyResponse(resp *http.Response) error {
	stripResponseHeaders(resp.Header)
	scrubTrailers(resp)
	if p.o.MaxResponseBytes > 0 && resp.ContentLength > p.o.MaxResponseBytes {
		return errResponseTooLarge
	}
	if p.o.MaxResponseBytes > 0 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body = &limitedBody{rc: resp.Body, left: p.o.MaxResponseBytes, log: p.log, host: resp.Request.URL.Host}
	}
	out, _ := resp.Request.Context().Value(outboundKey{}).(*outbound)
	if out != nil && out.redact != nil {
		if err := p.redactResponse(resp, out); err != nil {
			return err
		}
	}
	if out != nil && out.secrets != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body = &scrubbedErrors{ReadCloser: resp.Body, secrets: out.secrets}
	}
	return nil
}

// scrubbedErrors is a brokered response body whose read errors carry no
// credential value. The ReverseProxy logs a body that breaks off with its
// error, and an upstream's error can quote the request it got (an HTTP/2
// GOAWAY's debug data, for one).
type scrubbedErrors struct {
	io.ReadCloser
	secrets *redact.Set
}

func (b *scrubbedErrors) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, context.Canceled) { //nolint:errorlint // io.EOF is returned as is, never wrapped
		err = &scrubbedError{msg: trimErr(err, b.secrets), err: err}
	}
	return n, err
}

// scrubbedError says what err says without credential values; errors.Is
// and errors.As still see err.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

var errResponseTooLarge = errors.New("response larger than the proxy allows")

// upstreamError answers a failed upstream exchange.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, p.upstreamFailure(r, err))
}

// upstreamFailure is the broker error for a failed upstream exchange.
func (p *Proxy) upstreamFailure(r *http.Request, err error) *brokerError {
	var mbe *http.MaxBytesError
	var renew *errOAuthRenew
	switch {
	case errors.As(err, &renew):
		return renew.berr
	case errors.As(err, &mbe):
		return fail(http.StatusRequestEntityTooLarge, "request_too_large", "the request body is larger than the proxy allows", "send a smaller body")
	case p.o.Blocked(err):
		return fail(http.StatusForbidden, "destination_blocked", err.Error(),
			"the destination is a private, loopback or metadata address; an operator can allow ranges with AGENT_VAULT_NETWORK_ALLOWLIST")
	case errors.Is(err, errNotScannable):
		return fail(http.StatusBadGateway, "response_not_scannable", "the upstream's response is compressed with an encoding the proxy cannot decode, or switches to a protocol other than websocket, so it cannot be checked for credential values",
			"ask the upstream for an uncompressed answer; if the service only serves binary downloads, a user can set redact_responses: false on it")
	case errors.Is(err, errResponseTooLarge):
		return fail(http.StatusBadGateway, "response_too_large", "the upstream response is larger than the proxy allows", "")
	case isCertificateError(err):
		detail := trimErr(err, secretsOf(r))
		return fail(http.StatusBadGateway, "upstream_certificate", "the proxy does not trust the TLS certificate of "+hostOnly(r)+": "+detail,
			"if the upstream uses a private CA, the server's operator adds it with --upstream-ca-file (AGENT_VAULT_UPSTREAM_CA_FILE) and restarts the server")
	default:
		detail := trimErr(err, secretsOf(r))
		p.log.Debug("upstream failed", "host", r.URL.Host, "err", detail)
		return fail(http.StatusBadGateway, "upstream_unreachable", "could not reach "+hostOnly(r)+": "+detail, "check the host name and that it is up")
	}
}

// isCertificateError reports an upstream certificate the proxy's roots do
// not accept (unknown authority, wrong name, expired).
func isCertificateError(err error) bool {
	var (
		ve *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
	)
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

func hostOnly(r *http.Request) string {
	if r.URL.Host != "" {
		return r.URL.Host
	}
	return r.Host
}

// trimErr keeps upstream errors short and free of request details, and
// of credential values: a transport error may quote what the upstream
// sent, and an upstream may send back what it received.
func trimErr(err error, secrets *redact.Set) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s, _ := secrets.String(err.Error())
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}

// closeIfChunked makes an HTTP/1 connection close after answering a
// request with Transfer-Encoding. net/http drops a Content-Length sent
// beside Transfer-Encoding, so that conflict cannot be seen here; closing
// after the answer (RFC 9112 §6.1) discards anything smuggled after the
// body instead of serving it as a request of its own.
func closeIfChunked(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
}
