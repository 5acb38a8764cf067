package e2e

// `agent-vault run` as a logged-in user: it mints a vault session, hands
// the child exactly the variables docs/agents.md lists, and revokes the session and
// removes the CA files when the child exits.

import (
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRunUserMode(t *testing.T) {
	t.Parallel()
	curl := rnTool(t, "curl")
	rnTool(t, "env")
	ca := pxNewCA(t)
	up := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler("Bearer "+rnSecret))
	b := rnStart(t, ca)
	b.bearer(up.hostport(), "localhost:"+strconv.Itoa(up.port))
	base := rnCleanClientEnv(t.TempDir())
	var minted []string // every token a run handed out

	// 1. curl under run reaches the upstream with the credential injected.
	before := up.count()
	r := b.run(base, "run", "--", curl, "-sS", "--max-time", "20", "https://"+up.hostport()+"/echo")
	if r.code != 0 || r.stdout != "authorized GET /echo\n" {
		t.Fatalf("curl under run did not get the upstream's answer:\n%s", r)
	}
	up.checkAuth(t, before, "Bearer "+rnSecret)

	// 2. The child's environment: exactly the variables docs/agents.md lists, on top
	// of the parent's, NO_PROXY merged with the parent's (both spellings),
	// the parent's lower-case proxy variables dropped, no credential value.
	parent := append(append([]string(nil), base...),
		"NO_PROXY=corp.example,LOCALHOST", "no_proxy=10.0.0.0/8,corp.example",
		"https_proxy=http://stale.example:3128", "HTTPS_PROXY=http://stale.example:3128", "http_proxy=http://stale.example:3128",
		"SSL_CERT_FILE=", "E2E_PARENT_MARKER=kept as is",
		"AGENT_VAULT_MASTER_PASSWORD=operator-master-pw", "AGENT_VAULT_SMTP_PASSWORD=smtp-pw", "DATABASE_URL=postgres://av:db-pw@db.internal/av")
	r = b.run(parent, "run", "--", "env", "-0")
	if r.code != 0 {
		t.Fatalf("run -- env -0:\n%s", r)
	}
	got := rnEnvMap(r.stdout)
	tok := got["AGENT_VAULT_TOKEN"]
	minted = append(minted, tok)
	if !strings.HasPrefix(tok, "av_sess_") {
		t.Fatalf("AGENT_VAULT_TOKEN = %q, want a minted av_sess_ vault session", tok)
	}
	runDir := filepath.Join(b.owner.dir, "run")
	bundle, caOnly := got["SSL_CERT_FILE"], got["NODE_EXTRA_CA_CERTS"]
	// token:vault even for a vault session: some clients (Python requests,
	// git) send no proxy credentials for user info without a password.
	proxy := "http://" + tok + ":default@127.0.0.1:" + strconv.Itoa(b.mitmPort)
	wantSet := map[string]string{
		"AGENT_VAULT_ADDR": b.srv.url, "AGENT_VAULT_TOKEN": tok, "AGENT_VAULT_VAULT": "default",
		"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy,
		"NO_PROXY":           "localhost,127.0.0.1,corp.example,10.0.0.0/8",
		"NODE_USE_ENV_PROXY": "1",
		"https_proxy":        proxy, "http_proxy": proxy, "no_proxy": "localhost,127.0.0.1,corp.example,10.0.0.0/8",
		"OPENCLAW_PROXY_URL": proxy,
		"SSL_CERT_FILE":      bundle, "REQUESTS_CA_BUNDLE": bundle, "CURL_CA_BUNDLE": bundle, "GIT_SSL_CAINFO": bundle, "DENO_CERT": bundle,
		"NODE_EXTRA_CA_CERTS": caOnly,
	}
	if len(wantSet) != len(rnSpecVars) {
		t.Fatalf("test bug: %d variables checked, SPEC lists %d", len(wantSet), len(rnSpecVars))
	}
	// In the sandbox the data dir is hidden, so the CA files live in a
	// private temporary directory of their own (removed afterwards).
	caDir := filepath.Dir(bundle)
	if filepath.Dir(caOnly) != caDir || bundle == caOnly || !strings.HasPrefix(filepath.Base(caDir), "agent-vault-run-") ||
		strings.HasPrefix(caDir, b.owner.dir) {
		t.Errorf("CA files %q and %q, want two files in one agent-vault-run-* directory outside the data dir", bundle, caOnly)
	}
	want := rnEnvList(childEnv(parent...))
	// The server's own secrets never reach the child.
	for _, k := range append([]string{"no_proxy", "https_proxy", "http_proxy",
		"AGENT_VAULT_MASTER_PASSWORD", "AGENT_VAULT_SMTP_PASSWORD", "DATABASE_URL"}, rnSpecVars...) {
		delete(want, k)
	}
	for k, v := range wantSet {
		want[k] = v
	}
	rnDiffEnv(t, got, want)
	// DATABASE_URL may be passed on request (a project's own database);
	// the master password never.
	r = b.run(parent, "run", "--pass-env", "DATABASE_URL", "--", "env", "-0")
	if got := rnEnvMap(r.stdout); r.code != 0 || got["DATABASE_URL"] != "postgres://av:db-pw@db.internal/av" || got["AGENT_VAULT_MASTER_PASSWORD"] != "" {
		t.Errorf("run --pass-env DATABASE_URL: %d, DATABASE_URL %q", r.code, got["DATABASE_URL"])
	}
	minted = append(minted, rnEnvMap(r.stdout)["AGENT_VAULT_TOKEN"])
	r = b.run(parent, "run", "--pass-env", "AGENT_VAULT_MASTER_PASSWORD", "--", "env", "-0")
	if r.code == 0 || !strings.Contains(r.stderr, "never passed to an agent") || strings.Contains(r.stdout, "operator-master-pw") {
		t.Errorf("run --pass-env AGENT_VAULT_MASTER_PASSWORD:\n%s", r)
	}
	for k, v := range got {
		if strings.Contains(v, rnSecret) {
			t.Errorf("the child's %s holds the credential value", k)
		}
	}

	// 3. While the child runs: the CA files hold the broker CA (the bundle
	// also the system roots), and the session run minted is listed with
	// the asked --ttl.
	// (The listing runs outside: inside, the CLI acts as the agent's token
	// and the human's login is hidden.)
	goOn := filepath.Join(t.TempDir(), "go-on")
	p := rnStartBin(t, base, "--address", b.srv.url, "--data-dir", b.owner.dir, "run", "--ttl", "1h", "--", "sh", "-c",
		`cat "$NODE_EXTRA_CA_CERTS"; echo =====; cat "$SSL_CERT_FILE"; echo =====; echo "$AGENT_VAULT_TOKEN"; echo =====; while [ ! -e "$0" ]; do sleep 0.05; done`,
		goOn)
	p.waitOutput(t, "=====\nav_sess_", 30*time.Second)
	p.waitOutput(t, "\n=====\n", 30*time.Second)
	listing := b.owner.ok("", "vault", "token", "list", "--json")
	if err := os.WriteFile(goOn, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("run -- sh -c …: exit %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	b.record(p.stdout.String() + p.stderr.String())
	parts := strings.Split(p.stdout.String(), "=====\n")
	if len(parts) != 4 {
		t.Fatalf("unexpected output:\n%s", p.stdout)
	}
	parts[2], parts[3] = listing, parts[2]
	minted = append(minted, strings.TrimSpace(parts[3]))
	brokerCA := rnCerts(b.caPEM)[0]
	if c := rnCerts([]byte(parts[0])); len(c) != 1 || !c[0].Equal(brokerCA) {
		t.Errorf("NODE_EXTRA_CA_CERTS holds %d certificates, want exactly the broker CA", len(c))
	}
	bc := rnCerts([]byte(parts[1]))
	if len(bc) == 0 || !bc[0].Equal(brokerCA) {
		t.Errorf("SSL_CERT_FILE does not start with the broker CA (%d certificates)", len(bc))
	}
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil && len(bc) < 2 {
		t.Errorf("SSL_CERT_FILE holds %d certificate(s): the system roots are missing", len(bc))
	}
	var during struct {
		Sessions []struct {
			ID, Label, Vault string
			VaultRole        string    `json:"vault_role"`
			CreatedAt        time.Time `json:"created_at"`
			ExpiresAt        time.Time `json:"expires_at"`
		} `json:"sessions"`
	}
	decodeStrict(t, parts[2], &during)
	if len(during.Sessions) != 1 {
		t.Fatalf("during the run, vault token list shows %d sessions, want the one run minted:\n%s", len(during.Sessions), parts[2])
	}
	s := during.Sessions[0]
	if s.Vault != "default" || s.Label != "agent-vault run" {
		t.Errorf("minted session: vault %q label %q", s.Vault, s.Label)
	}
	if d := s.ExpiresAt.Sub(s.CreatedAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("--ttl 1h minted a session living %s", d)
	}

	// 4. --vault picks the vault (and `vault run` is the same command).
	b.owner.ok("", "vault", "create", "other")
	r = b.run(base, "vault", "run", "--vault", "other", "--", "env", "-0")
	if r.code != 0 {
		t.Fatalf("vault run --vault other:\n%s", r)
	}
	o := rnEnvMap(r.stdout)
	minted = append(minted, o["AGENT_VAULT_TOKEN"])
	if o["AGENT_VAULT_VAULT"] != "other" || !strings.HasPrefix(o["AGENT_VAULT_TOKEN"], "av_sess_") {
		t.Errorf("vault run --vault other: AGENT_VAULT_VAULT=%q", o["AGENT_VAULT_VAULT"])
	}

	// 5. Afterwards: every minted session is revoked (listed nowhere, 401
	// on /discover) and the CA files are gone.
	if ss := b.scopedSessions(); len(ss) != 0 {
		t.Errorf("after the runs, vault token list shows %d sessions, want none: %v", len(ss), ss)
	}
	for _, tok := range minted {
		if tok == "" {
			t.Error("a run handed out no token")
			continue
		}
		if resp := call(t, http.MethodGet, b.srv.url+"/discover", tok, nil); resp.status != http.StatusUnauthorized {
			t.Errorf("a token run minted still works after the child exited: GET /discover %s", resp)
		}
	}
	for _, f := range []string{bundle, caOnly} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("CA file %s still exists after run (%v)", f, err)
		}
	}
	if _, err := os.Stat(caDir); !os.IsNotExist(err) {
		t.Errorf("the CA files' directory %s still exists after run (%v)", caDir, err)
	}
	if ents, err := os.ReadDir(runDir); err == nil && len(ents) != 0 {
		t.Errorf("%s holds %d files after the runs", runDir, len(ents))
	}
}

// rnDiffEnv reports every difference between two environments.
func rnDiffEnv(t *testing.T, got, want map[string]string) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			t.Errorf("the child's environment lacks %s (want %q)", k, w)
		case !wok:
			t.Errorf("the child's environment has an extra %s=%q", k, g)
		case g != w:
			t.Errorf("the child's %s = %q, want %q", k, g, w)
		}
	}
}
