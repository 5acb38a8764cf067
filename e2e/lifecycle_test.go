package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLifecycle: a foreground server creates a private data dir, answers
// /health and /v1/status, owns its pid file, refuses a second server on
// the same data dir or port, and stops cleanly on SIGTERM and SIGINT.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data") // does not exist yet
	s := startServer(t, serverOpts{dataDir: dataDir})

	r := call(t, http.MethodGet, s.url+"/health", "", nil)
	if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
		t.Errorf("GET /health = %s, want 200 {\"status\":\"ok\"}", r)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("/health Content-Type = %q", ct)
	}
	r = call(t, http.MethodGet, s.url+"/v1/status", "", nil)
	var st struct {
		Initialized    bool   `json:"initialized"`
		NeedsFirstUser bool   `json:"needs_first_user"`
		BaseURL        string `json:"base_url"`
		InviteOnly     bool   `json:"invite_only"`
		Version        string `json:"version"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &st) != nil {
		t.Fatalf("GET /v1/status = %s", r)
	}
	if st.Initialized || !st.NeedsFirstUser || st.BaseURL != s.url || !st.InviteOnly || st.Version == "" {
		t.Errorf("fresh /v1/status = %+v, want uninitialised, needs_first_user, base_url %s, invite_only", st, s.url)
	}

	// Files and modes.
	if m := mode(t, dataDir); m != 0o700 {
		t.Errorf("data dir mode = %o, want 700", m)
	}
	db := filepath.Join(dataDir, "agent-vault.db")
	if m := mode(t, db); m != 0o600 {
		t.Errorf("agent-vault.db mode = %o, want 600", m)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(db + side); err == nil {
			if m := mode(t, db+side); m&0o077 != 0 {
				t.Errorf("agent-vault.db%s mode = %o, want no group/other access", side, m)
			}
		}
	}
	pidPath := filepath.Join(dataDir, "agent-vault.pid")
	pidBytes, err := os.ReadFile(pidPath)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	if got := strings.TrimSpace(string(pidBytes)); got != strconv.Itoa(s.cmd.Process.Pid) {
		t.Errorf("pid file holds %q, want %d", got, s.cmd.Process.Pid)
	}
	if m := mode(t, pidPath); m != 0o600 {
		t.Errorf("pid file mode = %o, want 600", m)
	}

	// A second server on the same data dir is refused, and leaves the
	// first one and its pid file alone.
	errOut := expectStartFailure(t, serverOpts{dataDir: dataDir})
	mustContain(t, "second server's stderr", errOut, "already running", strconv.Itoa(s.cmd.Process.Pid))
	// The same with -d.
	res := runBin(t, "", nil, "server", "-d", "--port", strconv.Itoa(freePort(t)), "--data-dir", dataDir)
	if res.code == 0 {
		t.Errorf("server -d on a data dir in use succeeded:\n%s", res)
	}
	mustContain(t, "server -d on a busy data dir", res.stderr, "already running")
	// A server on the same port with another data dir cannot listen.
	errOut = expectStartFailure(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "other"), port: s.port})
	mustContain(t, "same-port server's stderr", errOut, "cannot listen")
	if b, _ := os.ReadFile(pidPath); string(b) != string(pidBytes) {
		t.Errorf("pid file changed by refused servers: %q -> %q", pidBytes, b)
	}
	if err := s.waitHealthy(5 * time.Second); err != nil {
		t.Fatalf("first server unhealthy after refused starts: %v", err)
	}

	// SIGTERM: graceful exit 0, pid file removed, WAL checkpointed away.
	if code := s.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	mustContain(t, "server stderr", s.stderr.String(), "shutting down", "msg=stopped")
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Errorf("pid file still there after SIGTERM (err %v)", err)
	}
	if _, err := os.Stat(db + "-wal"); !os.IsNotExist(err) {
		t.Errorf("agent-vault.db-wal left after a clean stop (err %v)", err)
	}
	if answers(s.url) {
		t.Errorf("server still answers after exiting")
	}

	// Restart on the same data dir; SIGINT stops it just as cleanly.
	s2 := startServer(t, serverOpts{dataDir: dataDir})
	if code := s2.stop(os.Interrupt); code != 0 {
		t.Fatalf("exit code after SIGINT = %d, want 0", code)
	}
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Errorf("pid file still there after SIGINT (err %v)", err)
	}
}

// TestDetach: `server -d` starts a background server that owns the pid
// file and logs to server.log; `server stop` stops it.
func TestDetach(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	// A pre-existing, too-open data dir gets tightened to 0700.
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	pidPath := filepath.Join(dataDir, "agent-vault.pid")
	killLeftover := func() {
		if b, err := os.ReadFile(pidPath); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 && processAlive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	t.Cleanup(func() {
		killLeftover()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dataDir, "server.log"))
			t.Logf("--- server.log:\n%s", b)
		}
	})

	res := runBin(t, "", nil, "server", "-d", "--port", strconv.Itoa(port), "--data-dir", dataDir)
	if res.code != 0 {
		t.Fatalf("server -d failed:\n%s", res)
	}
	m := regexp.MustCompile(`\(pid (\d+)\)`).FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("server -d did not print its pid:\n%s", res)
	}
	pid, _ := strconv.Atoi(m[1])
	mustContain(t, "server -d output", res.stdout, url, "server.log")
	// A first start without a terminal goes passwordless: the terminal
	// hears it, and how to create the first account, not only server.log.
	mustContain(t, "server -d warnings", res.stderr, "warning: PASSWORDLESS MODE", "`agent-vault master-password set`",
		"warning: first run: no account exists yet", "setup_code=", "`agent-vault auth register`")
	if !processAlive(pid) {
		t.Fatalf("background server pid %d is not running", pid)
	}
	if r := call(t, http.MethodGet, url+"/health", "", nil); r.status != http.StatusOK {
		t.Fatalf("GET /health on the background server = %s", r)
	}
	if b, err := os.ReadFile(pidPath); err != nil || strings.TrimSpace(string(b)) != m[1] {
		t.Errorf("pid file = %q (%v), want %s", b, err, m[1])
	}
	if got := mode(t, dataDir); got != 0o700 {
		t.Errorf("data dir mode = %o after start, want 700", got)
	}
	logPath := filepath.Join(dataDir, "server.log")
	if got := mode(t, logPath); got != 0o600 {
		t.Errorf("server.log mode = %o, want 600", got)
	}

	// The background server is usable: register through it, the setup
	// code read from its data dir.
	rememberServer(url, dataDir)
	owner := newCLI(t, "owner", url)
	register(t, owner, "owner@example.com", "correct-horse-1")

	// Refusals while it runs.
	res = runBin(t, "", nil, "server", "-d", "--port", strconv.Itoa(freePort(t)), "--data-dir", dataDir)
	if res.code == 0 {
		t.Fatalf("a second server -d on the same data dir succeeded:\n%s", res)
	}
	mustContain(t, "second server -d", res.stderr, "already running", m[1])
	errOut := expectStartFailure(t, serverOpts{dataDir: dataDir})
	mustContain(t, "foreground server on a detached server's dir", errOut, "already running")

	// A -d start that fails prints the server's own error, not only "see
	// server.log": here the proxy's port is taken.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	otherDir := filepath.Join(t.TempDir(), "other")
	res = runBin(t, "", nil, "server", "-d", "--port", strconv.Itoa(freePort(t)), "--data-dir", otherDir,
		"--mitm-port", strconv.Itoa(taken.Addr().(*net.TCPAddr).Port))
	if res.code == 0 {
		t.Fatalf("server -d with its proxy port taken succeeded:\n%s", res)
	}
	mustContain(t, "failed server -d", res.stderr, "the background server did not start: cannot listen for the broker proxy", "--mitm-port", filepath.Join(otherDir, "server.log"))

	// server stop.
	res = runBin(t, "", nil, "server", "stop", "--data-dir", dataDir)
	if res.code != 0 {
		t.Fatalf("server stop failed:\n%s", res)
	}
	mustContain(t, "server stop output", res.stdout, "Stopped the server (pid "+m[1]+")")
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if processAlive(pid) {
		t.Fatalf("pid %d still running after server stop", pid)
	}
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Errorf("pid file left after server stop (err %v)", err)
	}
	if answers(url) {
		t.Errorf("server still answers after server stop")
	}
	logText, _ := os.ReadFile(logPath)
	mustContain(t, "server.log", string(logText), "agent vault listening", "msg=stopped")

	// Stopping again: nothing to stop.
	res = runBin(t, "", nil, "server", "stop", "--data-dir", dataDir)
	if res.code == 0 {
		t.Errorf("server stop with nothing running succeeded:\n%s", res)
	}
	mustContain(t, "second server stop", res.stderr, "no server is running")

	// Data survived: a foreground restart still knows the owner.
	s := startServer(t, serverOpts{dataDir: dataDir})
	owner.addr = s.url
	var me struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	owner.json(&me, "account", "whoami")
	if me.Email != "owner@example.com" || me.Role != "owner" {
		t.Errorf("whoami after detach/stop/restart = %+v", me)
	}
	s.stopOK()
}
