package broker_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/oauth/oauthtest"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// sharedClock is one clock for both servers, moved forward by the test.
type sharedClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *sharedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }

// Two servers on one PostgreSQL database renew a due OAuth token while
// the provider is slow: the second waits on the credential's lock while
// the first's refresh is in flight, then takes the tokens the first
// stored, so the provider sees exactly one refresh (with rotating
// refresh tokens a second one would spend a revoked refresh token).
// Without the cross-server lock the second asks the provider at once,
// and the test fails on that hit, not on timing.
func TestOAuthRenewalOnceAcrossServers(t *testing.T) {
	if !sqltest.Postgres() {
		t.Skip("servers share a database on PostgreSQL only: run with AGENT_VAULT_TEST_ENGINE=postgres (scripts/pg-test.sh)")
	}
	ctx := context.Background()
	p := oauthtest.Start(t, oauthtest.Options{RotateRefresh: true})
	p.AddClient(oauthtest.Client{ID: "app", Secret: "shared-secret", AuthMethod: "client_secret_post", RedirectURI: "https://vault.example/v1/oauth/callback"})
	dbA, dbB := sqltest.OpenTwo(t)
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	clk := &sharedClock{}
	loop := netip.MustParsePrefix("127.0.0.1/32")
	server := func(db *sqlstore.DB) *broker.Broker {
		oc := &oauth.Client{Dialer: &netguard.Dialer{Policy: netguard.Policy{Allow: []netip.Prefix{loop}}}, RootCAs: p.CertPool()}
		b := broker.New(broker.Options{Store: db, Keyring: kr, PasswordParams: password.Params{Time: 1, MemoryKiB: 64, Threads: 1},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.Now, OAuth: oc})
		if err := b.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := server(dbA), server(dbB)
	reg, err := a.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	if err != nil {
		t.Fatal(err)
	}
	own, err := a.Authenticate(ctx, reg.Token)
	if err != nil {
		t.Fatal(err)
	}
	pasted := p.Authorize(t, "app", "")
	if _, err := a.UploadOAuthTokens(ctx, own, apitype.OAuthTokensRequest{Vault: "default", Key: "SHARED", RefreshToken: pasted.Refresh,
		TokenURL: p.TokenURL, ClientID: "app", ClientSecret: "shared-secret"}); err != nil {
		t.Fatal(err)
	}
	ga, err := a.ProxyAuthorize(ctx, reg.Token, "default")
	if err != nil {
		t.Fatal(err)
	}
	gb, err := b.ProxyAuthorize(ctx, reg.Token, "default")
	if err != nil {
		t.Fatal(err)
	}
	// Both servers hold the uploaded token in memory.
	first, err := ga.OAuthToken(ctx, "SHARED")
	if err != nil {
		t.Fatal(err)
	}
	if fb, err := gb.OAuthToken(ctx, "SHARED"); err != nil || !bytes.Equal(fb, first) {
		t.Fatalf("server B before expiry: %v (same token %v)", err, bytes.Equal(fb, first))
	}
	before := p.Hits("refresh_token")

	clk.mu.Lock()
	clk.off = 2 * time.Hour // the token is past due on both servers
	clk.mu.Unlock()
	release := p.PauseTokenRequests()
	defer release()
	type result struct {
		tok []byte
		err error
	}
	resA, resB := make(chan result, 1), make(chan result, 1)
	go func() { tok, err := ga.OAuthToken(ctx, "SHARED"); resA <- result{tok, err} }()
	waitUntil(t, "server A's refresh to reach the provider", func() bool { return p.Hits("refresh_token") == before+1 })
	go func() { tok, err := gb.OAuthToken(ctx, "SHARED"); resB <- result{tok, err} }()
	waiters := func() int {
		var n int
		if err := dbA.SQL().QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitUntil(t, "server B to wait on the credential's lock (or ask the provider)", func() bool {
		return waiters() > 0 || p.Hits("refresh_token") > before+1
	})
	if got := p.Hits("refresh_token") - before; got != 1 {
		t.Fatalf("server B asked the provider while server A's refresh was in flight: %d refreshes", got)
	}
	release()
	ra, rb := <-resA, <-resB
	if ra.err != nil || rb.err != nil {
		t.Fatalf("renewals: A %v, B %v", ra.err, rb.err)
	}
	if bytes.Equal(ra.tok, first) || !bytes.Equal(ra.tok, rb.tok) {
		t.Fatalf("after the renewal the servers inject different tokens, or the old one")
	}
	if got := p.Hits("refresh_token") - before; got != 1 {
		t.Fatalf("%d refreshes for a token due on two servers, want exactly 1", got)
	}
}

// waitUntil polls cond until it holds, failing t after a generous bound
// (a wait for an event, not a measure of speed).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
