package broker

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/oauth"
)

// FuzzCheckConnect feeds connect requests as a caller could send them.
// Whatever checkConnect accepts builds an authorization URL that goes to
// the host it vetted and carries the vault's redirect URI and state once.
func FuzzCheckConnect(f *testing.F) {
	f.Add(`{"key":"K","authorization_url":"https://idp.example/a?prompt=consent","token_url":"https://idp.example/t","client_id":"c","scopes":"a b"}`)
	f.Add(`{"key":"K","authorization_url":"https://0x7f000001/a","token_url":"https://127.1/t","client_id":"c","scopes":["a","b"]}`)
	f.Add(`{"key":"K","authorization_url":"https://idp.example/a?redirect_uri=x&state=y","token_url":"https://idp.example/t","client_id":"c"}`)
	f.Add(`{"key":"K","authorization_url":"https://u@idp.example/a#f","token_url":"https://idp.example/t","client_id":"c","scope_separator":","}`)
	f.Fuzz(func(t *testing.T, body string) {
		var in apitype.OAuthConnectRequest
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		c, err := checkConnect(in)
		if err != nil {
			return
		}
		if numericHost(c.authHost) || numericHost(c.tokenHost) {
			t.Fatalf("accepted a numeric host: %q %q", c.authHost, c.tokenHost)
		}
		link, err := oauth.AuthorizationURL(oauth.AuthorizationRequest{Endpoint: c.authURL, ClientID: c.clientID, RedirectURI: "https://vault.example/v1/oauth/callback",
			State: "av_oast_s", Scopes: c.scopes, ScopeSeparator: c.separator, Challenge: "ch"})
		if err != nil {
			t.Fatalf("accepted %q but cannot build its URL: %v", c.authURL, err)
		}
		u, err := url.Parse(link)
		if err != nil || u.Scheme != "https" || u.Hostname() != c.authHost || u.User != nil {
			t.Fatalf("link %q leaves the vetted host %q", link, c.authHost)
		}
		q := u.Query()
		if len(q["redirect_uri"]) != 1 || q.Get("redirect_uri") != "https://vault.example/v1/oauth/callback" || len(q["state"]) != 1 || q.Get("state") != "av_oast_s" {
			t.Fatalf("link %q does not carry the redirect URI and state once", link)
		}
	})
}
