package server_test

import (
	"bytes"
	"database/sql"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

func TestContentsCredentials(t *testing.T) {
	credentialsScenario(t, newCfx(t), "cr")
}

func TestContentsCredentialsAtRest(t *testing.T) {
	credentialsAtRestScenario(t, newCfx(t), "ar")
}

func TestContentsAgentsNeverReadValues(t *testing.T) {
	agentsNeverReadScenario(t, newCfx(t), "nr")
}

// credentialsScenario: set many, list without values, reveal by role,
// ?key=, validation naming the field, all-or-none set and delete, and
// the in-use guard.
func credentialsScenario(t *testing.T, f *cfx, p string) {
	alice, _ := f.user(t, "alice."+p+"@example.com")
	bob, bobTok := f.user(t, "bob."+p+"@example.com")
	v := mkVault(t, alice, p+"-creds")
	if _, err := alice.AddVaultUser(cbg, v, apitype.VaultUserRequest{Email: "bob." + p + "@example.com", Role: "member"}); err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{"A_KEY": f.secret("a"), "B_KEY": f.secret("b"), "C_KEY_2": f.secret("c")}
	setAt := f.e.clock.Now()
	set, err := alice.SetCredentials(cbg, v, vals)
	mustOK(t, "set many", err)
	if want := []string{"A_KEY", "B_KEY", "C_KEY_2"}; !reflect.DeepEqual(set.Set, want) || set.Vault != v {
		t.Errorf("set = %+v, want keys %v in %s", set, want, v)
	}

	// Listing shows keys, type and time, and no value.
	l, err := bob.Credentials(cbg, v, false, "")
	mustOK(t, "list", err)
	if want := []string{"A_KEY", "B_KEY", "C_KEY_2"}; !reflect.DeepEqual(l.Keys, want) || !reflect.DeepEqual(credKeys(l), want) {
		t.Errorf("list keys = %v / %v, want %v", l.Keys, credKeys(l), want)
	}
	for _, c := range l.Credentials {
		if c.Type != "static" || c.Value != nil || !c.UpdatedAt.Equal(setAt) {
			t.Errorf("listed %+v: want type static, no value, updated_at %v", c, setAt)
		}
	}
	r := f.raw(t, http.MethodGet, "/v1/credentials?vault="+v, bobTok, nil)
	if r.code != 200 || bytes.Contains(r.body, []byte(`"value"`)) {
		t.Errorf("raw list = %d %s: want 200 without a value field", r.code, r.body)
	}
	for _, s := range vals {
		if bytes.Contains(r.body, []byte(s)) {
			t.Errorf("list without reveal returned a value")
		}
	}

	// Reveal: users with the member role (and admins) see values.
	for _, tc := range []struct {
		who string
		tok string
	}{{"member", bobTok}} {
		var got apitype.CredentialList
		rr := f.raw(t, http.MethodGet, "/v1/credentials?reveal=true&vault="+v, tc.tok, nil)
		if rr.code != 200 {
			t.Fatalf("%s reveal = %d %s", tc.who, rr.code, rr.body)
		}
		rr.into(t, &got)
		if !reflect.DeepEqual(credValues(got), vals) {
			t.Errorf("%s reveal returned other values than were set", tc.who)
		}
	}
	if got, err := alice.Credentials(cbg, v, true, ""); err != nil || !reflect.DeepEqual(credValues(got), vals) {
		t.Errorf("admin reveal: %v (values match: %v)", err, err == nil && reflect.DeepEqual(credValues(got), vals))
	}
	// The owner is no implicit member: no reveal before joining.
	_, err = f.own.Credentials(cbg, v, true, "")
	wantAPIErr(t, "owner reveal without joining", err, 403, "")

	// A proxy-role agent and a scoped session (even admin-role) see keys only.
	proxyTok := f.agent(t, alice, p+"-proxy-bot", "", apitype.AgentVault{VaultName: v, VaultRole: "proxy"})
	sessTok := f.session(t, alice, v, "admin")
	for name, tok := range map[string]string{"proxy agent": proxyTok, "admin scoped session": sessTok} {
		c := f.e.as(tok)
		_, err := c.Credentials(cbg, v, true, "")
		wantAPIErr(t, name+" reveal", err, 403, "")
		_, err = c.Credentials(cbg, v, true, "A_KEY")
		wantAPIErr(t, name+" reveal one key", err, 403, "")
		rr := f.raw(t, http.MethodGet, "/v1/credentials?reveal=1&vault="+v, tok, nil)
		if rr.code != 403 {
			t.Errorf("%s reveal=1 = %d, want 403", name, rr.code)
		}
		for _, s := range vals {
			if bytes.Contains(rr.body, []byte(s)) {
				t.Errorf("%s: refused reveal leaked a value", name)
			}
		}
		got, err := c.Credentials(cbg, v, false, "")
		if err != nil || len(got.Keys) != 3 {
			t.Errorf("%s listing keys = %+v, %v; want the 3 key names", name, got.Keys, err)
		}
	}

	// ?key= narrows; an unknown key is 404; a malformed one 400.
	one, err := bob.Credentials(cbg, v, true, "B_KEY")
	mustOK(t, "reveal one", err)
	if len(one.Credentials) != 1 || one.Credentials[0].Key != "B_KEY" || one.Credentials[0].Value == nil || *one.Credentials[0].Value != vals["B_KEY"] {
		t.Errorf("?key=B_KEY&reveal = %+v", one.Keys)
	}
	one, err = bob.Credentials(cbg, v, false, "C_KEY_2")
	if err != nil || !reflect.DeepEqual(one.Keys, []string{"C_KEY_2"}) || one.Credentials[0].Value != nil {
		t.Errorf("?key=C_KEY_2 = %+v, %v", one, err)
	}
	_, err = bob.Credentials(cbg, v, false, "NOPE_KEY")
	wantAPIErr(t, "unknown ?key=", err, 404, "")
	_, err = bob.Credentials(cbg, v, true, "NOPE_KEY")
	wantAPIErr(t, "unknown ?key= with reveal", err, 404, "")
	_, err = bob.Credentials(cbg, v, false, "lower_key")
	wantAPIErr(t, "malformed ?key=", err, 400, "")

	// Invalid key names are refused naming credentials.<KEY>, and nothing
	// of the request is stored (all or none).
	for _, bad := range []string{"lower", "1ABC", "A-B", "A B", "_A", "AB.C", "ÄB", "a_KEY"} {
		_, err := alice.SetCredentials(cbg, v, map[string]string{"GOOD_NEW": f.secret("g"), bad: f.secret("x")})
		wantAPIErr(t, "set key "+bad, err, 400, "credentials."+bad)
	}
	_, err = alice.SetCredentials(cbg, v, map[string]string{"GOOD_NEW": f.secret("g"), "EMPTY_V": ""})
	wantAPIErr(t, "empty value", err, 400, "credentials.EMPTY_V")
	_, err = alice.SetCredentials(cbg, v, map[string]string{})
	wantAPIErr(t, "no credentials", err, 400, "credentials")
	_, err = alice.Credentials(cbg, v, false, "GOOD_NEW")
	wantAPIErr(t, "GOOD_NEW after refused sets", err, 404, "")

	// Overwrite updates the value and the time.
	f.e.clock.Advance(time.Minute)
	newB := f.secret("b2")
	mustOK(t, "overwrite", func() error { _, err := alice.SetCredentials(cbg, v, map[string]string{"B_KEY": newB}); return err }())
	one, err = bob.Credentials(cbg, v, true, "B_KEY")
	if err != nil || *one.Credentials[0].Value != newB || !one.Credentials[0].UpdatedAt.Equal(setAt.Add(time.Minute)) {
		t.Errorf("after overwrite: %v, updated_at %v", err, one.Credentials)
	}
	vals["B_KEY"] = newB

	// Delete many at once.
	mustOK(t, "set D1 D2", func() error {
		_, err := alice.SetCredentials(cbg, v, map[string]string{"D_ONE": f.secret("d1"), "D_TWO": f.secret("d2")})
		return err
	}())
	del, err := bob.DeleteCredentials(cbg, v, []string{"D_ONE", "D_TWO"})
	if err != nil || !reflect.DeepEqual(del.Deleted, []string{"D_ONE", "D_TWO"}) {
		t.Errorf("delete many = %+v, %v", del, err)
	}
	if l, _ := bob.Credentials(cbg, v, false, ""); !reflect.DeepEqual(l.Keys, []string{"A_KEY", "B_KEY", "C_KEY_2"}) {
		t.Errorf("after delete many: keys %v", l.Keys)
	}
	// Delete is all or none: an unknown key anywhere leaves every key.
	for _, keys := range [][]string{{"A_KEY", "MISSING_KEY"}, {"MISSING_KEY", "A_KEY"}} {
		_, err := bob.DeleteCredentials(cbg, v, keys)
		wantAPIErr(t, "delete "+strings.Join(keys, ","), err, 404, "")
		if _, err := bob.Credentials(cbg, v, false, "A_KEY"); err != nil {
			t.Errorf("delete %v removed A_KEY although it failed: %v", keys, err)
		}
	}
	_, err = bob.DeleteCredentials(cbg, v, []string{"bad-key"})
	wantAPIErr(t, "delete malformed key", err, 400, "keys[0]")
	_, err = bob.DeleteCredentials(cbg, v, nil)
	wantAPIErr(t, "delete nothing", err, 400, "keys")
	// Query form: ?key=A&key=B.
	mustOK(t, "set Q1", func() error {
		_, err := alice.SetCredentials(cbg, v, map[string]string{"Q_ONE": f.secret("q")})
		return err
	}())
	if rr := f.raw(t, http.MethodDelete, "/v1/credentials?vault="+v+"&key=Q_ONE", bobTok, nil); rr.code != 200 {
		t.Errorf("delete ?key=Q_ONE = %d %s", rr.code, rr.body)
	}

	// A key a service references cannot be deleted.
	_, err = alice.UpsertServices(cbg, v, []apitype.Service{{Name: "uses-a", Host: "api.a.example", Auth: apitype.ServiceAuth{Type: "bearer", Token: "A_KEY"}}})
	mustOK(t, "service using A_KEY", err)
	eb := wantAPIErr(t, "delete referenced key", func() error { _, err := bob.DeleteCredentials(cbg, v, []string{"C_KEY_2", "A_KEY"}); return err }(), 409, "")
	if eb.Code != "credential_in_use" || !strings.Contains(eb.Error, "uses-a") {
		t.Errorf("in-use error = %+v; want code credential_in_use naming the service", eb)
	}
	if l, _ := bob.Credentials(cbg, v, false, ""); !reflect.DeepEqual(l.Keys, []string{"A_KEY", "B_KEY", "C_KEY_2"}) {
		t.Errorf("after refused delete: keys %v, want all three", l.Keys)
	}

	// Writes need member+: a proxy agent cannot set or delete.
	_, err = f.e.as(proxyTok).SetCredentials(cbg, v, map[string]string{"X_KEY": f.secret("x")})
	wantAPIErr(t, "proxy agent set", err, 403, "")
	_, err = f.e.as(proxyTok).DeleteCredentials(cbg, v, []string{"B_KEY"})
	wantAPIErr(t, "proxy agent delete", err, 403, "")
	// A stranger to the vault sees nothing of it.
	carol, _ := f.user(t, "carol."+p+"@example.com")
	_, err = carol.Credentials(cbg, v, false, "")
	wantAPIErr(t, "non-member list", err, 404, "")
	_, err = carol.SetCredentials(cbg, v, map[string]string{"X_KEY": f.secret("x")})
	wantAPIErr(t, "non-member set", err, 404, "")
}

// credentialsAtRestScenario: values are encrypted in the SQLite file and
// bound to vault+key, so a ciphertext moved to another row does not open.
func credentialsAtRestScenario(t *testing.T, f *cfx, p string) {
	alice, aliceTok := f.user(t, "alice."+p+"@example.com")
	v := mkVault(t, alice, p+"-rest")
	v2 := mkVault(t, alice, p+"-rest-two")
	vals := map[string]string{"FIRST_KEY": f.secret("first"), "SECOND_KEY": f.secret("second")}
	mustOK(t, "set", func() error { _, err := alice.SetCredentials(cbg, v, vals); return err }())
	other := f.secret("other")
	mustOK(t, "set v2", func() error {
		_, err := alice.SetCredentials(cbg, v2, map[string]string{"FIRST_KEY": other})
		return err
	}())

	db := f.e.db.SQL()
	rows, err := db.QueryContext(cbg, `SELECT key, ciphertext FROM credentials`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var k string
		var ct []byte
		if err := rows.Scan(&k, &ct); err != nil {
			t.Fatal(err)
		}
		n++
		for _, s := range append([]string{other}, vals["FIRST_KEY"], vals["SECOND_KEY"]) {
			if bytes.Contains(ct, []byte(s)) || bytes.Contains(ct, []byte(s[3:])) {
				t.Errorf("ciphertext of %s holds a plaintext value", k)
			}
		}
		if len(ct) < len(vals["FIRST_KEY"])+16 {
			t.Errorf("ciphertext of %s is %d bytes: too short to hold nonce, value and tag", k, len(ct))
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("read %d credential rows, want at least 3", n)
	}
	// The stored data itself holds no value: the SQLite file and its WAL,
	// or on PostgreSQL every row of every table as text.
	secrets := append([]string{other}, vals["FIRST_KEY"], vals["SECOND_KEY"])
	sawVault := false
	for what, data := range storedBytes(t, f.e.db) {
		sawVault = sawVault || bytes.Contains(data, []byte(v2))
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds a plaintext credential value", what)
			}
		}
	}
	if !sawVault {
		t.Errorf("the stored data does not hold the vault name %q: the search saw nothing", v2)
	}

	id := func(vault string) string {
		var id string
		if err := db.QueryRowContext(cbg, f.e.db.Rebind(`SELECT id FROM vaults WHERE name = ?`), vault).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	vid, v2id := id(v), id(v2)

	// Same vault, other key: SECOND_KEY now holds FIRST_KEY's ciphertext.
	res, err := db.ExecContext(cbg, f.e.db.Rebind(`UPDATE credentials SET ciphertext = (SELECT ciphertext FROM credentials WHERE vault_id = ? AND key = 'FIRST_KEY') WHERE vault_id = ? AND key = 'SECOND_KEY'`), vid, vid)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("swap updated %d rows", n)
	}
	for _, path := range []string{"/v1/credentials?reveal=true&key=SECOND_KEY&vault=" + v, "/v1/credentials?reveal=true&vault=" + v} {
		r := f.raw(t, http.MethodGet, path, aliceTok, nil)
		if r.code != 500 {
			t.Errorf("GET %s after the swap = %d, want 500 (the ciphertext is bound to its key)", path, r.code)
		}
		for _, s := range append([]string{other}, vals["FIRST_KEY"], vals["SECOND_KEY"]) {
			if bytes.Contains(r.body, []byte(s)) {
				t.Errorf("GET %s: the error body holds a value", path)
			}
		}
	}
	// The untouched key still opens.
	if got, err := alice.Credentials(cbg, v, true, "FIRST_KEY"); err != nil || *got.Credentials[0].Value != vals["FIRST_KEY"] {
		t.Errorf("FIRST_KEY after the swap: %v", err)
	}
	// Listing without reveal does not decrypt, so it still works.
	if _, err := alice.Credentials(cbg, v, false, ""); err != nil {
		t.Errorf("key list after the swap: %v", err)
	}

	// Other vault, same key: v2's FIRST_KEY now holds v's FIRST_KEY.
	if _, err := db.ExecContext(cbg, f.e.db.Rebind(`UPDATE credentials SET ciphertext = (SELECT ciphertext FROM credentials WHERE vault_id = ? AND key = 'FIRST_KEY') WHERE vault_id = ? AND key = 'FIRST_KEY'`), vid, v2id); err != nil {
		t.Fatal(err)
	}
	r := f.raw(t, http.MethodGet, "/v1/credentials?reveal=true&key=FIRST_KEY&vault="+v2, aliceTok, nil)
	if r.code != 500 || bytes.Contains(r.body, []byte(vals["FIRST_KEY"])) {
		t.Errorf("cross-vault copy reveal = %d %s, want 500 without the value", r.code, r.body)
	}
	// Setting the value again repairs the row.
	fresh := f.secret("fresh")
	mustOK(t, "reset", func() error {
		_, err := alice.SetCredentials(cbg, v, map[string]string{"SECOND_KEY": fresh})
		return err
	}())
	if got, err := alice.Credentials(cbg, v, true, ""); err != nil || credValues(got)["SECOND_KEY"] != fresh {
		t.Errorf("after reset: %v", err)
	}
}

