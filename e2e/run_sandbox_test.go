package e2e

// `agent-vault run`'s sandbox (docs/agents.md): what an agent under run
// can and cannot reach, read and do, tried the way a hostile agent would,
// each with --no-sandbox as the control that shows the test can fail.
// Every identifier here starts with "sb".

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sbNeedNamespaces skips a test where unprivileged user namespaces are
// unavailable (a restricted container, a sysctl): there `run` falls back,
// which TestRunSandboxRequired covers.
func sbNeedNamespaces(t *testing.T) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return // no way to ask; the test then says what fails
	}
	if out, err := exec.Command(unshare, "--user", "--map-current-user", "--mount", "--net", "--pid", "--fork", "true").CombinedOutput(); err != nil {
		t.Skipf("unprivileged user namespaces are unavailable here: %v %s", err, out)
	}
}

// sbLoopbackService is a plain TCP service on the host's 127.0.0.1 that
// answers "host-service" to anyone who connects.
func sbLoopbackService(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 13\r\n\r\nhost-service\n"))
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestRunSandboxNetwork(t *testing.T) {
	sbNeedNamespaces(t)
	curl := rnTool(t, "curl")
	ca := pxNewCA(t)
	up := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler("Bearer "+rnSecret))
	b := rnStart(t, ca)
	b.bearer(up.hostport())
	base := rnCleanClientEnv(t.TempDir())
	hostSvc := sbLoopbackService(t)
	target := "https://" + up.hostport() + "/v1/things"

	// Through the proxy (the relay inside): the credential is injected.
	before := up.count()
	r := b.run(base, "run", "--", curl, "-sS", "--max-time", "20", target)
	if r.code != 0 || r.stdout != "authorized GET /v1/things\n" {
		t.Fatalf("curl through the proxy under run:\n%s", r)
	}
	up.checkAuth(t, before, "Bearer "+rnSecret)

	// Around the proxy: every direct connection fails at once (curl exit 7,
	// "couldn't connect", not 28, a timeout), and the upstream sees nothing.
	direct := []struct {
		name string
		args []string
	}{
		{"--noproxy to the upstream", []string{curl, "-sS", "--max-time", "20", "--noproxy", "*", "-k", target}},
		{"unset HTTPS_PROXY", []string{"sh", "-c", `unset HTTPS_PROXY HTTP_PROXY https_proxy http_proxy; exec "$0" -sS --max-time 20 -k "$1"`, curl, target}},
		{"the host's loopback service", []string{curl, "-sS", "--max-time", "20", "--noproxy", "*", "http://127.0.0.1:" + strconv.Itoa(hostSvc) + "/"}},
		{"the host's loopback service by name (NO_PROXY)", []string{curl, "-sS", "--max-time", "20", "http://localhost:" + strconv.Itoa(hostSvc) + "/"}},
	}
	for _, d := range direct {
		before := up.count()
		r := b.run(base, append([]string{"run", "--"}, d.args...)...)
		if r.code != 7 || strings.Contains(r.stdout, "authorized") || strings.Contains(r.stdout, "host-service") {
			t.Errorf("%s under run: want curl's exit 7 (could not connect):\n%s", d.name, r)
		}
		if up.count() != before {
			t.Errorf("%s under run reached the upstream", d.name)
		}
		// The control: without the sandbox the same connection gets through
		// (without a credential).
		r = b.run(base, append([]string{"run", "--no-sandbox", "--"}, d.args...)...)
		if r.code == 7 {
			t.Errorf("%s with --no-sandbox could not connect either, so the test proves nothing:\n%s", d.name, r)
		}
	}

	// An abstract Unix socket (D-Bus and X11 listen on those) belongs to
	// the host's network namespace.
	if py, err := exec.LookPath("python3"); err == nil {
		name := "sb-abstract-" + strconv.Itoa(os.Getpid())
		ln, err := net.Listen("unix", "@"+name)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte("host-abstract\n"))
				c.Close()
			}
		}()
		script := `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect("\0" + sys.argv[1])
print(s.recv(100).decode().strip())`
		if r := b.run(base, "run", "--", py, "-c", script, name); r.code == 0 || strings.Contains(r.stdout, "host-abstract") {
			t.Errorf("an abstract Unix socket of the host is reachable under run:\n%s", r)
		}
		if r := b.run(base, "run", "--no-sandbox", "--", py, "-c", script, name); r.stdout != "host-abstract\n" {
			t.Errorf("with --no-sandbox the abstract socket is unreachable too, so the test proves nothing:\n%s", r)
		}
	}

	// Nested: an agent starting `agent-vault run` inside (agent mode,
	// sandbox in sandbox) still reaches the broker, and only the broker.
	r = b.run(base, "run", "--", binPath, "run", "--sandbox=required", "--", "sh", "-c",
		`"$0" -sS --max-time 20 "$1"; "$0" -sS --max-time 20 --noproxy '*' -k "$1"; echo "direct=$?"`, curl, target)
	if r.code != 0 || r.stdout != "authorized GET /v1/things\ndirect=7\n" || strings.Contains(r.stderr, "warning") {
		t.Errorf("run inside run (the outer sandbox holds the inner child; no warning):\n%s", r)
	}

	// A program without a proxy but with a name to resolve: no DNS inside,
	// and the failure is not a hang.
	r = b.run(base, "run", "--", curl, "-sS", "--max-time", "20", "--noproxy", "*", "http://example.com/")
	if r.code != 6 && r.code != 7 {
		t.Errorf("a direct request by name under run: want curl's exit 6 or 7:\n%s", r)
	}
}

