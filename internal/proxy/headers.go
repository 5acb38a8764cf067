package proxy

import (
	"io"
	"net/http"
	"strings"
)

// hopHeaders apply to one connection and are never forwarded (RFC 9110
// §7.6.1); Upgrade is put back for a websocket handshake.
var hopHeaders = []string{"Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade"}

// stripRequestHeaders removes from a request going upstream what belongs
// to the agent's hop or to the broker: hop-by-hop headers and those that
// Connection names, every Proxy-* header (Proxy-Authorization carries the
// agent's token), X-Vault and every X-Agent-Vault-* header. A websocket
// handshake keeps "Connection: Upgrade" and "Upgrade: websocket".
// Every path to an upstream calls it (docs/proxy.md, "Headers").
func stripRequestHeaders(h http.Header, websocket bool) {
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
	stripBrokerRequestHeaders(h)
	if websocket {
		h.Set("Connection", "Upgrade")
		h.Set("Upgrade", "websocket")
	}
}

// stripBrokerRequestHeaders removes every Proxy-* header (Proxy-Authorization
// carries the agent's token), X-Vault and every X-Agent-Vault-* header. The
// ReverseProxy path calls it alone, after net/http/httputil has removed
// the hop-by-hop headers and put back what an upgrade and "TE: trailers"
// need.
func stripBrokerRequestHeaders(h http.Header) {
	for name := range h {
		if hasPrefixFold(name, "proxy-") || hasPrefixFold(name, "x-agent-vault-") || (len(name) == len("x-vault") && hasPrefixFold(name, "x-vault")) {
			delete(h, name)
		}
	}
}

// stripResponseHeaders removes from an upstream's response what must not
// reach the agent: cookies (the agent's requests carry the vault's
// identity) and every X-Agent-Vault-* header, so that an upstream cannot
// forge a broker error.
func stripResponseHeaders(h http.Header) {
	h.Del("Set-Cookie")
	for name := range h {
		if hasPrefixFold(name, "x-agent-vault-") {
			delete(h, name)
		}
	}
}

// hasPrefixFold reports whether name starts with prefix, a lower-case
// ASCII string, ignoring the case of ASCII letters only (the one case
// folding of protocol tokens: model.LowerASCII says why). It allocates
// nothing: it runs on every header of every request and response.
func hasPrefixFold(name, prefix string) bool {
	if len(name) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// scrubTrailers strips the response's trailers as stripResponseHeaders
// strips its headers: the declared ones now, and whatever arrives with
// the end of the body, declared or not (the transport fills in trailers
// nobody announced too, and ReverseProxy passes them on). Only an
// HTTP/1 body that is not chunked cannot carry any.
func scrubTrailers(resp *http.Response) {
	if resp.StatusCode == http.StatusSwitchingProtocols || resp.Body == nil || resp.Body == http.NoBody ||
		(resp.ProtoMajor == 1 && len(resp.TransferEncoding) == 0) {
		return
	}
	stripResponseHeaders(resp.Trailer)
	resp.Body = &trailerScrub{ReadCloser: resp.Body, resp: resp}
}

// trailerScrub strips trailers once the body has been read to its end and
// once it is closed, which is when the transports fill them in.
type trailerScrub struct {
	io.ReadCloser
	resp *http.Response
}

func (t *trailerScrub) Close() error {
	err := t.ReadCloser.Close()
	stripResponseHeaders(t.resp.Trailer)
	return err
}

func (t *trailerScrub) Read(b []byte) (int, error) {
	n, err := t.ReadCloser.Read(b)
	if err == io.EOF {
		stripResponseHeaders(t.resp.Trailer)
	}
	return n, err
}
