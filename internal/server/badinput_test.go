package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/server"
)

// raw sends body to the control plane and decodes the error body.
func raw(t *testing.T, e *env, method, path, tok, body string) (int, apitype.ErrorBody) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode >= 400 && ct != "application/json" {
		t.Errorf("%s %s: error Content-Type = %q, body %q", method, path, ct, data)
	}
	var eb apitype.ErrorBody
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(data, &eb); err != nil || eb.Error == "" {
			t.Errorf("%s %s: error body %q is not {\"error\":...}", method, path, data)
		}
	}
	return resp.StatusCode, eb
}

func TestBadInputIsRejectedNamingTheField(t *testing.T) {
	e := newEnv(t)
	reg, err := e.anon().Register(context.Background(), apitype.Credentials{Email: "owner@example.com", Password: "owner-password", SetupCode: setupCode})
	if err != nil {
		t.Fatal(err)
	}
	tok := reg.Token
	long := strings.Repeat("a", 65)
	cases := []struct {
		name, method, path, body string
		auth                     bool
		status                   int
		field                    string
	}{
		{"syntax error", "POST", "/v1/auth/login", `{"email":`, false, 400, "body"},
		{"not an object", "POST", "/v1/auth/login", `[1,2]`, false, 400, "body"},
		{"empty body", "POST", "/v1/auth/login", ``, false, 400, "body"},
		{"two objects", "POST", "/v1/auth/login", `{} {}`, false, 400, "body"},
		{"NUL in text", "POST", "/v1/auth/login", `{"email":"a@b.co","password":"pass\u0000word"}`, false, 400, "body"},
		{"NUL in a proposal message", "POST", "/v1/proposals", `{"vault":"default","message":"hi\u0000","credentials":[{"action":"set","key":"K"}]}`, true, 400, "body"},
		{"wrong type", "POST", "/v1/auth/login", `{"email":5,"password":"x"}`, false, 400, "email"},
		{"bad email", "POST", "/v1/auth/login", `{"email":"not-an-email","password":"x"}`, false, 400, "email"},
		{"missing password", "POST", "/v1/auth/login", `{"email":"a@b.co"}`, false, 400, "password"},
		{"short password", "POST", "/v1/auth/register", `{"email":"a@b.co","password":"short"}`, false, 400, "password"},
		{"vault name uppercase", "POST", "/v1/vaults", `{"name":"Bad_Name"}`, true, 400, "name"},
		{"vault name too long", "POST", "/v1/vaults", `{"name":"` + long + `"}`, true, 400, "name"},
		{"vault name reserved", "POST", "/v1/vaults", `{"name":"admin"}`, true, 400, "name"},
		{"vault name empty", "POST", "/v1/vaults", `{"name":""}`, true, 400, "name"},
		{"vault name type", "POST", "/v1/vaults", `{"name":["x"]}`, true, 400, "name"},
		{"rename invalid", "POST", "/v1/vaults/default/rename", `{"name":"-x-"}`, true, 400, "name"},
		{"bad policy", "PATCH", "/v1/vaults/default/settings", `{"unmatched_host_policy":"allow"}`, true, 400, "unmatched_host_policy"},
		{"bad vault role", "POST", "/v1/vaults/default/users", `{"email":"owner@example.com","role":"root"}`, true, 400, "role"},
		{"proxy is not a user role", "POST", "/v1/vaults/default/users", `{"email":"owner@example.com","role":"proxy"}`, true, 400, "role"},
		{"bad user email", "POST", "/v1/vaults/default/users", `{"email":"@@","role":"member"}`, true, 400, "email"},
		{"bad instance role", "POST", "/v1/admin/users/owner@example.com/role", `{"role":"superuser"}`, true, 400, "role"},
		{"bad invite role", "POST", "/v1/users/invites", `{"email":"x@example.com","role":"god"}`, true, 400, "role"},
		{"bad invite vault role", "POST", "/v1/users/invites", `{"email":"x@example.com","vaults":[{"vault_name":"default","vault_role":"boss"}]}`, true, 400, "vaults[0].vault_role"},
		{"bad invite email", "POST", "/v1/users/invites", `{"email":"x"}`, true, 400, "email"},
		{"settings type", "PUT", "/v1/admin/settings", `{"invite_only":"yes"}`, true, 400, "invite_only"},
		{"new password short", "POST", "/v1/auth/change-password", `{"current_password":"owner-password","new_password":"x"}`, true, 400, "new_password"},
		{"unknown route", "GET", "/v1/nope", ``, false, 404, ""},
		{"unknown root route", "GET", "/", ``, false, 404, ""},
		{"wrong method", "DELETE", "/v1/status", ``, false, 405, ""},
		{"wrong method on vaults", "PUT", "/v1/vaults", `{}`, true, 405, ""},
		{"no token", "GET", "/v1/vaults", ``, false, 401, ""},
		{"malformed token", "GET", "/v1/auth/me", ``, false, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tk := ""
			if c.auth {
				tk = tok
			}
			st, eb := raw(t, e, c.method, c.path, tk, c.body)
			if st != c.status {
				t.Fatalf("status = %d (%+v), want %d", st, eb, c.status)
			}
			if c.field != "" && eb.Field != c.field {
				t.Errorf("field = %q (%s), want %q", eb.Field, eb.Error, c.field)
			}
			if c.field != "" && !strings.Contains(eb.Error, strings.Split(c.field, "[")[0]) {
				t.Errorf("message %q does not name %q", eb.Error, c.field)
			}
		})
	}
	// Refused requests left the state as it was.
	vs, err := e.as(tok).Vaults(context.Background())
	if err != nil || len(vs.Vaults) != 1 {
		t.Fatalf("vaults after bad input = %+v, %v", vs, err)
	}
	if s, _ := e.as(tok).VaultSettings(context.Background(), "default"); s.UnmatchedHostPolicy != "passthrough" {
		t.Errorf("policy changed by a refused request: %+v", s)
	}
	if u, _ := e.as(tok).Me(context.Background()); u.Role != "owner" {
		t.Errorf("role changed by a refused request: %+v", u)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	big := `{"email":"a@b.co","password":"` + strings.Repeat("x", 1<<20) + `"}`
	if st, eb := raw(t, e, "POST", "/v1/auth/register", "", big); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("1 MiB+ body: status %d %+v, want 413", st, eb)
	}
	// Without Content-Length (chunked) the limit still holds.
	req, _ := http.NewRequest("POST", e.url+"/v1/auth/register", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked 1 MiB+ body: status %d, want 413", resp.StatusCode)
	}
	// Nothing was registered.
	st, err := e.anon().Status(context.Background())
	if err != nil || st.Initialized {
		t.Fatalf("status after refused registers = %+v, %v", st, err)
	}
	// Just under the limit is fine (rejected for the password length, not size).
	okBody := `{"email":"a@b.co","password":"` + strings.Repeat("x", 1<<19) + `"}`
	if st, eb := raw(t, e, "POST", "/v1/auth/register", "", okBody); st != http.StatusBadRequest || eb.Field != "password" {
		t.Fatalf("512 KiB body: %d %+v, want 400 on password", st, eb)
	}
}

func TestMethodNotAllowedListsAllowed(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("PATCH", e.url+"/v1/vaults", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || !strings.Contains(resp.Header.Get("Allow"), "POST") {
		t.Fatalf("status %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestHasNULEscape(t *testing.T) {
	for js, want := range map[string]bool{
		`{"a":"x\u0000y"}`:   true,
		`{"a":"\u0000"}`:     true,
		`{"a":"\\u0000"}`:    false, // an escaped backslash, then the text u0000
		`{"a":"\\\u0000"}`:   true,  // an escaped backslash, then the escape
		`{"a":"\u00001"}`:    true,
		`{"a":"\u0001"}`:     false,
		`{"a":"u0000"}`:      false,
		`{"a":"x"} `:         false,
		`{"a":"\"\u0000\""}`: true,
		`"\`:                 false, // truncated: not the decoder's business here
	} {
		if got := server.HasNULEscape([]byte(js)); got != want {
			t.Errorf("HasNULEscape(%s) = %v, want %v", js, got, want)
		}
	}
}
