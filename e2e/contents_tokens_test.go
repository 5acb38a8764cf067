package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

type ctScopedList struct {
	Sessions []struct {
		ID        string    `json:"id"`
		Label     string    `json:"label"`
		Vault     string    `json:"vault"`
		VaultRole string    `json:"vault_role"`
		ExpiresAt time.Time `json:"expires_at"`
		CreatedBy *struct {
			Type        string `json:"type"`
			DisplayName string `json:"display_name"`
		} `json:"created_by"`
	} `json:"sessions"`
}

// TestContentsVaultTokens drives `vault token [--ttl] [--role] [--label]`,
// `vault token list` and `vault token revoke`: the minted av_sess_ token
// works for GET /discover, stays bound to its vault, and stops at revoke.
func TestContentsVaultTokens(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)
	owner.ok("", "vault", "create", "proj")
	owner.ok("", "vault", "creds", "set", "DEFAULT_KEY=ct-token-default-val-19af")
	owner.ok("", "vault", "creds", "set", "PROJ_KEY=ct-token-proj-val-c07e", "--vault", "proj")
	owner.ok("", "vault", "service", "add", "--name", "stripe", "--host", "api.stripe.com", "--auth", "bearer", "--token", "DEFAULT_KEY")

	// Mint with --ttl 10m: stdout is the token alone; details on stderr.
	before := time.Now()
	r := owner.run("", "vault", "token", "--ttl", "10m", "--label", "ci job")
	if r.code != 0 {
		t.Fatalf("vault token failed:\n%s", r)
	}
	tok := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(tok, "av_sess_") || r.stdout != tok+"\n" {
		t.Fatalf("vault token stdout = %q, want one av_sess_ token line", r.stdout)
	}
	mustContain(t, "vault token stderr", r.stderr, "Vault default", "role proxy")
	if tok == owner.token() {
		t.Fatalf("vault token printed the CLI's own session")
	}

	// It works for /discover, without X-Vault, and names its vault.
	var d ctDiscover
	ctDecode(t, "scoped GET /discover", ctDiscoverAs(t, s.url, tok, ""), &d)
	if d.Vault != "default" || len(d.Services) != 1 || d.Services[0].Host != "api.stripe.com" || strings.Join(d.AvailableCredentials, ",") != "DEFAULT_KEY" {
		t.Errorf("scoped discover = %+v", d)
	}
	if r := ctDiscoverAs(t, s.url, tok, "default"); r.status != http.StatusOK {
		t.Errorf("scoped discover with a matching X-Vault = %s", r)
	}
	// Bound to its vault: another vault is refused, never retargeted.
	if r := ctDiscoverAs(t, s.url, tok, "proj"); r.status != http.StatusForbidden || strings.Contains(string(r.body), "PROJ_KEY") {
		t.Errorf("scoped discover with X-Vault proj = %s, want 403", r)
	}
	if r := call(t, http.MethodGet, s.url+"/discover?vault=proj", tok, nil); r.status != http.StatusForbidden {
		t.Errorf("scoped discover ?vault=proj = %s, want 403", r)
	}
	if r := call(t, http.MethodGet, s.url+"/v1/credentials?vault=proj", tok, nil); r.status == http.StatusOK || strings.Contains(string(r.body), "PROJ_KEY") {
		t.Errorf("scoped GET /v1/credentials?vault=proj = %s, want a refusal", r)
	}
	// A proxy-role token reads no value and writes nothing.
	if r := call(t, http.MethodGet, s.url+"/v1/credentials?reveal=true", tok, nil); strings.Contains(string(r.body), "ct-token-default-val-19af") {
		t.Errorf("scoped proxy token reveals a value: %s", r)
	}
	if r := call(t, http.MethodPost, s.url+"/v1/credentials", tok, map[string]any{"credentials": map[string]string{"DEFAULT_KEY": "x"}}); r.status != http.StatusForbidden {
		t.Errorf("scoped proxy token POST /v1/credentials = %s, want 403", r)
	}
	// It cannot mint further sessions.
	if r := call(t, http.MethodPost, s.url+"/v1/sessions", tok, map[string]string{"vault": "default"}); r.status != http.StatusForbidden {
		t.Errorf("scoped token POST /v1/sessions = %s, want 403", r)
	}

	// TTL limits: 1m and 8 days are refused naming the limits.
	for _, ttl := range []string{"1m", "169h"} {
		e := owner.fail("", "vault", "token", "--ttl", ttl)
		mustContain(t, "vault token --ttl "+ttl, e, "5 minutes", "7 days")
	}
	owner.fail("", "vault", "token", "--ttl", "5m500ms")
	owner.fail("", "vault", "token", "--role", "emperor")

	// --json, another vault, member role.
	var minted struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
		Vault     string    `json:"vault"`
		VaultRole string    `json:"vault_role"`
	}
	owner.json(&minted, "vault", "token", "--vault", "proj", "--role", "member", "--ttl", "168h")
	if !strings.HasPrefix(minted.Token, "av_sess_") || minted.Vault != "proj" || minted.VaultRole != "member" {
		t.Errorf("vault token --json = %+v", minted)
	}
	if d := time.Until(minted.ExpiresAt); d < 167*time.Hour || d > 169*time.Hour {
		t.Errorf("168h token expires in %s", d)
	}
	ctDecode(t, "proj scoped GET /discover", ctDiscoverAs(t, s.url, minted.Token, ""), &d)
	if d.Vault != "proj" || strings.Join(d.AvailableCredentials, ",") != "PROJ_KEY" || len(d.Services) != 0 {
		t.Errorf("proj scoped discover = %+v", d)
	}

	// list: both, with vault, role, label and expiry; no token in sight.
	listOut := owner.ok("", "vault", "token", "list", "--json")
	var sl ctScopedList
	decodeStrict(t, listOut, &sl)
	if len(sl.Sessions) != 2 {
		t.Fatalf("vault token list = %+v, want 2", sl)
	}
	var id string
	for _, ss := range sl.Sessions {
		if ss.Vault == "default" {
			id = ss.ID
			if ss.VaultRole != "proxy" || ss.Label != "ci job" {
				t.Errorf("default token in list = %+v", ss)
			}
			if exp := ss.ExpiresAt.Sub(before); exp < 9*time.Minute || exp > 11*time.Minute {
				t.Errorf("10m token expires %s after minting", exp)
			}
			if ss.CreatedBy == nil || ss.CreatedBy.Type != "user" {
				t.Errorf("created_by = %+v", ss.CreatedBy)
			}
		}
	}
	if id == "" {
		t.Fatalf("no default-vault token in the list: %+v", sl)
	}
	if strings.Contains(listOut, tok) || strings.Contains(listOut, minted.Token) {
		t.Errorf("vault token list shows a token:\n%s", listOut)
	}
	mustContain(t, "vault token list table", owner.ok("", "vault", "token", "list"), "ID", "VAULT", id, "ci job", "proj")

	// revoke: then 401.
	mustContain(t, "vault token revoke", owner.ok("", "vault", "token", "revoke", id), "Vault token "+id+" revoked.")
	if r := ctDiscoverAs(t, s.url, tok, ""); r.status != http.StatusUnauthorized {
		t.Errorf("discover with a revoked vault token = %s, want 401", r)
	}
	owner.json(&sl, "vault", "token", "list")
	if len(sl.Sessions) != 1 || sl.Sessions[0].Vault != "proj" {
		t.Errorf("vault token list after revoke = %+v", sl)
	}
	owner.fail("", "vault", "token", "revoke", id)
	owner.fail("", "vault", "token", "revoke", "no-such-id")
	// The proj token is untouched, and the CLI session still works.
	if r := ctDiscoverAs(t, s.url, minted.Token, ""); r.status != http.StatusOK {
		t.Errorf("proj token after revoking the other = %s", r)
	}
	var st struct {
		Status string `json:"status"`
	}
	owner.json(&st, "vault", "token", "revoke", sl.Sessions[0].ID)
	if st.Status != "revoked" {
		t.Errorf("vault token revoke --json = %+v", st)
	}
	if r := ctDiscoverAs(t, s.url, minted.Token, ""); r.status != http.StatusUnauthorized {
		t.Errorf("discover with the revoked proj token = %s, want 401", r)
	}

	// A member user may mint for their vault (role at most theirs); a vault
	// they are not in is refused.
	var inv struct {
		Token string `json:"token"`
	}
	owner.json(&inv, "user", "invite", "bob@example.com", "--vault", "proj:member")
	bob := newCLI(t, "bob", s.url)
	if r := bob.run("bob-pass-1\nbob-pass-1\n", "auth", "accept-invite", inv.Token); r.code != 0 {
		t.Fatalf("accept-invite:\n%s", r)
	}
	bob.ok("bob-pass-1\n", "auth", "login", "--email", "bob@example.com")
	bobTok := strings.TrimSpace(bob.ok("", "vault", "token", "--vault", "proj", "--ttl", "5m"))
	if r := ctDiscoverAs(t, s.url, bobTok, ""); r.status != http.StatusOK {
		t.Errorf("bob's vault token discover = %s", r)
	}
	bob.fail("", "vault", "token", "--vault", "proj", "--role", "admin")
	bob.fail("", "vault", "token", "--vault", "default")
	// bob's list holds only his token; he cannot revoke the owner's.
	bob.json(&sl, "vault", "token", "list")
	if len(sl.Sessions) != 1 || sl.Sessions[0].Vault != "proj" {
		t.Errorf("bob's vault token list = %+v", sl)
	}
	owner.json(&sl, "vault", "token", "list")
	if len(sl.Sessions) != 0 {
		t.Errorf("owner's vault token list after revoking both = %+v", sl)
	}
	ownerTok := strings.TrimSpace(owner.ok("", "vault", "token", "--vault", "proj"))
	owner.json(&sl, "vault", "token", "list")
	if len(sl.Sessions) != 1 {
		t.Fatalf("owner's vault token list = %+v, want 1", sl)
	}
	bob.fail("", "vault", "token", "revoke", sl.Sessions[0].ID)
	if r := ctDiscoverAs(t, s.url, ownerTok, ""); r.status != http.StatusOK {
		t.Errorf("owner's token after bob's refused revoke = %s, want 200", r)
	}

	ctNoSecrets(t, s, tok, minted.Token, bobTok, ownerTok, inv.Token, owner.token(), bob.token(),
		"ct-token-default-val-19af", "ct-token-proj-val-c07e", "bob-pass-1", "owner-pass-1")
}
