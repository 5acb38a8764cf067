package e2e

import (
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestContentsCredentials drives `vault credential|creds set|list|get|delete`:
// values from a stdin line and from KEY=VALUE, names without values by
// default, values with --reveal and get for the owner; an agent token
// (proxy, and even admin) neither writes credentials or services nor reads
// a value; delete; and no value or token ever reaches the server's log.
func TestContentsCredentials(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)

	const (
		stripeVal = "sk_live_ct_stripe_7f3a9c1e"
		slackVal  = "xoxb-ct-slack-55d2e0b4"
		ghVal     = "ghp_ct_github_a1b2c3d4e5"
		newStripe = "sk_live_ct_stripe_rotated_0042"
	)

	// A bare KEY reads one line of stdin (stdin is a pipe, not a TTY).
	out := owner.ok(stripeVal+"\n", "vault", "creds", "set", "STRIPE_KEY")
	mustContain(t, "creds set from stdin", out, "Set STRIPE_KEY in vault default.")
	if strings.Contains(out, stripeVal) {
		t.Errorf("creds set echoed the value:\n%s", out)
	}
	// KEY=VALUE, two at once, with the long command name and --json.
	var set struct {
		Vault string   `json:"vault"`
		Set   []string `json:"set"`
	}
	owner.json(&set, "vault", "credential", "set", "SLACK_BOT_TOKEN="+slackVal, "GITHUB_TOKEN="+ghVal, "--vault", "default")
	sort.Strings(set.Set)
	ctEqual(t, "credential set --json", set.Set, []string{"GITHUB_TOKEN", "SLACK_BOT_TOKEN"})
	if set.Vault != "default" {
		t.Errorf("credential set --json vault = %q", set.Vault)
	}
	// A bare KEY with nothing on stdin is refused and sets nothing.
	mustContain(t, "creds set without a value", owner.fail("", "vault", "creds", "set", "EMPTY_KEY"), "standard input")
	// Bad keys are refused naming the rule.
	owner.fail("", "vault", "creds", "set", "lower_case=x")
	owner.fail("", "vault", "creds", "set", "DUP=1", "DUP=2")

	// list: names, types, no values.
	listOut := owner.ok("", "vault", "creds", "list", "--json")
	var cl ctCredentialList
	decodeStrict(t, listOut, &cl)
	ctEqual(t, "credential keys", cl.Keys, []string{"GITHUB_TOKEN", "SLACK_BOT_TOKEN", "STRIPE_KEY"})
	if len(cl.Credentials) != 3 {
		t.Fatalf("credential list = %+v, want 3 entries", cl.Credentials)
	}
	for _, c := range cl.Credentials {
		if c.Value != nil || c.Type != "static" {
			t.Errorf("unrevealed list entry %+v: want type static and no value", c)
		}
	}
	for _, v := range []string{stripeVal, slackVal, ghVal} {
		if strings.Contains(listOut, v) {
			t.Errorf("credential list without --reveal shows a value:\n%s", listOut)
		}
	}
	table := owner.ok("", "vault", "creds", "list")
	mustContain(t, "credential list table", table, "KEY", "TYPE", "STRIPE_KEY", "SLACK_BOT_TOKEN", "GITHUB_TOKEN")
	if strings.Contains(table, "VALUE") || strings.Contains(table, stripeVal) {
		t.Errorf("credential list table without --reveal shows values:\n%s", table)
	}

	// list --reveal and get: the values, for the owner (a vault admin).
	owner.json(&cl, "vault", "creds", "list", "--reveal")
	want := map[string]string{"STRIPE_KEY": stripeVal, "SLACK_BOT_TOKEN": slackVal, "GITHUB_TOKEN": ghVal}
	got := map[string]string{}
	for _, c := range cl.Credentials {
		if c.Value != nil {
			got[c.Key] = *c.Value
		}
	}
	ctEqual(t, "credential list --reveal", got, want)
	mustContain(t, "credential list --reveal table", owner.ok("", "vault", "creds", "list", "--reveal"), "VALUE", stripeVal, slackVal, ghVal)
	if g := owner.ok("", "vault", "creds", "get", "STRIPE_KEY"); g != stripeVal+"\n" {
		t.Errorf("creds get STRIPE_KEY = %q, want the value and a newline", g)
	}
	var one ctCredential
	owner.json(&one, "vault", "credential", "get", "SLACK_BOT_TOKEN", "--vault", "default")
	if one.Key != "SLACK_BOT_TOKEN" || one.Value == nil || *one.Value != slackVal {
		t.Errorf("credential get --json = %+v", one)
	}
	mustContain(t, "get of a missing key", owner.fail("", "vault", "creds", "get", "NOPE_KEY"), "NOPE_KEY")

	// Overwrite from stdin: the new value replaces the old one.
	owner.ok(newStripe+"\n", "vault", "creds", "set", "STRIPE_KEY")
	if g := owner.ok("", "vault", "creds", "get", "STRIPE_KEY"); g != newStripe+"\n" {
		t.Errorf("creds get after overwrite = %q, want %q", g, newStripe)
	}

	// Agents: a proxy agent cannot write credentials or services and never
	// reads a value; neither can an agent that is admin of the vault.
	proxyTok := ctAgentToken(t, owner, "bot", "--vault", "default:proxy")
	adminTok := ctAgentToken(t, owner, "boss", "--vault", "default:admin")
	r := call(t, http.MethodPost, s.url+"/v1/credentials", proxyTok, map[string]any{"vault": "default", "credentials": map[string]string{"STRIPE_KEY": "agent-overwrite"}})
	if r.status != http.StatusForbidden {
		t.Errorf("proxy agent POST /v1/credentials = %s, want 403", r)
	} else {
		r.errorBody(t)
	}
	r = call(t, http.MethodDelete, s.url+"/v1/credentials?vault=default&key=GITHUB_TOKEN", proxyTok, nil)
	if r.status != http.StatusForbidden {
		t.Errorf("proxy agent DELETE /v1/credentials = %s, want 403", r)
	}
	// Reads: neither agent sees a value, whatever its role (docs/permissions.md).
	for _, a := range []struct{ name, tok string }{{"proxy agent", proxyTok}, {"admin agent", adminTok}} {
		for _, q := range []string{"?vault=default&reveal=true", "?vault=default&key=STRIPE_KEY&reveal=true", "?vault=default"} {
			r := call(t, http.MethodGet, s.url+"/v1/credentials"+q, a.tok, nil)
			for _, v := range []string{newStripe, slackVal, ghVal} {
				if strings.Contains(string(r.body), v) {
					t.Errorf("%s GET /v1/credentials%s reveals a value: %s", a.name, q, r)
				}
			}
		}
	}
	r = call(t, http.MethodPut, s.url+"/v1/vaults/default/services", proxyTok, map[string]any{"services": []map[string]any{{"name": "evil", "host": "evil.example.com", "auth": map[string]string{"type": "passthrough"}}}})
	if r.status != http.StatusForbidden {
		t.Errorf("proxy agent PUT services = %s, want 403", r)
	}
	r = call(t, http.MethodPost, s.url+"/v1/vaults/default/services", proxyTok, map[string]any{"services": []map[string]any{{"name": "evil", "host": "evil.example.com", "auth": map[string]string{"type": "passthrough"}}}})
	if r.status != http.StatusForbidden {
		t.Errorf("proxy agent POST services = %s, want 403", r)
	}
	// The proxy agent still sees the key names (docs/permissions.md) through /discover.
	var d ctDiscover
	ctDecode(t, "proxy agent GET /discover", ctDiscoverAs(t, s.url, proxyTok, "default"), &d)
	ctEqual(t, "discover credentials for the proxy agent", d.AvailableCredentials, []string{"GITHUB_TOKEN", "SLACK_BOT_TOKEN", "STRIPE_KEY"})
	// What the agents tried changed nothing.
	owner.json(&cl, "vault", "creds", "list", "--reveal")
	got = map[string]string{}
	for _, c := range cl.Credentials {
		if c.Value != nil {
			got[c.Key] = *c.Value
		}
	}
	ctEqual(t, "credentials after the agents' attempts", got, map[string]string{"STRIPE_KEY": newStripe, "SLACK_BOT_TOKEN": slackVal, "GITHUB_TOKEN": ghVal})
	if svcs := ctServices(t, owner, "default"); len(svcs.Services) != 0 {
		t.Errorf("services after the proxy agent's attempts = %v, want none", svcs.names())
	}

	// delete: one, then two at once (--json).
	mustContain(t, "creds delete", owner.ok("", "vault", "creds", "delete", "GITHUB_TOKEN"), "Deleted GITHUB_TOKEN from vault default.")
	var del struct {
		Deleted []string `json:"deleted"`
	}
	owner.json(&del, "vault", "credential", "delete", "STRIPE_KEY", "SLACK_BOT_TOKEN")
	ctEqual(t, "credential delete --json", del.Deleted, []string{"SLACK_BOT_TOKEN", "STRIPE_KEY"})
	owner.json(&cl, "vault", "creds", "list")
	if len(cl.Keys) != 0 || len(cl.Credentials) != 0 {
		t.Errorf("credentials after delete = %+v, want none", cl)
	}
	owner.fail("", "vault", "creds", "delete", "GITHUB_TOKEN")
	owner.fail("", "vault", "creds", "get", "STRIPE_KEY")

	ctNoSecrets(t, s, stripeVal, slackVal, ghVal, newStripe, proxyTok, adminTok, owner.token(), "owner-pass-1")
}
