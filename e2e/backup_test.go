package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestBackupRestore: `agent-vault backup` copies a running, protected
// instance while it is being written to; a server started from the copy
// (same master password) has the same credentials, agents, proxy CA,
// agent tokens and user sessions, and refuses the wrong password. A backup
// never overwrites a file, and is refused on PostgreSQL with what to do.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	const pw = "backup-master-pw"
	dataDir := filepath.Join(t.TempDir(), "server")
	s := startServer(t, serverOpts{dataDir: dataDir, env: masterPW(pw)})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	owner.ok("sk_live_backup_value_123\n", "vault", "credential", "set", "STRIPE_KEY")
	agentTok := ctAgentToken(t, owner, "billing-bot", "--vault", "default:proxy")
	caBefore := owner.ok("", "ca", "fetch")
	if !strings.Contains(caBefore, "BEGIN CERTIFICATE") {
		t.Fatalf("ca fetch printed no certificate:\n%s", caBefore)
	}

	// Writers keep the server busy while the backup runs.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load() && i < 200; i++ {
			r := owner.run(fmt.Sprintf("v%d\n", i), "vault", "credential", "set", fmt.Sprintf("BUSY_%d", i))
			if r.code != 0 {
				t.Errorf("a write during the backup failed:\n%s", r)
				return
			}
		}
	}()
	backup := filepath.Join(t.TempDir(), "av.db")
	out := runBin(t, "", nil, "--data-dir", dataDir, "backup", "-o", backup)
	stop.Store(true)
	wg.Wait()
	if out.code != 0 {
		t.Fatalf("backup of a running server failed:\n%s", out)
	}
	mustContain(t, "backup output", out.stdout, "Backed up", backup, "same master password")
	if m := mode(t, backup); m != 0o600 {
		t.Errorf("backup file mode = %o, want 600", m)
	}
	if b := readAll(t, backup); strings.Contains(b, "sk_live_backup_value_123") || strings.Contains(b, pw) {
		t.Errorf("the backup holds a credential value or the master password in clear")
	}
	// Never overwrite.
	again := runBin(t, "", nil, "--data-dir", dataDir, "backup", "-o", backup)
	if again.code == 0 || !strings.Contains(again.stderr, "already exists") {
		t.Errorf("a backup over an existing file was not refused:\n%s", again)
	}
	// AGENT_VAULT_TOKEN in the environment changes nothing: backup acts as
	// no one, the data dir's permissions decide.
	asAgent := runBin(t, "", []string{"AGENT_VAULT_TOKEN=av_agt_not_a_real_token"}, "--data-dir", dataDir, "backup", "-o", filepath.Join(t.TempDir(), "agent.db"))
	if asAgent.code != 0 || !strings.Contains(asAgent.stdout, "Backed up") {
		t.Errorf("backup with AGENT_VAULT_TOKEN set:\n%s", asAgent)
	}
	// PostgreSQL: refused, saying what to use.
	pg := runBin(t, "", nil, "--data-dir", dataDir, "backup", "-o", filepath.Join(t.TempDir(), "x.db"), "--database-url", "postgres://u:secretpw@db.invalid:5432/av")
	if pg.code == 0 || !strings.Contains(pg.stderr, "pg_dump") || strings.Contains(pg.stderr, "secretpw") {
		t.Errorf("backup on PostgreSQL: want a refusal naming pg_dump and not the URL's password:\n%s", pg)
	}
	s.stopOK()

	// Restore into a fresh data dir.
	restored := filepath.Join(t.TempDir(), "restored")
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "agent-vault.db"), []byte(readAll(t, backup)), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut := expectStartFailure(t, serverOpts{dataDir: restored, env: masterPW("wrong-pw")})
	mustContain(t, "restored instance, wrong password", errOut, "master password is wrong")
	r := startServer(t, serverOpts{dataDir: restored, env: masterPW(pw)})

	owner.addr = r.url // the same session token, on the restored server
	if got := strings.TrimSpace(owner.ok("", "vault", "credential", "get", "STRIPE_KEY")); !strings.Contains(got, "sk_live_backup_value_123") {
		t.Errorf("credential after restore = %q", got)
	}
	mustContain(t, "agents after restore", owner.ok("", "agent", "list"), "billing-bot")
	if got := owner.ok("", "ca", "fetch"); got != caBefore {
		t.Errorf("the restored instance presents another proxy CA")
	}
	if d := ctDiscoverAs(t, r.url, agentTok, "default"); d.status != 200 {
		t.Errorf("the agent's token on the restored server: %s, want 200", d)
	}
	fresh := newCLI(t, "owner-again", r.url)
	fresh.ok("owner-pass-1\n", "auth", "login", "--email", "owner@example.com")
}
