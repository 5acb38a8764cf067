package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func masterPW(pw string) []string { return []string{"AGENT_VAULT_MASTER_PASSWORD=" + pw} }

// TestMasterPasswordRestart: data written under a master password survives
// restarts with it; a wrong or missing password exits non-zero without
// touching a byte of the data dir; `master-password change` re-keys so
// that only the new password opens it.
func TestMasterPasswordRestart(t *testing.T) {
	t.Parallel()
	const pw1, pw2 = "first-master-pw", "second-master-pw"
	dataDir := filepath.Join(t.TempDir(), "server")
	dbPath := filepath.Join(dataDir, "agent-vault.db")

	// First start: a protected instance.
	s := startServer(t, serverOpts{dataDir: dataDir, env: masterPW(pw1)})
	if strings.Contains(s.stderr.String(), "PASSWORDLESS") {
		t.Errorf("an instance started with a master password warns about passwordless mode:\n%s", s.stderr.String())
	}
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	owner.ok("", "vault", "create", "keep")
	owner.ok("", "user", "invite", "later@example.com", "--vault", "keep:member")
	if code := s.stop(os.Interrupt); code != 0 {
		t.Fatalf("SIGINT exit code %d", code)
	}
	clean := dirDigest(t, dataDir)
	if _, ok := clean["agent-vault.db"]; !ok {
		t.Fatalf("no agent-vault.db after a clean stop: %v", clean)
	}
	if pw := readAll(t, dbPath); strings.Contains(pw, pw1) {
		t.Errorf("the master password is stored in the database in clear")
	}
	unchanged := func(what string) {
		t.Helper()
		if got := dirDigest(t, dataDir); !reflect.DeepEqual(got, clean) {
			t.Errorf("%s changed the data dir:\nbefore %v\nafter  %v", what, clean, got)
		}
	}

	// Wrong password: non-zero exit, a clear message, no byte changed.
	errOut := expectStartFailure(t, serverOpts{dataDir: dataDir, env: masterPW("not-the-password")})
	mustContain(t, "wrong-password start", errOut, "master password is wrong")
	unchanged("a start with the wrong password")
	// No password at all.
	errOut = expectStartFailure(t, serverOpts{dataDir: dataDir})
	mustContain(t, "password-less start of a protected instance", errOut, "encrypted with a master password")
	unchanged("a start without the password")
	// Wrong password through --password-stdin.
	errOut = expectStartFailure(t, serverOpts{dataDir: dataDir, stdin: "also-wrong\n", args: []string{"--password-stdin"}})
	mustContain(t, "wrong --password-stdin start", errOut, "master password is wrong")
	unchanged("a start with a wrong --password-stdin")

	// Right password: everything is still there, the old session works.
	s = startServer(t, serverOpts{dataDir: dataDir, env: masterPW(pw1)})
	owner.addr = s.url
	var vl vaultListJSON
	owner.json(&vl, "vault", "list")
	if got := strings.Join(vl.names(), ","); got != "default,keep" {
		t.Errorf("vaults after restart = %s, want default,keep", got)
	}
	fresh := newCLI(t, "owner-again", s.url)
	fresh.ok("owner-pass-1\n", "auth", "login", "--email", "owner@example.com")
	var me meJSON
	fresh.json(&me, "account", "whoami")
	if me.Email != "owner@example.com" || me.Role != "owner" {
		t.Errorf("whoami after restart = %+v", me)
	}
	mustContain(t, "invite list after restart", fresh.ok("", "user", "invite", "list"), "later@example.com", "pending")
	s.stopOK()
	clean = dirDigest(t, dataDir)

	// master-password: wrong current, wrong subcommand: nothing changes.
	r := runBin(t, "nope-nope\n"+pw2+"\n", nil, "master-password", "change", "--data-dir", dataDir)
	if r.code == 0 {
		t.Fatalf("master-password change with a wrong current password succeeded:\n%s", r)
	}
	mustContain(t, "wrong current master password", r.stderr, "current master password is wrong")
	unchanged("master-password change with a wrong current password")
	r = runBin(t, pw2+"\n", nil, "master-password", "set", "--data-dir", dataDir)
	if r.code == 0 {
		t.Fatalf("master-password set on a protected instance succeeded:\n%s", r)
	}
	mustContain(t, "master-password set on a protected instance", r.stderr, "already has a master password")
	unchanged("master-password set on a protected instance")
	r = runBin(t, pw1+"\n\n", nil, "master-password", "change", "--data-dir", dataDir)
	if r.code == 0 {
		t.Fatalf("master-password change to an empty password succeeded:\n%s", r)
	}
	unchanged("master-password change to an empty password")

	// Change it for real.
	r = runBin(t, pw1+"\n"+pw2+"\n", nil, "master-password", "change", "--data-dir", dataDir)
	if r.code != 0 {
		t.Fatalf("master-password change failed:\n%s", r)
	}
	mustContain(t, "master-password change", r.stdout, "Master password changed.")
	errOut = expectStartFailure(t, serverOpts{dataDir: dataDir, env: masterPW(pw1)})
	mustContain(t, "start with the old master password", errOut, "master password is wrong")

	// The new one works, here through --password-stdin.
	s = startServer(t, serverOpts{dataDir: dataDir, stdin: pw2 + "\n", args: []string{"--password-stdin"}})
	owner.addr = s.url
	owner.json(&vl, "vault", "list")
	if got := strings.Join(vl.names(), ","); got != "default,keep" {
		t.Errorf("vaults after the re-key = %s, want default,keep", got)
	}
	s.stopOK()

	// A detached server gets the password through a pipe: neither its
	// arguments nor its environment hold it.
	port := freePort(t)
	pidPath := filepath.Join(dataDir, "agent-vault.pid")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidPath); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 && processAlive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	r = runBin(t, "", masterPW(pw2), "server", "-d", "--port", strconv.Itoa(port), "--data-dir", dataDir)
	if r.code != 0 {
		t.Fatalf("server -d with a master password failed:\n%s\nserver.log:\n%s", r, readAll(t, filepath.Join(dataDir, "server.log")))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readAll(t, pidPath)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	if env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ"); err == nil && strings.Contains(string(env), pw2) {
		t.Errorf("the detached server's environment holds the master password")
	}
	if cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil && strings.Contains(string(cmdline), pw2) {
		t.Errorf("the detached server's command line holds the master password")
	}
	owner.addr = "http://127.0.0.1:" + strconv.Itoa(port)
	owner.json(&vl, "vault", "list")
	if !contains(vl.names(), "keep") {
		t.Errorf("detached server lost vault keep: %v", vl.names())
	}
	if r = runBin(t, "", nil, "server", "stop", "--data-dir", dataDir); r.code != 0 {
		t.Fatalf("server stop:\n%s", r)
	}
	waitGone(t, pid)

	// Remove the password: passwordless, and a given password is refused.
	r = runBin(t, pw2+"\n", nil, "master-password", "remove", "--data-dir", dataDir)
	if r.code != 0 {
		t.Fatalf("master-password remove failed:\n%s", r)
	}
	errOut = expectStartFailure(t, serverOpts{dataDir: dataDir, env: masterPW(pw2)})
	mustContain(t, "password given to a passwordless instance", errOut, "this instance has none")
	s = startServer(t, serverOpts{dataDir: dataDir})
	mustContain(t, "passwordless server log", s.stderr.String(), "PASSWORDLESS")
	owner.addr = s.url
	owner.json(&vl, "vault", "list")
	if !contains(vl.names(), "keep") {
		t.Errorf("passwordless restart lost vault keep: %v", vl.names())
	}
	s.stopOK()

	// And protect it again with `set`.
	r = runBin(t, pw1+"\n", nil, "master-password", "set", "--data-dir", dataDir)
	if r.code != 0 {
		t.Fatalf("master-password set failed:\n%s", r)
	}
	expectStartFailure(t, serverOpts{dataDir: dataDir})
	s = startServer(t, serverOpts{dataDir: dataDir, env: masterPW(pw1)})
	s.stopOK()
}

func readAll(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return string(b)
}

// waitGone waits for pid to exit.
func waitGone(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still running", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
