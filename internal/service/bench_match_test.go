package service

import (
	"fmt"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// benchServices builds n valid services mixing the host pattern shapes of
// docs/protocol.md ("Host patterns"): exact hosts, one-label wildcards, inline path globs and
// port-scoped patterns with a path.
func benchServices(b *testing.B, n int) []Service {
	b.Helper()
	out := make([]Service, 0, n)
	for i := 0; i < n; i++ {
		var host string
		switch i % 4 {
		case 0:
			host = fmt.Sprintf("api%d.example.com", i)
		case 1:
			host = fmt.Sprintf("*.svc%d.example.com", i)
		case 2:
			host = fmt.Sprintf("host%d.example.com/api/v1/*", i)
		default:
			host = fmt.Sprintf("internal%d.corp:8443/v2/*", i)
		}
		s, err := FromAPI(apitype.Service{
			Name: fmt.Sprintf("svc-%d", i), Host: host,
			Auth: apitype.ServiceAuth{Type: "bearer", Token: fmt.Sprintf("KEY_%d", i)},
		}, "")
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, s)
	}
	if err := ValidateSet(out); err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkMatch measures service.Match, which the proxy runs on every
// request, over 10 and 100 services: a hit on the last exact host (every
// service is scanned), a wildcard hit, a path-glob hit and a miss.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 100} {
		svcs := benchServices(b, n)
		last := (n - 1) / 4 * 4 // the last exact-host service
		cases := []struct {
			name, host string
			port       int
			path       string
			want       int // index, -1 for none
		}{
			{"exact-last", fmt.Sprintf("api%d.example.com", last), 443, "/v1/charges", last},
			{"wildcard", "eu.svc1.example.com", 443, "/", 1},
			{"path-glob", "host2.example.com", 443, "/api/v1/users/42", 2},
			{"miss", "unknown.example.org", 443, "/v1/things", -1},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("services=%d/%s", n, c.name), func(b *testing.B) {
				r := Match(svcs, c.host, c.port, c.path)
				if got := map[bool]int{true: r.Index, false: -1}[r.Matched]; got != c.want {
					b.Fatalf("Match(%s) = %+v, want index %d", c.host, r, c.want)
				}
				b.ReportAllocs()
				for b.Loop() {
					r = Match(svcs, c.host, c.port, c.path)
				}
				_ = r
			})
		}
		b.Run(fmt.Sprintf("services=%d/could-match-miss", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if CouldMatch(svcs, "unknown.example.org", 443) {
					b.Fatal("matched")
				}
			}
		})
	}
}
