package broker

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// The proxy's cost of an OAuth credential whose token is fresh, against a
// static credential: both come from the in-memory view; the OAuth one
// adds an expiry check. `go test -bench OAuthLookup ./internal/broker`.
func BenchmarkOAuthLookup(b *testing.B) {
	ctx := context.Background()
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		b.Fatal(err)
	}
	br := New(Options{Store: sqltest.Open(b), Keyring: kr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PasswordParams: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := br.Bootstrap(ctx); err != nil {
		b.Fatal(err)
	}
	reg, err := br.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	if err != nil {
		b.Fatal(err)
	}
	own, err := br.Authenticate(ctx, reg.Token)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := br.SetCredentials(ctx, own, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"STATIC": "static-value"}}); err != nil {
		b.Fatal(err)
	}
	if _, err := br.UploadOAuthTokens(ctx, own, apitype.OAuthTokensRequest{Vault: "default", Key: "OAUTH", AccessToken: "oauth-access-token"}); err != nil {
		b.Fatal(err)
	}
	g, err := br.ProxyAuthorize(ctx, reg.Token, "default")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("static", func(b *testing.B) {
		for b.Loop() {
			if _, ok := g.Credential("STATIC"); !ok {
				b.Fatal("missing")
			}
		}
	})
	b.Run("oauth", func(b *testing.B) {
		for b.Loop() {
			if !g.IsOAuth("OAUTH") {
				b.Fatal("not oauth")
			}
			if _, err := g.OAuthToken(ctx, "OAUTH"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
