package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The approval's result page leads on to connecting each OAuth
// credential it added; for a slot that named no authorization URL (the
// agent asks for tokens the person already holds) it also says how to
// upload them.
func TestApprovalResultLeadsToOAuthConnect(t *testing.T) {
	e := newEnv(t, "")
	id, path := e.propose(apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{{Action: "set", Name: "crm", Host: "api.crm.example", Auth: &apitype.ServiceAuth{Type: "bearer", Token: "CRM"}},
			{Action: "set", Name: "llm", Host: "api.llm.example", Auth: &apitype.ServiceAuth{Type: "bearer", Token: "LLM"}}},
		Credentials: []apitype.ProposalCredential{
			{Action: "set", Key: "CRM", Type: "oauth", OAuth: &apitype.OAuthConfig{AuthorizationURL: "https://idp.example/authorize", TokenURL: "https://idp.example/token", ClientID: "c"}},
			{Action: "set", Key: "LLM", Type: "oauth", OAuth: &apitype.OAuthConfig{TokenURL: "https://llm.example/oauth/token"}},
		},
	})
	b := e.browser()
	b.loggedIn(path)
	b.get(path)
	p := b.post(path, url.Values{"action": {"approve"}, "csrf": {b.csrf()}})
	if p.status != http.StatusOK {
		t.Fatalf("approve %d: %d\n%s", id, p.status, p.body)
	}
	for _, want := range []string{`id="oauth-to-connect"`, `id="connect-CRM"`, `id="connect-LLM"`, `id="paste-LLM"`,
		"agent-vault vault credential oauth tokens LLM --vault default --refresh-token -"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("result page lacks %s:\n%s", want, p.body)
		}
	}
	if strings.Contains(p.body, `id="paste-CRM"`) {
		t.Errorf("the slot with an authorization URL is offered a token upload")
	}
}
