package proxy_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// What a service injects and redacts is built once per version of the
// vault, not per request. A rotated credential must be both injected and
// redacted from the very next response: a stale redaction set would let an
// upstream that echoes the header show the agent the new value.
func TestRotatedCredentialRedactedAtOnce(t *testing.T) {
	e := newEnv(t, true)
	const first, second = "sk_live_first_0123456789abcdef", "sk_live_second_0123456789abcdef"
	e.setup(map[string]string{"API_KEY": first}, bearer("api", "api.test", "API_KEY"))
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "you sent "+r.Header.Get("Authorization"))
	}))
	c := e.client(e.agent("bot", "proxy"), "default", false)
	get := func() string {
		t.Helper()
		resp, err := c.Get("https://" + e.upstream + "/echo")
		if err != nil {
			t.Fatal(err)
		}
		return read(t, resp)
	}
	for _, v := range []string{first, second, first} {
		if _, err := e.b.SetCredentials(context.Background(), e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"API_KEY": v}}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second request uses what the first one built
			body := get()
			if got := e.seen.last().Header.Get("Authorization"); got != "Bearer "+v {
				t.Fatalf("the upstream got %q, want the current value", got)
			}
			if strings.Contains(body, first) || strings.Contains(body, second) || !strings.Contains(body, "[agent-vault:redacted]") {
				t.Fatalf("after setting the credential the agent read %q", body)
			}
		}
	}
}