func TestRunSandboxHidesFiles(t *testing.T) {
	sbNeedNamespaces(t)
	ca := pxNewCA(t)
	up := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler("Bearer "+rnSecret))
	b := rnStart(t, ca)
	b.bearer(up.hostport())
	base := rnCleanClientEnv(t.TempDir())
	session := filepath.Join(b.owner.dir, "session.json")
	if _, err := os.Stat(session); err != nil {
		t.Fatalf("the owner has no saved login: %v", err)
	}
	serverDir := b.srv.dataDir

	// The CLI data dir (the human's login) is empty inside; a data dir
	// named with --hide (here the server's, with its database) too.
	r := b.run(base, "run", "--hide", serverDir, "--", "sh", "-c",
		`ls -A "$0"; echo =; ls -A "$1"; echo =; cat "$0/session.json"; echo "cat=$?"; cat "$1/agent-vault.db" >/dev/null; echo "db=$?"`,
		b.owner.dir, serverDir)
	if r.code != 0 || r.stdout != "=\n=\ncat=1\ndb=1\n" || strings.Contains(r.stdout+r.stderr, b.owner.token()) {
		t.Errorf("under run, the data dirs are not empty and unreadable:\n%s", r)
	}
	// The control: without the sandbox the child reads the login.
	r = b.run(base, "run", "--no-sandbox", "--", "cat", session)
	if r.code != 0 || !strings.Contains(r.stdout, b.owner.token()) {
		t.Errorf("with --no-sandbox the child could not read the session, so the test proves nothing:\n%s", r)
	}
	b.record(strings.ReplaceAll(r.stdout, b.owner.token(), "<session>"))

	// Attacks on the mounts: unmount the cover (no capability, even as
	// root), a nested user namespace (the mounts are locked together), a
	// working directory inside the hidden dir (entered again through the
	// cover), another process's root through /proc (only the sandbox's
	// processes are there).
	attacks := []struct {
		name, script string
	}{
		{"umount", `umount "$0" 2>/dev/null; cat "$0/session.json"`},
		{"nested user namespace", `unshare --user --map-root-user --mount sh -c 'umount "$0" 2>/dev/null; cat "$0/session.json"' "$0"`},
		{"proc root of the test", `cat "/proc/$1/root$0/session.json"`},
		{"proc root of pid 1's parent", `for p in /proc/[0-9]*; do cat "$p/root$0/session.json" 2>/dev/null; done; false`},
	}
	for _, a := range attacks {
		r := b.run(base, "run", "--", "sh", "-c", a.script, b.owner.dir, strconv.Itoa(os.Getpid()))
		if r.code == 0 || strings.Contains(r.stdout, b.owner.token()) {
			t.Errorf("%s read the session under run:\n%s", a.name, r)
		}
		b.record(strings.ReplaceAll(r.stdout, b.owner.token(), "<session>"))
	}
	// The sandbox's init keeps capabilities on some threads: tracing any
	// of them (same uid) would hand those to the agent.
	if strace, err := exec.LookPath("strace"); err == nil {
		r := b.run(base, "run", "--", "sh", "-c",
			`n=0; for t in /proc/1/task/*; do n=$((n+1)); timeout 3 "$0" -p "${t##*/}" -o /dev/null 2>&1 | grep -q 'not permitted' || echo "traced ${t##*/}"; done; echo "tasks=$n"; cat /proc/1/environ >/dev/null 2>&1 && echo environ; true`,
			strace)
		if r.code != 0 || strings.Contains(r.stdout, "traced") || strings.Contains(r.stdout, "environ") || !strings.Contains(r.stdout, "tasks=") || strings.Contains(r.stdout, "tasks=0") {
			t.Errorf("the agent could trace or read the sandbox's init:\n%s", r)
		}
	}
	cmd := exec.Command(binPath, "--address", b.srv.url, "--data-dir", b.owner.dir, "run", "--", "cat", "session.json")
	cmd.Dir = b.owner.dir
	cmd.Env = childEnv(base...)
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), b.owner.token()) {
		t.Errorf("run started in the data dir: cat session.json read it (%v)", err)
	}

	// No capability at all inside, and the processes of the host invisible.
	r = b.run(base, "run", "--", "sh", "-c", `grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status; test -e "/proc/$0" && echo visible; id -u`, strconv.Itoa(os.Getpid()))
	want := "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n" + strconv.Itoa(os.Getuid()) + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("under run: capabilities, host processes or uid:\n%s\nwant stdout:\n%s", r, want)
	}
}

