package proxy

import (
	"net/http"
	"testing"
)

// TestHeaderStripRules is the table of which names the broker strips, in
// every case spelling: an upstream or an agent choosing upper or mixed
// case must not slip a broker header past the check.
func TestHeaderStripRules(t *testing.T) {
	cases := []struct {
		name              string
		request, response bool // stripped going upstream / coming back
	}{
		{"Proxy-Authorization", true, false},
		{"PROXY-AUTHORIZATION", true, false},
		{"proxy-connection", true, false},
		{"Proxy-", true, false},
		{"Proxyish", false, false},
		{"X-Vault", true, false},
		{"X-VAULT", true, false},
		{"x-vault", true, false},
		{"X-Vaults", false, false},
		{"X-Agent-Vault-Error", true, true},
		{"x-agent-vault-error", true, true},
		{"X-AGENT-VAULT-PROPOSAL", true, true},
		{"X-Agent-Vault-", true, true},
		{"X-Agent-Vault", false, false},
		{"X-Agent-Vaults-Thing", false, false},
		{"Set-Cookie", false, true},
		{"Authorization", false, false},
		{"Content-Type", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{c.name: {"v"}}
			stripBrokerRequestHeaders(h)
			if _, kept := h[c.name]; kept == c.request {
				t.Errorf("request header %q: stripped = %v, want %v", c.name, !kept, c.request)
			}
			h = http.Header{c.name: {"v"}}
			stripResponseHeaders(h)
			if _, kept := h[c.name]; kept == c.response {
				t.Errorf("response header %q: stripped = %v, want %v", c.name, !kept, c.response)
			}
		})
	}
}

func TestHeaderStripAllocatesNothing(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts do not hold under the race detector")
	}
	h := http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"2"}, "Date": {"x"}, "Cache-Control": {"no-cache"}}
	if n := testing.AllocsPerRun(100, func() { stripResponseHeaders(h); stripBrokerRequestHeaders(h) }); n != 0 {
		t.Fatalf("stripping the headers of an ordinary answer allocated %v times per call; want 0 (it runs on every request)", n)
	}
}
