package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// postJSON sends body to path and returns the status and the decoded
// error answer.
func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// A stranger who reaches a fresh instance's API first tries to become its
// owner: without the setup code, with a wrong one, with many guesses.
// Each is refused with an answer that says where the code is; the
// guesses spend the address's failed-login budget until even the right
// code waits. From another address the right code, in the JSON field
// setup_code, creates the owner once; replayed, it makes nobody owner.
func TestAPIRegisterNeedsTheSetupCodeOnAFreshInstance(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnvWith(t, limiterAt(t, &now, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: 3, Window: time.Minute}}))
	reg := e.url + "/v1/auth/register"
	for _, tc := range []struct{ name, body, code string }{
		{"no code (as the public CLI sends)", `{"email":"mallory@example.com","password":"mallory-pass-1"}`, "setup_code_required"},
		{"wrong code", `{"email":"mallory@example.com","password":"mallory-pass-1","setup_code":"ABCDE-FGHJK-MNPQR-STUVW"}`, "invalid_setup_code"},
		{"code with a letter more", `{"email":"mallory@example.com","password":"mallory-pass-1","setup_code":"` + setupCode + `X"}`, "invalid_setup_code"},
	} {
		st, m := postJSON(t, reg, tc.body)
		if st != http.StatusUnauthorized || m["code"] != tc.code || !strings.Contains(fmt.Sprint(m["error"]), "setup-code in the server's data directory") || (tc.code == "setup_code_required" && !strings.Contains(fmt.Sprint(m["error"]), "--setup-code")) {
			t.Fatalf("%s: %d %v", tc.name, st, m)
		}
	}
	// The address's failure budget is spent: the right code waits.
	if st, m := postJSON(t, reg, `{"email":"mallory@example.com","password":"mallory-pass-1","setup_code":"`+setupCode+`"}`); st != http.StatusTooManyRequests {
		t.Fatalf("over the budget: %d %v", st, m)
	}
	if e.hasAccount() {
		t.Fatal("an account was created without the right code in budget")
	}
	now = now.Add(2 * time.Minute) // the window passes
	st, m := postJSON(t, reg, `{"email":"owner@example.com","password":"owner-pass-1","setup_code":"`+strings.ToLower(setupCode)+`"}`)
	if st != http.StatusCreated || m["role"] != "owner" {
		t.Fatalf("the right code: %d %v", st, m)
	}
	if st, m := postJSON(t, reg, `{"email":"mallory@example.com","password":"mallory-pass-1","setup_code":"`+setupCode+`"}`); st != http.StatusForbidden || m["code"] != "invite_only" {
		t.Fatalf("the code replayed: %d %v", st, m)
	}
}

func (e *env) hasAccount() bool {
	e.t.Helper()
	st, err := e.anon().Status(cbg)
	if err != nil {
		e.t.Fatal(err)
	}
	return !st.NeedsFirstUser
}
