package proxy

import (
	"net/http"
	"sync"
	"time"
)

// Upstream connections are pooled per owner, one actor (an agent, a
// session) in one vault, and never carry two owners' requests. An
// HTTP/1.1 connection carries one exchange after another, and an upstream
// that misreads a request (ignores the body of an endpoint, takes an odd
// header for a length) can be pushed out of step by the bytes an agent
// sends: its next answer on that connection goes to the next request sent
// on it, and the answer to that request to the one after. On a shared
// connection an agent could so read answers to another agent's requests,
// or have another agent's request, credential included, swallowed into a
// body it stored. Kept per owner, a desynchronised connection only ever
// serves the agent that desynchronised it (TestUpstreamDesyncStaysWithItsAgent,
// TestUpstreamConnectionsAreNotShared; docs/proxy.md).

// poolOwner is whose requests may share upstream connections.
type poolOwner struct{ vault, actor string }

// ownerOf is the owner of an outbound request, from the decision forward
// put in its context; requests the proxy makes for itself have the zero
// owner.
func ownerOf(r *http.Request) poolOwner {
	if out, _ := r.Context().Value(outboundKey{}).(*outbound); out != nil {
		return out.owner
	}
	return poolOwner{}
}

// ownerTransports is an http.RoundTripper that gives each owner an
// http.Transport of its own, a clone of base. A transport unused for
// ownerIdle is dropped with its idle connections.
type ownerTransports struct {
	base *http.Transport
	now  func() time.Time

	mu        sync.Mutex
	byOwner   map[poolOwner]*ownerTransport
	lastSweep time.Time
}

type ownerTransport struct {
	t    *http.Transport
	used time.Time
}

func newOwnerTransports(base *http.Transport) *ownerTransports {
	return &ownerTransports{base: base, now: time.Now, byOwner: map[poolOwner]*ownerTransport{}}
}

func (o *ownerTransports) RoundTrip(r *http.Request) (*http.Response, error) {
	return o.transport(ownerOf(r)).RoundTrip(r)
}

// transport returns owner's transport, made on first use.
func (o *ownerTransports) transport(owner poolOwner) *http.Transport {
	now := o.now()
	o.mu.Lock()
	e := o.byOwner[owner]
	if e == nil {
		e = &ownerTransport{t: o.base.Clone()}
		o.byOwner[owner] = e
	}
	e.used = now
	var stale []*http.Transport
	if idle := o.base.IdleConnTimeout; now.Sub(o.lastSweep) > idle/3 {
		o.lastSweep = now
		for k, s := range o.byOwner {
			if now.Sub(s.used) > idle {
				stale = append(stale, s.t)
				delete(o.byOwner, k)
			}
		}
	}
	o.mu.Unlock()
	// A request still under way on a dropped transport finishes; its
	// connection then closes after the transport's own idle timeout.
	for _, t := range stale {
		t.CloseIdleConnections()
	}
	return e.t
}

// CloseIdleConnections closes every owner's idle connections.
func (o *ownerTransports) CloseIdleConnections() {
	o.mu.Lock()
	ts := make([]*http.Transport, 0, len(o.byOwner))
	for _, e := range o.byOwner {
		ts = append(ts, e.t)
	}
	o.mu.Unlock()
	for _, t := range ts {
		t.CloseIdleConnections()
	}
}

// owners is how many owners have a transport now.
func (o *ownerTransports) owners() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.byOwner)
}
