package proxy

import (
	"context"
	"net"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
)

// defaultTunnelRecheck is how often an open blind tunnel checks that its
// agent may still use it.
const defaultTunnelRecheck = time.Second

// spliceWatched is splice for a blind tunnel that closes once its token no
// longer authorizes it: the agent or session was revoked or expired, its
// vault access was removed, or the vault now denies unmatched hosts or
// has a service that could match the host (which must be intercepted).
// Intercepted tunnels look the grant up on every request; a blind tunnel
// carries no requests the proxy can see, so it is checked on a timer
// instead (Options.TunnelRecheck).
func (p *Proxy) spliceWatched(client, upstream net.Conn, proxyAuth, host string, port int) (up, down int64, revoked bool) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan bool, 1)
	go func() {
		stopped <- p.watchTunnel(ctx, proxyAuth, host, port, func() {
			client.Close()
			upstream.Close()
		})
	}()
	up, down = splice(client, upstream)
	cancel()
	return up, down, <-stopped
}

// watchStream returns a context that is cancelled once the agent behind
// a long-lived intercepted stream (a websocket) loses access, as an
// intercepted request would be refused at its next request; stop ends the
// watch.
func (p *Proxy) watchStream(parent context.Context, t target) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	go p.watchGrant(ctx, t.proxyAuth, nil, cancel)
	return ctx, cancel
}

// watchTunnel watches a blind tunnel: its agent must keep access, and the
// tunnel must stay one the proxy would open blind.
func (p *Proxy) watchTunnel(ctx context.Context, proxyAuth, host string, port int, closeAll func()) bool {
	blind := func(g *broker.ProxyGrant) bool {
		return g.Policy() != model.PolicyDeny && !service.CouldMatch(g.Services(), host, port)
	}
	return p.watchGrant(ctx, proxyAuth, blind, closeAll)
}

// watchGrant calls closeAll and returns true once proxyAuth no longer
// authorizes (or still, when given, reports false); it returns false when
// ctx ends first.
func (p *Proxy) watchGrant(ctx context.Context, proxyAuth string, still func(*broker.ProxyGrant) bool, closeAll func()) bool {
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
		g, err := p.o.Authority.ProxyAuthorize(ctx, tok, hint)
		if ctx.Err() != nil {
			return false
		}
		if err != nil || (still != nil && !still(g)) {
			p.log.Debug("stream closed: no longer authorized")
			closeAll()
			return true
		}
	}
}
