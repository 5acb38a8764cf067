package e2e

import (
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// Two servers on one PostgreSQL database write one admin audit trail:
// actions made on both at the same time chain into one gap-free chain
// that either server verifies.
func TestPostgresServersWriteOneAuditChain(t *testing.T) {
	t.Parallel()
	dbURL := pgDatabase(t)
	servers := make([]*server, 2)
	for i := range servers {
		servers[i] = launch(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "s"+strconv.Itoa(i)), env: []string{"DATABASE_URL=" + dbURL},
			args: []string{"--mitm-port", "0"}})
	}
	for _, s := range servers {
		if err := s.waitHealthy(60 * time.Second); err != nil {
			t.Fatalf("%s: %v\nstderr:\n%s", s.name, err, s.stderr.String())
		}
	}
	a := newCLI(t, "owner-a", servers[0].url)
	register(t, a, "owner@example.com", "owner-pass-1")
	b := newCLI(t, "owner-b", servers[1].url)
	b.ok("owner-pass-1\n", "auth", "login", "--email", "owner@example.com")
	var wg sync.WaitGroup
	for i := range 4 {
		for j, c := range []*cliUser{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.ok("", "vault", "create", "v-"+strconv.Itoa(j)+"-"+strconv.Itoa(i))
			}()
		}
	}
	wg.Wait()
	var l apitype.AuditEventList
	a.json(&l, "audit", "list", "--action", "vault.create")
	if len(l.Events) != 8 {
		t.Fatalf("vault.create rows: %+v", l.Events)
	}
	for _, c := range []*cliUser{a, b} {
		mustContain(t, "audit verify on "+c.name, c.ok("", "audit", "verify"), "intact")
	}
}
