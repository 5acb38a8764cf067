package e2e

// The README's Quickstart, run literally: its first block must be the
// build-and-serve line (the harness builds the same binary and starts it
// as the server), and every line of its second block runs through sh, in
// a directory whose bin/agent-vault is the built binary, and must succeed.
// The one difference from a reader's machine: the server listens on free
// ports, so AGENT_VAULT_ADDR names it.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// quickstartBlocks returns the sh code blocks of the README's Quickstart.
func quickstartBlocks(t *testing.T) [][]string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Quickstart\n")
	if !ok {
		t.Fatal("README.md has no Quickstart section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks [][]string
	for _, part := range strings.Split(section, "```sh\n")[1:] {
		code, _, ok := strings.Cut(part, "```")
		if !ok {
			t.Fatal("an unterminated code block in the Quickstart")
		}
		var lines []string
		for _, l := range strings.Split(code, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		blocks = append(blocks, lines)
	}
	return blocks
}

func TestReadmeQuickstart(t *testing.T) {
	t.Parallel()
	blocks := quickstartBlocks(t)
	if len(blocks) != 2 {
		t.Fatalf("the Quickstart has %d sh blocks, want 2 (start the server; use it)", len(blocks))
	}
	if got := strings.Join(blocks[0], "\n"); got != "go build -o bin/agent-vault ./cmd/agent-vault && ./bin/agent-vault server" {
		t.Fatalf("the Quickstart's first block is %q", got)
	}
	if len(blocks[1]) < 8 {
		t.Fatalf("the Quickstart's second block has only %d lines", len(blocks[1]))
	}

	dataDir := filepath.Join(t.TempDir(), "agent-vault")
	var s *server
	for attempt := 0; ; attempt++ {
		s = launch(t, serverOpts{dataDir: dataDir, args: []string{"--mitm-port", strconv.Itoa(freePort(t))}})
		err := s.waitHealthy(30 * time.Second)
		if err == nil {
			break
		}
		if s.exited() && strings.Contains(s.stderr.String(), "cannot listen") && attempt < 3 {
			continue
		}
		t.Fatalf("the server did not start: %v\n%s", err, s.stderr.String())
	}
	work := t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binPath, filepath.Join(work, "bin", "agent-vault")); err != nil {
		t.Fatal(err)
	}
	env := childEnv("AGENT_VAULT_ADDR="+s.url, "AGENT_VAULT_DATA_DIR="+dataDir)
	outputs := map[string]string{}
	for _, line := range blocks[1] {
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir, cmd.Env = work, env
		if strings.Contains(line, "auth register") {
			cmd.Stdin = strings.NewReader("owner@example.com\nquickstart-pass-1\nquickstart-pass-1\n")
		}
		out, err := cmd.CombinedOutput()
		t.Logf("$ %s\n%s", line, out)
		if err != nil {
			t.Fatalf("the Quickstart line %q failed (%v):\n%s", line, err, out)
		}
		_, rest, _ := strings.Cut(line, "agent-vault ")
		if w := strings.Fields(rest); len(w) >= 2 {
			outputs[w[0]+" "+w[1]] += string(out) // "vault list", "run --", …
		}
	}
	// What each step did, as the prose around the block says.
	mustContain(t, "vault list", outputs["vault list"], "my-project")
	mustContain(t, "credential set", outputs["vault credential"], "STRIPE_KEY in vault my-project")
	mustContain(t, "service add", outputs["vault service"], "in vault my-project")
	mustContain(t, "agent create", outputs["agent create"], "It can use vault my-project (as proxy)", "av_agt_")
	if b, err := os.ReadFile(filepath.Join(work, "agent-vault-ca.pem")); err != nil || !strings.Contains(string(b), "BEGIN CERTIFICATE") {
		t.Errorf("ca fetch wrote no certificate: %v", err)
	}
	doctor := outputs["run --"]
	mustContain(t, "doctor under run", doctor, "PASS  token", "reaches vault my-project", "PASS  proxy", "PASS  CA trusted")
	if strings.Contains(doctor, "FAIL") {
		t.Errorf("doctor under run found a problem:\n%s", doctor)
	}
}
