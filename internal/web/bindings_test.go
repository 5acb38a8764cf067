package web

import (
	"context"
	"html/template"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The vault page shows where each credential may be sent: the user's
// bindings, those an agent made for its own value (marked), and a
// credential bound nowhere.
func TestVaultPageShowsBindings(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default",
		Credentials: map[string]string{"STRIPE_KEY": "sk_bind_page_1", "UNUSED_KEY": "sk_bind_page_2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.UpsertServices(ctx, e.owner, "default", apitype.ServiceList{Services: []apitype.Service{
		{Name: "stripe", Host: "api.stripe.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "STRIPE_KEY"}}}}); err != nil {
		t.Fatal(err)
	}
	ag, err := e.b.CreateAgent(ctx, e.owner, apitype.CreateAgentRequest{Name: "binder", Vaults: []apitype.AgentVault{{VaultName: "default", VaultRole: "member"}}})
	if err != nil {
		t.Fatal(err)
	}
	bot := e.auth(ag.Token)
	if _, err := e.b.SetCredentials(ctx, bot, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"BOT_KEY": "sk_bind_page_3"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.UpsertServices(ctx, bot, "default", apitype.ServiceList{Services: []apitype.Service{
		{Name: "botsvc", Host: "bot.example.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "BOT_KEY"}}}}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.get("/login")
	b.post("/login", url.Values{"csrf": {b.csrf()}, "email": {ownerEmail}, "password": {ownerPW}})
	p := b.get("/vaults/default")
	row := func(key string) string {
		m := regexp.MustCompile(`<tr><td><code>` + key + `</code>.*</tr>`).FindString(p.body)
		if m == "" {
			t.Fatalf("no row for %s:\n%s", key, p.body)
		}
		return m
	}
	if r := row("STRIPE_KEY"); !strings.Contains(r, "<code>api.stripe.com</code>") || strings.Contains(r, "agent") {
		t.Errorf("STRIPE_KEY row: %s", r)
	}
	if r := row("UNUSED_KEY"); !strings.Contains(r, "never injected") {
		t.Errorf("UNUSED_KEY row: %s", r)
	}
	if r := row("BOT_KEY"); !strings.Contains(r, "<code>bot.example.com</code>") || !strings.Contains(r, "bound by an agent") || !strings.Contains(r, "value from an agent") {
		t.Errorf("BOT_KEY row: %s", r)
	}
	for _, v := range []string{"sk_bind_page_1", "sk_bind_page_2", "sk_bind_page_3"} {
		if strings.Contains(p.body, v) {
			t.Error("the vault page shows a credential value")
		}
	}
}

// boundHosts is where K may be sent.
func boundHosts(t *testing.T, e *env, key string) string {
	t.Helper()
	out, err := e.b.ListCredentials(context.Background(), e.owner, "default", false, key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out.Credentials[0].AllowedHosts, ",")
}

// The credentials page widens and narrows a binding: Add a host binds
// one more host; remove drops a host no service needs, and is refused,
// naming the service, for a host a service still sends the credential to.
func TestCredentialBindingsFromThePage(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"GH_TOKEN": "sk_bind_form_1"},
		AllowedHosts: map[string][]string{"GH_TOKEN": {"api.github.com"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.UpsertServices(ctx, e.owner, "default", apitype.ServiceList{Services: []apitype.Service{
		{Name: "github", Host: "api.github.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "GH_TOKEN"}}}}); err != nil {
		t.Fatal(err)
	}
	b := e.ownerBrowser()
	p := b.get("/vaults/default/credentials")
	mustContain(t, p, "the hosts", `aria-label="Remove host api.github.com from GH_TOKEN"`, `id="bind-GH_TOKEN"`)

	p = b.submit("/vaults/default/credentials", "/vaults/default/credentials/GH_TOKEN/bind", url.Values{"host": {"uploads.github.com"}})
	mustStatus(t, p, 303, "bind")
	if got := boundHosts(t, e, "GH_TOKEN"); got != "api.github.com,uploads.github.com" {
		t.Fatalf("after binding: %q", got)
	}
	p = b.get(p.header.Get("Location"))
	mustContain(t, p, "after binding", template.HTMLEscapeString(flashes["credential-bound"]), `aria-label="Remove host uploads.github.com from GH_TOKEN"`)

	// The host the service needs stays, and the page says which service.
	p = b.submit("/vaults/default/credentials", "/vaults/default/credentials/GH_TOKEN/unbind", url.Values{"host": {"api.github.com"}})
	if p.status < 400 || !strings.Contains(errorOf(p.body), "github") || !strings.Contains(errorOf(p.body), "The binding was not changed") {
		t.Fatalf("unbinding a host a service needs: %d %q", p.status, errorOf(p.body))
	}
	if got := boundHosts(t, e, "GH_TOKEN"); got != "api.github.com,uploads.github.com" {
		t.Fatalf("a refused unbind changed the binding: %q", got)
	}
	p = b.submit("/vaults/default/credentials", "/vaults/default/credentials/GH_TOKEN/unbind", url.Values{"host": {"uploads.github.com"}})
	mustStatus(t, p, 303, "unbind")
	if got := boundHosts(t, e, "GH_TOKEN"); got != "api.github.com" {
		t.Fatalf("after unbinding: %q", got)
	}
	if strings.Contains(b.get("/vaults/default/credentials").body, "sk_bind_form_1") {
		t.Fatal("the credentials page shows the value")
	}
}
