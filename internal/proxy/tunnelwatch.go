package proxy

import (
	"context"
	"net"
	"time"

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

// watchTunnel calls closeAll and returns true when the tunnel is no
// longer authorized; it returns false when ctx ends first.
func (p *Proxy) watchTunnel(ctx context.Context, proxyAuth, host string, port int, closeAll func()) bool {
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
		if err != nil || g.Policy() == model.PolicyDeny || service.CouldMatch(g.Services(), host, port) {
			p.log.Debug("blind tunnel closed: no longer authorized", "host", host, "port", port)
			closeAll()
			return true
		}
	}
}