// TestRunSandboxAgentIdentity: inside run the CLI acts as the agent's
// token, never as the human logged in on the same machine.
func TestRunSandboxAgentIdentity(t *testing.T) {
	sbNeedNamespaces(t)
	b := rnStart(t, nil)
	b.creds(map[string]string{"API_KEY": rnSecret})
	base := rnCleanClientEnv(t.TempDir())
	for _, mode := range []string{"--sandbox=auto", "--no-sandbox"} {
		r := b.run(base, "run", mode, "--", "sh", "-c",
			`"$0" account whoami; echo "whoami=$?"; "$0" vault credential get API_KEY; echo "get=$?"; "$0" --data-dir "$1" vault credential list; echo "list=$?"`,
			binPath, b.owner.dir)
		if strings.Contains(r.stdout, rnSecret) || strings.Contains(r.stdout, "owner@example.com") {
			t.Errorf("run %s: a command inside acted as the human:\n%s", mode, r)
		}
		// (Listing keys is the proxy role's right, as /discover shows them.)
		mustContain(t, "run "+mode, r.stdout, "vault session for vault default (proxy)", "whoami=0", "get=1", "API_KEY", "list=0")
		mustContain(t, "run "+mode, r.stderr, "`agent-vault vault credential get` is not for agents", "Ask a human")
	}
	// The agent drops its token to fall back on the human's login: in the
	// sandbox there is none to find.
	steal := []string{"--address", b.srv.url, "--data-dir", b.owner.dir, "run", "--", "env", "-u", "AGENT_VAULT_TOKEN",
		binPath, "--address", b.srv.url, "--data-dir", b.owner.dir, "vault", "credential", "get", "API_KEY"}
	r := b.run(base, steal[4:]...)
	if r.code == 0 || strings.Contains(r.stdout, rnSecret) || !strings.Contains(r.stderr, "not logged in") {
		t.Errorf("under run, dropping AGENT_VAULT_TOKEN reached the human's login:\n%s", r)
	}
	// The control (its output holds the value, so it stays out of the
	// hygiene record): without the sandbox this works, which is why the
	// sandbox is the default.
	ctl := runBin(t, "", base, append([]string{"--address", b.srv.url, "--data-dir", b.owner.dir, "run", "--no-sandbox", "--"}, steal[6:]...)...)
	if ctl.code != 0 || !strings.Contains(ctl.stdout, rnSecret) {
		t.Errorf("with --no-sandbox, dropping AGENT_VAULT_TOKEN did not reach the login, so the test proves nothing:\n%d %s", ctl.code, ctl.stderr)
	}
}

