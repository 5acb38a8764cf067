package e2e

// OAuth credentials through the real binary, against a real OAuth 2.0
// provider (internal/oauth/oauthtest) on loopback with its own CA, which
// the servers trust for token endpoints and upstreams alike
// (--upstream-ca-file): tokens uploaded with the CLI, injected by the
// proxy, renewed after a 401; and two servers on one PostgreSQL database
// renewing a credential at expiry with exactly one refresh between them.

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/oauth/oauthtest"
)

const oauthRedirect = "https://vault.example/v1/oauth/callback"

// oauthProviderCA writes the provider's CA where the servers read it.
func oauthProviderCA(t *testing.T, p *oauthtest.Server) *pxCA {
	t.Helper()
	f := filepath.Join(t.TempDir(), "provider-ca.pem")
	if err := os.WriteFile(f, p.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return &pxCA{file: f}
}

// oauthUpload stores the provider's tokens for KEY with the CLI (secrets
// on standard input), bound to the provider's API host, with a bearer
// service there.
func oauthUpload(t *testing.T, b *pxBroker, p *oauthtest.Server, refresh, secret string) string {
	t.Helper()
	_, port, _ := strings.Cut(p.Host, ":")
	host := "localhost:" + port
	out := b.owner.ok(refresh+"\n"+secret+"\n", "vault", "credential", "oauth", "tokens", "PROVIDER",
		"--refresh-token", "-", "--client-secret", "-", "--token-url", p.TokenURL, "--client-id", "app", "--host", host)
	mustContain(t, "tokens upload", out, "connected")
	b.services("", "services:\n  - name: provider\n    host: "+host+"\n    auth: {type: bearer, token: PROVIDER}\n")
	b.mu.Lock()
	b.secrets = append(b.secrets, refresh, secret)
	b.mu.Unlock()
	return "https://" + host + "/api/"
}

func TestOAuthTokensThroughTheBinary(t *testing.T) {
	t.Parallel()
	p := oauthtest.Start(t, oauthtest.Options{RotateRefresh: true})
	p.AddClient(oauthtest.Client{ID: "app", Secret: "e2e-client-secret", AuthMethod: "client_secret_post", RedirectURI: oauthRedirect})
	maddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	b := pxStart(t, pxOpts{ca: oauthProviderCA(t, p), args: []string{"--metrics-addr", maddr}})
	pasted := p.Authorize(t, "app", "read")
	api := oauthUpload(t, b, p, pasted.Refresh, "e2e-client-secret")
	tok := b.agent("bot")
	get := func(path string) (int, string) {
		resp, err := b.client(tok, "default", false).Get(api + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, b.read(resp)
	}
	if code, body := get("one"); code != 200 || !strings.Contains(body, `"client_id":"app"`) {
		t.Fatalf("through the proxy: %d %s", code, body)
	}
	if got := p.Hits("refresh_token"); got != 1 {
		t.Fatalf("%d refreshes after the upload, want 1 (the check at upload)", got)
	}
	// The provider revokes the token: the proxy refreshes once and resends.
	p.RevokeAccess(p.LastAPIToken())
	if code, body := get("two"); code != 200 {
		t.Fatalf("after revocation: %d %s", code, body)
	}
	if got := p.Hits("refresh_token"); got != 2 {
		t.Fatalf("%d refreshes, want 2", got)
	}
	list := b.owner.ok("", "vault", "credential", "list")
	mustContain(t, "credential list", list, "PROVIDER", "oauth (connected")
	st := b.owner.ok("", "vault", "credential", "oauth", "status", "PROVIDER")
	mustContain(t, "oauth status", st, "status:", "connected", p.TokenURL, "refresh token:", "stored")
	// The agent reads neither tokens nor secret: status is for members.
	r := call(t, "GET", b.srv.url+"/v1/credentials/oauth/status?vault=default&key=PROVIDER", tok, nil)
	if r.status != 403 {
		t.Fatalf("agent status: %s", r)
	}
	// Client credentials from the CLI: the vault fetches the token itself.
	p.AddClient(oauthtest.Client{ID: "m2m", Secret: "e2e-m2m-secret", AuthMethod: "client_secret_basic"})
	cc := b.owner.ok("e2e-m2m-secret\n", "vault", "credential", "oauth", "tokens", "MACHINE", "--grant", "client_credentials",
		"--token-url", p.TokenURL, "--client-id", "m2m", "--client-secret", "-", "--auth-method", "client_secret_basic", "--scope", "read", "--host", p.Host)
	mustContain(t, "client credentials", cc, "MACHINE", "connected")
	if got := p.Hits("client_credentials"); got != 1 {
		t.Fatalf("%d client credentials requests, want 1", got)
	}
	// The renewals show in /metrics, by grant, trigger and outcome, and
	// name no credential.
	const refreshes = "agent_vault_oauth_refreshes_total"
	text := mtScrape(t, maddr)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{`grant="refresh_token"`, `trigger="upload"`, `outcome="ok"`}, 1},
		{[]string{`grant="refresh_token"`, `trigger="401"`, `outcome="ok"`}, 1},
		{[]string{`grant="client_credentials"`, `trigger="upload"`, `outcome="ok"`}, 1},
		{[]string{`grant="refresh_token"`, `trigger="expiry"`, `outcome="ok"`}, 0},
		{[]string{`outcome="failed"`}, 0},
	} {
		if v, ok := mtValue(text, refreshes, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", refreshes, c.labels, v, ok, c.want)
		}
	}
	// A renewal the provider refuses counts as failed (the client
	// credentials one: a 401 renewal of PROVIDER ran a moment ago, and
	// 401 renewals of one credential are spaced out).
	_, port, _ := strings.Cut(p.Host, ":")
	b.services("", "services:\n  - name: provider\n    host: localhost:"+port+"\n    auth: {type: bearer, token: PROVIDER}\n"+
		"  - name: machine\n    host: "+p.Host+"\n    auth: {type: bearer, token: MACHINE}\n")
	machine := func(path string) (int, string) {
		resp, err := b.client(tok, "default", false).Get(p.APIURL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, b.read(resp)
	}
	if code, body := machine("m1"); code != 200 || !strings.Contains(body, `"client_id":"m2m"`) {
		t.Fatalf("client credentials through the proxy: %d %s", code, body)
	}
	p.SetTokenStatus(http.StatusBadRequest)
	p.RevokeAccess(p.LastAPIToken())
	if code, body := machine("m2"); code != http.StatusBadGateway || !strings.Contains(body, "oauth_refresh_failed") {
		t.Fatalf("a refused renewal: %d %s", code, body)
	}
	p.SetTokenStatus(0)
	text = mtWait(t, maddr, "a failed renewal", eq(1), refreshes, `grant="client_credentials"`, `trigger="401"`, `outcome="failed"`)
	mustContain(t, "credential list after a failed renewal", b.owner.ok("", "vault", "credential", "list"), "MACHINE", "refresh_failed")
	for _, l := range strings.Split(grepPrefix(text, refreshes), "\n") {
		if strings.Contains(l, "PROVIDER") || strings.Contains(l, "MACHINE") || strings.Contains(l, "vault=") || strings.Contains(l, "key=") {
			t.Errorf("an OAuth metric names a credential or vault: %s", l)
		}
	}
	// get refuses to print an OAuth credential.
	if out := b.owner.fail("", "vault", "credential", "get", "MACHINE"); !strings.Contains(out, "never shown") {
		t.Fatalf("credential get of an OAuth credential: %s", out)
	}
	b.mu.Lock()
	b.secrets = append(b.secrets, p.LastAPIToken(), "e2e-m2m-secret")
	b.clientOut = append(b.clientOut, list, st, string(r.body), cc)
	b.mu.Unlock()
}

// Two servers on one PostgreSQL database, each with its own proxy, get
// requests for an OAuth credential at the moment it is due: exactly one
// refresh reaches the provider (with rotating refresh tokens a second
// would spend a revoked one), and every request succeeds.
func TestOAuthTwoServersOnePostgresRefreshOnce(t *testing.T) {
	t.Parallel()
	dbURL := pgDatabase(t)
	env := []string{"DATABASE_URL=" + dbURL}
	// Tokens of 62 s are due for renewal (60 s ahead) 2 s after issue.
	p := oauthtest.Start(t, oauthtest.Options{RotateRefresh: true, AccessTTL: 62 * time.Second})
	p.AddClient(oauthtest.Client{ID: "app", Secret: "pg-client-secret", AuthMethod: "client_secret_basic", RedirectURI: oauthRedirect})
	ca := oauthProviderCA(t, p)
	a := pxStart(t, pxOpts{ca: ca, env: env})
	b := pgReplica(t, a, ca, append(env, "AGENT_VAULT_ALLOW_PRIVATE_RANGES=true"))
	pasted := p.Authorize(t, "app", "")
	_, port, _ := strings.Cut(p.Host, ":")
	out := a.owner.ok(pasted.Refresh+"\npg-client-secret\n", "vault", "credential", "oauth", "tokens", "PROVIDER", "--auth-method", "client_secret_basic",
		"--refresh-token", "-", "--client-secret", "-", "--token-url", p.TokenURL, "--client-id", "app", "--host", "localhost:"+port)
	mustContain(t, "tokens upload", out, "connected")
	a.services("", "services:\n  - name: provider\n    host: localhost:"+port+"\n    auth: {type: bearer, token: PROVIDER}\n")
	api := "https://localhost:" + port + "/api/"
	tok := a.agent("bot")
	// Both servers have served the credential (so both hold the token in
	// memory) before it falls due.
	for _, s := range []*pxBroker{a, b} {
		within(t, 10*time.Second, "a first request through "+s.srv.name, func() string {
			resp, err := s.client(tok, "default", false).Get(api + "warm")
			if err != nil {
				return err.Error()
			}
			if body := s.read(resp); resp.StatusCode != 200 {
				return strconv.Itoa(resp.StatusCode) + " " + body
			}
			return ""
		})
	}
	// The upload's refresh, and one more when this warm-up took longer
	// than the token's two seconds (a busy machine): either way every
	// token is due once the sleep below is over.
	before := p.Hits("refresh_token")
	if before < 1 {
		t.Fatalf("%d refreshes before the burst, want at least the upload's", before)
	}
	// The token the burst's refresh issues lives an hour: any second
	// refresh would be a duplicate, not a due renewal.
	p.SetAccessTTL(time.Hour)
	time.Sleep(2500 * time.Millisecond) // let the 62 s token fall due (60 s skew)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for i := 0; i < 40; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func(s *pxBroker, i int) {
			defer wg.Done()
			resp, err := s.client(tok, "default", false).Get(api + "burst/" + strconv.Itoa(i))
			if err != nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
				return
			}
			if body := s.read(resp); resp.StatusCode != http.StatusOK {
				mu.Lock()
				failures = append(failures, strconv.Itoa(resp.StatusCode)+" "+body)
				mu.Unlock()
			}
		}(s, i)
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of 40 requests failed, e.g. %s", len(failures), failures[0])
	}
	if got := p.Hits("refresh_token") - before; got != 1 {
		t.Fatalf("%d refreshes for a credential due on two servers, want exactly 1", got)
	}
	a.mu.Lock()
	a.secrets = append(a.secrets, pasted.Refresh, "pg-client-secret")
	a.tokens = append(a.tokens, p.LastAPIToken())
	a.mu.Unlock()
	b.secrets, b.tokens = []string{pasted.Refresh, "pg-client-secret"}, []string{tok, p.LastAPIToken()}
	b.checkHygiene()
}
