package e2e

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `vault credential oauth connect` with the real binary: it prints the
// provider URL and waits; the user consents in a browser signed in to the
// console and finishes on the callback page; the command reports the
// connection and the proxy injects the new token at the provider's API.
func TestOAuthConnectCLIEndToEnd(t *testing.T) {
	p, caFile := ocProvider(t, false)
	b := ocBroker(t, caFile)
	const clientID, secret = "cli-app", "cli-app-secret-2718"
	p.AddClient(oauthtestClient(clientID, secret, b.srv.url+"/v1/oauth/callback"))
	b.mu.Lock()
	b.secrets = append(b.secrets, secret)
	b.mu.Unlock()

	cmd := ocStartCLI(t, b.owner, secret+"\n", "vault", "credential", "oauth", "connect", "CRM", "--vault", "default",
		"--authorization-url", p.AuthorizeURL, "--token-url", p.TokenURL, "--client-id", clientID, "--client-secret", "-", "--scopes", "read write")
	authURL := strings.TrimSpace(cmd.line(t))
	if !strings.HasPrefix(authURL, p.AuthorizeURL+"?") {
		t.Fatalf("the command printed %q, want the provider URL first; stderr:\n%s", authURL, cmd.stderr.String())
	}
	br := ocLogin(t, b.srv.url, caFile, "owner@example.com", "owner-pass-1")
	page := br.consentAndFinish(authURL)
	mustContain(t, "callback page", page, `id="oauth-done"`, "CRM")
	code, out := cmd.wait(t)
	if code != 0 || !strings.Contains(out, "Connected CRM in vault default") {
		t.Fatalf("connect exited %d\nstdout:\n%s\nstderr:\n%s", code, out, cmd.stderr.String())
	}
	mustContain(t, "progress", cmd.stderr.String(), "Waiting for the browser")
	if strings.Contains(out+cmd.stderr.String(), secret) {
		t.Fatal("the command printed the client secret")
	}

	// Connecting again (the same provider and client, the stored secret
	// kept) is a new connection that a waiting command sees complete.
	// connected_at has whole seconds: let the clock pass the first one.
	for first := time.Now().Unix(); time.Now().Unix() == first; {
		time.Sleep(50 * time.Millisecond)
	}
	again := ocStartCLI(t, b.owner, "", "vault", "credential", "oauth", "connect", "CRM",
		"--authorization-url", p.AuthorizeURL, "--token-url", p.TokenURL, "--client-id", clientID, "--scopes", "read write")
	br.consentAndFinish(strings.TrimSpace(again.line(t)))
	if code, out := again.wait(t); code != 0 || !strings.Contains(out, "Connected CRM") {
		t.Fatalf("reconnect exited %d\nstdout:\n%s\nstderr:\n%s", code, out, again.stderr.String())
	}
	if n := p.Hits("authorization_code"); n != 2 {
		t.Errorf("code exchanges = %d, want 2", n)
	}

	// The proxy injects the access token the flow stored.
	b.services("", `services:
  - name: crm
    host: `+p.Host+`
    auth: {type: bearer, token: CRM}
`)
	tok := b.agent("crm-bot")
	before := p.APIHits()
	resp, err := b.client(tok, "default", false).Get(p.APIURL + "contacts")
	if err != nil {
		t.Fatal(err)
	}
	body := b.read(resp)
	if resp.StatusCode != http.StatusOK || p.APIHits() != before+1 || p.LastAPIToken() == "" {
		t.Fatalf("proxied request: %d %s (api hits %d→%d)", resp.StatusCode, body, before, p.APIHits())
	}
	if strings.Contains(body, p.LastAPIToken()) {
		t.Error("the agent saw the access token")
	}
}

// The waiting command gives up at its timeout, and stops on Ctrl-C, each
// saying what to do next; the flow it started stays usable in between.
func TestOAuthConnectCLIWaitEnds(t *testing.T) {
	p, caFile := ocProvider(t, false)
	b := ocBroker(t, caFile)
	p.AddClient(oauthtestClient("app", "app-secret-1", b.srv.url+"/v1/oauth/callback"))
	args := []string{"vault", "credential", "oauth", "connect", "SLOW", "--authorization-url", p.AuthorizeURL, "--token-url", p.TokenURL,
		"--client-id", "app", "--client-secret", "-"}

	r := b.owner.run("app-secret-1\n", append(args, "--timeout", "1s")...)
	if r.code == 0 || !strings.Contains(r.stderr, "was not connected within 1s") || !strings.HasPrefix(r.stdout, p.AuthorizeURL) {
		t.Fatalf("timeout:\n%s", r)
	}

	cmd := ocStartCLI(t, b.owner, "app-secret-1\n", args...)
	cmd.line(t) // the URL: it is waiting now
	if err := cmd.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code, _ := cmd.wait(t)
	if code == 0 || !strings.Contains(cmd.stderr.String(), "stopped waiting") {
		t.Fatalf("Ctrl-C: exit %d, stderr:\n%s", code, cmd.stderr.String())
	}

	// --no-wait prints the URL only; a missing secret is explained.
	out := b.owner.ok("app-secret-1\n", append(args, "--no-wait")...)
	if !strings.HasPrefix(strings.TrimSpace(out), p.AuthorizeURL+"?") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("--no-wait printed:\n%s", out)
	}
	var started struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	decodeStrict(t, b.owner.ok("app-secret-1\n", append(args, "--no-wait", "--json")...), &started)
	if !strings.HasPrefix(started.AuthorizationURL, p.AuthorizeURL+"?") {
		t.Fatalf("--json printed %+v", started)
	}
	r = b.owner.run("", "vault", "credential", "oauth", "connect", "NOSECRET", "--authorization-url", p.AuthorizeURL, "--token-url", p.TokenURL, "--client-id", "app")
	if r.code == 0 || !strings.Contains(r.stderr, "--client-secret -") {
		t.Fatalf("connect without a secret:\n%s", r)
	}
}

