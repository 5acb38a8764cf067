package e2e

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the pure-Go driver the server itself uses
)

// TestCrashSafety: a stream of concurrent writes is cut by SIGKILL; after
// a restart every acknowledged (201) write is there, nothing that was
// never sent appears, and the database passes PRAGMA integrity_check both
// as the crash left it and after the restart.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "server")
	s := startServer(t, serverOpts{dataDir: dataDir})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	tok := owner.token()

	var (
		next    atomic.Int64
		killed  atomic.Bool
		mu      sync.Mutex
		acked   []string
		sent    = map[string]bool{}
		badResp []string
		wg      sync.WaitGroup
		// enough is closed once minAcked writes were acknowledged: the
		// kill then lands mid-stream with a history worth checking.
		enough     = make(chan struct{})
		enoughOnce sync.Once
	)
	const minAcked = 100
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !killed.Load() {
				name := fmt.Sprintf("v%05d", next.Add(1))
				mu.Lock()
				sent[name] = true
				mu.Unlock()
				req, _ := http.NewRequest(http.MethodPost, s.url+"/v1/vaults", strings.NewReader(`{"name":"`+name+`"}`))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					if !killed.Load() {
						mu.Lock()
						badResp = append(badResp, name+": "+err.Error())
						mu.Unlock()
					}
					continue // unknown outcome: the request may or may not have committed
				}
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				switch {
				case resp.StatusCode == http.StatusCreated && rerr == nil:
					acked = append(acked, name)
					if len(acked) >= minAcked {
						enoughOnce.Do(func() { close(enough) })
					}
				case !killed.Load():
					badResp = append(badResp, fmt.Sprintf("%s: HTTP %d %s (read err %v)", name, resp.StatusCode, body, rerr))
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		killed.Store(true) // the writers stop
		mu.Lock()
		n, bad := len(acked), badResp
		mu.Unlock()
		t.Fatalf("only %d writes were acknowledged in a minute; failures: %v", n, bad)
	}
	killed.Store(true)
	if err := s.cmd.Process.Kill(); err != nil { // SIGKILL mid-stream
		t.Fatal(err)
	}
	if code := s.waitExit(10 * time.Second); code != -1 {
		t.Errorf("exit code after SIGKILL = %d, want -1 (signalled)", code)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes sent, %d acknowledged before the kill", len(sent), len(acked))
	if len(acked) < minAcked {
		t.Fatalf("only %d writes were acknowledged before the kill; the test proves nothing", len(acked))
	}
	for _, b := range badResp {
		t.Errorf("write failed before the kill: %s", b)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "agent-vault.pid")); err != nil {
		t.Errorf("expected a stale pid file after SIGKILL: %v", err)
	}

	// The crash image itself (db + wal, copied aside) is consistent.
	img := t.TempDir()
	for _, f := range []string{"agent-vault.db", "agent-vault.db-wal"} {
		if b, err := os.ReadFile(filepath.Join(dataDir, f)); err == nil {
			if err := os.WriteFile(filepath.Join(img, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	checkDB(t, filepath.Join(img, "agent-vault.db"), acked)

	// Restart over the stale pid file and the un-checkpointed WAL.
	s2 := startServer(t, serverOpts{dataDir: dataDir})
	names := vaultNames(t, s2.url, tok) // the session survived too
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	var lost []string
	for _, n := range acked {
		if !have[n] {
			lost = append(lost, n)
		}
	}
	if len(lost) > 0 {
		sort.Strings(lost)
		t.Errorf("%d acknowledged writes lost after the crash: %v", len(lost), lost)
	}
	for _, n := range names {
		if n != "default" && !sent[n] {
			t.Errorf("vault %q exists but was never sent", n)
		}
	}
	// The restarted server takes writes.
	if r := call(t, http.MethodPost, s2.url+"/v1/vaults", tok, `{"name":"after-crash"}`); r.status != http.StatusCreated {
		t.Errorf("write after restart: %s", r)
	}
	s2.stopOK()
	checkDB(t, filepath.Join(dataDir, "agent-vault.db"), append(acked, "after-crash"))
}

// checkDB opens a database file with the modernc driver and checks its
// integrity and that every name in want is a vault.
func checkDB(t *testing.T, path string, want []string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res []string
	rows, err := db.Query(`PRAGMA integrity_check`)
	if err != nil {
		t.Fatalf("integrity_check on %s: %v", path, err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		res = append(res, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != "ok" {
		t.Errorf("PRAGMA integrity_check on %s = %v, want [ok]", path, res)
	}
	var fk int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil || fk != 0 {
		t.Errorf("foreign_key_check on %s: %d violations (err %v)", path, fk, err)
	}
	have := map[string]bool{}
	rows, err = db.Query(`SELECT name FROM vaults`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		have[n] = true
	}
	missing := 0
	for _, n := range want {
		if !have[n] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%s lacks %d of %d acknowledged vaults", path, missing, len(want))
	}
	// Every vault's creator grant was committed with it (one transaction).
	var orphans int
	if err := db.QueryRow(`SELECT count(*) FROM vaults v WHERE v.name <> 'default'
		AND NOT EXISTS (SELECT 1 FROM vault_users g WHERE g.vault_id = v.id)`).Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("%s has %d vaults without their creator's grant (err %v)", path, orphans, err)
	}
}
