package e2e

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// vmRSS is a process's resident set in MB, from /proc.
func vmRSS(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skip("no /proc: resident memory is measured on Linux only")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// A coarse guard on the server's resident memory after password hashing:
// the unlock, a registration and a burst of logins each run Argon2id with
// 64 MiB, and that memory must go back to the operating system once the
// runs are over. It used to stay resident (about 90 MB after this
// sequence, for minutes); the steady state is about 30 MB. The bound is
// generous so that only that regression trips it; the figures themselves
// are measured by bench/registerrss (docs/performance.md).
func TestServerMemoryReturnsAfterPasswordHashing(t *testing.T) {
	s := startServer(t, serverOpts{dataDir: t.TempDir(), env: []string{"AGENT_VAULT_MASTER_PASSWORD=e2e-master-password"}})
	pid := s.cmd.Process.Pid
	creds := map[string]string{"email": "owner@example.com", "password": "owner-password-1"}
	reg := map[string]string{"email": creds["email"], "password": creds["password"], "setup_code": setupCodeOf(t, s.url)}
	if r := call(t, "POST", s.url+"/v1/auth/register", "", reg); r.status != 201 {
		t.Fatalf("register: %s", r)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := call(t, "POST", s.url+"/v1/auth/login", "", creds); r.status != 200 {
				t.Errorf("login: %s", r)
			}
		}()
	}
	wg.Wait()
	const bound = 75.0 // MB
	// The memory is returned as the last run ends; the loop only waits
	// for the figure to be read after that (and stops a hang).
	var rss float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if rss = vmRSS(t, pid); rss < bound {
			return
		}
	}
	t.Fatalf("the server holds %.0f MB after the password hashing ended, want < %.0f MB", rss, bound)
}