// agentsNeverReadScenario: no agent token or scoped session reads a
// value, whatever its roles; admin agents may still write.
func agentsNeverReadScenario(t *testing.T, f *cfx, p string) {
	alice, _ := f.user(t, "alice."+p+"@example.com")
	v := mkVault(t, alice, p+"-never")
	val := f.secret("never")
	mustOK(t, "set", func() error { _, err := alice.SetCredentials(cbg, v, map[string]string{"SEEN_KEY": val}); return err }())

	adminAgent := f.agent(t, alice, p+"-admin-bot", "member", apitype.AgentVault{VaultName: v, VaultRole: "admin"})
	memberAgent := f.agent(t, alice, p+"-member-bot", "", apitype.AgentVault{VaultName: v, VaultRole: "member"})
	proxyAgent := f.agent(t, alice, p+"-proxy-bot", "", apitype.AgentVault{VaultName: v})
	userSess := f.session(t, alice, v, "admin")
	agentSess := f.session(t, f.e.as(adminAgent), v, "admin")

	readers := []struct{ name, tok string }{
		{"admin agent (instance member)", adminAgent},
		{"member agent", memberAgent},
		{"proxy agent", proxyAgent},
		{"admin session minted by a user", userSess},
		{"admin session minted by an agent", agentSess},
	}
	for _, rd := range readers {
		for _, q := range []string{"reveal=true", "reveal=1", "reveal=true&key=SEEN_KEY"} {
			r := f.raw(t, http.MethodGet, "/v1/credentials?"+q+"&vault="+v, rd.tok, nil)
			if r.code != 403 || bytes.Contains(r.body, []byte(val)) {
				t.Errorf("%s GET ?%s = %d, want 403 without the value", rd.name, q, r.code)
			}
		}
		// Without reveal the key names are listed, never a value.
		r := f.raw(t, http.MethodGet, "/v1/credentials?vault="+v, rd.tok, nil)
		if r.code != 200 || bytes.Contains(r.body, []byte(val)) || !bytes.Contains(r.body, []byte("SEEN_KEY")) {
			t.Errorf("%s list = %d %s", rd.name, r.code, r.body)
		}
	}

	// Writing is not reading: admin and member agents (and member+
	// sessions) may set; proxy agents may not.
	for _, w := range []struct {
		name, tok string
		want      int
	}{
		{"admin agent", adminAgent, 200},
		{"member agent", memberAgent, 200},
		{"admin session", userSess, 200},
		{"proxy agent", proxyAgent, 403},
	} {
		key := "W_" + strings.ToUpper(strings.NewReplacer(" ", "_").Replace(w.name))
		_, err := f.e.as(w.tok).SetCredentials(cbg, v, map[string]string{key: f.secret("w")})
		if status(err) != w.want {
			t.Errorf("%s set = %d (%v), want %d", w.name, status(err), err, w.want)
		}
	}
	if got, err := alice.Credentials(cbg, v, true, "W_ADMIN_AGENT"); err != nil || got.Credentials[0].Value == nil {
		t.Errorf("the admin agent's write is not stored: %v", err)
	}
	if _, err := f.e.as(adminAgent).DeleteCredentials(cbg, v, []string{"W_ADMIN_AGENT"}); err != nil {
		t.Errorf("admin agent delete: %v", err)
	}
	// A proxy-role scoped session cannot write either.
	proxySess := f.session(t, alice, v, "")
	_, err := f.e.as(proxySess).SetCredentials(cbg, v, map[string]string{"P_KEY": f.secret("p")})
	wantAPIErr(t, "proxy session set", err, 403, "")
}

