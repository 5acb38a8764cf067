package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Regression tests for bugs the first version of the suite found.

// Two servers started together on one initialised data dir both come up
// and serve the same database: claimPIDFile (internal/daemon/pidfile.go)
// only checks the pid file, which Run writes after the unlock and the
// listen, so there is a window with no claim at all.
func TestRegressionConcurrentStartSameDataDir(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "server")
	s := startServer(t, serverOpts{dataDir: dataDir, env: masterPW("race-master-pw")})
	s.stopOK()
	a := launch(t, serverOpts{dataDir: dataDir, env: masterPW("race-master-pw")})
	b := launch(t, serverOpts{dataDir: dataDir, env: masterPW("race-master-pw")})
	ea, eb := a.waitHealthy(15*time.Second), b.waitHealthy(15*time.Second)
	if ea == nil && eb == nil {
		t.Errorf("both servers run on data dir %s (ports %d and %d)", dataDir, a.port, b.port)
	}
}

// Deleting an account (or an owner deleting a user) that is the only
// admin of a vault other users still belong to leaves that vault with no
// admin. broker.deleteUser's comment says it refuses this
// (internal/broker/auth.go); it only checks the last-owner rule.
func TestRegressionDeleteLastVaultAdmin(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	owner.ok("", "owner", "settings", "set", "--invite-only=false")
	carol, bob := newCLI(t, "carol", s.url), newCLI(t, "bob", s.url)
	for _, u := range []struct {
		c     *cliUser
		email string
	}{{carol, "carol@example.com"}, {bob, "bob@example.com"}} {
		u.c.ok("member-pass-1\n", "auth", "register", "--email", u.email)
		u.c.ok("member-pass-1\n", "auth", "login", "--email", u.email)
	}
	carol.ok("", "vault", "create", "carols")
	carol.ok("", "vault", "user", "add", "bob@example.com", "--vault", "carols")
	r := carol.run("", "account", "delete", "--yes")
	if r.code == 0 {
		t.Errorf("carol, the only admin of vault carols (bob is a member), deleted her account:\n%s", r)
	}
}

// `server -d --port 0` is refused at once with a clear message (a detached
// server must be findable), and a foreground `--port 0` server reports the
// port it really bound in its base URL.
func TestPortZero(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "server")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "server", "-d", "--port", "0", "--data-dir", dataDir)
	cmd.Env = childEnv()
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("server -d --port 0 did not return within 15 s:\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "fixed port") {
		t.Fatalf("server -d --port 0: err %v, want a refusal naming the fixed port:\n%s", err, out)
	}

	fg := exec.Command(binPath, "server", "--port", "0", "--data-dir", filepath.Join(t.TempDir(), "fg"))
	fg.Env = childEnv()
	logs := &lockedBuffer{}
	fg.Stderr = logs
	if err := fg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fg.Process.Kill(); _ = fg.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	var addr string
	for time.Now().Before(deadline) && addr == "" {
		time.Sleep(50 * time.Millisecond)
		if i := strings.Index(logs.String(), "addr="); i >= 0 {
			addr = strings.Fields(logs.String()[i+len("addr="):])[0]
		}
	}
	if addr == "" {
		t.Fatalf("no listen address logged:\n%s", logs.String())
	}
	r := call(t, http.MethodGet, "http://"+addr+"/v1/status", "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"base_url":"http://`+addr+`"`) {
		t.Fatalf("status from a --port 0 server: %d %s, want base_url http://%s", r.status, r.body, addr)
	}
}

// The foreground server's /proc/<pid>/environ still holds
// AGENT_VAULT_MASTER_PASSWORD: os.Unsetenv (config.TakeMasterPassword)
// only edits Go's copy, not the environment block the kernel exposes,
// contrary to that function's comment.
func TestRegressionMasterPasswordInProcEnviron(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server"), env: masterPW("environ-master-pw")})
	env, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/environ")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if strings.Contains(string(env), "environ-master-pw") {
		t.Errorf("/proc/%d/environ holds the master password", s.cmd.Process.Pid)
	}
	if r := call(t, http.MethodGet, s.url+"/health", "", nil); r.status != http.StatusOK {
		t.Fatal(r)
	}
}

// lockedBuffer is a log sink safe to read while a process writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
