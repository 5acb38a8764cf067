package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadInput sends malformed requests straight to the control plane:
// every one gets the right status and a JSON error naming the field, and
// none of them changes anything.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	owner.ok("", "vault", "create", "proj")
	tok := owner.token()
	vaults := s.url + "/v1/vaults"
	before := vaultNames(t, s.url, tok)

	cases := []struct {
		name        string
		method, url string
		body        any
		status      int
		field, code string
		msg         string // substring of the error message
	}{
		{"invalid JSON", "POST", vaults, `{"name": "abc"`, 400, "body", "invalid_request", "JSON"},
		{"syntax error", "POST", vaults, `{bad json}`, 400, "body", "invalid_request", "not valid JSON"},
		{"empty body", "POST", vaults, ``, 400, "body", "invalid_request", "empty"},
		{"array body", "POST", vaults, `[]`, 400, "body", "invalid_request", "JSON object"},
		{"two objects", "POST", vaults, `{"name":"two-objects"} {"name":"x"}`, 400, "body", "invalid_request", "exactly one"},
		{"trailing garbage", "POST", vaults, `{"name":"trailing"} xyz`, 400, "body", "invalid_request", ""},
		{"wrong type", "POST", vaults, `{"name": 42}`, 400, "name", "invalid_request", `"name" must be a string`},
		{"wrong type bool", "PUT", s.url + "/v1/admin/settings", `{"invite_only": "yes"}`, 400, "invite_only", "invalid_request", "true or false"},
		{"wrong nested type", "POST", s.url + "/v1/users/invites", `{"email":"x@example.com","vaults":[{"vault_name":7}]}`, 400, "vaults.vault_name", "invalid_request", "string"},
		{"invalid vault name", "POST", vaults, `{"name":"Bad Name!"}`, 400, "name", "invalid_request", "lowercase"},
		{"short vault name", "POST", vaults, `{"name":"ab"}`, 400, "name", "invalid_request", "3 to 64"},
		{"reserved vault name", "POST", vaults, `{"name":"admin"}`, 400, "name", "invalid_request", "reserved"},
		{"missing vault name", "POST", vaults, `{}`, 400, "name", "invalid_request", "required"},
		{"double hyphen", "POST", vaults, `{"name":"a--b"}`, 400, "name", "invalid_request", "hyphen"},
		{"invalid rename", "POST", vaults + "/proj/rename", `{"name":"UPPER"}`, 400, "name", "invalid_request", ""},
		{"long path name", "DELETE", vaults + "/" + strings.Repeat("a", 400), nil, 400, "name", "invalid_request", "too long"},
		{"invalid policy", "PATCH", vaults + "/proj/settings", `{"unmatched_host_policy":"maybe"}`, 400, "unmatched_host_policy", "invalid_request", ""},
		{"invalid invite email", "POST", s.url + "/v1/users/invites", `{"email":"not-an-email"}`, 400, "email", "invalid_request", "email"},
		{"invalid invite role", "POST", s.url + "/v1/users/invites", `{"email":"x@example.com","role":"emperor"}`, 400, "role", "invalid_request", ""},
		{"duplicate invite vault", "POST", s.url + "/v1/users/invites", `{"email":"x@example.com","vaults":[{"vault_name":"proj","vault_role":"member"},{"vault_name":"proj","vault_role":"admin"}]}`, 400, "vaults[1].vault_name", "invalid_request", "twice"},
		{"bad vault role", "POST", s.url + "/v1/users/invites", `{"email":"x@example.com","vaults":[{"vault_name":"proj","vault_role":"god"}]}`, 400, "vaults[0].vault_role", "invalid_request", ""},
		{"unknown route", "GET", s.url + "/v1/nope", nil, 404, "", "not_found", "/v1/nope"},
		{"unknown root route", "POST", s.url + "/nope", `{}`, 404, "", "not_found", ""},
		{"wrong method", "PUT", vaults, `{}`, 405, "", "method_not_allowed", "PUT"},
		{"wrong method health", "DELETE", s.url + "/health", nil, 405, "", "method_not_allowed", "DELETE"},
		{"GET on POST-only", "GET", vaults + "/proj/rename", nil, 405, "", "method_not_allowed", "POST"},
		{"unknown vault", "DELETE", vaults + "/no-such-vault", nil, 404, "", "not_found", "no-such-vault"},
		{"default vault delete", "DELETE", vaults + "/default", nil, 409, "", "default_vault", ""},
		{"duplicate vault", "POST", vaults, `{"name":"proj"}`, 409, "", "conflict", "already exists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, c.method, c.url, tok, c.body)
			if r.status != c.status {
				t.Fatalf("%s %s: got %s, want %d", c.method, c.url, r, c.status)
			}
			e := r.errorBody(t)
			if e.Field != c.field {
				t.Errorf("field = %q, want %q (%s)", e.Field, c.field, r)
			}
			if e.Code != c.code {
				t.Errorf("code = %q, want %q (%s)", e.Code, c.code, r)
			}
			if !strings.Contains(e.Error, c.msg) {
				t.Errorf("error %q does not mention %q", e.Error, c.msg)
			}
		})
	}
	// 405 keeps the mux's Allow header.
	if r := call(t, "PUT", vaults, tok, `{}`); !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Errorf("405 Allow header = %q, want it to list POST", r.header.Get("Allow"))
	}

	// Bodies over 1 MiB: 413, with or without a Content-Length.
	big := []byte(`{"name":"big-vault","pad":"` + strings.Repeat("x", 1<<20) + `"}`)
	r := call(t, "POST", vaults, tok, big)
	if r.status != http.StatusRequestEntityTooLarge || r.errorBody(t).Code != "body_too_large" {
		t.Errorf("1 MiB+ body with Content-Length: %s, want 413 body_too_large", r)
	}
	r = call(t, "POST", vaults, tok, io.MultiReader(bytes.NewReader(big))) // unknown length: chunked
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB+ chunked body: %s, want 413", r)
	}
	// Trailing data past the limit after a valid object is also refused.
	r = call(t, "POST", vaults, tok, io.MultiReader(strings.NewReader(`{"name":"big-tail"}`), bytes.NewReader(bytes.Repeat([]byte(" "), 1<<20+10))))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("valid object + 1 MiB of padding: %s, want 413", r)
	}
	// Just under the limit is fine (unknown fields are ignored).
	ok := []byte(`{"name":"near-limit","pad":"` + strings.Repeat("x", 1<<20-64) + `"}`)
	if r = call(t, "POST", vaults, tok, ok); r.status != http.StatusCreated {
		t.Errorf("body just under 1 MiB: %s, want 201", r)
	}

	// Authentication errors are JSON 401s with a challenge.
	for _, h := range []string{"", "av_sess_forged", "not-a-token"} {
		r := call(t, "GET", vaults, h, nil)
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("token %q: %s, want 401 with WWW-Authenticate", h, r)
		}
		r.errorBody(t)
	}
	r = call(t, "POST", s.url+"/v1/auth/login", "", `{"email":"owner@example.com","password":"wrong-password"}`)
	if r.status != http.StatusUnauthorized || r.errorBody(t).Code != "invalid_credentials" {
		t.Errorf("wrong password login: %s", r)
	}
	r = call(t, "POST", s.url+"/v1/auth/login", "", `{"email":"owner@example.com","password":12345678}`)
	if r.status != http.StatusBadRequest || r.errorBody(t).Field != "password" {
		t.Errorf("login with a numeric password: %s, want 400 naming password", r)
	}

	// Nothing above was partially written.
	after := vaultNames(t, s.url, tok)
	want := append(append([]string{}, before...), "near-limit")
	if !sameSet(after, want) {
		t.Errorf("vaults after the bad requests = %v, want %v", after, want)
	}
	var invites struct {
		Invites []json.RawMessage `json:"invites"`
	}
	r = call(t, "GET", s.url+"/v1/users/invites", tok, nil)
	if err := json.Unmarshal(r.body, &invites); err != nil || len(invites.Invites) != 0 {
		t.Errorf("invites after refused invite requests = %s, want none", r.body)
	}
	// An invite whose second grant fails is not created at all.
	r = call(t, "POST", s.url+"/v1/users/invites", tok, `{"email":"half@example.com","vaults":[{"vault_name":"proj","vault_role":"member"},{"vault_name":"missing","vault_role":"member"}]}`)
	if r.status != http.StatusNotFound {
		t.Errorf("invite with a missing vault: %s, want 404", r)
	}
	r = call(t, "GET", s.url+"/v1/users/invites", tok, nil)
	if err := json.Unmarshal(r.body, &invites); err != nil || len(invites.Invites) != 0 {
		t.Errorf("a failed invite left %s", r.body)
	}
	r = call(t, "GET", vaults+"/proj/users", tok, nil)
	if strings.Contains(string(r.body), "half@example.com") {
		t.Errorf("a failed invite shows in proj's users: %s", r.body)
	}
	// The settings PATCH that failed left the policy alone.
	r = call(t, "GET", vaults+"/proj/settings", tok, nil)
	if !strings.Contains(string(r.body), `"passthrough"`) {
		t.Errorf("proj settings after a refused PATCH: %s", r)
	}
	// And the server is still healthy and logged no internal errors.
	if err := s.waitHealthy(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.stderr.String(), "level=ERROR") {
		t.Errorf("server logged errors:\n%s", s.stderr.String())
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// Oversized bodies on the browser pages get a page, not the API's JSON:
// the control plane's 1 MiB check leaves them to the pages, which cap
// forms at 64 KiB. The API keeps its JSON 413.
func TestOversizedFormGetsAPage(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	for _, size := range []int{100 << 10, 2 << 20} { // over the form cap; over the API's too
		form := "email=a%40example.com&password=" + strings.Repeat("x", size)
		req, _ := http.NewRequest("POST", s.url+"/login", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.url)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(body), "Request too large") {
			t.Errorf("%d-byte form: %d %s\n%.300s", size, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	r := call(t, "POST", s.url+"/v1/auth/login", "", `{"email":"a@example.com","password":"`+strings.Repeat("x", 2<<20)+`"}`)
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.header.Get("Content-Type"), "json") {
		t.Errorf("API: %d %s", r.status, r.header.Get("Content-Type"))
	}
}
