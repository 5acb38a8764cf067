package e2e

import (
	"io"
	"net/http"
	"strconv"
	"testing"
)

// TestPostgresRateLimitSharedAcrossServers: three servers on one
// PostgreSQL database enforce one proxy budget per agent together. The
// rate is one request an hour with a burst of 40, so the budget cannot
// refill while the test runs: whichever servers an agent spreads 120
// requests over, exactly 40 pass (per-server budgets would let 120
// through), and the others get 429.
func TestPostgresRateLimitSharedAcrossServers(t *testing.T) {
	t.Parallel()
	dbURL := pgDatabase(t)
	const burst = 40
	env := []string{"DATABASE_URL=" + dbURL, "AGENT_VAULT_RATELIMIT_PROFILE=default",
		"AGENT_VAULT_RATELIMIT_PROXY_RATE=1/h", "AGENT_VAULT_RATELIMIT_PROXY_BURST=" + strconv.Itoa(burst)}
	ca := pxNewCA(t)
	up := pxStartUpstream(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	a := pxStart(t, pxOpts{ca: ca, env: env})
	a.services("", "services:\n  - name: api\n    host: localhost:"+strconv.Itoa(up.port)+"\n    auth: {type: passthrough}\n")
	tok := a.agent("bot")
	servers := []*pxBroker{a,
		pgReplica(t, a, ca, append(env, "AGENT_VAULT_ALLOW_PRIVATE_RANGES=true")),
		pgReplica(t, a, ca, append(env, "AGENT_VAULT_ALLOW_PRIVATE_RANGES=true"))}
	clients := make([]*http.Client, len(servers))
	for i, s := range servers {
		clients[i] = s.client(tok, "default", false)
	}
	passed, limited := make([]int, len(servers)), 0
	for i := range 3 * 40 {
		k := i % len(servers)
		resp, err := clients[k].Get(up.url() + "/x")
		if err != nil {
			t.Fatalf("request %d through server %d: %v", i, k, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			passed[k]++
		case 429:
			limited++
		default:
			t.Fatalf("request %d through server %d: %d", i, k, resp.StatusCode)
		}
	}
	total := passed[0] + passed[1] + passed[2]
	t.Logf("three servers, burst %d: %d passed (per server %v), %d refused with 429", burst, total, passed, limited)
	if total != burst {
		t.Errorf("%d requests passed across three servers, want exactly the one shared burst of %d (per server: %v)", total, burst, passed)
	}
}
