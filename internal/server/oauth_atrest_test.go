package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// OAuth tokens and the client secret are sealed at rest: no row of any
// table, the credentials and the open connect flows included, holds one
// of them in the clear.
func TestOAuthTokensAndSecretSealedAtRest(t *testing.T) {
	e := newConnectEnv(t, true)
	ctx := context.Background()
	own := e.owner()
	pasted := e.p.Authorize(t, e.clientID, "read")
	if _, err := own.UploadOAuthTokens(ctx, apitype.OAuthTokensRequest{Vault: "default", Key: "PASTED", RefreshToken: pasted.Refresh,
		TokenURL: e.p.TokenURL, ClientID: e.clientID, ClientSecret: e.secret}); err != nil {
		t.Fatal(err)
	}
	if _, err := own.OAuthConnect(ctx, e.connectReq("FLOW")); err != nil { // a flow in progress seals the secret too
		t.Fatal(err)
	}
	s, ok := e.stored("PASTED")
	if !ok || s.AccessToken == "" || s.RefreshToken == "" {
		t.Fatalf("nothing stored: %+v", ok)
	}
	secrets := map[string]string{"client secret": e.secret, "access token": s.AccessToken, "refresh token": s.RefreshToken, "pasted refresh token": pasted.Refresh}
	db := e.db.SQL()
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if e.db.Engine() == "postgres" {
		list = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	tables := queryStrings(t, db, list)
	if len(tables) < 5 {
		t.Fatalf("tables: %v", tables)
	}
	rows, keySeen := 0, false
	for _, table := range tables {
		r, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := r.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for r.Next() {
			rows++
			if err := r.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for i, v := range vals {
				keySeen = keySeen || bytes.Equal(v, []byte("PASTED"))
				for what, sec := range secrets {
					if bytes.Contains(v, []byte(sec)) {
						t.Errorf("table %s, column %s holds the %s in the clear", table, cols[i], what)
					}
				}
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	if rows == 0 || !keySeen {
		t.Fatalf("the scan read %d rows and did not find the credential's key (a plain column): it cannot see what it looks for", rows)
	}
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	r, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
