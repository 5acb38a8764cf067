package proxy

import (
	"net/http"
	"sync"
	"time"
)

// Upstream connections are pooled per owner, one actor (an agent, a
// session) in one vault through one service (or no service: passthrough),
// and never carry two owners' requests. An HTTP/1.1 connection carries
// one exchange after another, and an upstream that misreads a request
// (ignores the body of an endpoint, takes an odd header for a length) can
// be pushed out of step by the bytes an agent sends: its next answer on
// that connection goes to the next request sent on it, and the answer to
// that request to the one after. On a shared connection an agent could so
// read answers to another agent's requests, or have another agent's
// request, credential included, swallowed into a body it stored. Kept per
// owner, a desynchronised connection only ever serves the agent that
// desynchronised it (TestUpstreamDesyncStaysWithItsAgent,
// TestUpstreamConnectionsAreNotShared; docs/proxy.md), and only requests
// of the same service: an answer that shows one service's credential back
// can never reach a request that another service's redaction, or none (a
// passthrough), scans (TestUpstreamDesyncStaysWithItsService).

// poolOwner is whose requests may share upstream connections. services is
// the version of the vault's services: once a person edits them (a
// credential's service changed, redaction turned back on), requests no
// longer reuse the connections opened under the old ones
// (TestUpstreamConnectionsNotReusedAfterAServiceEdit).
type poolOwner struct {
	vault, actor, service string
	services              int64
}

// ownerOf is the owner of an outbound request, from the decision forward
// put in its context; requests the proxy makes for itself have the zero
// owner.
func ownerOf(r *http.Request) poolOwner {
	if out, _ := r.Context().Value(outboundKey{}).(*outbound); out != nil {
		return out.owner
	}
	return poolOwner{}
}

// Bounds on what the per-owner transports keep: every owner's idle
// connections together stay within ownersKept × ownerMaxIdle per
// ownerTransports (the simple-request leg, h1leg.go, has bounds of its
// own across owners).
const (
	ownersKept          = 128 // beyond it, the owner unused longest loses its transport
	ownerMaxIdle        = 16
	ownerMaxIdlePerHost = 16
)

// ownerTransports is an http.RoundTripper that gives each owner an
// http.Transport of its own, a clone of base. A transport unused for
// base's IdleConnTimeout, or the least recently used one when more than
// kept owners have one, is dropped with its idle connections.
type ownerTransports struct {
	base *http.Transport
	now  func() time.Time
	kept int

	mu        sync.Mutex
	byOwner   map[poolOwner]*ownerTransport
	lastSweep time.Time
	closed    bool
}

type ownerTransport struct {
	t    *http.Transport
	used time.Time
}

func newOwnerTransports(base *http.Transport) *ownerTransports {
	return &ownerTransports{base: base, now: time.Now, kept: ownersKept, byOwner: map[poolOwner]*ownerTransport{}}
}

func (o *ownerTransports) RoundTrip(r *http.Request) (*http.Response, error) {
	return o.transport(ownerOf(r)).RoundTrip(r)
}

// transport returns owner's transport, made on first use.
func (o *ownerTransports) transport(owner poolOwner) *http.Transport {
	now := o.now()
	o.mu.Lock()
	if o.closed {
		// Requests still under way when the proxy closed: served without
		// keeping a connection that nothing would close.
		o.mu.Unlock()
		t := o.base.Clone()
		t.DisableKeepAlives = true
		return t
	}
	var stale []*http.Transport
	e := o.byOwner[owner]
	if e == nil {
		if len(o.byOwner) >= o.kept {
			stale = append(stale, o.evictOldestLocked())
		}
		t := o.base.Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = ownerMaxIdle, ownerMaxIdlePerHost
		e = &ownerTransport{t: t}
		o.byOwner[owner] = e
	}
	e.used = now
	if idle := o.base.IdleConnTimeout; idle > 0 && now.Sub(o.lastSweep) > idle/3 {
		o.lastSweep = now
		for k, s := range o.byOwner {
			if now.Sub(s.used) > idle {
				stale = append(stale, s.t)
				delete(o.byOwner, k)
			}
		}
	}
	o.mu.Unlock()
	// A dropped transport's idle connections close now, and an HTTP/1.1
	// connection of a request still under way on it closes when that
	// request ends; an HTTP/2 one when its own idle timeout passes.
	for _, t := range stale {
		t.CloseIdleConnections()
	}
	return e.t
}

// evictOldestLocked drops the transport whose owner sent nothing for the
// longest and returns it.
func (o *ownerTransports) evictOldestLocked() *http.Transport {
	var oldest poolOwner
	var at time.Time
	first := true
	for k, s := range o.byOwner {
		if first || s.used.Before(at) {
			oldest, at, first = k, s.used, false
		}
	}
	t := o.byOwner[oldest].t
	delete(o.byOwner, oldest)
	return t
}

// close drops every owner's transport and its idle connections; later
// requests keep no connection open.
func (o *ownerTransports) close() {
	o.mu.Lock()
	o.closed = true
	ts := make([]*http.Transport, 0, len(o.byOwner))
	for _, e := range o.byOwner {
		ts = append(ts, e.t)
	}
	clear(o.byOwner)
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
