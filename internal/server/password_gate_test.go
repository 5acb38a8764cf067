package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// fillPasswordGate takes the only place of a one-run, no-queue gate, so
// that any Argon2id run a request starts fails with 503: a request that
// is refused for its own reason while the gate is full was refused
// before hashing.
func fillPasswordGate(t *testing.T) (release func()) {
	t.Helper()
	password.SetLimits(1, 0)
	hold, err := password.Acquire(false)
	if err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			hold()
		}
	}
	t.Cleanup(func() { release(); password.SetLimits(password.DefaultConcurrent, password.DefaultQueue) })
	return release
}

// Anyone can call register, accept-invite and reset-password. A request
// that will be refused (invite-only, a domain not allowed, an account
// that exists, an unknown invite, a wrong reset code) is refused before
// the Argon2id run; a request that needs a run while the process-wide
// bound is reached gets 503 with Retry-After, spends no failed-login
// budget, and succeeds once the bound frees up.
func TestPasswordHashOnlyAfterChecks(t *testing.T) {
	e := newEnv(t)
	own := e.owner()
	ctx := context.Background()
	inv, err := own.CreateInvite(ctx, apitype.InviteRequest{Email: "invited@example.com", Role: "member"})
	if err != nil {
		t.Fatal(err)
	}
	release := fillPasswordGate(t)

	cases := []struct {
		name string
		call func() error
		want int
	}{
		{"register on an invite-only instance", func() error {
			_, err := e.anon().Register(ctx, apitype.Credentials{Email: "stranger@example.com", Password: "a-long-password"})
			return err
		}, http.StatusForbidden},
		{"register an existing account", func() error {
			_, err := e.anon().Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "a-long-password"})
			return err
		}, http.StatusForbidden}, // invite-only is said first, as before
		{"accept an unknown invite", func() error {
			_, err := e.anon().AcceptInvite(ctx, "av_uinv_notarealinvitetoken000000000000", "a-long-password")
			return err
		}, http.StatusNotFound},
		{"reset with a wrong code", func() error {
			_, err := e.anon().ResetPassword(ctx, apitype.ResetPasswordRequest{Email: "owner@example.com", Code: "123456", NewPassword: "a-long-password"})
			return err
		}, http.StatusBadRequest},
		{"reset for an unknown address", func() error {
			_, err := e.anon().ResetPassword(ctx, apitype.ResetPasswordRequest{Email: "nobody@example.com", Code: "123456", NewPassword: "a-long-password"})
			return err
		}, http.StatusBadRequest},
		// Needs a hash: the bound answers.
		{"accept a real invite while busy", func() error {
			_, err := e.anon().AcceptInvite(ctx, inv.Token, "a-long-password")
			return err
		}, http.StatusServiceUnavailable},
		{"log in while busy", func() error {
			_, err := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
			return err
		}, http.StatusServiceUnavailable},
	}
	for _, c := range cases {
		if got := status(c.call()); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	// With domains restricted too, the domain is refused before hashing.
	open, domains := false, []string{"example.org"}
	if _, err := own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{InviteOnly: &open, AllowedEmailDomains: &domains}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.anon().Register(ctx, apitype.Credentials{Email: "x@example.com", Password: "a-long-password"}); status(err) != http.StatusForbidden {
		t.Errorf("register from a domain not allowed: %v, want 403", err)
	}
	if _, err := e.anon().Register(ctx, apitype.Credentials{Email: "owner@example.org", Password: "a-long-password"}); status(err) != http.StatusServiceUnavailable {
		t.Errorf("allowed registration while busy: %v, want 503", err)
	}
	raw := rawPost(t, e.url+"/v1/auth/register", `{"email":"y@example.org","password":"a-long-password"}`)
	if raw.StatusCode != http.StatusServiceUnavailable || raw.Header.Get("Retry-After") != "1" {
		t.Errorf("busy answer: %d Retry-After %q, want 503 and 1", raw.StatusCode, raw.Header.Get("Retry-After"))
	}

	release()
	if _, err := e.anon().AcceptInvite(ctx, inv.Token, "a-long-password"); err != nil {
		t.Fatalf("accept once the bound freed up: %v", err)
	}
	if _, err := e.anon().Login(ctx, apitype.Credentials{Email: "invited@example.com", Password: "a-long-password"}); err != nil {
		t.Fatalf("log in once the bound freed up: %v", err)
	}
}

func rawPost(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// A 503 for a busy server is not a wrong guess: however many logins are
// turned away while the bound is reached, the address's failed-login
// budget is untouched, and the right password works once it frees up.
func TestBusyPasswordChecksSpendNoFailureBudget(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnvWith(t, limiterAt(t, &now, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: 3, Window: time.Minute}}))
	e.owner()
	ctx := context.Background()
	release := fillPasswordGate(t)
	for i := range 10 {
		if _, err := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "wrong-password"}); status(err) != http.StatusServiceUnavailable {
			t.Fatalf("login %d while busy: %v, want 503", i, err)
		}
	}
	release()
	if _, err := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"}); err != nil {
		t.Fatalf("login after the busy answers: %v (the failure budget was spent)", err)
	}
}
