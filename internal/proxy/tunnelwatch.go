package proxy

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
)

// defaultTunnelRecheck is how often an open blind tunnel checks that its
// agent may still use it.
const defaultTunnelRecheck = time.Second

// blindTunnel runs a blind tunnel on its own goroutine once serveConnect
// has answered 200: early holds the bytes the agent sent right after the
// CONNECT, release ends the tunnel's admission.
func (p *Proxy) blindTunnel(g *broker.ProxyGrant, client, upstream net.Conn, early []byte, proxyAuth, host string, port int, start time.Time, release func()) {
	defer release()
	var sent int64
	if len(early) > 0 {
		n, err := upstream.Write(early)
		sent = int64(n)
		if err != nil {
			client.Close()
			upstream.Close()
			p.recordTunnel(g, host, port, http.StatusOK, "", sent, 0, time.Since(start))
			return
		}
	}
	up, down, revoked := p.spliceWatched(client, upstream, proxyAuth, host, port)
	code := ""
	if revoked {
		code = "tunnel_revoked"
	}
	p.recordTunnel(g, host, port, http.StatusOK, code, sent+up, down, time.Since(start))
}

// spliceWatched is splice for a blind tunnel that closes once its token no
// longer authorizes it: the agent or session was revoked or expired, its
// vault access was removed, or the vault now denies unmatched hosts or
// has a service that could match the host (which must be intercepted).
// Intercepted tunnels look the grant up on every request; a blind tunnel
// carries no requests the proxy can see, so it is checked on a timer
// instead (Options.TunnelRecheck).
func (p *Proxy) spliceWatched(client, upstream net.Conn, proxyAuth, host string, port int) (up, down int64, revoked bool) {
	stop := p.watchTunnel(proxyAuth, host, port, func() {
		client.Close()
		upstream.Close()
	})
	up, down = splice(client, upstream)
	return up, down, stop()
}

// watchStream returns a context that is cancelled once the agent behind
// a long-lived intercepted stream (a websocket) loses access, as an
// intercepted request would be refused at its next request; stop ends the
// watch.
func (p *Proxy) watchStream(parent context.Context, t target) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	go p.watchGrant(ctx, t.proxyAuth, cancel)
	return ctx, cancel
}

// watchGrant calls closeAll and returns true once proxyAuth no longer
// authorizes; it returns false when ctx ends first.
func (p *Proxy) watchGrant(ctx context.Context, proxyAuth string, closeAll func()) bool {
	tok, hint, err := ParseProxyAuth(proxyAuth)
	if err != nil {
		closeAll()
		return true
	}
	tick := time.NewTicker(p.o.TunnelRecheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
		_, err := p.o.Authority.ProxyAuthorize(ctx, tok, hint)
		if ctx.Err() != nil {
			return false
		}
		if err != nil {
			p.log.Debug("stream closed: no longer authorized")
			closeAll()
			return true
		}
	}
}