// TestRunSandboxRequired: --sandbox=required runs sandboxed where
// namespaces work and refuses where they do not; the default falls back
// with one warning.
func TestRunSandboxRequired(t *testing.T) {
	sbNeedNamespaces(t)
	unshare := rnTool(t, "unshare")
	b := rnStart(t, nil)
	base := rnCleanClientEnv(t.TempDir())
	r := b.run(base, "run", "--sandbox=required", "--", "sh", "-c", `cat /proc/1/cmdline | tr '\0' ' '`)
	if r.code != 0 || !strings.Contains(r.stdout, "__sandbox-init") || r.stderr != "" {
		t.Fatalf("--sandbox=required where namespaces work:\n%s", r)
	}
	if r := b.run(base, "run", "--sandbox=required", "--no-sandbox", "--", "true"); r.code != 1 || !strings.Contains(r.stderr, "contradict") {
		t.Errorf("--sandbox=required --no-sandbox:\n%s", r)
	}
	// No user namespaces: a user namespace whose limit of nested ones is 0.
	noNS := func(args ...string) result {
		full := append([]string{"--user", "--map-root-user", "sh", "-c",
			`echo 0 > /proc/sys/user/max_user_namespaces || exit 99; exec "$@"`, "sh", binPath,
			"--address", b.srv.url, "--data-dir", b.owner.dir}, args...)
		cmd := exec.Command(unshare, full...)
		cmd.Env = childEnv(base...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		_ = cmd.Run()
		if cmd.ProcessState.ExitCode() == 99 {
			t.Skip("cannot limit user namespaces here")
		}
		return result{args: args, stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	}
	r = noNS("run", "--sandbox=required", "--", "echo", "started")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "error: the sandbox is unavailable") || !strings.Contains(r.stderr, "--sandbox=required refuses") {
		t.Errorf("--sandbox=required without namespaces must fail without starting CMD:\n%s", r)
	}
	r = noNS("run", "--", "echo", "started")
	if r.code != 0 || r.stdout != "started\n" || strings.Count(r.stderr, "warning:") != 1 || !strings.Contains(r.stderr, "runs WITHOUT the sandbox") {
		t.Errorf("the default without namespaces: want CMD run and exactly one warning:\n%s", r)
	}
	r = noNS("run", "--no-sandbox", "--", "echo", "started")
	if r.code != 0 || r.stdout != "started\n" || r.stderr != "" {
		t.Errorf("--no-sandbox prints no warning:\n%s", r)
	}
}

// TestRunSandboxExitAndSignals: the status of CMD, its own signal death
// included, passes through the sandbox's init.
func TestRunSandboxExitAndSignals(t *testing.T) {
	sbNeedNamespaces(t)
	b := rnStart(t, nil)
	base := rnCleanClientEnv(t.TempDir())
	for _, c := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0}, {"exit 7", 7}, {"exit 255", 255},
		{"kill -TERM $$", 143}, {"kill -KILL $$", 137}, {"kill -INT $$", 130},
		{"sleep 60 & exit 3", 3}, // a leftover process ends with the sandbox
	} {
		if r := b.run(base, "run", "--", "sh", "-c", c.script); r.code != c.want {
			t.Errorf("run -- sh -c %q: exit %d, want %d\n%s", c.script, r.code, c.want, r)
		}
	}
}

// sbTTYProgram reports its window size (at start and on SIGWINCH), reads
// one line from the terminal and exits 3; it writes to the file named by
// its argument.
const sbTTYProgram = `package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

func size() string {
	var ws [4]uint16
	syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCGWINSZ, uintptr(unsafe.Pointer(&ws)))
	return fmt.Sprintf("%dx%d", ws[1], ws[0])
}

func main() {
	out, err := os.OpenFile(os.Args[1], os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		os.Exit(9)
	}
	w := make(chan os.Signal, 4)
	signal.Notify(w, syscall.SIGWINCH)
	go func() {
		for range w {
			fmt.Fprintf(out, "size=%s\n", size())
		}
	}()
	fmt.Fprintf(out, "size=%s\nready\n", size())
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	fmt.Fprintf(out, "line=%s", line)
	os.Exit(3)
}
`

