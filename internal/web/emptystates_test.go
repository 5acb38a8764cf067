package web

import (
	"context"
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// Every list with nothing in it says so and what to do next: the page's
// empty-state element is there, with the next step in it.
func TestEmptyStatesSayWhatToDoNext(t *testing.T) {
	e := newEnv(t, "")
	if _, err := e.b.CreateVault(context.Background(), e.owner, apitype.CreateVaultRequest{Name: "fresh"}); err != nil {
		t.Fatal(err)
	}
	owner := e.ownerBrowser()
	e.addUser("loner@example.com", csrfPW, "", "") // in no vault
	loner := e.as("loner@example.com", csrfPW)
	for _, c := range []struct {
		b     *browser
		path  string
		wants []string
	}{
		{owner, "/vaults/fresh", []string{`id="no-services"`, `href="/vaults/fresh/catalog"`, `id="no-credentials"`, `href="/vaults/fresh/credentials"`}},
		{owner, "/vaults/fresh/credentials", []string{`id="no-credentials"`, "Add the first one below"}},
		{owner, "/vaults/fresh/services", []string{`id="no-services"`, "Pick one from the catalog"}},
		{owner, "/vaults/fresh/agents", []string{`id="no-agents"`, "Create one below"}},
		{owner, "/vaults/fresh/sessions", []string{`id="no-sessions"`, "Mint one below"}},
		{owner, "/vaults/fresh/logs", []string{`id="no-logs"`, "Start an agent", `id="no-hosts"`}},
		{owner, "/vaults/fresh/members", []string{`id="no-invites"`, "Invite someone below"}},
		{owner, "/proposals", []string{`id="empty"`, "An agent raises one"}},
		{owner, "/instance", []string{`id="no-instance-invites"`, "Invite someone below"}},
		{loner, "/vaults", []string{`id="empty"`, "Create one below"}},
	} {
		p := c.b.get(c.path)
		mustStatus(t, p, http.StatusOK, c.path)
		mustContain(t, p, c.path, c.wants...)
	}
}
