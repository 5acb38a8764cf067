package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/agent-vault/agent-vault/internal/service"
)

// isWebSocket reports an HTTP/1.1 websocket upgrade request.
func isWebSocket(r *http.Request) bool {
	return r.ProtoMajor == 1 && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		headerHasToken(r.Header, "Connection", "upgrade")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// wsSubstitutions are the substitutions of s that scan websocket frames.
func wsSubstitutions(s *service.Service) []service.Substitution {
	if s == nil {
		return nil
	}
	var out []service.Substitution
	for _, sub := range s.Substitutions {
		if sub.Scans(service.SurfaceWebSocket) {
			out = append(out, sub)
		}
	}
	return out
}

// serveWebSocket performs an upgrade whose client→server text frames get
// substitutions. The handshake drops Sec-WebSocket-Extensions, so frames
// are never compressed.
func (p *Proxy) serveWebSocket(w http.ResponseWriter, r *http.Request, out *outbound, subs []service.Substitution, lookup func(string) ([]byte, bool)) {
	pairs := make([][2][]byte, 0, len(subs))
	for _, s := range subs {
		v, ok := lookup(s.Key)
		if !ok {
			writeError(w, fail(http.StatusBadGateway, "credential_not_found", "credential "+s.Key+" is not set", "ask a vault member to set it"))
			return
		}
		pairs = append(pairs, [2][]byte{[]byte(s.Placeholder), v})
	}
	r = r.WithContext(context.WithValue(r.Context(), outboundKey{}, out)) // for upstreamError
	outReq := r.Clone(r.Context())
	outReq.URL.Scheme, outReq.URL.Host, outReq.Host = out.t.scheme, out.t.authority(), out.t.authority()
	outReq.RequestURI = ""
	outReq.URL.User = nil
	outReq.Header.Del("Sec-WebSocket-Extensions")
	stripRequestHeaders(outReq.Header, true)
	for k, v := range out.inject {
		outReq.Header.Set(k, v)
	}
	if out.redact != nil {
		redactRequest(outReq.Header)
	}
	resp, err := p.transportH1.RoundTrip(outReq)
	if err != nil {
		p.upstreamError(w, r, err)
		return
	}
	if out.redact != nil {
		if err := p.redactResponse(resp, out); err != nil {
			resp.Body.Close()
			p.upstreamError(w, r, err)
			return
		}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		stripResponseHeaders(resp.Header)
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	upstream, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		writeError(w, fail(http.StatusBadGateway, "upstream_unreachable", "the upstream's websocket connection is not usable", ""))
		return
	}
	defer upstream.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	// Revocation (tunnelwatch.go) cancels the request: end the stream.
	defer context.AfterFunc(r.Context(), func() { upstream.Close(); conn.Close() })()
	stripResponseHeaders(resp.Header)
	resp.Header.Del("Sec-WebSocket-Extensions")
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		return
	}
	if lw, ok := w.(*logWriter); ok {
		lw.status = http.StatusSwitchingProtocols
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(conn, upstream)
		done <- struct{}{}
	}()
	go func() {
		replace := func(b []byte) []byte {
			for _, pr := range pairs {
				b = bytes.ReplaceAll(b, pr[0], pr[1])
			}
			return b
		}
		_ = copyWSFrames(upstream, brw.Reader, replace)
		done <- struct{}{}
	}()
	<-done
}
