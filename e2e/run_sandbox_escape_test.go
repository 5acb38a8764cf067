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