// Approving a proposal that adds an OAuth slot prints the command that
// connects it; run as printed, it starts the flow with the provider the
// proposal named.
func TestOAuthConnectCLIAfterApproval(t *testing.T) {
	p, caFile := ocProvider(t, false)
	b := ocBroker(t, caFile)
	p.AddClient(oauthtestClient("app", "app-secret-9", b.srv.url+"/v1/oauth/callback"))
	agent := b.agent("bot")
	created := brPropose(t, b.srv.url, agent, map[string]any{
		"credentials": []any{map[string]any{"action": "set", "key": "MAIL", "type": "oauth",
			"oauth": map[string]any{"authorization_url": p.AuthorizeURL + "?prompt=consent", "token_url": p.TokenURL, "client_id": "app", "scopes": []string{"mail.read"}}}},
		"message": "Need mail",
	})
	out := b.owner.ok("", "vault", "proposal", "approve", strconv.FormatInt(created.ID, 10), "--yes")
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "oauth connect MAIL") {
			line = strings.TrimSpace(l)
		}
	}
	want := "agent-vault vault credential oauth connect MAIL --vault default --client-secret -"
	if line != want {
		t.Fatalf("approve printed:\n%s\nwant the line:\n%s", out, want)
	}
	// The settings the approval stored are the defaults: the secret is
	// all that is left to give.
	authURL := strings.TrimSpace(b.owner.ok("app-secret-9\n", "vault", "credential", "oauth", "connect", "MAIL", "--client-secret", "-", "--no-wait"))
	if !strings.HasPrefix(authURL, p.AuthorizeURL+"?") || !strings.Contains(authURL, "prompt=consent") || !strings.Contains(authURL, "scope=mail.read") {
		t.Fatalf("connect from the approved settings printed %s", authURL)
	}
	br := ocLogin(t, b.srv.url, caFile, "owner@example.com", "owner-pass-1")
	mustContain(t, "callback", br.consentAndFinish(authURL), `id="oauth-done"`, "MAIL")
}

// The flow lives in the database, not in the server process: a server
// restarted while the command waits finishes the flow it started, and
// the waiting command rides out the restart.
func TestOAuthConnectCLISurvivesRestart(t *testing.T) {
	p, caFile := ocProvider(t, false)
	dataDir := filepath.Join(t.TempDir(), "server")
	port := freePort(t)
	o := serverOpts{dataDir: dataDir, port: port, env: []string{"AGENT_VAULT_NETWORK_ALLOWLIST=127.0.0.1/32"}, args: []string{"--upstream-ca-file", caFile}}
	s := startServer(t, o)
	p.AddClient(oauthtestClient("app", "app-secret-5", s.url+"/v1/oauth/callback"))
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	cmd := ocStartCLI(t, owner, "app-secret-5\n", "vault", "credential", "oauth", "connect", "CRM",
		"--authorization-url", p.AuthorizeURL, "--token-url", p.TokenURL, "--client-id", "app", "--client-secret", "-")
	authURL := strings.TrimSpace(cmd.line(t))
	s.stopOK()
	s = startServer(t, o)
	br := ocLogin(t, s.url, caFile, "owner@example.com", "owner-pass-1")
	mustContain(t, "callback after the restart", br.consentAndFinish(authURL), `id="oauth-done"`)
	if code, out := cmd.wait(t); code != 0 || !strings.Contains(out, "Connected CRM") {
		t.Fatalf("connect exited %d\nstdout:\n%s\nstderr:\n%s", code, out, cmd.stderr.String())
	}
}

// --disable-pkce is kept with the credential: a later `oauth connect KEY`
// runs without PKCE again, and --disable-pkce=false turns it back on.
func TestOAuthConnectCLIKeepsDisablePKCE(t *testing.T) {
	p, caFile := ocProvider(t, false)
	p.AcceptNoPKCE()
	b := ocBroker(t, caFile)
	p.AddClient(oauthtestClient("nopkce-app", "nopkce-secret-31", b.srv.url+"/v1/oauth/callback"))
	authURL := strings.TrimSpace(b.owner.ok("nopkce-secret-31\n", "vault", "credential", "oauth", "connect", "LEGACY", "--authorization-url", p.AuthorizeURL,
		"--token-url", p.TokenURL, "--client-id", "nopkce-app", "--client-secret", "-", "--disable-pkce", "--no-wait"))
	if !strings.HasPrefix(authURL, p.AuthorizeURL+"?") || strings.Contains(authURL, "code_challenge") {
		t.Fatalf("--disable-pkce printed %s", authURL)
	}
	br := ocLogin(t, b.srv.url, caFile, "owner@example.com", "owner-pass-1")
	mustContain(t, "callback", br.consentAndFinish(authURL), `id="oauth-done"`)
	again := strings.TrimSpace(b.owner.ok("", "vault", "credential", "oauth", "connect", "LEGACY", "--no-wait"))
	if !strings.HasPrefix(again, p.AuthorizeURL+"?") || strings.Contains(again, "code_challenge") {
		t.Fatalf("a reconnect from the stored settings printed %s", again)
	}
	on := strings.TrimSpace(b.owner.ok("", "vault", "credential", "oauth", "connect", "LEGACY", "--disable-pkce=false", "--no-wait"))
	if !strings.Contains(on, "code_challenge_method=S256") {
		t.Fatalf("--disable-pkce=false printed %s", on)
	}
}
