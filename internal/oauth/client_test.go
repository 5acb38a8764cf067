package oauth_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/oauth/oauthtest"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// loopback lets the client reach the fixture on 127.0.0.1 and nothing
// else private.
func loopback(p *oauthtest.Server) *oauth.Client {
	return &oauth.Client{Dialer: &netguard.Dialer{Policy: netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}, RootCAs: p.CertPool()}
}

func TestTokenGrantsAndAuthMethods(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{RotateRefresh: true})
	for _, m := range []oauth.AuthMethod{oauth.AuthBasic, oauth.AuthPost, oauth.AuthNone} {
		t.Run(string(m), func(t *testing.T) {
			sec := "s3cret-" + string(m)
			if m == oauth.AuthNone {
				sec = ""
			}
			p.AddClient(oauthtest.Client{ID: "c-" + string(m), Secret: sec, AuthMethod: string(m), RedirectURI: "https://vault.example/v1/oauth/callback"})
			first := p.Authorize(t, "c-"+string(m), "read")
			c := loopback(p)
			cfg := oauth.Config{TokenURL: p.TokenURL, ClientID: "c-" + string(m), ClientSecret: secret.FromString(sec), AuthMethod: m}
			tok, err := c.Token(context.Background(), oauth.Request{Config: cfg, Grant: oauth.GrantRefreshToken, RefreshToken: secret.FromString(first.Refresh)})
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if got := p.LastAuthMethod(); got != string(m) {
				t.Errorf("presented %s, want %s", got, m)
			}
			if tok.Access.IsEmpty() || string(tok.Access.Reveal()) == first.Access || tok.Refresh.IsEmpty() || string(tok.Refresh.Reveal()) == first.Refresh {
				t.Errorf("want new access and rotated refresh tokens")
			}
			if tok.ExpiresAt.IsZero() {
				t.Errorf("no expiry")
			}
			// The used refresh token is revoked by rotation.
			_, err = c.Token(context.Background(), oauth.Request{Config: cfg, Grant: oauth.GrantRefreshToken, RefreshToken: secret.FromString(first.Refresh)})
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Kind != oauth.ErrRejected || oe.Code != "invalid_grant" {
				t.Fatalf("reused refresh token: %v, want rejected invalid_grant", err)
			}
		})
	}
	p.AddClient(oauthtest.Client{ID: "m2m", Secret: "m2m-secret", AuthMethod: "client_secret_basic"})
	tok, err := loopback(p).Token(context.Background(), oauth.Request{Config: oauth.Config{TokenURL: p.TokenURL, ClientID: "m2m", ClientSecret: secret.FromString("m2m-secret"), AuthMethod: oauth.AuthBasic, Scopes: []string{"a", "b"}}, Grant: oauth.GrantClientCredentials})
	if err != nil || tok.Access.IsEmpty() || tok.Scope != "a b" {
		t.Fatalf("client credentials: %v scope %q", err, tok.Scope)
	}
	if p.Hits("client_credentials") != 1 {
		t.Errorf("hits %d", p.Hits("client_credentials"))
	}
}

func TestTokenRefusesPrivateAddressesByDefault(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	p.AddClient(oauthtest.Client{ID: "m2m", Secret: "m2m-secret", AuthMethod: "client_secret_post"})
	c := &oauth.Client{RootCAs: p.CertPool()}
	_, err := c.Token(context.Background(), oauth.Request{Config: oauth.Config{TokenURL: p.TokenURL, ClientID: "m2m", ClientSecret: secret.FromString("m2m-secret")}, Grant: oauth.GrantClientCredentials})
	var oe *oauth.Error
	if !errors.As(err, &oe) || oe.Kind != oauth.ErrBlocked {
		t.Fatalf("got %v, want blocked", err)
	}
	if p.TokenHits() != 0 {
		t.Fatalf("the blocked endpoint was reached")
	}
	if strings.Contains(err.Error(), "m2m-secret") {
		t.Fatalf("secret in error")
	}
}
