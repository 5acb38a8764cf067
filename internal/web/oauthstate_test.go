package web

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// An OAuth credential shows its state in the console's lists, and
// neither the lists nor a reveal (password given) show its token.
func TestOAuthCredentialStateShownTokenNever(t *testing.T) {
	e := newEnv(t, "")
	const token = "ya29.console-oauth-access-token-value"
	if _, err := e.b.UploadOAuthTokens(context.Background(), e.owner, apitype.OAuthTokensRequest{Vault: "default", Key: "GH_OAUTH", AccessToken: token}); err != nil {
		t.Fatal(err)
	}
	b := e.ownerBrowser()
	for _, path := range []string{"/vaults/default/credentials", "/vaults/default"} {
		p := b.get(path)
		mustStatus(t, p, 200, path)
		mustContain(t, p, path, "GH_OAUTH", "oauth", "connected")
		if strings.Contains(p.body, token) {
			t.Fatalf("%s shows the token", path)
		}
	}
	// The row offers Connect, never a static value's Replace or Reveal.
	list := b.get("/vaults/default/credentials")
	if !strings.Contains(list.body, `id="connect-GH_OAUTH"`) || strings.Contains(list.body, "credentials/GH_OAUTH/reveal") || strings.Contains(list.body, "key=GH_OAUTH#set") {
		t.Fatalf("the OAuth row's actions are wrong:\n%s", list.body)
	}
	const reveal = "/vaults/default/credentials/GH_OAUTH/reveal"
	p := b.submit(reveal, reveal, url.Values{"password": {ownerPW}})
	if p.status == 200 || strings.Contains(p.body, token) || !strings.Contains(p.body, "never shown") {
		t.Fatalf("reveal of an OAuth credential: %d\n%s", p.status, p.body)
	}
}
