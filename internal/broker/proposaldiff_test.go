package broker

import (
	"slices"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
)

// pdState builds a vault state from wire-form services and credential keys.
func pdState(t *testing.T, keys []string, svcs ...apitype.Service) vaultState {
	t.Helper()
	st := vaultState{keys: map[string]bool{}}
	for _, k := range keys {
		st.keys[k] = true
	}
	for _, a := range svcs {
		s, err := service.FromAPI(a, "")
		if err != nil {
			t.Fatalf("state service %s: %v", a.Name, err)
		}
		st.services = append(st.services, s)
	}
	// Bound as users' saves (or the upgrade) would have bound them.
	st.bindings = map[string][]string{}
	for _, s := range st.services {
		for _, k := range s.ReferencedKeys() {
			st.bindings[k] = append(st.bindings[k], s.Pattern.String())
		}
	}
	return st
}

func pdBearer(name, host, key string) apitype.Service {
	return apitype.Service{Name: name, Host: host, Auth: apitype.ServiceAuth{Type: "bearer", Token: key}}
}

func pdSet(s apitype.Service) apitype.ProposalService {
	auth := s.Auth
	return apitype.ProposalService{Action: "set", Name: s.Name, Host: s.Host, Enabled: s.Enabled, Auth: &auth, Substitutions: s.Substitutions,
		AllowPlaintext: s.AllowPlaintext, Methods: s.Methods, Paths: s.Paths}
}

func pdDel(name string) apitype.ProposalService {
	return apitype.ProposalService{Action: "delete", Name: name}
}

func pdSlot(action, key string) apitype.ProposalCredential {
	return apitype.ProposalCredential{Action: action, Key: key}
}

// pdChanges turns wire-form changes into a proposal's changes without
// checking them against a vault (the diff must handle what a vault
// changed since).
func pdChanges(t *testing.T, svcs []apitype.ProposalService, creds []apitype.ProposalCredential) proposalChanges {
	t.Helper()
	var c proposalChanges
	for _, s := range svcs {
		act, ok := model.ParseProposalAction(s.Action)
		if !ok {
			t.Fatalf("action %q", s.Action)
		}
		sc := serviceChange{action: act, name: s.Name, host: s.Host}
		if act == model.ProposalSet {
			sc.spec = proposedService(s)
			svc, err := service.FromAPI(sc.spec, "")
			if err != nil {
				t.Fatalf("proposed service %s: %v", s.Name, err)
			}
			sc.svc = svc
		}
		c.services = append(c.services, sc)
	}
	for _, s := range creds {
		act, ok := model.ParseProposalAction(s.Action)
		if !ok {
			t.Fatalf("action %q", s.Action)
		}
		c.credentials = append(c.credentials, model.ProposedCredential{Action: act, Key: s.Key, Type: model.CredentialType(s.Type)})
	}
	return c
}

// pdField is one expected field comparison ("" sides are empty lists).
type pdField struct {
	name          string
	before, after string // lines joined with " | "
}

