package web

import (
	"context"
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
