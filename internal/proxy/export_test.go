package proxy

// LaneRequests counts the requests the HTTP/1.1 lane served itself
// (h1lane.go), for tests that must know which server answered.
func LaneRequests(p *Proxy) int64 { return p.laneServed.Load() }

// IdleUpstreamConns counts the upstream connections to origin
// ("https://host:port") pooled by the simple request leg (h1leg.go), for
// every owner, for tests that must know a connection was handed back
// before they send the next request.
func IdleUpstreamConns(p *Proxy, origin string) int {
	p.h1.mu.Lock()
	defer p.h1.mu.Unlock()
	n := 0
	for k, cs := range p.h1.idle {
		if k.scheme+"://"+k.addr == origin {
			n += len(cs)
		}
	}
	return n
}
