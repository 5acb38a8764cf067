package e2e

// The request log through the real binary: requests sent through the
// broker proxy show up in `vault logs` (table and --json), `vault logs
// --follow --json` prints new rows as they arrive, and `vault logs hosts`
// lists the hosts no service matched.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

const lgQuerySecret = "SECRETQUERY_e2e_4a7b"

// lgRow and lgList are what `vault logs --json` prints: the API's types.
type (
	lgRow  = apitype.RequestLog
	lgList = apitype.RequestLogList
)

// lgWaitRows polls `vault logs --json` until it lists n rows (the request
// log is written by a batcher, a fraction of a second after the request).
func lgWaitRows(t *testing.T, b *pxBroker, n int) lgList {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var l lgList
		b.owner.json(&l, "vault", "logs")
		if len(l.Logs) >= n {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("vault logs lists %d rows, want %d: %+v", len(l.Logs), n, l.Logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lgGet sends one request through the proxy and requires want.
func lgGet(t *testing.T, b *pxBroker, c *http.Client, method, url, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b.read(resp)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", method, url, resp.StatusCode, want)
	}
}

func TestLogsCLI(t *testing.T) {
	t.Parallel()
	b, up, tok := pxSetup(t, pxOpts{}, nil)
	plain := pxStartUpstream(t, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("plain ok")) }))
	plainHost := "127.0.0.1:" + strconv.Itoa(plain.port) // no service names this port
	c := b.client(tok, "", false)

	lgGet(t, b, c, "GET", up.url()+"/v1/one?api_key="+lgQuerySecret, "", 200)
	lgGet(t, b, c, "POST", up.url()+"/v1/two?token="+lgQuerySecret, `{"hello":"world"}`, 200)
	lgGet(t, b, c, "GET", "http://"+plainHost+"/unmatched?q="+lgQuerySecret, "", 200)

	l := lgWaitRows(t, b, 3)
	if l.Vault != "default" || len(l.Logs) != 3 {
		t.Fatalf("vault logs = %+v", l)
	}
	// The newest rows, printed oldest first (as the table and --follow).
	byPath := map[string]lgRow{}
	for i, r := range l.Logs {
		byPath[r.Path] = r
		if i > 0 && r.ID <= l.Logs[i-1].ID {
			t.Errorf("rows are not oldest first: %+v", l.Logs)
		}
	}
	for _, w := range []struct {
		path, method, ingress, host, service string
		port                                 int
		reqBytes                             int64
	}{
		{"/v1/one", "GET", "connect", "localhost", "api", up.port, 0},
		{"/v1/two", "POST", "connect", "localhost", "api", up.port, int64(len(`{"hello":"world"}`))},
		{"/unmatched", "GET", "absolute", "127.0.0.1", "", plain.port, 0},
	} {
		r, ok := byPath[w.path]
		if !ok {
			t.Errorf("no row for %s (the query must be dropped): %+v", w.path, l.Logs)
			continue
		}
		if r.Method != w.method || r.Ingress != w.ingress || r.Host != w.host || r.Port != w.port || r.Service != w.service ||
			r.Actor != "agent:bot" || r.ActorType != "agent" || r.Status != 200 || r.ResponseBytes <= 0 || r.RequestBytes != w.reqBytes ||
			r.ErrorCode != "" || r.Time.IsZero() {
			t.Errorf("row %s = %+v, want %+v", w.path, r, w)
		}
		if wantKeys := w.service != ""; wantKeys != (strings.Join(r.CredentialKeys, ",") == "API_KEY") {
			t.Errorf("row %s credential keys %v", w.path, r.CredentialKeys)
		}
	}

	// Filters go through.
	var f lgList
	b.owner.json(&f, "vault", "logs", "--service", "api", "--limit", "1")
	if len(f.Logs) != 1 || f.Logs[0].Path != "/v1/two" || f.NextCursor != f.Logs[0].ID {
		t.Errorf("--service api --limit 1 = %+v", f)
	}
	b.owner.json(&f, "vault", "logs", "--before", strconv.FormatInt(f.NextCursor, 10), "--service", "api")
	if len(f.Logs) != 1 || f.Logs[0].Path != "/v1/one" {
		t.Errorf("--before = %+v", f)
	}
	b.owner.json(&f, "vault", "logs", "--host", "127.0.0.1", "--status", "2xx")
	if len(f.Logs) != 1 || f.Logs[0].Path != "/unmatched" {
		t.Errorf("--host 127.0.0.1 = %+v", f)
	}

	// The table, oldest first.
	out := b.owner.ok("", "vault", "logs")
	b.recordClient(out)
	mustContain(t, "vault logs", out, "TIME", "ACTOR", "agent:bot", "/v1/one", "/v1/two", "/unmatched", "API_KEY", "localhost")
	if strings.Index(out, "/v1/one") > strings.Index(out, "/unmatched") {
		t.Errorf("the table is not oldest first:\n%s", out)
	}

	// Hosts no service matched.
	hosts := b.owner.ok("", "vault", "logs", "hosts")
	b.recordClient(hosts)
	mustContain(t, "vault logs hosts", hosts, "HOST", "PORT", "REQUESTS", "127.0.0.1", strconv.Itoa(plain.port))
	if strings.Contains(hosts, "localhost") {
		t.Errorf("a matched host is listed as discovered:\n%s", hosts)
	}
	var dh struct {
		Vault string `json:"vault"`
		Hosts []struct {
			Host  string `json:"host"`
			Port  int    `json:"port"`
			Count int64  `json:"count"`
		} `json:"hosts"`
	}
	b.owner.json(&dh, "vault", "logs", "hosts")
	if len(dh.Hosts) != 1 || dh.Hosts[0].Host != "127.0.0.1" || dh.Hosts[0].Port != plain.port || dh.Hosts[0].Count != 1 {
		t.Errorf("vault logs hosts --json = %+v", dh)
	}

	// An agent with the proxy role cannot read the log.
	if r := call(t, "GET", b.srv.url+"/v1/vaults/default/logs", tok, nil); r.status != http.StatusForbidden {
		t.Errorf("a proxy-role agent reading the log: %s, want 403", r)
	}

	// Nothing secret in anything the CLI printed.
	all := out + hosts
	for _, l := range []string{lgQuerySecret, pxAPIKey, tok} {
		if strings.Contains(all, l) {
			t.Errorf("vault logs printed a secret (%.12s…)", l)
		}
	}
	js := b.owner.ok("", "vault", "logs", "--json")
	if strings.Contains(js, lgQuerySecret) || strings.Contains(js, pxAPIKey) || strings.Contains(js, tok) {
		t.Errorf("vault logs --json holds a secret:\n%s", js)
	}
	// Nor in the database files: the query value is never stored, the
	// credential only sealed, the token only hashed (the log's segments
	// hold their strings as plain bytes, so a leak would show here).
	var files [][]byte
	for _, f := range []string{"agent-vault.db", "agent-vault.db-wal"} {
		raw, err := os.ReadFile(filepath.Join(b.srv.dataDir, f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, raw)
		for _, l := range []string{lgQuerySecret, pxAPIKey, tok} {
			if bytes.Contains(raw, []byte(l)) {
				t.Errorf("%s holds a secret in plain text (%.12s…)", f, l)
			}
		}
	}
	if all := bytes.Join(files, nil); !bytes.Contains(all, []byte("/unmatched")) {
		t.Error("the database files do not hold the logged path /unmatched: the search above saw nothing")
	}
	// Metrics are off by default.
	if strings.Contains(b.srv.stderr.String(), "metrics listening") {
		t.Error("the metrics listener started without --metrics-addr")
	}
}

