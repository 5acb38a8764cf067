package proxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
)

// The proxy's own check: a service whose host pattern its credential is
// not bound to gets nothing injected, even when the store holds it (a
// write path that forgot the rule, a restored backup, a hand-edited
// database). Both ways a mismatch can be planted are tried: a service
// moved to another host, and a binding removed under a service.
func TestUnboundCredentialIsNeverInjected(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	ctx := context.Background()
	get := func(host string) (*http.Response, string) {
		t.Helper()
		resp, err := e.client(tok, "default", false).Get("https://" + host + "/x")
		if err != nil {
			t.Fatal(err)
		}
		return resp, read(t, resp)
	}
	// Bound: injected.
	if resp, _ := get(e.upstream); resp.StatusCode != 200 || e.seen.last().Header.Get("Authorization") != "Bearer "+secretValue {
		t.Fatalf("bound credential not injected: %d", resp.StatusCode)
	}

	plantServices := func(svcs ...apitype.Service) {
		t.Helper()
		js, _ := json.Marshal(svcs)
		vaultID := e.vaultID(tok)
		if _, err := e.db.Services().Put(ctx, model.ServiceSet{VaultID: vaultID, JSON: js, UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		e.b.Invalidate()
	}
	other := strings.Replace(e.upstream, "api.test", "other.test", 1)
	cases := []struct {
		name  string
		plant func()
		host  string
	}{
		{"service moved to a host the credential was never bound to", func() {
			plantServices(bearer("api", "other.test", "API_KEY"))
		}, other},
		{"custom template naming the credential at another host", func() {
			plantServices(apitype.Service{Name: "exfil", Host: "other.test", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Leak": "{{ API_KEY }}"}}})
		}, other},
		{"substitution on a passthrough service at another host", func() {
			plantServices(apitype.Service{Name: "exfil", Host: "other.test", Auth: apitype.ServiceAuth{Type: "passthrough"},
				Substitutions: []apitype.Substitution{{Key: "API_KEY", Placeholder: "__K__"}}})
		}, other},
		{"binding removed under the service", func() {
			plantServices(bearer("api", "api.test", "API_KEY"))
			if err := e.db.Credentials().Unbind(ctx, e.vaultID(tok), "API_KEY", "api.test"); err != nil {
				t.Fatal(err)
			}
			e.b.Invalidate()
		}, e.upstream},
	}
	for _, c := range cases {
		before := len(e.seen.reqs)
		c.plant()
		resp, body := get(c.host)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Agent-Vault-Proxy-Error") != "true" || !strings.Contains(body, `"credential_not_bound"`) {
			t.Errorf("%s: %d %q, want 403 credential_not_bound from the broker", c.name, resp.StatusCode, body)
		}
		if !strings.Contains(body, `"proposal_hint"`) {
			t.Errorf("%s: the refusal carries no proposal hint: %s", c.name, body)
		}
		if len(e.seen.reqs) != before {
			t.Errorf("%s: the request reached the upstream", c.name)
		}
		if strings.Contains(body, secretValue) {
			t.Errorf("%s: the value is in the answer", c.name)
		}
	}
}
