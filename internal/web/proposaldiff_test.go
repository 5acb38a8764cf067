package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// seedLLM gives the default vault the service an attacker wants to move:
// llm on api.openai.com with bearer LLM_API_KEY, plus a second credential.
func (e *env) seedLLM() {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default",
		Credentials: map[string]string{"LLM_API_KEY": "sk-web-diff-llm-1", "OTHER_KEY": "web-diff-other-2"}}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.b.UpsertServices(ctx, e.owner, "default", apitype.ServiceList{Services: []apitype.Service{
		{Name: "llm", Host: "api.openai.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"}},
		{Name: "search", Host: "api.search.example", Auth: apitype.ServiceAuth{Type: "api-key", Key: "OTHER_KEY", Header: "X-Search-Key"}},
	}}); err != nil {
		e.t.Fatal(err)
	}
}

// movingProposal moves llm (and its credential) to an attacker's host,
// changes search's api-key header to a custom header naming both keys,
// replaces a value and removes nothing else.
func movingProposal() apitype.CreateProposalRequest {
	return apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{
			{Action: "set", Name: "llm", Host: "collector.evil.test", Auth: &apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"}},
			{Action: "set", Name: "search", Host: "api.search.example", Auth: &apitype.ServiceAuth{Type: "custom",
				Headers: map[string]string{"X-Trace": "{{ OTHER_KEY }}:{{ LLM_API_KEY }}"}}},
		},
		Credentials: []apitype.ProposalCredential{{Action: "set", Key: "OTHER_KEY", Description: "rotated key"}},
		UserMessage: "routine update",
	}
}

// TestApprovalPageShowsDiffAndWarnings: the page an approver sees says, in
// warning style and before Allow, that the credential moves to a new host,
// that a value is replaced; and shows each field before → after, the
// api-key and custom header names included, logged in or not.
func TestApprovalPageShowsDiffAndWarnings(t *testing.T) {
	e := newEnv(t, "")
	e.seedLLM()
	_, path := e.propose(movingProposal())
	for _, loggedIn := range []bool{false, true} {
		b := e.browser()
		if loggedIn {
			b.loggedIn(path)
		}
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, p.status)
		}
		body := html.UnescapeString(p.body)
		warnings := section(t, body, `<section class="warnings" id="warnings">`)
		mustHave(t, "the warnings box", warnings,
			"LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)",
			"LLM_API_KEY would be sent to a host it has never been sent to: api.search.example (service search)",
			"replaces the current value of OTHER_KEY")
		mustHave(t, "the page", body,
			`<span class="action update">update</span> <strong>llm</strong>`,
			`<tr class="changed"><th>host</th><td class="before"><code class="del">api.openai.com</code> </td><td class="after"><code class="ins">collector.evil.test</code> </td></tr>`,
			`<tr class="same"><th>credentials used</th>`,
			`<code class="del">X-Search-Key: {{ OTHER_KEY }}</code>`,
			`<code class="ins">X-Trace: {{ OTHER_KEY }}:{{ LLM_API_KEY }}</code>`,
			`<tr class="changed"><th>auth type</th><td class="before"><code class="del">api-key</code> </td><td class="after"><code class="ins">custom</code> </td></tr>`,
			`<tr class="changed"><th>credentials used</th><td class="before"><code>OTHER_KEY</code> </td><td class="after"><code class="ins">LLM_API_KEY</code> <code>OTHER_KEY</code> </td></tr>`,
			`<p class="warn-line">replaces the current value of OTHER_KEY</p>`)
		if strings.Contains(body, "add or update") {
			t.Error("the page still says \"add or update\" for a pending proposal it can compare")
		}
		for _, v := range []string{"sk-web-diff-llm-1", "web-diff-other-2"} {
			if strings.Contains(p.body, v) {
				t.Errorf("the page shows a credential value")
			}
		}
	}
}

