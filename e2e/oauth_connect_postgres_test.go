package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Two servers on one PostgreSQL database behind one public address: the
// flow starts on one and the provider sends the browser back to the
// other, which finds the state in the shared table and completes it.
func TestOAuthConnectAcrossPostgresServers(t *testing.T) {
	dbURL := pgDatabase(t)
	p, caFile := ocProvider(t, false)
	portB := freePort(t)
	public := "http://127.0.0.1:" + strconv.Itoa(portB) // the address users reach (here: server B)
	env := []string{"DATABASE_URL=" + dbURL, "AGENT_VAULT_NETWORK_ALLOWLIST=127.0.0.1/32"}
	args := []string{"--address", public, "--upstream-ca-file", caFile}
	a := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "a"), env: env, args: args})
	b := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "b"), env: env, args: args, port: portB})
	p.AddClient(oauthtestClient("pg-app", "pg-app-secret-161", public+"/v1/oauth/callback"))

	owner := newCLI(t, "owner", a.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	authURL := strings.TrimSpace(owner.ok("pg-app-secret-161\n", "vault", "credential", "oauth", "connect", "CRM", "--no-wait",
		"--authorization-url", p.AuthorizeURL, "--token-url", p.TokenURL, "--client-id", "pg-app", "--client-secret", "-"))
	if !strings.Contains(authURL, "redirect_uri="+strings.ReplaceAll(strings.ReplaceAll(public, ":", "%3A"), "/", "%2F")) {
		t.Fatalf("the redirect URI is not the public address's: %s", authURL)
	}
	br := ocLogin(t, b.url, caFile, "owner@example.com", "owner-pass-1")
	mustContain(t, "server B's callback page", br.consentAndFinish(authURL), `id="oauth-done"`)

	r := call(t, http.MethodGet, a.url+"/v1/credentials/oauth/status?vault=default&key=CRM", owner.token(), nil)
	var st struct {
		Connected bool `json:"connected"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &st) != nil || !st.Connected {
		t.Fatalf("status on server A after finishing on B: %s", r)
	}
}
