package e2e

// Ways past `agent-vault run`'s sandbox (docs/agents.md, "The sandbox")
// that the hidden paths alone did not close: descriptors run inherits,
// the human's session sockets named in the environment, and the server's
// master password file. Every identifier here starts with "sb" or
// "TestRunSandbox".

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

// TestRunSandboxInheritedDescriptors: descriptors run inherits from
// whatever started it (a shell's `exec 4<file`, an IDE or agent harness
// that leaks them) do not reach CMD: here fd 4 is open on the human's
// saved login (session.json, in the hidden data dir) and fd 5 on a TCP
// connection on the host's network. With --no-sandbox too: CMD run as
// another user must not get them either.
func TestRunSandboxInheritedDescriptors(t *testing.T) {
	sbNeedNamespaces(t)
	ca := pxNewCA(t)
	b := rnStart(t, ca)
	base := rnCleanClientEnv(t.TempDir())
	session := filepath.Join(b.owner.dir, "session.json")
	port := sbLoopbackService(t)
	for _, mode := range []string{"--sandbox=required", "--no-sandbox"} {
		t.Run(mode, func(t *testing.T) {
			sf, err := os.Open(session)
			if err != nil {
				t.Fatal(err)
			}
			defer sf.Close()
			conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatal(err)
			}
			cf, err := conn.(*net.TCPConn).File()
			conn.Close()
			if err != nil {
				t.Fatal(err)
			}
			defer cf.Close()
			devnull, err := os.Open(os.DevNull)
			if err != nil {
				t.Fatal(err)
			}
			defer devnull.Close()
			// The glob reads the shell's descriptor directory with one
			// descriptor of its own (3): any other above stderr was
			// inherited.
			cmd := exec.Command(binPath, "--address", b.srv.url, "--data-dir", b.owner.dir, "run", mode, "--", "sh", "-c",
				`exec 2>/dev/null; cat <&4; cat <&5; for f in /proc/$$/fd/*; do [ "${f##*/}" -gt 3 ] && echo "fd ${f##*/}"; done; echo end`)
			cmd.Env = childEnv(base...)
			cmd.ExtraFiles = []*os.File{devnull, sf, cf} // run's fds 3, 4 and 5
			out, err := cmd.CombinedOutput()
			got := strings.ReplaceAll(string(out), b.owner.token(), "<session>")
			if strings.Contains(got, "<session>") {
				t.Errorf("under run %s, CMD read the human's login through a descriptor run inherited", mode)
			}
			if strings.Contains(got, "host-service") {
				t.Errorf("under run %s, CMD read from a connection on the host's network through a descriptor run inherited", mode)
			}
			if err != nil || got != "end\n" {
				t.Errorf("under run %s, CMD holds descriptors above stderr (err %v):\n%s", mode, err, got)
			}
		})
	}
}

// sbTmux starts a tmux server of the human's on the socket sock.
func sbTmux(t *testing.T, tmux, sock string) {
	t.Helper()
	if out, err := exec.Command(tmux, "-S", sock, "new-session", "-d", "-s", "human", "sleep 300").CombinedOutput(); err != nil {
		t.Fatalf("starting tmux on %s: %v %s", sock, err, out)
	}
	t.Cleanup(func() { _ = exec.Command(tmux, "-S", sock, "kill-server").Run() })
}

