package e2e

// The admin audit trail through the real binary: management actions show
// up in `audit list --json` with their actor, source and outcome and
// without any value; `audit verify` passes on the intact trail and, after
// the test edits, deletes or inserts a row in the SQLite file with plain
// SQL (the pure-Go driver, as an attacker with the file would), exits
// non-zero naming the row; `audit export` writes JSON lines, `audit list
// --follow --json` prints new rows, and a master-password change made
// with the server running is recorded and keeps the chain verifiable.

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the pure-Go driver the server itself uses

	"github.com/agent-vault/agent-vault/internal/apitype"
)

const auditSecret = "sk-audit-e2e-SECRET-93f1"

func TestAuditTrailCLI(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "server")
	s := startServer(t, serverOpts{dataDir: dataDir})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	owner.ok("", "vault", "create", "proj")
	owner.ok("", "vault", "credential", "set", "API_KEY="+auditSecret, "--vault", "proj")
	owner.ok("", "vault", "creds", "list", "--reveal", "--vault", "proj")
	// A failed login, from the client's own address.
	resp, err := http.Post(s.url+"/v1/auth/login", "application/json", strings.NewReader(`{"email":"owner@example.com","password":"wrong-`+auditSecret+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}

	var l apitype.AuditEventList
	owner.json(&l, "audit", "list")
	byAction := map[string]apitype.AuditEvent{}
	for _, e := range l.Events {
		byAction[e.Action+" "+e.Outcome] = e
	}
	for _, want := range []string{"auth.register success", "vault.create success", "credential.set success", "credential.reveal success", "auth.login failure"} {
		e, ok := byAction[want]
		if !ok {
			t.Fatalf("audit list has no %q row: %+v", want, l.Events)
		}
		if e.Actor != "owner@example.com" || e.Source != "127.0.0.1" || len(e.Hash) != 64 {
			t.Errorf("%s row = %+v", want, e)
		}
	}
	if e := byAction["credential.set success"]; e.Vault != "proj" || e.Target != "API_KEY" {
		t.Errorf("credential.set row = %+v", e)
	}
	table := owner.ok("", "audit", "list")
	mustContain(t, "audit list table", table, "SEQ", "credential.reveal", "owner@example.com", "failure")
	if strings.Contains(table+mustJSONText(t, l), auditSecret) {
		t.Fatalf("the trail shows a secret:\n%s", table)
	}
	var vl apitype.AuditEventList
	owner.json(&vl, "audit", "list", "--vault", "proj", "--action", "credential.")
	if len(vl.Events) != 2 {
		t.Errorf("audit list --vault proj --action credential. = %+v", vl.Events)
	}

	out := owner.ok("", "audit", "verify")
	mustContain(t, "audit verify", out, "intact", strconv.Itoa(len(l.Events))+" rows verified")

	// audit export: every row, oldest first, one JSON object a line.
	exp := owner.ok("", "audit", "export")
	var seqs []int64
	sc := bufio.NewScanner(strings.NewReader(exp))
	for sc.Scan() {
		var e apitype.AuditEvent
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		seqs = append(seqs, e.Seq)
	}
	if len(seqs) != len(l.Events) || seqs[0] != 1 || seqs[len(seqs)-1] != int64(len(seqs)) {
		t.Fatalf("export seqs %v, want 1..%d", seqs, len(l.Events))
	}

	// Tampering with the file, as someone holding it would.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.Join(dataDir, "agent-vault.db")}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	reveal := byAction["credential.reveal success"]
	failVerify := func(what string, want ...string) {
		t.Helper()
		r := owner.run("", "audit", "verify")
		if r.code == 0 {
			t.Fatalf("audit verify passed after %s:\n%s", what, r)
		}
		mustContain(t, "audit verify after "+what, r.stderr, want...)
		var res apitype.AuditVerifyResult
		r = owner.run("", "audit", "verify", "--json")
		if r.code == 0 {
			t.Fatalf("audit verify --json passed after %s", what)
		}
		decodeStrict(t, r.stdout, &res)
		if res.OK || res.Problem == nil {
			t.Fatalf("audit verify --json after %s = %+v", what, res)
		}
	}
	// An edited row: someone hides that a value was revealed.
	exec(`UPDATE admin_events SET action = 'credential.set' WHERE seq = ?`, reveal.Seq)
	failVerify("an edited row", "row "+strconv.FormatInt(reveal.Seq, 10)+" was changed")
	exec(`UPDATE admin_events SET action = 'credential.reveal' WHERE seq = ?`, reveal.Seq)
	owner.ok("", "audit", "verify")
	// A deleted row.
	var saved [13]any
	ptrs := make([]any, len(saved))
	for i := range saved {
		ptrs[i] = &saved[i]
	}
	if err := db.QueryRow(`SELECT seq, at, actor_kind, actor_id, actor_name, vault_id, vault, action, target, source, outcome, detail, hash FROM admin_events WHERE seq = ?`, reveal.Seq).Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	exec(`DELETE FROM admin_events WHERE seq = ?`, reveal.Seq)
	failVerify("a deleted row", "row "+strconv.FormatInt(reveal.Seq, 10)+" was deleted")
	exec(`INSERT INTO admin_events (seq, at, actor_kind, actor_id, actor_name, vault_id, vault, action, target, source, outcome, detail, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, saved[:]...)
	owner.ok("", "audit", "verify")
	// An inserted row after the newest, copying a real row's hash.
	var head int64
	if err := db.QueryRow(`SELECT seq FROM admin_event_head`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO admin_events SELECT seq + ?, at, actor_kind, actor_id, actor_name, vault_id, vault, 'settings.update', target, source, outcome, detail, hash FROM admin_events WHERE seq = ?`, head, head)
	failVerify("an inserted row", "row "+strconv.FormatInt(2*head, 10)+" was inserted")
	exec(`DELETE FROM admin_events WHERE seq = ?`, 2*head)
	owner.ok("", "audit", "verify")

	// --follow --json prints new rows as they are written.
	p := rnStartBin(t, nil, "--address", owner.addr, "--data-dir", owner.dir, "audit", "list", "--follow", "--json")
	p.waitOutput(t, `"credential.reveal"`, 20*time.Second)
	owner.ok("", "vault", "create", "followed")
	p.waitOutput(t, `"followed"`, 20*time.Second)
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	p.wait(t, 20*time.Second)

	// A master-password change, made next to the running server.
	r := runBin(t, "new-master-pw-1\n", nil, "master-password", "set", "--data-dir", dataDir)
	if r.code != 0 {
		t.Fatalf("master-password set:\n%s", r)
	}
	var ml apitype.AuditEventList
	owner.json(&ml, "audit", "list", "--action", "master_password.change")
	if len(ml.Events) != 1 || ml.Events[0].Detail != "set" || ml.Events[0].ActorType != "system" {
		t.Fatalf("master-password row: %+v", ml.Events)
	}
	owner.ok("", "audit", "verify")

	// The retention setting.
	mustContain(t, "owner settings set --audit-retention-days", owner.ok("", "owner", "settings", "set", "--audit-retention-days", "30"), "audit_retention_days: 30")
	var sl apitype.AuditEventList
	owner.json(&sl, "audit", "list", "--action", "settings.update", "--limit", "1")
	if len(sl.Events) != 1 || sl.Events[0].Target != "audit_retention_days" {
		t.Fatalf("settings row: %+v", sl.Events)
	}
}

func mustJSONText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