func TestProposalDiff(t *testing.T) {
	llm := pdBearer("llm", "api.openai.com", "LLM_API_KEY")
	keys := []string{"LLM_API_KEY", "OTHER_KEY"}
	cases := []struct {
		name     string
		state    vaultState
		services []apitype.ProposalService
		creds    []apitype.ProposalCredential
		// want
		change    string    // of the first service, if any
		fields    []pdField // changed fields of the first service, exactly
		warnings  []string  // "code: message" of every warning, in order
		credDiffs []string  // "KEY change" of every credential slot
	}{
		{
			name:     "moving a service and its credential to a new host",
			state:    pdState(t, keys, llm),
			services: []apitype.ProposalService{pdSet(pdBearer("llm", "collector.evil.test", "LLM_API_KEY"))},
			change:   "update",
			fields:   []pdField{{"host", "api.openai.com", "collector.evil.test"}},
			warnings: []string{"new_host: LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)"},
		},
		{
			name:     "a new service on a new host using an existing key",
			state:    pdState(t, keys, llm),
			services: []apitype.ProposalService{pdSet(pdBearer("exfil", "evil.test", "LLM_API_KEY"))},
			change:   "add",
			fields: []pdField{{"host", "", "evil.test"}, {"path scope", "", "all paths"}, {"enabled", "", "yes"}, {"auth type", "", "bearer"},
				{"headers", "", "Authorization: Bearer {{ LLM_API_KEY }}"}, {"credentials used", "", "LLM_API_KEY"}},
			warnings: []string{"new_host: LLM_API_KEY would be sent to a host it has never been sent to: evil.test (service exfil)"},
		},
		{
			name:     "a custom header naming every credential, on the same host",
			state:    pdState(t, keys, llm),
			services: []apitype.ProposalService{pdSet(apitype.Service{Name: "llm", Host: "api.openai.com", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Debug": "{{ LLM_API_KEY }}|{{ OTHER_KEY }}"}}})},
			change:   "update",
			fields: []pdField{{"auth type", "bearer", "custom"}, {"headers", "Authorization: Bearer {{ LLM_API_KEY }}", "X-Debug: {{ LLM_API_KEY }}|{{ OTHER_KEY }}"},
				{"credentials used", "LLM_API_KEY", "LLM_API_KEY | OTHER_KEY"}},
			warnings: []string{"new_host: OTHER_KEY would be sent to a host it has never been sent to: api.openai.com (service llm)",
				"wrapped_value: header x-debug would carry a credential inside text the agent chose: {{LLM_API_KEY}}|{{OTHER_KEY}} (service llm); an upstream that acts on that text (a callback URL) would send it on"},
		},
		{
			name:     "renaming the api-key header",
			state:    pdState(t, keys, apitype.Service{Name: "llm", Host: "api.openai.com", Auth: apitype.ServiceAuth{Type: "api-key", Key: "LLM_API_KEY"}}),
			services: []apitype.ProposalService{pdSet(apitype.Service{Name: "llm", Host: "api.openai.com", Auth: apitype.ServiceAuth{Type: "api-key", Key: "LLM_API_KEY", Header: "X-Forward-To", Prefix: "k="}})},
			change:   "update",
			fields:   []pdField{{"headers", "Authorization: {{ LLM_API_KEY }}", "X-Forward-To: k={{ LLM_API_KEY }}"}},
			warnings: []string{"wrapped_value: header x-forward-to would carry a credential inside text the agent chose: k={{LLM_API_KEY}} (service llm); an upstream that acts on that text (a callback URL) would send it on"},
		},
		{
			name:     "dropping a credential from a service",
			state:    pdState(t, keys, apitype.Service{Name: "dbase", Host: "db.example.com", Auth: apitype.ServiceAuth{Type: "basic", Username: "OTHER_KEY", Password: "LLM_API_KEY"}}),
			services: []apitype.ProposalService{pdSet(apitype.Service{Name: "dbase", Host: "db.example.com", Auth: apitype.ServiceAuth{Type: "basic", Username: "OTHER_KEY"}})},
			change:   "update",
			fields: []pdField{{"headers", "Authorization: Basic base64({{ OTHER_KEY }}:{{ LLM_API_KEY }})", "Authorization: Basic base64({{ OTHER_KEY }}:)"},
				{"credentials used", "LLM_API_KEY | OTHER_KEY", "OTHER_KEY"}},
		},
		{
			name: "dropping the method and path rules",
			state: pdState(t, keys, apitype.Service{Name: "llm", Host: "api.openai.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"},
				Methods: []string{"GET"}, Paths: &apitype.PathRules{Allow: []string{"/v1/*"}, Deny: []string{"/v1/admin*"}}}),
			services: []apitype.ProposalService{pdSet(pdBearer("llm", "api.openai.com", "LLM_API_KEY"))},
			change:   "update",
			fields:   []pdField{{"methods", "GET", ""}, {"paths allowed", "/v1/*", ""}, {"paths denied", "/v1/admin*", ""}},
		},
		{
			name:  "allowing plaintext",
			state: pdState(t, keys, pdBearer("llm", "llm.corp:8080", "LLM_API_KEY")),
			services: []apitype.ProposalService{pdSet(apitype.Service{Name: "llm", Host: "llm.corp:8080", Auth: apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"},
				AllowPlaintext: true})},
			change: "update",
			fields: []pdField{{"plaintext http", "", "allowed"}},
		},
		{
			// Not a new host, but the binding (api.openai.com/v1/*) grows.
			name:     "widening the path scope on the same host",
			state:    pdState(t, keys, pdBearer("llm", "api.openai.com/v1/*", "LLM_API_KEY")),
			services: []apitype.ProposalService{pdSet(pdBearer("llm", "api.openai.com", "LLM_API_KEY"))},
			change:   "update",
			fields:   []pdField{{"path scope", "/v1/*", "all paths"}},
			warnings: []string{"new_host: LLM_API_KEY is not bound to api.openai.com: approving lets it be sent there (service llm)"},
		},
		{
			name:  "adding a substitution with an existing key",
			state: pdState(t, keys, llm),
			services: []apitype.ProposalService{pdSet(apitype.Service{Name: "llm", Host: "api.openai.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"},
				Substitutions: []apitype.Substitution{{Key: "OTHER_KEY", Placeholder: "__OTHER__"}}})},
			change: "update",
			fields: []pdField{{"credentials used", "LLM_API_KEY", "LLM_API_KEY | OTHER_KEY"}, {"substitutions", "", "__OTHER__ → OTHER_KEY in path, query"}},
			warnings: []string{"new_host: OTHER_KEY would be sent to a host it has never been sent to: api.openai.com (service llm)",
				"new_surface: OTHER_KEY would be written into the request's path and query wherever the agent puts __OTHER__ (service llm): an upstream that stores it there would let the agent read it back"},
		},
		{
			name:     "a different port is a different host",
			state:    pdState(t, keys, llm),
			services: []apitype.ProposalService{pdSet(pdBearer("llm", "api.openai.com:8443", "LLM_API_KEY"))},
			change:   "update",
			fields:   []pdField{{"host", "api.openai.com", "api.openai.com:8443"}},
			warnings: []string{"new_host: LLM_API_KEY would be sent to a host it has never been sent to: api.openai.com:8443 (service llm)"},
		},
		{
			name:     "disabling a service",
			state:    pdState(t, keys, llm),
			services: []apitype.ProposalService{pdSet(apitype.Service{Name: "llm", Host: "api.openai.com", Enabled: new(false), Auth: llm.Auth})},
			change:   "update",
			fields:   []pdField{{"enabled", "yes", "no"}},
		},
		{
			name:     "a disabled service on the host does not count as sent there",
			state:    pdState(t, keys, apitype.Service{Name: "parked", Host: "collector.evil.test", Enabled: new(false), Auth: apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"}}),
			services: []apitype.ProposalService{pdSet(pdBearer("llm", "collector.evil.test", "LLM_API_KEY"))},
			change:   "add",
			fields:   []pdField{{"host", "", "collector.evil.test"}, {"path scope", "", "all paths"}, {"enabled", "", "yes"}, {"auth type", "", "bearer"}, {"headers", "", "Authorization: Bearer {{ LLM_API_KEY }}"}, {"credentials used", "", "LLM_API_KEY"}},
			warnings: []string{"new_host: LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)",
				`conflict: approving would leave an invalid service set: services[1].host: host pattern "collector.evil.test" is already used by services[0] (parked), which would always win; merge the two or change one pattern`},
		},
		{
			name:     "setting a service exactly as it is",
			state:    pdState(t, keys, llm),
			services: []apitype.ProposalService{pdSet(llm)},
			change:   "unchanged",
		},
		{
			name:     "removing a service",
			state:    pdState(t, keys, llm),
			services: []apitype.ProposalService{pdDel("llm")},
			change:   "remove",
			fields: []pdField{{"host", "api.openai.com", ""}, {"path scope", "all paths", ""}, {"enabled", "yes", ""}, {"auth type", "bearer", ""},
				{"headers", "Authorization: Bearer {{ LLM_API_KEY }}", ""}, {"credentials used", "LLM_API_KEY", ""}},
			warnings: []string{"removes_service: removes service llm (api.openai.com)"},
		},
		{
			name:     "removing a service that is already gone",
			state:    pdState(t, keys),
			services: []apitype.ProposalService{pdDel("llm")},
			change:   "unchanged",
		},
		{
			name:      "set on an existing credential replaces its value",
			state:     pdState(t, keys, llm),
			creds:     []apitype.ProposalCredential{pdSlot("set", "LLM_API_KEY")},
			warnings:  []string{"replaces_value: replaces the current value of LLM_API_KEY"},
			credDiffs: []string{"LLM_API_KEY replace"},
		},
		{
			name:      "set on a new credential for a new service warns of nothing",
			state:     pdState(t, keys, llm),
			services:  []apitype.ProposalService{pdSet(pdBearer("stripe", "api.stripe.com", "STRIPE_KEY"))},
			creds:     []apitype.ProposalCredential{pdSlot("set", "STRIPE_KEY")},
			change:    "add",
			fields:    []pdField{{"host", "", "api.stripe.com"}, {"path scope", "", "all paths"}, {"enabled", "", "yes"}, {"auth type", "", "bearer"}, {"headers", "", "Authorization: Bearer {{ STRIPE_KEY }}"}, {"credentials used", "", "STRIPE_KEY"}},
			credDiffs: []string{"STRIPE_KEY add"},
		},
		{
			name:      "deleting a credential no service uses",
			state:     pdState(t, keys, llm),
			creds:     []apitype.ProposalCredential{pdSlot("delete", "OTHER_KEY")},
			warnings:  []string{"deletes_credential: deletes credential OTHER_KEY and its current value"},
			credDiffs: []string{"OTHER_KEY delete"},
		},
		{
			name:  "conflict: deleting a credential a remaining service uses",
			state: pdState(t, keys, llm),
			creds: []apitype.ProposalCredential{pdSlot("delete", "LLM_API_KEY")},
			warnings: []string{"deletes_credential: deletes credential LLM_API_KEY and its current value",
				`conflict: approving would leave service "llm" without its credential LLM_API_KEY`},
			credDiffs: []string{"LLM_API_KEY delete"},
		},
		{
			name:     "conflict: the referenced credential was deleted after the proposal was made",
			state:    pdState(t, nil),
			services: []apitype.ProposalService{pdSet(pdBearer("llm", "api.openai.com", "LLM_API_KEY"))},
			change:   "add",
			fields:   []pdField{{"host", "", "api.openai.com"}, {"path scope", "", "all paths"}, {"enabled", "", "yes"}, {"auth type", "", "bearer"}, {"headers", "", "Authorization: Bearer {{ LLM_API_KEY }}"}, {"credentials used", "", "LLM_API_KEY"}},
			warnings: []string{`conflict: approving would leave service "llm" without its credential LLM_API_KEY`},
		},
		{
			name:     "conflict: another service took the host pattern since",
			state:    pdState(t, keys, llm),
			services: []apitype.ProposalService{pdSet(pdBearer("llm2", "api.openai.com", "LLM_API_KEY"))},
			change:   "add",
			fields:   []pdField{{"host", "", "api.openai.com"}, {"path scope", "", "all paths"}, {"enabled", "", "yes"}, {"auth type", "", "bearer"}, {"headers", "", "Authorization: Bearer {{ LLM_API_KEY }}"}, {"credentials used", "", "LLM_API_KEY"}},
			warnings: []string{`conflict: approving would leave an invalid service set: services[1].host: host pattern "api.openai.com" is already used by services[0] (llm), which would always win; merge the two or change one pattern`},
		},
		{
			name:     "the same key on the same host under another service is not a new host",
			state:    pdState(t, keys, pdBearer("llm", "api.openai.com/v1/*", "LLM_API_KEY")),
			services: []apitype.ProposalService{pdSet(pdBearer("llm-v2", "api.openai.com/v2/*", "LLM_API_KEY"))},
			change:   "add",
			fields:   []pdField{{"host", "", "api.openai.com"}, {"path scope", "", "/v2/*"}, {"enabled", "", "yes"}, {"auth type", "", "bearer"}, {"headers", "", "Authorization: Bearer {{ LLM_API_KEY }}"}, {"credentials used", "", "LLM_API_KEY"}},
			// ... but a path outside the binding (api.openai.com/v1/*).
			warnings: []string{"new_host: LLM_API_KEY is not bound to api.openai.com/v2/*: approving lets it be sent there (service llm-v2)"},
		},
		{
			name:     "within the binding: a narrower path on the same host",
			state:    pdState(t, keys, pdBearer("llm", "api.openai.com/v1/*", "LLM_API_KEY")),
			services: []apitype.ProposalService{pdSet(pdBearer("llm-chat", "api.openai.com/v1/chat/*", "LLM_API_KEY"))},
			change:   "add",
			fields:   []pdField{{"host", "", "api.openai.com"}, {"path scope", "", "/v1/chat/*"}, {"enabled", "", "yes"}, {"auth type", "", "bearer"}, {"headers", "", "Authorization: Bearer {{ LLM_API_KEY }}"}, {"credentials used", "", "LLM_API_KEY"}},
		},
		{
			name:     "a wildcard is not the same host as one name under it",
			state:    pdState(t, keys, pdBearer("github", "api.github.com", "OTHER_KEY")),
			services: []apitype.ProposalService{pdSet(pdBearer("github", "*.github.com", "OTHER_KEY"))},
			change:   "update",
			fields:   []pdField{{"host", "api.github.com", "*.github.com"}},
			warnings: []string{"new_host: OTHER_KEY would be sent to a host it has never been sent to: *.github.com (service github)"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := proposalDiff(c.state, pdChanges(t, c.services, c.creds))
			if len(d.Services) != len(c.services) || len(d.Credentials) != len(c.creds) {
				t.Fatalf("diff has %d services and %d credentials, want %d and %d", len(d.Services), len(d.Credentials), len(c.services), len(c.creds))
			}
			if len(c.services) > 0 {
				s := d.Services[0]
				if s.Change != c.change {
					t.Errorf("change = %q, want %q", s.Change, c.change)
				}
				var got []pdField
				for _, f := range s.Fields {
					if f.Changed {
						got = append(got, pdField{f.Field, strings.Join(f.Before, " | "), strings.Join(f.After, " | ")})
					} else if !slices.Equal(f.Before, f.After) {
						t.Errorf("field %s is marked unchanged but differs: %q → %q", f.Field, f.Before, f.After)
					}
				}
				if !slices.Equal(got, c.fields) {
					t.Errorf("changed fields:\n got %q\nwant %q", got, c.fields)
				}
			}
			var warns []string
			for _, w := range d.Warnings {
				warns = append(warns, w.Code+": "+w.Message)
			}
			if !slices.Equal(warns, c.warnings) {
				t.Errorf("warnings:\n got %q\nwant %q", warns, c.warnings)
			}
			var cds []string
			for _, cd := range d.Credentials {
				cds = append(cds, cd.Key+" "+cd.Change)
			}
			if !slices.Equal(cds, c.credDiffs) {
				t.Errorf("credential changes = %q, want %q", cds, c.credDiffs)
			}
		})
	}
}

// TestProposalDiffUpdateShowsUnchangedFields: an update lists every field
// of the service, the unchanged ones too, so that a reviewer sees the
// whole service after the change.
func TestProposalDiffUpdateShowsUnchangedFields(t *testing.T) {
	st := pdState(t, []string{"LLM_API_KEY"}, pdBearer("llm", "api.openai.com", "LLM_API_KEY"))
	d := proposalDiff(st, pdChanges(t, []apitype.ProposalService{pdSet(pdBearer("llm", "collector.evil.test", "LLM_API_KEY"))}, nil))
	var names []string
	for _, f := range d.Services[0].Fields {
		names = append(names, f.Field)
	}
	want := []string{"host", "path scope", "enabled", "auth type", "headers", "credentials used"}
	if !slices.Equal(names, want) {
		t.Errorf("fields = %q, want %q", names, want)
	}
}

// TestProposalDiffConflictMatchesApproval: the conflict the diff reports
// is the error the approval checks return on the same state.
func TestProposalDiffConflictMatchesApproval(t *testing.T) {
	st := pdState(t, []string{"K"}, pdBearer("svc-a", "a.example.com", "K"))
	svcs := pdChanges(t, []apitype.ProposalService{pdSet(pdBearer("svc-b", "a.example.com", "K"))}, nil)
	next, _ := planServices(st.services, svcs.services)
	want := checkServiceSet(next, st.keys)
	if want == nil {
		t.Fatal("the approval checks accept a duplicate host pattern")
	}
	d := proposalDiff(st, svcs)
	if n := len(d.Warnings); n != 1 || d.Warnings[0].Message != errMessage(want) {
		t.Errorf("diff warnings %+v, want the approval error %q", d.Warnings, errMessage(want))
	}
	if len(st.services) != 1 || st.services[0].Name != "svc-a" {
		t.Errorf("computing the diff changed the state: %+v", st.services)
	}
}

// TestApprovalMustMatchTheDiffShown: an approval carrying the fingerprint
// of the diff its reviewer saw is refused once the vault changed so that
// the diff differs (here: the credential's current host went away, so the
// move is no longer a move); the same state gives the same fingerprint.
func TestApprovalMustMatchTheDiffShown(t *testing.T) {
	llm := pdBearer("llm", "api.openai.com", "LLM_API_KEY")
	changes := pdChanges(t, []apitype.ProposalService{pdSet(pdBearer("llm", "collector.evil.test", "LLM_API_KEY"))}, nil)
	shown := pdState(t, []string{"LLM_API_KEY"}, llm)
	fp := proposalDiff(shown, changes).Fingerprint
	if len(fp) != 32 {
		t.Fatalf("fingerprint %q", fp)
	}
	cases := []struct {
		name  string
		st    vaultState
		fp    string
		wantE bool
	}{
		{"the state shown", pdState(t, []string{"LLM_API_KEY"}, llm), fp, false},
		{"no fingerprint: no check", pdState(t, []string{"LLM_API_KEY", "NEW"}), "", false},
		{"another service changed too", pdState(t, []string{"LLM_API_KEY", "NEW"}, llm, pdBearer("other", "other.example", "NEW")), fp, false},
		{"the service was changed since", pdState(t, []string{"LLM_API_KEY"}, pdBearer("llm", "api.openai.com/v1/*", "LLM_API_KEY")), fp, true},
		{"the credential was deleted since", pdState(t, nil), fp, true},
		{"a forged fingerprint", shown, "00000000000000000000000000000000", true},
	}
	for _, c := range cases {
		err := checkDiffShown(c.st, 7, changes, c.fp)
		if (err != nil) != c.wantE {
			t.Errorf("%s: err = %v, want error %v", c.name, err, c.wantE)
		}
		if err != nil && !strings.Contains(err.Error(), "review it again") {
			t.Errorf("%s: message %q does not say what to do", c.name, err)
		}
	}
}
