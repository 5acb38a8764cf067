package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file reproduce bugs found while writing the suite in
// code outside e2e/. They fail today, so they are skipped unless
// E2E_KNOWN_BUGS=1; once a bug is fixed, drop its skip.
func knownBug(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("E2E_KNOWN_BUGS") != "1" {
		t.Skipf("known bug (set E2E_KNOWN_BUGS=1 to run): %s", what)
	}
}

// Two servers started together on one initialised data dir both come up
// and serve the same database: claimPIDFile (internal/daemon/pidfile.go)
// only checks the pid file, which Run writes after the unlock and the
// listen, so there is a window with no claim at all.
func TestKnownBugConcurrentStartSameDataDir(t *testing.T) {
	knownBug(t, "two servers can run on one data dir when started together")
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
func TestKnownBugDeleteLastVaultAdmin(t *testing.T) {
	knownBug(t, "deleting a vault's only admin orphans the vault")
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

// `server --port 0` binds a random port, but the base URL (status,
// invite links) says port 0, and `server -d --port 0` polls
// http://127.0.0.1:0/health until its 60 s timeout and then kills the
// child (internal/cli/server.go detachServer, internal/config LoadServer).
func TestKnownBugPortZero(t *testing.T) {
	knownBug(t, "--port 0 gives a base URL with port 0, and -d never sees the server healthy")
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "server")
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(dataDir, "agent-vault.pid")); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 && processAlive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "server", "-d", "--port", "0", "--data-dir", dataDir)
	cmd.Env = childEnv()
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("server -d --port 0 did not return within 15 s:\n%s", out)
	}
	if err != nil {
		t.Fatalf("server -d --port 0 failed: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "127.0.0.1:0") {
		t.Errorf("server -d --port 0 reports port 0:\n%s", out)
	}
}

// The foreground server's /proc/<pid>/environ still holds
// AGENT_VAULT_MASTER_PASSWORD: os.Unsetenv (config.TakeMasterPassword)
// only edits Go's copy, not the environment block the kernel exposes,
// contrary to that function's comment.
func TestKnownBugMasterPasswordInProcEnviron(t *testing.T) {
	knownBug(t, "the master password stays readable in /proc/<pid>/environ")
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
