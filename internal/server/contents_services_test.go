package server_test

import (
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func TestContentsServices(t *testing.T) {
	servicesScenario(t, newCfx(t), "sv")
}

func TestContentsServiceValidation(t *testing.T) {
	serviceValidationScenario(t, newCfx(t), "sx")
}

// svcNames lists service names in order.
func svcNames(l apitype.ServiceList) []string {
	out := []string{}
	for _, s := range l.Services {
		out = append(out, s.Name)
	}
	return out
}

func bearerSvc(name, host, key string) apitype.Service {
	return apitype.Service{Name: name, Host: host, Auth: apitype.ServiceAuth{Type: "bearer", Token: key}}
}

// servicesScenario: PUT replaces (idempotently), POST upserts in place,
// PATCH and DELETE by name or host (slashes included), ambiguous hosts,
// clear, and who may write.
func servicesScenario(t *testing.T, f *cfx, p string) {
	alice, aliceTok := f.user(t, "alice."+p+"@example.com")
	bob, _ := f.user(t, "bob."+p+"@example.com")
	v := mkVault(t, alice, p+"-svc")
	_, err := alice.AddVaultUser(cbg, v, apitype.VaultUserRequest{Email: "bob." + p + "@example.com", Role: "member"})
	mustOK(t, "add bob", err)
	_, err = alice.SetCredentials(cbg, v, map[string]string{
		"STRIPE_KEY": f.secret("stripe"), "SLACK_BOT": f.secret("slack-bot"), "SLACK_USER": f.secret("slack-user"),
		"GH_USER": f.secret("gh-user"), "GH_PASS": f.secret("gh-pass"), "CUSTOM_KEY": f.secret("custom"),
	})
	mustOK(t, "set credentials", err)

	set := []apitype.Service{
		bearerSvc("stripe", "api.stripe.com", "STRIPE_KEY"),
		bearerSvc("slack-bot", "slack.com/api/*", "SLACK_BOT"),
		bearerSvc("slack-files", "slack.com/files/*", "SLACK_USER"),
		{Name: "github", Host: "*.github.com", Auth: apitype.ServiceAuth{Type: "basic", Username: "GH_USER", Password: "GH_PASS"}},
		{Name: "internal", Host: "internal.corp:3000/api/*", Enabled: ptrBool(false), Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Auth": "Key {{ CUSTOM_KEY }}"}}},
		{Name: "open", Host: "open.example.com", Auth: apitype.ServiceAuth{Type: "passthrough"}},
	}
	rep, err := alice.ReplaceServices(cbg, v, set, false)
	if err != nil || rep.ServicesCount != len(set) || rep.DryRun || rep.Vault != v {
		t.Fatalf("PUT = %+v, %v", rep, err)
	}
	first := f.raw(t, http.MethodGet, "/v1/vaults/"+v+"/services", aliceTok, nil)
	if _, err := alice.ReplaceServices(cbg, v, set, false); err != nil {
		t.Fatal(err)
	}
	second := f.raw(t, http.MethodGet, "/v1/vaults/"+v+"/services", aliceTok, nil)
	if first.code != 200 || !bytes.Equal(first.body, second.body) {
		t.Errorf("PUT twice is not idempotent:\n%s\n%s", first.body, second.body)
	}
	got, err := bob.Services(cbg, v)
	mustOK(t, "GET", err)
	if want := []string{"stripe", "slack-bot", "slack-files", "github", "internal", "open"}; !reflect.DeepEqual(svcNames(got), want) {
		t.Errorf("GET order = %v, want %v", svcNames(got), want)
	}
	// Reads return what was written, with enabled made explicit.
	for i, s := range got.Services {
		if s.Host != set[i].Host || s.Enabled == nil || *s.Enabled != (set[i].Enabled == nil || *set[i].Enabled) || s.Auth.Type != set[i].Auth.Type {
			t.Errorf("service %d read back as %+v, wrote %+v", i, s, set[i])
		}
	}
	// The stored set holds key names only: no value reaches a service read.
	f.mu.Lock()
	for _, s := range f.secrets {
		if strings.HasPrefix(s, "sv-") && bytes.Contains(first.body, []byte(s)) {
			t.Errorf("a credential value appears in GET services")
		}
	}
	f.mu.Unlock()

	// PUT replaces the whole set.
	_, err = alice.ReplaceServices(cbg, v, set[:1], false)
	mustOK(t, "PUT one", err)
	if got, _ := alice.Services(cbg, v); !reflect.DeepEqual(svcNames(got), []string{"stripe"}) {
		t.Errorf("after PUT [stripe]: %v", svcNames(got))
	}
	_, err = alice.ReplaceServices(cbg, v, set, false)
	mustOK(t, "PUT all again", err)

	// POST upserts by name, in place, appending new names.
	up, err := bob.UpsertServices(cbg, v, []apitype.Service{
		bearerSvc("slack-bot", "slack.com/api/*", "SLACK_USER"),
		bearerSvc("new-svc", "new.example.com", "STRIPE_KEY"),
	})
	if err != nil || !reflect.DeepEqual(up.Upserted, []string{"slack-bot", "new-svc"}) || up.ServicesCount != 7 {
		t.Errorf("POST = %+v, %v", up, err)
	}
	got, _ = alice.Services(cbg, v)
	if want := []string{"stripe", "slack-bot", "slack-files", "github", "internal", "open", "new-svc"}; !reflect.DeepEqual(svcNames(got), want) {
		t.Errorf("after upsert: %v, want %v", svcNames(got), want)
	} else if got.Services[1].Auth.Token != "SLACK_USER" {
		t.Errorf("upsert did not replace slack-bot: %+v", got.Services[1].Auth)
	}
	_, err = bob.UpsertServices(cbg, v, nil)
	wantAPIErr(t, "POST nothing", err, 400, "services")

	// PATCH by name, by host, and by a host with a path (slashes).
	pt, err := bob.SetServiceEnabled(cbg, v, "stripe", false)
	if err != nil || pt.Name != "stripe" || pt.Host != "api.stripe.com" || pt.Enabled {
		t.Errorf("disable by name = %+v, %v", pt, err)
	}
	pt, err = bob.SetServiceEnabled(cbg, v, "api.stripe.com", true)
	if err != nil || pt.Name != "stripe" || !pt.Enabled {
		t.Errorf("enable by host = %+v, %v", pt, err)
	}
	pt, err = bob.SetServiceEnabled(cbg, v, "slack.com/api/*", false)
	if err != nil || pt.Name != "slack-bot" || pt.Enabled {
		t.Errorf("disable by host with path = %+v, %v", pt, err)
	}
	pt, err = bob.SetServiceEnabled(cbg, v, "internal.corp:3000/api/*", true)
	if err != nil || pt.Name != "internal" || !pt.Enabled {
		t.Errorf("enable by host with port and path = %+v, %v", pt, err)
	}
	got, _ = alice.Services(cbg, v)
	for _, s := range got.Services {
		want := s.Name != "slack-bot"
		if *s.Enabled != want {
			t.Errorf("%s enabled = %v, want %v", s.Name, *s.Enabled, want)
		}
	}
	if r := f.raw(t, http.MethodPatch, "/v1/vaults/"+v+"/services/stripe", aliceTok, `{}`); r.code != 400 {
		t.Errorf("PATCH without enabled = %d, want 400", r.code)
	}
	_, err = bob.SetServiceEnabled(cbg, v, "nope.example.com", true)
	wantAPIErr(t, "PATCH unknown", err, 404, "")

	// A bare host naming two services: 409 with the candidates.
	before, _ := alice.Services(cbg, v)
	for _, m := range []string{http.MethodPatch, http.MethodDelete} {
		var body any
		if m == http.MethodPatch {
			body = apitype.ServicePatch{Enabled: ptrBool(false)}
		}
		r := f.raw(t, m, "/v1/vaults/"+v+"/services/slack.com", aliceTok, body)
		if r.code != 409 {
			t.Errorf("%s bare host = %d %s, want 409", m, r.code, r.body)
			continue
		}
		var amb apitype.AmbiguousService
		r.into(t, &amb)
		want := []apitype.ServiceCandidate{{Name: "slack-bot", Host: "slack.com/api/*"}, {Name: "slack-files", Host: "slack.com/files/*"}}
		if !reflect.DeepEqual(amb.Candidates, want) || amb.Error == "" || !strings.Contains(amb.Error, "slack.com") {
			t.Errorf("%s bare host body = %s; want candidates %v", m, r.body, want)
		}
	}
	if after, _ := alice.Services(cbg, v); !reflect.DeepEqual(after, before) {
		t.Errorf("an ambiguous PATCH/DELETE changed the services")
	}

	// DELETE by host with a path, by name; then clear.
	rm, err := bob.RemoveService(cbg, v, "slack.com/files/*")
	if err != nil || rm.Removed != "slack-files" || rm.RemovedHost != "slack.com/files/*" || rm.ServicesCount != 6 {
		t.Errorf("DELETE by host = %+v, %v", rm, err)
	}
	rm, err = bob.RemoveService(cbg, v, "new-svc")
	if err != nil || rm.Removed != "new-svc" || rm.ServicesCount != 5 {
		t.Errorf("DELETE by name = %+v, %v", rm, err)
	}
	_, err = bob.RemoveService(cbg, v, "new-svc")
	wantAPIErr(t, "DELETE twice", err, 404, "")
	// Now the bare host names one service only.
	if pt, err := bob.SetServiceEnabled(cbg, v, "slack.com", true); err != nil || pt.Name != "slack-bot" {
		t.Errorf("bare host after removal = %+v, %v", pt, err)
	}
	got, _ = alice.Services(cbg, v)
	if want := []string{"stripe", "slack-bot", "github", "internal", "open"}; !reflect.DeepEqual(svcNames(got), want) {
		t.Errorf("after deletes: %v, want %v", svcNames(got), want)
	}

	// Who may write: proxy agents and proxy sessions not; members yes.
	proxyTok := f.agent(t, alice, p+"-proxy-bot", "", apitype.AgentVault{VaultName: v, VaultRole: "proxy"})
	proxySess := f.session(t, alice, v, "proxy")
	for name, tok := range map[string]string{"proxy agent": proxyTok, "proxy session": proxySess} {
		c := f.e.as(tok)
		if _, err := c.Services(cbg, v); err != nil {
			t.Errorf("%s GET services: %v", name, err)
		}
		_, err := c.ReplaceServices(cbg, v, set[:1], false)
		wantAPIErr(t, name+" PUT", err, 403, "")
		_, err = c.UpsertServices(cbg, v, set[:1])
		wantAPIErr(t, name+" POST", err, 403, "")
		_, err = c.SetServiceEnabled(cbg, v, "stripe", false)
		wantAPIErr(t, name+" PATCH", err, 403, "")
		_, err = c.RemoveService(cbg, v, "stripe")
		wantAPIErr(t, name+" DELETE one", err, 403, "")
		_, err = c.ClearServices(cbg, v)
		wantAPIErr(t, name+" DELETE all", err, 403, "")
	}
	if after, _ := alice.Services(cbg, v); !reflect.DeepEqual(svcNames(after), svcNames(got)) {
		t.Errorf("refused writes changed the services: %v", svcNames(after))
	}
	// A stranger cannot see the vault at all.
	carol, _ := f.user(t, "carol."+p+"@example.com")
	_, err = carol.Services(cbg, v)
	wantAPIErr(t, "non-member GET", err, 404, "")

	// Member user replaces; then clears.
	if _, err := bob.ReplaceServices(cbg, v, set[:2], false); err != nil {
		t.Errorf("member PUT: %v", err)
	}
	cl, err := bob.ClearServices(cbg, v)
	if err != nil || !cl.Cleared {
		t.Errorf("clear = %+v, %v", cl, err)
	}
	r := f.raw(t, http.MethodGet, "/v1/vaults/"+v+"/services", aliceTok, nil)
	if r.code != 200 || !bytes.Contains(r.body, []byte(`"services":[]`)) {
		t.Errorf("after clear: %d %s, want an empty list", r.code, r.body)
	}
	// A key no service uses any more can be deleted again.
	if _, err := alice.DeleteCredentials(cbg, v, []string{"STRIPE_KEY"}); err != nil {
		t.Errorf("delete a key after clearing services: %v", err)
	}
}

// serviceValidationScenario: every refusal names its field, and dry runs
// validate without writing.
func serviceValidationScenario(t *testing.T, f *cfx, p string) {
	alice, _ := f.user(t, "alice."+p+"@example.com")
	v := mkVault(t, alice, p+"-valid")
	_, err := alice.SetCredentials(cbg, v, map[string]string{"K_ONE": f.secret("k1"), "K_TWO": f.secret("k2")})
	mustOK(t, "set credentials", err)
	base := []apitype.Service{bearerSvc("one", "one.example.com", "K_ONE")}
	_, err = alice.ReplaceServices(cbg, v, base, false)
	mustOK(t, "PUT base", err)

	ok := bearerSvc("okay", "ok.example.com", "K_ONE")
	cases := []struct {
		name  string
		svcs  []apitype.Service
		field string
		code  string
	}{
		{"missing key", []apitype.Service{ok, bearerSvc("two", "two.example.com", "MISSING_KEY")}, "services[1]", "credential_not_found"},
		{"missing basic password", []apitype.Service{{Name: "basic-one", Host: "b.example.com", Auth: apitype.ServiceAuth{Type: "basic", Username: "K_ONE", Password: "NO_PASS"}}}, "", "credential_not_found"},
		{"missing key in custom header", []apitype.Service{{Name: "cst", Host: "c.example.com", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-K": "{{ NOT_THERE }}"}}}}, "services[0]", "credential_not_found"},
		{"double star", []apitype.Service{bearerSvc("bad", "api.example.com/v1/**", "K_ONE")}, "services[0].host", ""},
		{"double star host", []apitype.Service{bearerSvc("bad", "**.example.com", "K_ONE")}, "services[0].host", ""},
		{"question mark", []apitype.Service{bearerSvc("bad", "api.example.com/v?", "K_ONE")}, "services[0].host", ""},
		{"question mark in host", []apitype.Service{bearerSvc("bad", "api?.example.com", "K_ONE")}, "services[0].host", ""},
		{"scheme", []apitype.Service{bearerSvc("bad", "https://x", "K_ONE")}, "services[0].host", ""},
		{"scheme with host", []apitype.Service{bearerSvc("bad", "https://api.example.com", "K_ONE")}, "services[0].host", ""},
		{"bare star", []apitype.Service{bearerSvc("bad", "*", "K_ONE")}, "services[0].host", ""},
		{"empty host", []apitype.Service{bearerSvc("bad", "", "K_ONE")}, "services[0].host", ""},
		{"regex", []apitype.Service{bearerSvc("bad", "api.example.com/(a|b)", "K_ONE")}, "services[0].host", ""},
		{"second service bad host", []apitype.Service{ok, bearerSvc("bad", "*", "K_ONE")}, "services[1].host", ""},
		{"passthrough with token", []apitype.Service{{Name: "pass", Host: "pt.example.com", Auth: apitype.ServiceAuth{Type: "passthrough", Token: "K_ONE"}}}, "services[0].auth.token", ""},
		{"passthrough with key", []apitype.Service{{Name: "pass", Host: "pt.example.com", Auth: apitype.ServiceAuth{Type: "passthrough", Key: "K_ONE"}}}, "services[0].auth.key", ""},
		{"passthrough with headers", []apitype.Service{{Name: "pass", Host: "pt.example.com", Auth: apitype.ServiceAuth{Type: "passthrough", Headers: map[string]string{"X": "{{ K_ONE }}"}}}}, "services[0].auth.headers", ""},
		{"bearer without token", []apitype.Service{{Name: "bear", Host: "bt.example.com", Auth: apitype.ServiceAuth{Type: "bearer"}}}, "services[0].auth.token", ""},
		{"unknown auth type", []apitype.Service{{Name: "unk", Host: "ut.example.com", Auth: apitype.ServiceAuth{Type: "oauth2"}}}, "services[0].auth.type", ""},
		{"duplicate names", []apitype.Service{ok, bearerSvc("okay", "other.example.com", "K_TWO")}, "services[1].name", ""},
		{"duplicate hosts", []apitype.Service{ok, bearerSvc("okay-two", "ok.example.com", "K_TWO")}, "services[1].host", ""},
		{"bad name", []apitype.Service{bearerSvc("Bad_Name", "bn.example.com", "K_ONE")}, "services[0].name", ""},
		{"value instead of key", []apitype.Service{bearerSvc("valk", "vk.example.com", "sk-live-123")}, "services[0].auth.token", ""},
	}
	for _, c := range cases {
		for _, dry := range []bool{false, true} {
			_, err := alice.ReplaceServices(cbg, v, c.svcs, dry)
			eb := wantAPIErr(t, c.name, err, 400, c.field)
			if c.code != "" && eb.Code != c.code {
				t.Errorf("%s: code = %q, want %q", c.name, eb.Code, c.code)
			}
			if c.field == "" && !strings.HasPrefix(eb.Field, "services[0]") {
				t.Errorf("%s: field = %q, want it under services[0]", c.name, eb.Field)
			}
		}
		// POST validates the same way.
		_, err := alice.UpsertServices(cbg, v, c.svcs)
		wantAPIErr(t, "POST "+c.name, err, 400, c.field)
	}
	if got, _ := alice.Services(cbg, v); !reflect.DeepEqual(svcNames(got), []string{"one"}) {
		t.Errorf("refused writes changed the services: %v", svcNames(got))
	}

	// dry_run validates but writes nothing.
	dry, err := alice.ReplaceServices(cbg, v, []apitype.Service{ok, bearerSvc("two", "two.example.com", "K_TWO")}, true)
	if err != nil || !dry.DryRun || dry.ServicesCount != 2 {
		t.Errorf("dry run = %+v, %v", dry, err)
	}
	if got, _ := alice.Services(cbg, v); !reflect.DeepEqual(svcNames(got), []string{"one"}) {
		t.Errorf("dry run wrote: %v", svcNames(got))
	}
	// The missing-key check also runs in a dry run, and a proxy actor's dry
	// run is refused like a real one.
	_, err = alice.ReplaceServices(cbg, v, []apitype.Service{bearerSvc("two", "two.example.com", "NOPE")}, true)
	wantAPIErr(t, "dry run with a missing key", err, 400, "services[0]")
	proxyTok := f.agent(t, alice, p+"-proxy-bot", "", apitype.AgentVault{VaultName: v})
	_, err = f.e.as(proxyTok).ReplaceServices(cbg, v, base, true)
	wantAPIErr(t, "proxy dry run", err, 403, "")
	// A body that is not JSON is a 400, not a 500.
	if r := f.raw(t, http.MethodPut, "/v1/vaults/"+v+"/services", f.ownTok, `{"services": [`); r.code != 400 {
		t.Errorf("malformed PUT = %d, want 400", r.code)
	}
}
