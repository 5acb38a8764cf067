package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const ctServicesYAML = `# services for the e2e test
services:
  - name: stripe
    host: api.stripe.com
    auth:
      type: bearer
      token: STRIPE_KEY
  - name: slack-bot
    host: slack.com/api/*
    auth:
      type: bearer
      token: SLACK_BOT_TOKEN
  - name: slack-socket
    host: slack.com/api/apps.connections.*
    auth:
      type: api-key
      key: SLACK_APP_TOKEN
      header: Authorization
      prefix: "Bearer "
  - name: internal
    host: internal.corp:3000/api/*
    enabled: false
    auth:
      type: basic
      username: CORP_USER
      password: CORP_PASS
  - name: open-data
    host: "*.example.org"
    auth:
      type: passthrough
`

// TestContentsServices drives `vault service list|set -f|validate -f|add|
// enable|disable|remove|clear`, `vault discover` and `catalog`.
func TestContentsServices(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)
	secrets := map[string]string{
		"STRIPE_KEY":      "sk_ct_svc_stripe_91b0",
		"SLACK_BOT_TOKEN": "xoxb-ct-svc-2d4c",
		"SLACK_APP_TOKEN": "xapp-ct-svc-7e1f",
		"CORP_USER":       "ct-corp-user-4471",
		"CORP_PASS":       "ct-corp-pass-8c2a",
		"GITHUB_TOKEN":    "ghp_ct_svc_github_33aa",
	}
	var kv []string
	for k, v := range secrets {
		if k != "GITHUB_TOKEN" {
			kv = append(kv, k+"="+v)
		}
	}
	owner.ok("", append([]string{"vault", "creds", "set"}, kv...)...)

	// An empty vault lists as an empty YAML list and JSON list.
	if l := ctServices(t, owner, "default"); l.Vault != "default" || l.Services == nil || len(l.Services) != 0 {
		t.Errorf("empty service list --json = %+v", l)
	}
	mustContain(t, "empty service list YAML", owner.ok("", "vault", "service", "list"), "services: []")

	// add with flags.
	var up struct {
		Vault         string   `json:"vault"`
		Upserted      []string `json:"upserted"`
		ServicesCount int      `json:"services_count"`
	}
	owner.json(&up, "vault", "service", "add", "--name", "stripe", "--host", "api.stripe.com", "--auth", "bearer", "--token", "STRIPE_KEY")
	if up.Vault != "default" || len(up.Upserted) != 1 || up.Upserted[0] != "stripe" || up.ServicesCount != 1 {
		t.Errorf("service add --json = %+v", up)
	}
	mustContain(t, "service add (api-key)",
		owner.ok("", "vault", "services", "add", "--name", "slack-bot", "--host", "slack.com/api/*", "--auth", "api-key", "--key", "SLACK_BOT_TOKEN", "--header", "X-Slack-Token", "--prefix", "tok "),
		"Saved slack-bot in vault default (2 services).")
	l := ctServices(t, owner, "default")
	if sv, ok := l.find("slack-bot"); !ok || sv.Host != "slack.com/api/*" || sv.Auth.Type != "api-key" || sv.Auth.Key != "SLACK_BOT_TOKEN" || sv.Auth.Header != "X-Slack-Token" || sv.Auth.Prefix != "tok " {
		t.Errorf("slack-bot after add = %+v", sv)
	}
	// add with the same name replaces the service.
	owner.ok("", "vault", "service", "add", "--name", "slack-bot", "--host", "slack.com/api/*", "--auth", "bearer", "--token", "SLACK_BOT_TOKEN")
	l = ctServices(t, owner, "default")
	if sv, _ := l.find("slack-bot"); len(l.Services) != 2 || sv.Auth.Type != "bearer" || sv.Auth.Token != "SLACK_BOT_TOKEN" || sv.Auth.Key != "" {
		t.Errorf("after re-adding slack-bot: %+v", l)
	}
	// add needs name, host and auth; refused ones change nothing.
	mustContain(t, "add without --host", owner.fail("", "vault", "service", "add", "--name", "xxx", "--auth", "bearer", "--token", "STRIPE_KEY"), "--host")
	mustContain(t, "add referencing a missing key", owner.fail("", "vault", "service", "add", "--name", "xxx", "--host", "x.example.com", "--auth", "bearer", "--token", "MISSING_KEY"), "MISSING_KEY")
	owner.fail("", "vault", "service", "add", "--name", "xxx", "--host", "x.example.com/**", "--auth", "passthrough")
	if got := ctServices(t, owner, "default").names(); strings.Join(got, ",") != "stripe,slack-bot" {
		t.Errorf("services after refused adds = %v", got)
	}

	// add -f: upserts the file's services, keeps the others.
	addFile := ctWrite(t, "add.yaml", "services:\n  - name: slack-socket\n    host: slack.com/api/apps.connections.*\n    auth:\n      type: bearer\n      token: SLACK_APP_TOKEN\n")
	mustContain(t, "service add -f", owner.ok("", "vault", "service", "add", "-f", addFile), "Saved slack-socket in vault default (3 services).")
	if got := ctServices(t, owner, "default").names(); strings.Join(got, ",") != "stripe,slack-bot,slack-socket" {
		t.Errorf("services after add -f = %v", got)
	}

	// Ambiguous bare host: both candidates are printed, nothing changes.
	for _, verb := range []string{"disable", "enable", "remove"} {
		e := owner.fail("", "vault", "service", verb, "slack.com")
		mustContain(t, verb+" slack.com", e, "slack-bot", "slack.com/api/*", "slack-socket", "slack.com/api/apps.connections.*")
	}
	r := call(t, http.MethodPatch, s.url+"/v1/vaults/default/services/slack.com", owner.token(), map[string]bool{"enabled": false})
	var amb struct {
		Error      string `json:"error"`
		Candidates []struct {
			Name string `json:"name"`
			Host string `json:"host"`
		} `json:"candidates"`
	}
	if r.status != http.StatusConflict {
		t.Errorf("PATCH services/slack.com = %s, want 409", r)
	} else if err := json.Unmarshal(r.body, &amb); err != nil || len(amb.Candidates) != 2 || amb.Error == "" {
		t.Errorf("409 body = %s, want an error and two candidates", r.body)
	}
	for _, sv := range ctServices(t, owner, "default").Services {
		if sv.Enabled != nil && !*sv.Enabled {
			t.Errorf("service %s got disabled by an ambiguous reference", sv.Name)
		}
	}
	if n := len(ctServices(t, owner, "default").Services); n != 3 {
		t.Errorf("%d services after ambiguous remove, want 3", n)
	}

	// disable/enable by name and by (exact) host.
	var patched struct {
		Vault   string `json:"vault"`
		Name    string `json:"name"`
		Host    string `json:"host"`
		Enabled bool   `json:"enabled"`
	}
	owner.json(&patched, "vault", "service", "disable", "api.stripe.com")
	if patched.Name != "stripe" || patched.Host != "api.stripe.com" || patched.Enabled {
		t.Errorf("disable api.stripe.com --json = %+v", patched)
	}
	mustContain(t, "disable by name", owner.ok("", "vault", "service", "disable", "slack-socket"), "Service slack-socket (slack.com/api/apps.connections.*) disabled.")
	ctCheckEnabled(t, owner, map[string]bool{"stripe": false, "slack-bot": true, "slack-socket": false})

	// discover lists enabled services and key names only, never a value.
	discOut := owner.ok("", "vault", "discover", "--json")
	var d ctDiscover
	decodeStrict(t, discOut, &d)
	if d.Vault != "default" || len(d.Services) != 1 || d.Services[0].Name != "slack-bot" || d.Services[0].Host != "slack.com/api/*" {
		t.Errorf("discover --json services = %+v, want only the enabled slack-bot", d)
	}
	ctEqual(t, "discover credentials", d.AvailableCredentials, []string{"CORP_PASS", "CORP_USER", "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "STRIPE_KEY"})
	discTable := owner.ok("", "vault", "discover", "--vault", "default")
	mustContain(t, "discover table", discTable, "vault: default", "slack-bot", "STRIPE_KEY")
	for k, v := range secrets {
		if strings.Contains(discOut, v) || strings.Contains(discTable, v) {
			t.Errorf("discover shows the value of %s", k)
		}
	}

	mustContain(t, "enable by name", owner.ok("", "vault", "service", "enable", "stripe"), "Service stripe (api.stripe.com) enabled.")
	owner.ok("", "vault", "service", "enable", "slack.com/api/apps.connections.*")
	ctCheckEnabled(t, owner, map[string]bool{"stripe": true, "slack-bot": true, "slack-socket": true})
	owner.fail("", "vault", "service", "disable", "no-such-service")

	// remove by host (with a path) and by name.
	var removed struct {
		Removed       string `json:"removed"`
		RemovedHost   string `json:"removed_host"`
		ServicesCount int    `json:"services_count"`
	}
	owner.json(&removed, "vault", "service", "remove", "slack.com/api/apps.connections.*")
	if removed.Removed != "slack-socket" || removed.RemovedHost != "slack.com/api/apps.connections.*" || removed.ServicesCount != 2 {
		t.Errorf("remove by host --json = %+v", removed)
	}
	// With one slack service left, the bare host is no longer ambiguous.
	mustContain(t, "disable slack.com (unique now)", owner.ok("", "vault", "service", "disable", "slack.com"), "slack-bot")
	mustContain(t, "remove by name", owner.ok("", "vault", "service", "remove", "stripe"), "Removed service stripe (api.stripe.com); 1 left.")
	owner.fail("", "vault", "service", "remove", "stripe")
	if got := ctServices(t, owner, "default").names(); strings.Join(got, ",") != "slack-bot" {
		t.Errorf("services after removes = %v, want slack-bot", got)
	}

	// set -f replaces everything; running it twice gives the same list.
	file := ctWrite(t, "services.yaml", ctServicesYAML)
	mustContain(t, "set -f", owner.ok("", "vault", "service", "set", "-f", file), "Vault default now has 5 services.")
	first := ctServices(t, owner, "default")
	var rep struct {
		Vault         string `json:"vault"`
		ServicesCount int    `json:"services_count"`
		DryRun        bool   `json:"dry_run"`
	}
	owner.json(&rep, "vault", "service", "set", "-f", file)
	if rep.Vault != "default" || rep.ServicesCount != 5 || rep.DryRun {
		t.Errorf("set -f --json = %+v", rep)
	}
	second := ctServices(t, owner, "default")
	ctEqual(t, "service list after set -f twice", second, first)
	if strings.Join(first.names(), ",") != "stripe,slack-bot,slack-socket,internal,open-data" {
		t.Errorf("set -f services = %v (declaration order expected)", first.names())
	}
	if sv, _ := first.find("internal"); sv.Host != "internal.corp:3000/api/*" || (sv.Enabled != nil && *sv.Enabled) || sv.Auth.Username != "CORP_USER" || sv.Auth.Password != "CORP_PASS" {
		t.Errorf("internal after set -f = %+v (want disabled, port-scoped host)", sv)
	}
	if sv, _ := first.find("slack-socket"); sv.Auth.Prefix != "Bearer " || sv.Auth.Header != "Authorization" {
		t.Errorf("slack-socket after set -f = %+v", sv)
	}
	// set -f from stdin ("-").
	owner.ok(ctServicesYAML, "vault", "service", "set", "-f", "-")
	ctEqual(t, "service list after set -f -", ctServices(t, owner, "default"), first)

	// validate -f: OK, nothing written.
	small := ctWrite(t, "small.yaml", "services:\n  - name: only\n    host: only.example.com\n    auth:\n      type: bearer\n      token: STRIPE_KEY\n")
	mustContain(t, "validate -f", owner.ok("", "vault", "service", "validate", "-f", small), "is valid for vault default (1 services); nothing was changed.")
	owner.json(&rep, "vault", "service", "validate", "-f", small)
	if rep.ServicesCount != 1 || !rep.DryRun {
		t.Errorf("validate -f --json = %+v, want 1 service and dry_run", rep)
	}
	ctEqual(t, "service list after validate -f", ctServices(t, owner, "default"), first)

	// Unknown field: refused with the field and its line, by validate and set.
	typo := ctWrite(t, "typo.yaml", "services:\n  - name: only\n    host: only.example.com\n    auth:\n      type: bearer\n      tokn: STRIPE_KEY\n")
	for _, verb := range []string{"validate", "set"} {
		e := owner.fail("", "vault", "service", verb, "-f", typo)
		mustContain(t, verb+" -f with an unknown field", e, "tokn", "line 6")
	}
	typoTop := ctWrite(t, "typo-top.yaml", "services:\n  - name: only\n    hostname: only.example.com\n")
	mustContain(t, "unknown service field", owner.fail("", "vault", "service", "validate", "-f", typoTop), "hostname", "line 3")
	// A missing credential is named, by validate, set and add -f.
	missing := ctWrite(t, "missing.yaml", "services:\n  - name: mystery\n    host: mystery.example.com\n    auth:\n      type: bearer\n      token: NOT_THERE_KEY\n")
	for _, verb := range []string{"validate", "set", "add"} {
		mustContain(t, verb+" -f with a missing credential", owner.fail("", "vault", "service", verb, "-f", missing), "NOT_THERE_KEY")
	}
	// Other bad files.
	owner.fail("", "vault", "service", "set", "-f", ctWrite(t, "empty.yaml", ""))
	owner.fail("", "vault", "service", "set", "-f", ctWrite(t, "nolist.yaml", "vault: default\n"))
	owner.fail("", "vault", "service", "set", "-f", ctWrite(t, "pt.yaml", "services:\n  - name: p\n    host: p.example.com\n    auth:\n      type: passthrough\n      token: STRIPE_KEY\n"))
	owner.fail("", "vault", "service", "set", "-f", "/nonexistent/services.yaml")
	owner.fail("", "vault", "service", "set")
	ctEqual(t, "service list after refused files", ctServices(t, owner, "default"), first)

	// Round trip: list (YAML) > file; clear; set -f file; same list.
	yamlOut := owner.ok("", "vault", "service", "list")
	mustContain(t, "service list YAML", yamlOut, "services:", "name: stripe", "host: api.stripe.com", "token: STRIPE_KEY")
	for k, v := range secrets {
		if strings.Contains(yamlOut, v) {
			t.Errorf("service list shows the value of %s", k)
		}
	}
	dump := ctWrite(t, "dump.yaml", yamlOut)
	mustContain(t, "clear without --yes", owner.fail("", "vault", "service", "clear"), "--yes")
	if n := len(ctServices(t, owner, "default").Services); n != 5 {
		t.Fatalf("clear without --yes removed services: %d left", n)
	}
	mustContain(t, "clear --yes", owner.ok("", "vault", "service", "clear", "--yes"), "Removed every service of vault default.")
	if n := len(ctServices(t, owner, "default").Services); n != 0 {
		t.Fatalf("%d services after clear --yes", n)
	}
	mustContain(t, "validate the dump", owner.ok("", "vault", "service", "validate", "-f", dump), "5 services")
	owner.ok("", "vault", "service", "set", "-f", dump)
	ctEqual(t, "service list after the round trip", ctServices(t, owner, "default"), first)
	if again := owner.ok("", "vault", "service", "list"); again != yamlOut {
		t.Errorf("YAML after the round trip differs:\n%s\nwant:\n%s", again, yamlOut)
	}

	// --from-catalog github, after setting GITHUB_TOKEN.
	mustContain(t, "from-catalog without the key", owner.fail("", "vault", "service", "add", "--from-catalog", "github"), "GITHUB_TOKEN")
	owner.ok(secrets["GITHUB_TOKEN"]+"\n", "vault", "creds", "set", "GITHUB_TOKEN")
	mustContain(t, "add --from-catalog github", owner.ok("", "vault", "service", "add", "--from-catalog", "github"), "Saved github in vault default (6 services).")
	sv, ok := ctServices(t, owner, "default").find("github")
	if !ok || sv.Host != "api.github.com" || sv.Auth.Type != "bearer" || sv.Auth.Token != "GITHUB_TOKEN" {
		t.Errorf("github from the catalog = %+v (found %v)", sv, ok)
	}
	// A second service on the same exact host would never win: refused.
	mustContain(t, "from-catalog twice", owner.fail("", "vault", "service", "add", "--from-catalog", "github", "--name", "gh-two"), "api.github.com")
	// --name renames the template's service.
	owner.ok("", "vault", "service", "remove", "github")
	mustContain(t, "add --from-catalog github --name", owner.ok("", "vault", "service", "add", "--from-catalog", "github", "--name", "gh-api"), "Saved gh-api in vault default (6 services).")
	if sv, ok := ctServices(t, owner, "default").find("gh-api"); !ok || sv.Host != "api.github.com" || sv.Auth.Token != "GITHUB_TOKEN" {
		t.Errorf("gh-api from the catalog = %+v (found %v)", sv, ok)
	}
	mustContain(t, "from-catalog unknown id", owner.fail("", "vault", "service", "add", "--from-catalog", "no-such-api"), "no-such-api")

	// catalog.
	var cat struct {
		Services []struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Host     string `json:"host"`
			AuthType string `json:"auth_type"`
			Key      string `json:"suggested_credential_key"`
		} `json:"services"`
	}
	owner.json(&cat, "catalog")
	if len(cat.Services) < 25 {
		t.Errorf("catalog has %d entries, want at least 25", len(cat.Services))
	}
	ids := map[string]bool{}
	for _, e := range cat.Services {
		if e.ID == "" || e.Host == "" || e.AuthType == "" || ids[e.ID] {
			t.Errorf("bad or duplicate catalog entry %+v", e)
		}
		ids[e.ID] = true
	}
	if !ids["github"] {
		t.Errorf("catalog has no github entry")
	}
	// The catalog needs no session.
	anon := newCLI(t, "anon", s.url)
	mustContain(t, "catalog table", anon.ok("", "catalog"), "ID", "HOST", "github", "api.github.com")

	// A service file for another vault is applied with --vault.
	owner.ok("", "vault", "create", "other")
	owner.fail("", "vault", "service", "set", "-f", dump, "--vault", "other") // its keys are not in "other"
	owner.ok("", "vault", "service", "add", "--name", "ptx", "--host", "pt.example.com", "--auth", "passthrough", "--vault", "other")
	if got := ctServices(t, owner, "other").names(); strings.Join(got, ",") != "ptx" {
		t.Errorf("services of other = %v", got)
	}
	if n := len(ctServices(t, owner, "default").Services); n != 6 {
		t.Errorf("default has %d services after writing to other, want 6", n)
	}

	all := []string{owner.token(), "owner-pass-1"}
	for _, v := range secrets {
		all = append(all, v)
	}
	ctNoSecrets(t, s, all...)
}

// ctCheckEnabled compares the services' enabled flags (nil means true).
func ctCheckEnabled(t *testing.T, c *cliUser, want map[string]bool) {
	t.Helper()
	got := map[string]bool{}
	for _, sv := range ctServices(t, c, "default").Services {
		got[sv.Name] = sv.Enabled == nil || *sv.Enabled
	}
	ctEqual(t, "enabled flags", got, want)
}