// storedBytes is everything the database holds, by where it was read:
// the SQLite file and its WAL, or each PostgreSQL table's rows as text
// (bytea in hex and as escaped bytes, so that both spellings are searched).
func storedBytes(t *testing.T, store *sqlstore.DB) map[string][]byte {
	t.Helper()
	db := store.SQL()
	out := map[string][]byte{}
	if store.Engine() == "postgres" {
		tables, err := db.QueryContext(cbg, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for tables.Next() {
			var n string
			if err := tables.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		tables.Close()
		for _, n := range names {
			for _, format := range []string{"hex", "escape"} {
				var text sql.NullString
				q := `SET LOCAL bytea_output = '` + format + `'`
				tx, err := db.BeginTx(cbg, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.ExecContext(cbg, q); err != nil {
					t.Fatal(err)
				}
				if err := tx.QueryRowContext(cbg, `SELECT string_agg(CAST(t AS text), E'\n') FROM `+n+` t`).Scan(&text); err != nil {
					t.Fatal(err)
				}
				_ = tx.Rollback()
				out[n+" ("+format+")"] = []byte(text.String)
			}
		}
		if len(out) < 10 {
			t.Fatalf("read %d tables, want them all", len(out)/2)
		}
		return out
	}
	var seq int
	var name, file string
	if err := db.QueryRowContext(cbg, `PRAGMA database_list`).Scan(&seq, &name, &file); err != nil || file == "" {
		t.Fatalf("database file: %q, %v", file, err)
	}
	for _, path := range []string{file, file + "-wal"} {
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[path] = data
	}
	return out
}
