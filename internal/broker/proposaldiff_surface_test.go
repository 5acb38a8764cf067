package broker

import (
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// A proposal that makes an existing credential be substituted on a request
// surface no service at that host uses for it yet (the agent then writes
// the value wherever it puts the placeholder, in content the upstream may
// store) warns the reviewer, naming the credential, the surface and the
// placeholder. Surfaces already in use, and new credentials (whose value
// the human supplies for this purpose), do not warn.
func TestProposalDiffWarnsOfNewSubstitutionSurfaces(t *testing.T) {
	st := pdState(t, []string{"GH_TOKEN", "Q_KEY"},
		pdBearer("github", "api.github.test", "GH_TOKEN"),
		apitype.Service{Name: "maps", Host: "maps.test", Auth: apitype.ServiceAuth{Type: "passthrough"},
			Substitutions: []apitype.Substitution{{Key: "Q_KEY", Placeholder: "__Q__", In: []string{"query"}}}})
	withSub := func(s apitype.Service, key, ph string, in ...string) apitype.Service {
		s.Substitutions = append(s.Substitutions, apitype.Substitution{Key: key, Placeholder: ph, In: in})
		return s
	}
	cases := []struct {
		name  string
		svc   apitype.Service
		creds []apitype.ProposalCredential
		want  []string // surfaces warned about, in order
	}{
		{"body on the human's service", withSub(pdBearer("github", "api.github.test", "GH_TOKEN"), "GH_TOKEN", "__GH__", "body"), nil, []string{"body"}},
		{"a new service at a narrower path", withSub(apitype.Service{Name: "issues", Host: "api.github.test/repos/*", Auth: apitype.ServiceAuth{Type: "passthrough"}}, "GH_TOKEN", "__GH__", "body", "header"), nil, []string{"body", "header"}},
		{"widening a query substitution", withSub(apitype.Service{Name: "maps", Host: "maps.test", Auth: apitype.ServiceAuth{Type: "passthrough"}}, "Q_KEY", "__Q__", "query", "websocket"), nil, []string{"websocket"}},
		{"a surface already in use", withSub(apitype.Service{Name: "tiles", Host: "maps.test/tiles/*", Auth: apitype.ServiceAuth{Type: "passthrough"}}, "Q_KEY", "__T__", "query"), nil, nil},
		{"a credential the proposal creates", withSub(apitype.Service{Name: "fresh", Host: "fresh.test", Auth: apitype.ServiceAuth{Type: "passthrough"}}, "NEW_KEY", "__N__", "body"),
			[]apitype.ProposalCredential{pdSlot("set", "NEW_KEY")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := proposalDiff(st, pdChanges(t, []apitype.ProposalService{pdSet(tc.svc)}, tc.creds))
			var got []string
			for _, w := range d.Warnings {
				if w.Code != apitype.WarnNewSurface {
					continue
				}
				got = append(got, w.Surfaces...)
				if w.Service != tc.svc.Name || !strings.Contains(w.Message, w.Key) || !strings.Contains(w.Message, w.Surfaces[0]) || !strings.Contains(w.Message, "__") {
					t.Errorf("warning %+v does not name the service, key, surface and placeholder", w)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("new-surface warnings for %v, want %v (all: %+v)", got, tc.want, d.Warnings)
			}
		})
	}
}

// A proposal that writes an existing credential into a header inside text
// of the agent's choosing (a callback URL) warns the reviewer; the value
// alone, after a scheme word, basic auth, a shape already in use at a
// covering host, and a credential the proposal creates do not.
func TestProposalDiffWarnsOfWrappedValues(t *testing.T) {
	st := pdState(t, []string{"GH_TOKEN", "S_KEY"},
		pdBearer("github", "api.github.test", "GH_TOKEN"),
		apitype.Service{Name: "search", Host: "api.search.test", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Key": "key={{ S_KEY }}"}}})
	custom := func(name, host, h, tmpl string) apitype.Service {
		return apitype.Service{Name: name, Host: host, Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{h: tmpl}}}
	}
	cases := []struct {
		name  string
		svc   apitype.Service
		creds []apitype.ProposalCredential
		warn  bool
	}{
		{"a callback URL around the token", custom("github", "api.github.test", "X-Callback-Url", "https://collector.test/?k={{ GH_TOKEN }}"), nil, true},
		{"an api-key prefix", apitype.Service{Name: "github", Host: "api.github.test", Auth: apitype.ServiceAuth{Type: "api-key", Key: "GH_TOKEN", Header: "X-Hook", Prefix: "https://c.test/?k="}}, nil, true},
		{"the value alone", custom("github", "api.github.test", "X-Token", "{{ GH_TOKEN }}"), nil, false},
		{"after a scheme word", custom("github", "api.github.test", "Authorization", "token {{ GH_TOKEN }}"), nil, false},
		{"a shape in use at a covering host", custom("search-v2", "api.search.test/v2/*", "X-Key", "key={{S_KEY}}"), nil, false},
		{"a credential the proposal creates", custom("fresh", "fresh.test", "X-Hook", "https://c.test/?k={{ NEW_KEY }}"), []apitype.ProposalCredential{pdSlot("set", "NEW_KEY")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := proposalDiff(st, pdChanges(t, []apitype.ProposalService{pdSet(tc.svc)}, tc.creds))
			got := false
			for _, w := range d.Warnings {
				if w.Code == apitype.WarnWrappedValue {
					got = true
					if w.Service != tc.svc.Name || !strings.Contains(w.Message, "{{") {
						t.Errorf("warning %+v does not name the service and show the shape", w)
					}
				}
			}
			if got != tc.warn {
				t.Errorf("wrapped_value warning = %v, want %v (all: %+v)", got, tc.warn, d.Warnings)
			}
		})
	}
}