// TestRunSandboxTerminal drives an interactive program under run through
// tmux: it sees the window size and its changes, the keystrokes, Ctrl-C,
// and its exit status reaches the shell.
func TestRunSandboxTerminal(t *testing.T) {
	sbNeedNamespaces(t)
	tmux := rnTool(t, "tmux")
	prog := rnGoBuild(t, sbTTYProgram)
	b := rnStart(t, nil)
	dir := t.TempDir()
	sock := filepath.Join(dir, "tmux.sock")
	out := filepath.Join(dir, "out")
	env := childEnv(rnCleanClientEnv(t.TempDir())...)
	tm := func(args ...string) {
		t.Helper()
		cmd := exec.Command(tmux, append([]string{"-S", sock}, args...)...)
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, b)
		}
	}
	t.Cleanup(func() {
		cmd := exec.Command(tmux, "-S", sock, "kill-server")
		cmd.Env = env
		_ = cmd.Run()
	})
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, _ := os.ReadFile(out)
			if strings.Contains(string(got), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the program's report:\n%s", want, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	av := binPath + " --address " + b.srv.url + " --data-dir " + b.owner.dir
	tm("new-session", "-d", "-s", "sb", "-x", "100", "-y", "30",
		av+" run -- "+prog+" "+out+"; echo exit=$? >> "+out+"; "+av+" run -- "+prog+" "+out+"; echo exit=$? >> "+out+"; sleep 60")
	waitFor("ready\n")
	waitFor("size=100x30\n")
	tm("resize-window", "-t", "sb", "-x", "120", "-y", "40")
	waitFor("size=120x40\n")
	tm("send-keys", "-t", "sb", "hello sandbox", "Enter")
	waitFor("line=hello sandbox\n")
	waitFor("exit=3\n")
	// The second run: Ctrl-C ends the program, whose status is 130.
	waitFor("exit=3\nsize=120x40\nready\n")
	tm("send-keys", "-t", "sb", "C-c")
	waitFor("exit=130\n")
}

// TestRunSandboxAsAnotherUser: the sandbox needs no privilege; as nobody
// (through runuser, when the tests run as root) it works the same, and
// the child keeps nobody's uid.
func TestRunSandboxAsAnotherUser(t *testing.T) {
	sbNeedNamespaces(t)
	if os.Getuid() != 0 {
		t.Skip("needs root to switch to nobody")
	}
	runuser := rnTool(t, "runuser")
	curl := rnTool(t, "curl")
	ca := pxNewCA(t)
	up := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler("Bearer "+rnSecret))
	b := rnStart(t, ca)
	b.bearer(up.hostport())
	tok := b.agent("nobody-bot")
	shared, err := os.MkdirTemp("", "sb-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shared) })
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(shared, "agent-vault")
	data, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	target := "https://" + up.hostport() + "/v1/things"
	out, err := retryTextBusy(func() *exec.Cmd { // the copy was just written
		cmd := exec.Command(runuser, "-u", "nobody", "--", "env", "HOME="+shared, "TMPDIR="+shared,
			"AGENT_VAULT_TOKEN="+tok, "AGENT_VAULT_ADDR="+b.srv.url,
			bin, "run", "--sandbox=required", "--", "sh", "-c",
			`id -u; grep -E '^Cap(Prm|Eff|Bnd|Amb)' /proc/self/status; "$0" -sS --max-time 20 "$1"; "$0" -sS --max-time 20 --noproxy '*' -k "$1"; echo "direct=$?"`, curl, target)
		cmd.Env = childEnv(rnCleanClientEnv(shared)...)
		return cmd
	})
	b.record(string(out))
	if err != nil {
		t.Fatalf("run as nobody: %v\n%s", err, out)
	}
	mustContain(t, "run as nobody", string(out), "65534\n", "authorized GET /v1/things\n", "direct=7\n",
		"CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n")
}
