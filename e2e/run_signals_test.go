package e2e

// `agent-vault run` exits with its child's exit code (128+signal when a
// signal killed the child) and forwards the signals it gets to the child.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunExitCodesAndSignals(t *testing.T) {
	t.Parallel()
	b := rnStart(t, nil)
	base := rnCleanClientEnv(t.TempDir())
	args := func(script string) []string {
		return append([]string{"--address", b.srv.url, "--data-dir", b.owner.dir, "run", "--", "sh", "-c"}, script)
	}

	t.Run("exit code", func(t *testing.T) {
		r := b.run(base, "run", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
		if r.code != 7 {
			t.Errorf("run -- sh -c 'exit 7' exited %d:\n%s", r.code, r)
		}
		// The child's stdio is the terminal's; run adds nothing of its own.
		if r.stdout != "out\n" || r.stderr != "err\n" {
			t.Errorf("stdout %q stderr %q, want the child's alone", r.stdout, r.stderr)
		}
		if r := b.run(base, "run", "--", "true"); r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Errorf("run -- true:\n%s", r)
		}
		// Flags after CMD belong to CMD.
		if r := b.run(base, "run", "--", "sh", "-c", `echo "$1"`, "sh", "--vault"); r.code != 0 || r.stdout != "--vault\n" {
			t.Errorf("run -- sh -c … --vault:\n%s", r)
		}
		// A command that cannot start is run's own error.
		r = b.run(base, "run", "--", "/nonexistent/agent-binary")
		if r.code == 0 || !strings.Contains(r.stderr, "/nonexistent/agent-binary") {
			t.Errorf("run of a missing command:\n%s", r)
		}
	})

	t.Run("child killed by a signal", func(t *testing.T) {
		r := b.run(base, "run", "--", "sh", "-c", "kill -TERM $$")
		if r.code != 143 {
			t.Errorf("run -- sh -c 'kill -TERM $$' exited %d, want 143 (128+SIGTERM):\n%s", r.code, r)
		}
		r = b.run(base, "run", "--", "sh", "-c", "kill -KILL $$")
		if r.code != 137 {
			t.Errorf("run -- sh -c 'kill -KILL $$' exited %d, want 137 (128+SIGKILL):\n%s", r.code, r)
		}
	})

	t.Run("SIGUSR1 forwarded", func(t *testing.T) {
		p := rnStartBin(t, base, args(`trap "echo got-usr1; exit 3" USR1; echo ready; while :; do sleep 0.1; done`)...)
		// run catches signals before the child exists (run.go), and the
		// child prints "ready" once its trap is set: nothing to wait for.
		p.waitOutput(t, "ready\n", 20*time.Second)
		if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		code := p.wait(t, 20*time.Second)
		if code != 3 || !strings.Contains(p.stdout.String(), "got-usr1") {
			t.Fatalf("after SIGUSR1 to run: exit %d (want 3), stdout %q (want got-usr1), stderr %q", code, p.stdout, p.stderr)
		}
	})

	t.Run("signal right after the child starts", func(t *testing.T) {
		// The child signals run at once: the signal must still reach the
		// child (143), and run must still revoke its session.
		for i := range 20 {
			r := b.run(base, "run", "--", "sh", "-c", `kill -TERM $PPID; exec sleep 2`)
			ss := b.scopedSessions()
			left := len(ss)
			for _, s := range ss { // so that later checks start clean
				b.owner.ok("", "vault", "token", "revoke", s["id"].(string))
			}
			runDir := filepath.Join(b.owner.dir, "run")
			files, _ := os.ReadDir(runDir)
			for _, f := range files {
				_ = os.Remove(filepath.Join(runDir, f.Name()))
			}
			if r.code == -1 || left != 0 || len(files) != 0 {
				t.Fatalf("a SIGTERM right after the child started killed run itself "+
					"(attempt %d: exit %d, %d minted session(s) left unrevoked, %d CA file(s) left behind)",
					i+1, r.code, left, len(files))
			}
			if r.code != 143 {
				t.Fatalf("attempt %d: exit %d, want 143:\n%s", i+1, r.code, r)
			}
		}
	})

	t.Run("SIGTERM forwarded and the session revoked", func(t *testing.T) {
		p := rnStartBin(t, base, args(`echo "$AGENT_VAULT_TOKEN"; while :; do sleep 0.1; done`)...)
		p.waitOutput(t, "\n", 20*time.Second)
		tok := strings.TrimSpace(p.stdout.String())
		if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// The child dies of the forwarded SIGTERM; run itself survives it,
		// reports 143 and cleans up.
		if code := p.wait(t, 20*time.Second); code != 143 {
			t.Fatalf("after SIGTERM to run: exit %d, want 143; stderr %q", code, p.stderr)
		}
		if resp := call(t, http.MethodGet, b.srv.url+"/discover", tok, nil); resp.status != http.StatusUnauthorized {
			t.Errorf("the session of a run ended by SIGTERM still works: %s", resp)
		}
		if ss := b.scopedSessions(); len(ss) != 0 {
			t.Errorf("vault token list shows %d sessions after the run ended", len(ss))
		}
	})
}
