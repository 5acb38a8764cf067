package proxy_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// TestAgentSessionsShareTheAgentsProxyBudget plays an agent with the
// member role that mints vault sessions (up to 10) to multiply its proxy
// budget and spend the human's upstream quota eleven times as fast. A
// session an agent minted acts as that agent: it draws on the agent's
// budget. A session a user minted keeps its own.
func TestAgentSessionsShareTheAgentsProxyBudget(t *testing.T) {
	ctx := context.Background()
	e := newEnvLimited(t, true, mustLimiter(t, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierProxy: {Rate: 0.001, Burst: 2, Concurrency: 100}}))
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "member")
	bot, err := e.b.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	mint := func() string {
		t.Helper()
		s, err := e.b.CreateScopedSession(ctx, bot, apitype.CreateScopedSessionRequest{Vault: "default"})
		if err != nil {
			t.Fatal(err)
		}
		return s.Token
	}
	get := func(tok string) int {
		t.Helper()
		resp, err := e.client(tok, "default", false).Get("https://" + e.upstream + "/x")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 2 {
		if c := get(tok); c != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, c)
		}
	}
	for i := range 3 {
		if c := get(mint()); c != http.StatusTooManyRequests {
			t.Errorf("fresh session %d of the agent, after the agent spent its budget: %d, want 429", i+1, c)
		}
	}
	// A user's own vault session is the user's business: its own budget.
	us, err := e.b.CreateScopedSession(ctx, e.owner, apitype.CreateScopedSessionRequest{Vault: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if c := get(us.Token); c != 200 {
		t.Errorf("a user's session after the agent spent its budget: %d, want 200", c)
	}
}
