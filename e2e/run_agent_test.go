package e2e

// `agent-vault run` in agent mode (AGENT_VAULT_TOKEN + AGENT_VAULT_ADDR,
// no CLI login), and the ways run refuses to start the child.

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rnNoMarker fails if the child that would have created marker ran.
func rnNoMarker(t *testing.T, marker string, r result) {
	t.Helper()
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the child ran although run failed (marker %s: %v):\n%s", marker, err, r)
	}
}

// rnMustFail checks a run that must fail before starting its child: exit
// 1, one "error:" line, no child output.
func rnMustFail(t *testing.T, r result) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("exit code %d, want 1:\n%s", r.code, r)
	}
	if !strings.HasPrefix(r.stderr, "error: ") || r.stdout != "" {
		t.Errorf("want nothing on stdout and an \"error:\" line on stderr:\n%s", r)
	}
	t.Logf("run refused: %s", strings.TrimSpace(r.stderr))
}

func TestRunAgentMode(t *testing.T) {
	t.Parallel()
	curl := rnTool(t, "curl")
	ca := pxNewCA(t)
	want := "Bearer " + rnSecret
	up := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler(want))
	b := rnStart(t, ca)
	b.bearer(up.hostport())
	tok := b.agent("bot")
	base := rnCleanClientEnv(t.TempDir())
	echo := "https://" + up.hostport() + "/echo"

	// The agent's own token, no login: curl works.
	before := up.count()
	r := b.agentRun(tok, base, "run", "--", curl, "-sS", "--max-time", "20", echo)
	if r.code != 0 || r.stdout != "authorized GET /echo\n" {
		t.Fatalf("curl under run in agent mode:\n%s", r)
	}
	up.checkAuth(t, before, want)

	// The child gets the same token, and the proxy URL names the vault.
	r = b.agentRun(tok, base, "run", "--", "env", "-0")
	if r.code != 0 {
		t.Fatalf("run -- env -0 in agent mode:\n%s", r)
	}
	env := rnEnvMap(r.stdout)
	proxy := "http://" + tok + ":default@127.0.0.1:" + strconv.Itoa(b.mitmPort)
	for k, v := range map[string]string{"AGENT_VAULT_TOKEN": tok, "AGENT_VAULT_ADDR": b.srv.url, "AGENT_VAULT_VAULT": "default",
		"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "NO_PROXY": "localhost,127.0.0.1", "NODE_USE_ENV_PROXY": "1"} {
		if env[k] != v {
			t.Errorf("agent mode: the child's %s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range rnSpecVars {
		if env[k] == "" {
			t.Errorf("agent mode: the child lacks %s", k)
		}
	}
	// run never revokes a token it did not mint.
	if resp := call(t, http.MethodGet, b.srv.url+"/discover", tok, nil); resp.status != http.StatusOK {
		t.Errorf("the agent's token stopped working after run: %s", resp)
	}

	// A vault session handed to a container works the same way, and
	// outlives the run too.
	sess := strings.TrimSpace(b.owner.ok("", "vault", "token", "--ttl", "10m", "--label", "ci"))
	before = up.count()
	r = b.agentRun(sess, base, "run", "--", curl, "-sS", "--max-time", "20", echo)
	if r.code != 0 || r.stdout != "authorized GET /echo\n" {
		t.Fatalf("curl under run with a vault session as AGENT_VAULT_TOKEN:\n%s", r)
	}
	up.checkAuth(t, before, want)
	if ss := b.scopedSessions(); len(ss) != 1 {
		t.Errorf("vault token list shows %d sessions after an agent-mode run, want the one handed in", len(ss))
	}

	dir := t.TempDir()
	t.Run("--ttl refused", func(t *testing.T) {
		marker := filepath.Join(dir, "ttl-ran")
		r := b.agentRun(tok, base, "run", "--ttl", "1h", "--", "touch", marker)
		rnMustFail(t, r)
		rnNoMarker(t, marker, r)
		mustContain(t, "run --ttl in agent mode", r.stderr, "--ttl", "agent mode", "AGENT_VAULT_TOKEN")
	})

	t.Run("invalid token", func(t *testing.T) {
		marker := filepath.Join(dir, "bad-token-ran")
		r := b.agentRun("av_agt_"+strings.Repeat("0", 64), base, "run", "--", "touch", marker)
		rnMustFail(t, r)
		rnNoMarker(t, marker, r)
		// What to fix: get a new token (or set AGENT_VAULT_TOKEN right).
		if !strings.Contains(r.stderr, "new token") && !strings.Contains(r.stderr, "AGENT_VAULT_TOKEN") {
			t.Errorf("run with an invalid token does not say what to fix:\n%s", r.stderr)
		}
	})

	t.Run("revoked agent token", func(t *testing.T) {
		tok2 := b.agent("bot2")
		b.owner.ok("", "agent", "delete", "bot2")
		marker := filepath.Join(dir, "deleted-agent-ran")
		r := b.agentRun(tok2, base, "run", "--", "touch", marker)
		rnMustFail(t, r)
		rnNoMarker(t, marker, r)
	})

	t.Run("no login and no token", func(t *testing.T) {
		marker := filepath.Join(dir, "no-login-ran")
		r := runBin(t, "", base, "--address", b.srv.url, "--data-dir", filepath.Join(t.TempDir(), "cli"), "run", "--", "touch", marker)
		rnMustFail(t, r)
		rnNoMarker(t, marker, r)
		mustContain(t, "run without a login", r.stderr, "AGENT_VAULT_TOKEN", "AGENT_VAULT_ADDR")
	})

	t.Run("server unreachable", func(t *testing.T) {
		marker := filepath.Join(dir, "unreachable-ran")
		dead := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
		r := runBin(t, "", append(base, "AGENT_VAULT_TOKEN="+tok, "AGENT_VAULT_ADDR="+dead),
			"--data-dir", filepath.Join(t.TempDir(), "cli"), "run", "--", "touch", marker)
		rnMustFail(t, r)
		rnNoMarker(t, marker, r)
		mustContain(t, "run against a stopped server", r.stderr, dead)
	})
}

// TestRunProxyDisabled: a server without the broker proxy (--mitm-port 0)
// makes run fail before the child, naming --mitm-port, in both modes; in
// user mode the session it minted is revoked again.
func TestRunProxyDisabled(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server"), args: []string{"--mitm-port", "0"}})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	tok := strings.TrimSpace(owner.ok("", "agent", "create", "bot", "--vault", "default:proxy", "--token-only"))
	dir := t.TempDir()
	base := rnCleanClientEnv(t.TempDir())

	marker := filepath.Join(dir, "user-ran")
	r := runBin(t, "", base, "--address", s.url, "--data-dir", owner.dir, "run", "--", "touch", marker)
	rnMustFail(t, r)
	rnNoMarker(t, marker, r)
	mustContain(t, "user-mode run without the proxy", r.stderr, "--mitm-port")
	var list struct {
		Sessions []map[string]any `json:"sessions"`
	}
	owner.json(&list, "vault", "token", "list")
	if len(list.Sessions) != 0 {
		t.Errorf("the session run minted before finding no proxy was not revoked: %v", list.Sessions)
	}

	marker = filepath.Join(dir, "agent-ran")
	r = runBin(t, "", append(base, "AGENT_VAULT_TOKEN="+tok, "AGENT_VAULT_ADDR="+s.url),
		"--data-dir", filepath.Join(t.TempDir(), "cli"), "run", "--", "touch", marker)
	rnMustFail(t, r)
	rnNoMarker(t, marker, r)
	mustContain(t, "agent-mode run without the proxy", r.stderr, "--mitm-port")

	// doctor says the same, as its proxy check.
	r = runBin(t, "", append(base, "AGENT_VAULT_TOKEN="+tok, "AGENT_VAULT_ADDR="+s.url),
		"--data-dir", filepath.Join(t.TempDir(), "cli"), "doctor")
	t.Logf("doctor against a server without the proxy:\n%s", r.stdout)
	if r.code != 1 {
		t.Errorf("doctor exited %d, want 1:\n%s", r.code, r)
	}
	mustContain(t, "doctor's output", r.stdout, "FAIL  proxy", "fix: restart the server without --mitm-port 0")
}
