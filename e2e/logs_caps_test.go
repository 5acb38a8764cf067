package e2e

// An agent's attempt to fill the server's disk and memory, and its
// owner's terminal, through the request log, against the real binary.

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
)

func TestRequestLogCapsAgainstTheBinary(t *testing.T) {
	t.Parallel()
	b, _, tok := pxSetup(t, pxOpts{}, nil)
	plain := pxStartUpstream(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	c := b.client(tok, "", false)
	base := "http://127.0.0.1:" + strconv.Itoa(plain.port)
	huge := "/" + strings.Repeat("p", 900<<10)
	for i := 0; i < 40; i++ {
		lgGet(t, b, c, "GET", base+huge, "", 200)
	}
	// Terminal escapes in a path (percent-encoded on the wire, decoded in
	// the logged path): clear screen, BEL, a carriage return and a fake row.
	lgGet(t, b, c, "GET", base+"/x%1b[2J%1b[H%07%0d%0aFAKE-ROW", "", 200)
	// A 70 KB CONNECT host.
	host := strings.Repeat("h", 70<<10) + ".example:443"
	conn, err := net.Dial("tcp", b.proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", host, host, base64.StdEncoding.EncodeToString([]byte(tok+":default")))
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode < 400 {
		t.Fatalf("CONNECT to a 70 KB host: %v %v", resp, err)
	}
	conn.Close()

	var l lgList
	deadline := time.Now().Add(30 * time.Second)
	for len(l.Logs) < 42 && time.Now().Before(deadline) {
		l = lgList{}
		b.owner.json(&l, "vault", "logs", "--limit", "100")
		time.Sleep(100 * time.Millisecond)
	}
	if len(l.Logs) < 42 {
		t.Fatalf("%d rows, want 42", len(l.Logs))
	}
	for _, r := range l.Logs {
		if len(r.Path) > model.MaxLogField || len(r.Host) > model.MaxLogField {
			t.Fatalf("row %d: path %d bytes, host %d bytes", r.ID, len(r.Path), len(r.Host))
		}
	}
	page := b.owner.ok("", "vault", "logs", "--limit", "100", "--json")
	if len(page) > 1<<20 {
		t.Fatalf("a page of 42 rows is %d bytes", len(page))
	}
	// The database holds about 2 KiB a row, not 900 KB (before the cap:
	// 37 MB of database and 27 MB of WAL for these 40 requests).
	var size int64
	for _, f := range []string{"agent-vault.db", "agent-vault.db-wal"} {
		if st, err := os.Stat(filepath.Join(b.srv.dataDir, f)); err == nil {
			size += st.Size()
		}
	}
	t.Logf("after 40 requests with a 900 KB path: database and WAL %d bytes, a page of %d rows %d bytes", size, len(l.Logs), len(page))
	if size > 8<<20 {
		t.Fatalf("database and WAL hold %d bytes after 40 requests with a 900 KB path", size)
	}
	// The owner's terminal sees the escapes, not their effect.
	for _, out := range []string{b.owner.ok("", "vault", "logs", "--limit", "100"), b.owner.ok("", "vault", "logs", "hosts")} {
		if strings.ContainsAny(out, "\x1b\x07\r") {
			t.Fatalf("a table printed a control character: %q", out[:min(len(out), 300)])
		}
	}
	if out := b.owner.ok("", "vault", "logs", "--limit", "5"); !strings.Contains(out, `/x\x1b[2J\x1b[H\a\r\nFAKE-ROW`) {
		t.Fatalf("the escaped path is not shown: %s", out)
	}
}