// TestRunSandboxTmuxFromEnv: the human's tmux server is out of reach when
// its socket is not in /tmp/tmux-<uid> (TMUX_TMPDIR, `tmux -S`), though
// the human starts run inside it: $TMUX, which names the socket, is
// withheld, and the socket is hidden, with its directory when tmux made
// that, else alone (in a directory of the human's, or a shared one as
// /tmp). Through it,
// `tmux run-shell CMD` would run CMD outside the sandbox, as the human;
// the control, --no-sandbox, does.
func TestRunSandboxTmuxFromEnv(t *testing.T) {
	sbNeedNamespaces(t)
	tmux := rnTool(t, "tmux")
	ca := pxNewCA(t)
	b := rnStart(t, ca)
	base := rnCleanClientEnv(t.TempDir())
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o1777); err != nil {
		t.Fatal(err)
	}
	// The agent asks the server named in $TMUX, else the socket's path
	// (found in a listing, say), to write a marker file from outside.
	script := `echo "TMUX=${TMUX-unset}"; s=${TMUX%%,*}; "$0" -S "${s:-$1}" run-shell "id -u > $2"; echo "tmux=$?"`
	for _, tc := range []struct {
		name, sock string
	}{
		// As TMUX_TMPDIR=/var/tmp/… would place it (the variable itself
		// unset here): the directory tmux made, hidden whole.
		{"tmux's directory", filepath.Join(t.TempDir(), "tmux-"+strconv.Itoa(os.Getuid()), "default")},
		// As `tmux -S` would: the socket alone.
		{"a directory of the human's", filepath.Join(t.TempDir(), "human-tmux")},
		{"a shared directory", filepath.Join(shared, "human-tmux")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.MkdirAll(filepath.Dir(tc.sock), 0o700); err != nil {
				t.Fatal(err)
			}
			sbTmux(t, tmux, tc.sock)
			env := append(base, "TMUX="+tc.sock+",4242,0", "TMUX_PANE=%0")
			marker := filepath.Join(t.TempDir(), "escaped")
			r := b.run(env, "run", "--sandbox=required", "--", "sh", "-c", script, tmux, tc.sock, marker)
			if !strings.Contains(r.stdout, "TMUX=unset\n") || strings.Contains(r.stdout, "tmux=0") {
				t.Errorf("under run --sandbox=required, the agent saw $TMUX or reached the human's tmux server:\n%s", r)
			}
			// The control: without the sandbox, the same works. The tmux
			// server runs its commands in order, so once the control's
			// marker is there, the sandboxed attempt's would be too.
			control := filepath.Join(t.TempDir(), "escaped")
			r = b.run(env, "run", "--no-sandbox", "--", "sh", "-c", script, tmux, tc.sock, control)
			if !strings.Contains(r.stdout, "tmux=0") {
				t.Fatalf("with --no-sandbox the agent could not reach the human's tmux, so the test proves nothing:\n%s", r)
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if _, err := os.Stat(control); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the control's command never ran in the human's tmux")
				}
			}
			if got, err := os.ReadFile(marker); err == nil {
				t.Errorf("an agent under run --sandbox=required ran a command outside the sandbox through the human's tmux (%s): it wrote %q", tc.sock, got)
			}
		})
	}
}

// TestRunSandboxMasterPasswordFile: the server's master password does not
// reach an agent under run through its file: AGENT_VAULT_MASTER_PASSWORD_FILE
// and systemd's CREDENTIALS_DIRECTORY are withheld (with --no-sandbox too,
// as AGENT_VAULT_MASTER_PASSWORD is), and in the sandbox what they name is
// hidden. The control, --no-sandbox, reads the files by path.
func TestRunSandboxMasterPasswordFile(t *testing.T) {
	sbNeedNamespaces(t)
	ca := pxNewCA(t)
	b := rnStart(t, ca)
	base := rnCleanClientEnv(t.TempDir())
	pwFile := filepath.Join(t.TempDir(), "master-password")
	creds := t.TempDir()
	const pw, credPW = "sandbox-test-master-password-file", "sandbox-test-master-password-credential"
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "master-password"), []byte(credPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(base, "AGENT_VAULT_MASTER_PASSWORD_FILE="+pwFile, "CREDENTIALS_DIRECTORY="+creds)
	script := `echo "file=${AGENT_VAULT_MASTER_PASSWORD_FILE-unset} creds=${CREDENTIALS_DIRECTORY-unset}"; cat "$0" "$1/master-password" 2>&1`
	redact := func(s string) string {
		return strings.NewReplacer(pw, "<password>", credPW, "<credential>").Replace(s)
	}
	r := b.run(env, "run", "--sandbox=required", "--", "sh", "-c", script, pwFile, creds)
	if !strings.Contains(r.stdout, "file=unset creds=unset\n") || strings.Contains(r.stdout, pw) || strings.Contains(r.stdout, credPW) {
		t.Errorf("under run --sandbox=required, the agent saw the master password's file or its name:\nstdout:\n%s\nstderr:\n%s", redact(r.stdout), redact(r.stderr))
	}
	r = b.run(env, "run", "--no-sandbox", "--", "sh", "-c", script, pwFile, creds)
	if !strings.Contains(r.stdout, "file=unset creds=unset\n") {
		t.Errorf("under run --no-sandbox, the agent got the variables naming the master password's file:\n%s", redact(r.stdout))
	}
	if !strings.Contains(r.stdout, pw) || !strings.Contains(r.stdout, credPW) {
		t.Errorf("with --no-sandbox the agent could not read the files by path, so the test proves nothing:\n%s", redact(r.stdout))
	}
}
