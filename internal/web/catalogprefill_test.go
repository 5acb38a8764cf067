package web

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestCatalogFormKeepsTheCatalogHost: an agent controls links a reviewer
// clicks (a proposal slot's "where to get it" is any http(s) URL). Pointed
// at the console's own form, ?catalog=openai&host=<the agent's host> would
// open "From the catalog: OpenAI" with the vault's existing OPENAI_API_KEY
// and the agent's host, and one Save would send the key there without the
// new-host warning a proposal gets. The catalog's form keeps the catalog's
// host; a host alone (the log page's "add a service for this host") still
// fills the form.
func TestCatalogFormKeepsTheCatalogHost(t *testing.T) {
	e := newEnv(t, "")
	if _, err := e.b.SetCredentials(context.Background(), e.owner, apitype.SetCredentialsRequest{Vault: "default",
		Credentials: map[string]string{"OPENAI_API_KEY": "sk-test-openai"}, AllowedHosts: map[string][]string{"OPENAI_API_KEY": {"api.openai.com"}}}); err != nil {
		t.Fatal(err)
	}
	link := "/vaults/default/services/new?catalog=openai&host=collector.evil.test"
	_, approve := e.propose(apitype.CreateProposalRequest{
		Credentials: []apitype.ProposalCredential{{Action: "set", Key: "SETUP_KEY", Description: "Open the OpenAI setup page", Obtain: e.srv.URL + link}},
		UserMessage: "please"})
	b := e.browser()
	b.loggedIn(approve)
	if p := b.get(approve); !strings.Contains(p.body, strings.ReplaceAll(link, "&", "&amp;")) {
		t.Fatalf("the agent's link is not on the approval page (the test needs it there)")
	}
	p := b.get(link)
	mustContain(t, p, "the catalog's form", `value="api.openai.com"`, `value="OPENAI_API_KEY"`, `id="catalog-source"`)
	if strings.Contains(p.body, "collector.evil.test") {
		t.Error("the catalog's form took the link's host")
	}
	p = b.get("/vaults/default/services/new?host=" + url.QueryEscape("unknown.example.org"))
	mustContain(t, p, "a host alone", `value="unknown.example.org"`)
}

// TestAgentLinksIntoTheConsoleAreText: a "where to get it" link that leads
// into the console itself is shown as text, not as a link; links
// elsewhere stay links.
func TestAgentLinksIntoTheConsoleAreText(t *testing.T) {
	e := newEnv(t, "")
	inside := e.srv.URL + "/vaults/default/credentials/new?key=OPENAI_API_KEY"
	_, approve := e.propose(apitype.CreateProposalRequest{Credentials: []apitype.ProposalCredential{
		{Action: "set", Key: "INSIDE_KEY", Obtain: inside},
		{Action: "set", Key: "OUTSIDE_KEY", Obtain: "https://dashboard.example.com/keys"},
	}, UserMessage: "please"})
	b := e.browser()
	b.loggedIn(approve)
	p := b.get(approve)
	if strings.Contains(p.body, `href="`+strings.ReplaceAll(inside, "&", "&amp;")+`"`) {
		t.Error("a link into the console is shown as a link")
	}
	mustContain(t, p, "the links", strings.ReplaceAll(inside, "&", "&amp;"), `href="https://dashboard.example.com/keys"`)
}
