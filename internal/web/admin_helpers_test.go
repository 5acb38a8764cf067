package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// Helpers of the admin page tests (setup, account, vault settings,
// members, instance).

const testSetupCode = "ABCDE-FGHJK-MNPQR-STUVW"

// newBareEnv is a fresh instance without any account, its pages built
// with the setup code and limiter given.
func newBareEnv(t *testing.T, code, baseURL string, lim *ratelimit.Limiter) *env {
	t.Helper()
	db := sqltest.Open(t)
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := broker.New(broker.Options{Store: db, Keyring: kr, Logger: log, BaseURL: "http://vault.test",
		PasswordParams: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := b.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.ArmFirstRun(code, nil) // as the daemon does; "" closes the gate
	srv := httptest.NewServer(New(Options{Broker: b, BaseURL: baseURL, Logger: log, Limiter: lim}))
	t.Cleanup(func() {
		srv.Close()
		_ = db.Close()
	})
	return &env{t: t, b: b, srv: srv}
}

// authLimiter has an auth failure budget of max per minute.
func authLimiter(t *testing.T, max int) *ratelimit.Limiter {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim, err := ratelimit.New(ratelimit.Options{Profile: ratelimit.ProfileDefault, Now: func() time.Time { return now },
		Limits: map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: max, Window: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	return lim
}

// hasAccount reports whether any account exists.
func (e *env) hasAccount() bool {
	e.t.Helper()
	st, err := e.b.Status(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return !st.NeedsFirstUser
}

// addUser creates an account with an instance role of member, in vault
// (when not "") with role.
func (e *env) addUser(email, pw, vault, role string) broker.Actor {
	e.t.Helper()
	ctx := context.Background()
	req := apitype.InviteRequest{Email: email}
	if vault != "" {
		req.Vaults = []apitype.UserVault{{VaultName: vault, VaultRole: role}}
	}
	inv, err := e.b.CreateInvite(ctx, e.owner, req)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.b.AcceptInvite(ctx, inv.Token, apitype.AcceptInviteRequest{Password: pw}); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.b.Login(ctx, apitype.Credentials{Email: email, Password: pw})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.auth(tok.Token)
}

// as is a browser logged in through /login.
func (e *env) as(email, pw string) *browser {
	e.t.Helper()
	b := e.browser()
	b.get("/login")
	if p := b.post("/login", url.Values{"csrf": {b.csrf()}, "email": {email}, "password": {pw}}); p.status != http.StatusSeeOther {
		e.t.Fatalf("login as %s: %d\n%s", email, p.status, p.body)
	}
	return b
}

// form posts a page's form: it loads path first, takes its CSRF token and
// adds it to the values.
func (b *browser) form(path string, v url.Values) page {
	b.t.Helper()
	if p := b.get(path); p.status != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%s", path, p.status, p.body)
	}
	v.Set("csrf", b.csrf())
	return b.post(path, v)
}
