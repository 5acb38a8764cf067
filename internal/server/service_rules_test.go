package server_test

import (
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestAgentsCannotLoosenServiceRules plays a member-role agent that wants
// its credential used beyond a service's rules without asking a human:
// each write is refused with proposal_required and changes nothing; the
// same writes by a user, and narrowing writes by the agent, go through.
func TestAgentsCannotLoosenServiceRules(t *testing.T) {
	f := newCfx(t)
	_, err := f.own.SetCredentials(cbg, "default", map[string]string{"API_KEY": f.secret("api")})
	mustOK(t, "set API_KEY", err)
	ruled := func() apitype.Service {
		return apitype.Service{Name: "api", Host: "api.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"},
			Methods: []string{"GET"}, Paths: &apitype.PathRules{Allow: []string{"/v1/*"}, Deny: []string{"/v1/admin*"}}}
	}
	_, err = f.own.ReplaceServices(cbg, "default", []apitype.Service{ruled()}, false)
	mustOK(t, "owner sets the ruled service", err)
	tok := f.agent(t, f.own, "bot", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"})
	bot := f.e.as(tok)

	edit := func(fn func(*apitype.Service)) []apitype.Service { s := ruled(); fn(&s); return []apitype.Service{s} }
	attacks := []struct {
		name string
		do   func() error
	}{
		{"drop the methods", func() error {
			_, err := bot.UpsertServices(cbg, "default", edit(func(s *apitype.Service) { s.Methods = nil }))
			return err
		}},
		{"add a method", func() error {
			_, err := bot.UpsertServices(cbg, "default", edit(func(s *apitype.Service) { s.Methods = []string{"GET", "DELETE"} }))
			return err
		}},
		{"widen the allow list", func() error {
			_, err := bot.UpsertServices(cbg, "default", edit(func(s *apitype.Service) { s.Paths.Allow = []string{"/*"} }))
			return err
		}},
		{"drop the deny list", func() error {
			_, err := bot.ReplaceServices(cbg, "default", edit(func(s *apitype.Service) { s.Paths.Deny = nil }), false)
			return err
		}},
		{"turn plaintext on", func() error {
			_, err := bot.UpsertServices(cbg, "default", edit(func(s *apitype.Service) { s.AllowPlaintext = true }))
			return err
		}},
		{"a second, looser service with the same credential", func() error {
			_, err := bot.UpsertServices(cbg, "default", []apitype.Service{{Name: "api-v1", Host: "api.test/v1/*", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}}})
			return err
		}},
		{"rename it away with PUT", func() error {
			_, err := bot.ReplaceServices(cbg, "default", []apitype.Service{{Name: "api2", Host: "api.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}}}, false)
			return err
		}},
		{"remove it", func() error { _, err := bot.RemoveService(cbg, "default", "api"); return err }},
		{"clear the services", func() error { _, err := bot.ClearServices(cbg, "default"); return err }},
	}
	for _, a := range attacks {
		body := wantAPIErr(t, a.name, a.do(), http.StatusForbidden, "")
		if body.Code != "proposal_required" {
			t.Errorf("%s: code %q (%s), want proposal_required", a.name, body.Code, body.Error)
		}
		list, err := f.own.Services(cbg, "default")
		mustOK(t, "list", err)
		if len(list.Services) != 1 || list.Services[0].Name != "api" || len(list.Services[0].Methods) != 1 || list.Services[0].Paths == nil || len(list.Services[0].Paths.Deny) != 1 {
			t.Fatalf("%s changed the services: %+v", a.name, list.Services)
		}
	}
	// Narrowing is the agent's to do.
	_, err = bot.UpsertServices(cbg, "default", edit(func(s *apitype.Service) { s.Paths.Deny = append(s.Paths.Deny, "/v1/keys*") }))
	mustOK(t, "agent adds a deny glob", err)
	// A user loosens directly.
	_, err = f.own.UpsertServices(cbg, "default", edit(func(s *apitype.Service) { s.Methods = nil; s.AllowPlaintext = true }))
	mustOK(t, "owner loosens", err)
}