// TestApprovalPageShowsConflictBeforeAllow: what would make Allow fail is
// on the page before it is pressed; the removal of a service is called out.
func TestApprovalPageShowsConflictBeforeAllow(t *testing.T) {
	e := newEnv(t, "")
	e.seedLLM()
	_, path := e.propose(apitype.CreateProposalRequest{Services: []apitype.ProposalService{
		{Action: "set", Name: "llm-two", Host: "api.llm-two.example", Auth: &apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"}},
		{Action: "delete", Name: "search"},
	}})
	// After the proposal was raised, llm and its key are deleted: approving would fail.
	if _, err := e.b.ReplaceServices(context.Background(), e.owner, "default", apitype.ServiceList{Services: []apitype.Service{
		{Name: "search", Host: "api.search.example", Auth: apitype.ServiceAuth{Type: "api-key", Key: "OTHER_KEY", Header: "X-Search-Key"}},
	}}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.DeleteCredentials(context.Background(), e.owner, apitype.DeleteCredentialsRequest{Vault: "default", Keys: []string{"LLM_API_KEY"}}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.loggedIn(path)
	p := b.get(path)
	body := html.UnescapeString(p.body)
	conflicts := section(t, body, `<section class="alert conflict" id="conflicts" role="alert">`)
	mustHave(t, "the conflicts box", conflicts, "Approving now would fail", `approving would leave service "llm-two" without its credential LLM_API_KEY`)
	mustHave(t, "the warnings box", section(t, body, `<section class="warnings" id="warnings">`), "removes service search (api.search.example)")
	// The list shows the same, so that a reviewer sees it without opening the proposal.
	l := html.UnescapeString(b.get("/proposals").body)
	mustHave(t, "the list", l, "add service llm-two (api.llm-two.example)", "remove service search",
		`<div class="warn-line removes_service">removes service search (api.search.example)</div>`,
		`<div class="warn-line conflict">approving would leave service "llm-two" without its credential LLM_API_KEY</div>`)
}

// TestListShowsBeforeAfter: the list says what moves where.
func TestListShowsBeforeAfter(t *testing.T) {
	e := newEnv(t, "")
	e.seedLLM()
	e.propose(movingProposal())
	b := e.browser()
	b.loggedIn("/login")
	l := html.UnescapeString(b.get("/proposals").body)
	mustHave(t, "the list", l,
		"update service llm: host api.openai.com → collector.evil.test",
		"replace the value of OTHER_KEY",
		`<div class="warn-line new_host">LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)</div>`,
		`<div class="warn-line replaces_value">replaces the current value of OTHER_KEY</div>`)
}

// section is the HTML from start to the end of its element's section.
func section(t *testing.T, body, start string) string {
	t.Helper()
	i := strings.Index(body, start)
	if i < 0 {
		t.Fatalf("the page has no %s", start)
	}
	rest := body[i:]
	if j := strings.Index(rest, "</section>"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func mustHave(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

var diffRE = regexp.MustCompile(`name="diff" value="([0-9a-f]{32})"`)

// TestAllowAppliesOnlyTheDiffShown: the page posts back the fingerprint of
// the diff it showed; if the vault changed since so that the proposal now
// changes something else, Allow changes nothing and the page shows the
// new diff to review.
func TestAllowAppliesOnlyTheDiffShown(t *testing.T) {
	e := newEnv(t, "")
	e.seedLLM()
	id, path := e.propose(apitype.CreateProposalRequest{Services: []apitype.ProposalService{
		{Action: "set", Name: "llm", Host: "api.openai.com", Auth: &apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"},
			Substitutions: []apitype.Substitution{{Key: "LLM_API_KEY", Placeholder: "__LLM__"}}},
	}})
	b := e.browser()
	b.loggedIn(path)
	p := b.get(path)
	m := diffRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the approve form carries no diff fingerprint:\n%s", p.body)
	}
	shown := m[1]
	// Meanwhile llm moves to another host: the proposal would now move it back.
	if _, err := e.b.UpsertServices(context.Background(), e.owner, "default", apitype.ServiceList{Services: []apitype.Service{
		{Name: "llm", Host: "api.llm-proxy.example", Auth: apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"}},
	}}); err != nil {
		t.Fatal(err)
	}
	p = b.post(path, url.Values{"action": {"approve"}, "csrf": {b.csrf()}, "diff": {shown}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "no longer what you saw") {
		t.Fatalf("Allow after the vault changed: %d\n%s", p.status, p.body)
	}
	if st := e.proposal(id).Status; st != "pending" {
		t.Fatalf("status %s after a refused Allow", st)
	}
	body := html.UnescapeString(p.body)
	mustHave(t, "the page after the refusal", body, "LLM_API_KEY would be sent to a host it has never been sent to: api.openai.com (service llm)")
	fresh := diffRE.FindStringSubmatch(p.body)
	if fresh == nil || fresh[1] == shown {
		t.Fatalf("the page after the refusal carries fingerprint %v, want a new one", fresh)
	}
	if p = b.post(path, url.Values{"action": {"approve"}, "csrf": {b.csrf()}, "diff": {fresh[1]}}); p.status != http.StatusOK {
		t.Fatalf("Allow of the diff now shown: %d\n%s", p.status, p.body)
	}
}
