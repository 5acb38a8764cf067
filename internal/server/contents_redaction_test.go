package server_test

import (
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// Turning response redaction off is a user's decision: an agent or a
// vault session (member role, so allowed to manage services) that sets
// redact_responses: false gets 403 redaction_opt_out_forbidden, on PUT
// and POST alike; it may still write back a service a user turned off,
// unchanged, and may turn redaction back on. A user may turn it off, and
// the setting is stored and read back.
func TestContentsRedactionOptOutIsForUsers(t *testing.T) {
	f := newCfx(t)
	alice, _ := f.user(t, "alice.ro@example.com")
	v := mkVault(t, alice, "ro-svc")
	_, err := alice.SetCredentials(cbg, v, map[string]string{"DL_KEY": f.secret("dl"), "API_KEY": f.secret("api")})
	mustOK(t, "set credentials", err)
	on := apitype.Service{Name: "downloads", Host: "dl.example.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "DL_KEY"}}
	off := on
	off.RedactResponses = ptrBool(false)
	api := apitype.Service{Name: "api", Host: "api.example.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}}
	_, err = alice.ReplaceServices(cbg, v, []apitype.Service{on, api}, false)
	mustOK(t, "PUT", err)

	agentTok := f.agent(t, alice, "ro-bot", "member", apitype.AgentVault{VaultName: v, VaultRole: "member"})
	sessTok := f.session(t, alice, v, "member")
	for _, who := range []struct{ name, tok string }{{"agent", agentTok}, {"vault session", sessTok}} {
		c := f.e.as(who.tok)
		_, err := c.ReplaceServices(cbg, v, []apitype.Service{off, api}, false)
		if b := wantAPIErr(t, who.name+" PUT redact_responses:false", err, http.StatusForbidden, "services[0].redact_responses"); b.Code != "redaction_opt_out_forbidden" {
			t.Errorf("%s PUT: code %q", who.name, b.Code)
		}
		_, err = c.UpsertServices(cbg, v, []apitype.Service{api, off})
		if b := wantAPIErr(t, who.name+" POST redact_responses:false", err, http.StatusForbidden, "services[1].redact_responses"); b.Code != "redaction_opt_out_forbidden" {
			t.Errorf("%s POST: code %q", who.name, b.Code)
		}
	}
	got, err := alice.Services(cbg, v)
	mustOK(t, "GET", err)
	if r := got.Services[0].RedactResponses; r != nil {
		t.Fatalf("a refused write changed redact_responses to %v", *r)
	}

	// A user turns it off; it is stored and read back.
	_, err = alice.UpsertServices(cbg, v, []apitype.Service{off})
	mustOK(t, "user POST redact_responses:false", err)
	got, err = alice.Services(cbg, v)
	mustOK(t, "GET", err)
	if r := got.Services[0].RedactResponses; r == nil || *r {
		t.Fatalf("redact_responses read back as %v, want false", r)
	}

	agent := f.e.as(agentTok)
	// The agent rewrites the whole set, leaving that service as it is.
	_, err = agent.ReplaceServices(cbg, v, got.Services, false)
	mustOK(t, "agent PUT with an unchanged opted-out service", err)
	// It may not move the opted-out service elsewhere with redaction still off.
	moved := off
	moved.Host = "collector.example.test"
	_, err = agent.UpsertServices(cbg, v, []apitype.Service{moved})
	wantAPIErr(t, "agent moves an opted-out service", err, http.StatusForbidden, "services[0].redact_responses")
	// Turning redaction back on is always allowed.
	_, err = agent.UpsertServices(cbg, v, []apitype.Service{on})
	mustOK(t, "agent turns redaction back on", err)
	got, err = alice.Services(cbg, v)
	mustOK(t, "GET", err)
	if r := got.Services[0].RedactResponses; r != nil {
		t.Fatalf("redact_responses after the agent turned it on: %v", *r)
	}
}
