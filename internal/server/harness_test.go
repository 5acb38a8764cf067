package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/server"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// setupCode is the test servers' one-time code for the first account.
const setupCode = "TESTS-ETUPC-ODEAB-CDEFG"

// fastPW keeps user password hashing cheap in tests.
var fastPW = password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is a running control plane on a real SQLite file.
type env struct {
	b     *broker.Broker
	t     *testing.T
	url   string
	db    *sqlstore.DB
	clock *clock
	logs  *syncBuffer
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith builds the environment with a rate limiter (nil: none).
func newEnvWith(t *testing.T, lim *ratelimit.Limiter) *env {
	t.Helper()
	ctx := context.Background()
	db := sqltest.Open(t) // SQLite, or PostgreSQL under AGENT_VAULT_TEST_ENGINE=postgres
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := broker.New(broker.Options{Store: db, Keyring: kr, PasswordParams: fastPW, BaseURL: "http://vault.test", Logger: log, Now: clk.Now, Version: "test"})
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	b.ArmFirstRun(setupCode, nil) // as the daemon does on a fresh instance
	ts := httptest.NewServer(server.New(server.Options{Broker: b, Logger: log, Limiter: lim}))
	t.Cleanup(func() {
		ts.Close()
		_ = db.Close()
	})
	return &env{t: t, url: ts.URL, db: db, clock: clk, logs: logs, b: b}
}

// anon is a client without a session.
func (e *env) anon() *client.Client { return client.New(client.Options{BaseURL: e.url}) }

// as is a client with tok.
func (e *env) as(tok string) *client.Client {
	return client.New(client.Options{BaseURL: e.url, Token: tok})
}

// owner registers the first user and returns its client.
func (e *env) owner() *client.Client {
	e.t.Helper()
	out, err := e.anon().Register(context.Background(), apitype.Credentials{Email: "owner@example.com", Password: "owner-password", SetupCode: setupCode})
	if err != nil {
		e.t.Fatalf("register owner: %v", err)
	}
	return e.as(out.Token)
}

// invite creates an invite for email, accepts it and logs the user in.
func (e *env) invite(by *client.Client, email, role string, vaults ...apitype.UserVault) *client.Client {
	e.t.Helper()
	ctx := context.Background()
	inv, err := by.CreateInvite(ctx, apitype.InviteRequest{Email: email, Role: role, Vaults: vaults})
	if err != nil {
		e.t.Fatalf("invite %s: %v", email, err)
	}
	if _, err := e.anon().AcceptInvite(ctx, inv.Token, "password-of-"+email); err != nil {
		e.t.Fatalf("accept %s: %v", email, err)
	}
	tok, err := e.anon().Login(ctx, apitype.Credentials{Email: email, Password: "password-of-" + email})
	if err != nil {
		e.t.Fatalf("login %s: %v", email, err)
	}
	return e.as(tok.Token)
}

// status returns the HTTP status of err (200 for nil).
func status(err error) int {
	if err == nil {
		return 200
	}
	if e, ok := err.(*client.APIError); ok {
		return e.Status
	}
	return -1
}
