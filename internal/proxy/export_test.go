package proxy

// LaneRequests counts the requests the HTTP/1.1 lane served itself
// (h1lane.go), for tests that must know which server answered.
func LaneRequests(p *Proxy) int64 { return p.laneServed.Load() }
