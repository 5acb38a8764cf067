package server_test

import (
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// A human disables a service (say, after an agent misused it); the agent
// must not be able to turn it back on, in one step or in two. Only a human
// enables a disabled service, directly or by approving a proposal.
func TestAgentsCannotEnableWhatAHumanDisabled(t *testing.T) {
	f := newCfx(t)
	_, err := f.own.SetCredentials(cbg, "default", map[string]string{"API_KEY": f.secret("api")})
	mustOK(t, "set API_KEY", err)
	off := false
	svc := func(name, host string, enabled *bool) apitype.Service {
		return apitype.Service{Name: name, Host: host, Enabled: enabled, Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}}
	}
	_, err = f.own.ReplaceServices(cbg, "default", []apitype.Service{svc("api", "api.test", nil)}, false)
	mustOK(t, "owner adds the service", err)
	_, err = f.own.SetServiceEnabled(cbg, "default", "api", false)
	mustOK(t, "owner disables it", err)
	tok := f.agent(t, f.own, "bot", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"})
	bot := f.e.as(tok)

	attacks := []struct {
		name string
		do   func() error
	}{
		{"enable it", func() error { _, err := bot.SetServiceEnabled(cbg, "default", "api", true); return err }},
		{"upsert it enabled", func() error {
			_, err := bot.UpsertServices(cbg, "default", []apitype.Service{svc("api", "api.test", nil)})
			return err
		}},
		{"replace the set with it enabled", func() error {
			_, err := bot.ReplaceServices(cbg, "default", []apitype.Service{svc("api", "api.test", nil)}, false)
			return err
		}},
		{"an enabled service for the same credential elsewhere on the host", func() error {
			_, err := bot.UpsertServices(cbg, "default", []apitype.Service{svc("api-v1", "api.test/v1/*", nil)})
			return err
		}},
		// Two steps: remove the disabled one, then add it again.
		{"remove it", func() error { _, err := bot.RemoveService(cbg, "default", "api"); return err }},
		{"clear the services", func() error { _, err := bot.ClearServices(cbg, "default"); return err }},
		{"replace it by another", func() error {
			_, err := bot.ReplaceServices(cbg, "default", []apitype.Service{svc("other", "other.test", nil)}, false)
			return err
		}},
	}
	for _, a := range attacks {
		body := wantAPIErr(t, a.name, a.do(), http.StatusForbidden, "")
		if body.Code != "proposal_required" {
			t.Errorf("%s: code %q (%s), want proposal_required", a.name, body.Code, body.Error)
		}
		list, err := f.own.Services(cbg, "default")
		mustOK(t, "list", err)
		if len(list.Services) != 1 || list.Services[0].Name != "api" || list.Services[0].Enabled == nil || *list.Services[0].Enabled {
			t.Fatalf("%s changed the services: %+v", a.name, list.Services)
		}
	}

	// Keeping it disabled while editing it is the agent's to do.
	_, err = bot.UpsertServices(cbg, "default", []apitype.Service{svc("api", "api.test", &off)})
	mustOK(t, "agent edits the disabled service, keeping it disabled", err)
	// A proposal carries the change to a human, who enables it directly.
	_, err = f.own.SetServiceEnabled(cbg, "default", "api", true)
	mustOK(t, "owner enables it", err)
	// Disabling is the agent's to do; turning it on again is not.
	_, err = bot.SetServiceEnabled(cbg, "default", "api", false)
	mustOK(t, "agent disables it", err)
	wantAPIErr(t, "agent enables it again", func() error { _, err := bot.SetServiceEnabled(cbg, "default", "api", true); return err }(), http.StatusForbidden, "")
}
