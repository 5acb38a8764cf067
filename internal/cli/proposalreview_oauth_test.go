package cli

import (
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The review of an OAuth slot shows the settings approval will store,
// a PKCE switched off by the agent included.
func TestProposalReviewShowsOAuthSettings(t *testing.T) {
	p := apitype.Proposal{Vault: "default", Status: "pending", Credentials: []apitype.ProposalCredential{
		{Action: "set", Key: "SLACK", Type: "oauth", OAuth: &apitype.OAuthConfig{TokenURL: "https://slack.test/api/oauth.v2.access",
			Scopes: apitype.OAuthScopes{"chat:write", "users:read"}, TokenAuthMethod: "client_secret_basic", DisablePKCE: true}},
		{Action: "set", Key: "PLAIN", Type: "oauth", OAuth: &apitype.OAuthConfig{TokenURL: "https://idp.test/token"}},
	}}
	var b strings.Builder
	writeProposalText(&b, p)
	out := b.String()
	if !strings.Contains(out, "oauth token URL: https://slack.test/api/oauth.v2.access, scopes: chat:write users:read, token auth: client_secret_basic, PKCE off\n") {
		t.Errorf("the Slack slot's settings are not all shown:\n%s", out)
	}
	if strings.Count(out, "PKCE off") != 1 || strings.Count(out, "token auth:") != 1 {
		t.Errorf("a slot with default settings shows some:\n%s", out)
	}
}
