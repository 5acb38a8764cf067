package service

import "github.com/agent-vault/agent-vault/internal/apitype"

// Result is the outcome of Match. The zero Result means no service
// matched.
type Result struct {
	Matched  bool
	Index    int  // index of the winning service; meaningful only when Matched
	Disabled bool // the winner is disabled: the caller answers 403 service_disabled
}

// Match chooses the service a request to host:port/path goes to, among
// all services, enabled or not (docs/protocol.md, "Match priority"):
//
//  1. an exact host beats a wildcard host, whatever the path or port;
//  2. within a tier, a specific port beats any port;
//  3. then the longest literal path prefix (Pattern.LiteralPrefixLen);
//  4. then declaration order.
//
// A disabled winner is reported as such rather than skipped, so that a
// disabled service is refused (403 service_disabled), never silently
// replaced by a broader enabled one. host, port and path are read as
// Pattern.MatchesHost and Pattern.MatchesPath read them.
func Match(services []Service, host string, port int, path string) Result {
	h := normalizeHost(host)
	best := -1
	for i := range services {
		p := services[i].Pattern
		if !p.matchesNormalizedHost(h, port) || !p.MatchesPath(path) {
			continue
		}
		if best < 0 || outranks(p, services[best].Pattern) {
			best = i
		}
	}
	if best < 0 {
		return Result{}
	}
	return Result{Matched: true, Index: best, Disabled: !services[best].Enabled}
}

// outranks reports whether a wins over b by rules 1–3 of the match priority; on a
// tie the earlier declaration wins (rule 4), which Match gets by keeping
// the first best it saw.
func outranks(a, b Pattern) bool {
	if a.Wildcard != b.Wildcard {
		return !a.Wildcard
	}
	if (a.Port != 0) != (b.Port != 0) {
		return a.Port != 0
	}
	return a.LiteralPrefixLen() > b.LiteralPrefixLen()
}

// CouldMatch reports whether some service, enabled or not, could match a
// request to host:port on some path. The proxy terminates TLS for such a
// CONNECT and tunnels any other blind (docs/protocol.md, "Unmatched hosts").
func CouldMatch(services []Service, host string, port int) bool {
	h := normalizeHost(host)
	for i := range services {
		if services[i].Pattern.matchesNormalizedHost(h, port) {
			return true
		}
	}
	return false
}

// Candidate is one service a reference resolved to.
type Candidate struct {
	Index int    // into the services slice
	Name  string // the service name
	Host  string // its joined host pattern
}

// ToAPI returns the wire form used in 409 answers and /discover.
func (c Candidate) ToAPI() apitype.ServiceCandidate {
	return apitype.ServiceCandidate{Name: c.Name, Host: c.Host}
}

// Ambiguous resolves a reference to a service by name or host, as the
// management API (PATCH/DELETE …/services/{name-or-host}) and proposals
// (set without a name, delete by host) need. It returns every service the
// reference designates; one means resolved, none means not found, more
// than one means ambiguous (409 with the candidates). In order:
//
//  1. a service whose name equals ref: that one alone;
//  2. services whose joined host pattern equals ref exactly;
//  3. when ref is a host pattern without a path: the services with that
//     host (wildcard or not, as written) on that port, any port when ref
//     names none, whatever their paths. "slack.com" designates both
//     "slack.com/api/*" and "slack.com/api/apps.connections.*".
//
// A ref is never resolved by what a wildcard would match: "api.github.com"
// does not designate "*.github.com".
func Ambiguous(services []Service, ref string) []Candidate {
	if ref == "" {
		return nil
	}
	for i, s := range services {
		if s.Name == ref {
			return []Candidate{candidate(services, i)}
		}
	}
	p, reason := parsePattern(ref)
	if reason != "" {
		return nil
	}
	var out []Candidate
	for i, s := range services {
		if s.Pattern == p {
			out = append(out, candidate(services, i))
		}
	}
	if out != nil || p.Path != "" {
		return out
	}
	for i, s := range services {
		q := s.Pattern
		if q.Host == p.Host && q.Wildcard == p.Wildcard && (p.Port == 0 || q.Port == p.Port) {
			out = append(out, candidate(services, i))
		}
	}
	return out
}

func candidate(services []Service, i int) Candidate {
	return Candidate{Index: i, Name: services[i].Name, Host: services[i].Pattern.String()}
}
