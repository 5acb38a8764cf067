package proxy

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
)

// blindWatch rechecks every open blind tunnel's authorization from one
// goroutine, once per Options.TunnelRecheck, asking the broker once per
// distinct Proxy-Authorization rather than once per tunnel: ten thousand
// tunnels of one agent cost one lookup a second, not ten thousand (and no
// goroutine or timer each). The goroutine runs while tunnels are open.
// Its zero value is ready to use.
type blindWatch struct {
	mu      sync.Mutex
	tunnels map[string]map[*watchedTunnel]struct{} // by Proxy-Authorization
	running bool
}

// watchedTunnel is one open blind tunnel.
type watchedTunnel struct {
	host     string
	port     int
	closeAll func()
	closed   atomic.Bool // the watch closed it
}

// watchTunnel watches a blind tunnel: its agent must keep access, and the
// tunnel must stay one the proxy would open blind; closeAll is called
// once it no longer is. stop ends the watch and reports whether it closed
// the tunnel.
func (p *Proxy) watchTunnel(proxyAuth, host string, port int, closeAll func()) (stop func() (revoked bool)) {
	w := &p.blind
	t := &watchedTunnel{host: host, port: port, closeAll: closeAll}
	w.mu.Lock()
	if w.tunnels == nil {
		w.tunnels = map[string]map[*watchedTunnel]struct{}{}
	}
	set := w.tunnels[proxyAuth]
	if set == nil {
		set = map[*watchedTunnel]struct{}{}
		w.tunnels[proxyAuth] = set
	}
	set[t] = struct{}{}
	if !w.running {
		w.running = true
		go p.recheckBlindTunnels()
	}
	w.mu.Unlock()
	return func() bool {
		w.mu.Lock()
		delete(set, t)
		if len(w.tunnels[proxyAuth]) == 0 {
			delete(w.tunnels, proxyAuth)
		}
		w.mu.Unlock()
		return t.closed.Load()
	}
}

// recheckBlindTunnels is the watch's goroutine: it ends once no tunnel is
// open.
func (p *Proxy) recheckBlindTunnels() {
	w := &p.blind
	tick := time.NewTicker(p.o.TunnelRecheck)
	defer tick.Stop()
	for range tick.C {
		w.mu.Lock()
		if len(w.tunnels) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		snap := make(map[string][]*watchedTunnel, len(w.tunnels))
		for auth, set := range w.tunnels {
			for t := range set {
				snap[auth] = append(snap[auth], t)
			}
		}
		w.mu.Unlock()
		for auth, ts := range snap {
			p.recheckBlind(auth, ts)
		}
	}
}

// recheckBlind looks one Proxy-Authorization up and closes those of its
// tunnels that it no longer authorizes, or that a service could now match
// (they must be intercepted), or all of them once the vault denies
// unmatched hosts.
func (p *Proxy) recheckBlind(proxyAuth string, ts []*watchedTunnel) {
	tok, hint, err := ParseProxyAuth(proxyAuth)
	var g *broker.ProxyGrant
	if err == nil {
		g, err = p.o.Authority.ProxyAuthorize(context.Background(), tok, hint)
	}
	for _, t := range ts {
		if err != nil || g.Policy() == model.PolicyDeny || service.CouldMatch(g.Services(), t.host, t.port) {
			if t.closed.CompareAndSwap(false, true) {
				p.log.Debug("stream closed: no longer authorized")
				t.closeAll()
			}
		}
	}
}