func TestLogsFollowCLI(t *testing.T) {
	t.Parallel()
	b, up, tok := pxSetup(t, pxOpts{}, nil)
	c := b.client(tok, "", true)
	lgGet(t, b, c, "GET", up.url()+"/before/one", "", 200)
	lgGet(t, b, c, "GET", up.url()+"/before/two", "", 200)
	lgWaitRows(t, b, 2)

	p := rnStartBin(t, nil, "--address", b.owner.addr, "--data-dir", b.owner.dir, "vault", "logs", "--follow", "--json")
	// The rows already there come first, oldest first, one JSON object a line.
	p.waitOutput(t, "/before/two", 20*time.Second)
	lgGet(t, b, c, "PUT", up.url()+"/after/three?x="+lgQuerySecret, "123", 200)
	p.waitOutput(t, "/after/three", 20*time.Second)
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	p.wait(t, 20*time.Second)

	out := p.stdout.String()
	b.recordClient(out)
	var rows []lgRow
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r lgRow
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("--follow --json line %q is not a row: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	var paths []string
	for _, r := range rows {
		paths = append(paths, r.Path)
	}
	if strings.Join(paths, " ") != "/before/one /before/two /after/three" {
		t.Fatalf("followed paths %v, want each row once, oldest first", paths)
	}
	last := rows[2]
	if last.Method != "PUT" || last.Service != "api" || last.Status != 200 || last.RequestBytes != 3 || last.ResponseBytes <= 0 ||
		last.Actor != "agent:bot" || last.Ingress != "connect" || last.ID <= rows[1].ID {
		t.Errorf("followed row = %+v", last)
	}
	if strings.Contains(out, lgQuerySecret) || strings.Contains(out, pxAPIKey) {
		t.Errorf("--follow printed a secret:\n%s", out)
	}
}
