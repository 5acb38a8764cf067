package e2e

// The CLI with AGENT_VAULT_TOKEN set acts as that token: the commands an
// agent may use work with the token alone (no saved login, as in a
// container), the rest are refused with what to do, and a human's saved
// login on the same machine is never used. Identifiers start with "ac".

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestAgentCLIWithTokenAlone(t *testing.T) {
	b := rnStart(t, nil)
	b.creds(map[string]string{"API_KEY": rnSecret})
	tok := b.agent("ci-bot")
	ag := func(args ...string) result { t.Helper(); return b.agentRun(tok, nil, args...) }

	r := ag("vault", "discover")
	if r.code != 0 || !strings.Contains(r.stdout, "vault: default") || !strings.Contains(r.stdout, "API_KEY") {
		t.Fatalf("vault discover with the token alone:\n%s", r)
	}
	r = ag("account", "whoami")
	if r.code != 0 || r.stdout != "agent ci-bot on "+b.srv.url+"\n" {
		t.Errorf("account whoami with the token alone:\n%s", r)
	}
	if r := ag("vault", "current"); r.code != 0 || r.stdout != "default (from agent token)\n" {
		t.Errorf("vault current with the token alone:\n%s", r)
	}
	r = ag("ca", "fetch")
	if r.code != 0 || len(rnCerts([]byte(r.stdout))) != 1 {
		t.Errorf("ca fetch with the token alone:\n%s", r)
	}
	r = ag("doctor", "--json")
	if d := rnParseDoctor(t, r.stdout); len(d.Checks) < 3 || !d.Checks[2].OK || d.Checks[2].Check != "token" {
		t.Errorf("doctor with the token alone: the token check did not pass:\n%s", r)
	}
	r = ag("vault", "proposal", "create", "--name", "stripe", "--host", "api.stripe.test", "--auth", "bearer",
		"--token", "STRIPE_KEY", "--credential", "STRIPE_KEY=the live key", "--json")
	if r.code != 0 {
		t.Fatalf("vault proposal create with the token alone:\n%s", r)
	}
	var created struct {
		ID int64 `json:"id"`
	}
	decodeStrict(t, r.stdout, &created)
	id := strconv.FormatInt(created.ID, 10)
	r = ag("vault", "proposal", "list", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"created_by": "agent:ci-bot"`) {
		t.Errorf("vault proposal list with the token alone:\n%s", r)
	}
	r = ag("vault", "proposal", "show", id, "--json")
	var p struct {
		CreatedBy     string `json:"created_by"`
		CreatedByType string `json:"created_by_type"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &p) != nil || p.CreatedBy != "agent:ci-bot" || p.CreatedByType != "agent" {
		t.Errorf("vault proposal show with the token alone:\n%s", r)
	}

	// What the server lets an agent do by role works with the token too,
	// and the server says which role is missing: this agent has the proxy
	// role, which lists credential keys (never values) but manages nothing.
	r = ag("vault", "credential", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "API_KEY") || strings.Contains(r.stdout, rnSecret) {
		t.Errorf("vault credential list with a proxy-role token:\n%s", r)
	}
	for _, args := range [][]string{
		{"vault", "service", "add", "--name", "xapi", "--host", "api.x.test", "--auth", "bearer", "--token", "API_KEY"},
		{"vault", "credential", "set", "OTHER=1"},
		{"vault", "logs"},
	} {
		r := ag(args...)
		if r.code != 1 || !strings.Contains(r.stderr, "needs the vault role member or higher (you have proxy)") {
			t.Errorf("agent-vault %v with a proxy-role token: want the server's refusal naming the role:\n%s", args, r)
		}
	}

	// What only a logged-in user may do is refused before it reaches the
	// server, saying what to do instead.
	for _, c := range []struct {
		name string
		args []string
	}{
		{"vault credential get", []string{"API_KEY"}},
		{"vault credential bind", []string{"API_KEY", "--host", "api.x.test"}},
		{"vault proposal approve", []string{id}},
		{"vault proposal reject", []string{id}},
		{"vault proposal review", nil},
		{"vault user add", []string{"someone@example.com"}},
		{"vault delete", []string{"default"}},
		{"vault use", []string{"other"}},
		{"auth login", nil},
		{"account change-password", nil},
		{"user list", nil},
		{"owner user list", nil},
		{"server", nil},
	} {
		r := ag(append(strings.Fields(c.name), c.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "error: `agent-vault "+c.name+"` is not for agents") ||
			!strings.Contains(r.stderr, "Ask a human") || strings.Contains(r.stdout, rnSecret) {
			t.Errorf("agent-vault %s with an agent token: want a refusal naming it:\n%s", c.name, r)
		}
	}
}

// TestAgentCLITokenWinsOverLogin: a human logged in on the machine, and
// AGENT_VAULT_TOKEN set: every command acts as the token.
func TestAgentCLITokenWinsOverLogin(t *testing.T) {
	b := rnStart(t, nil)
	b.creds(map[string]string{"API_KEY": rnSecret})
	tok := b.agent("bot")
	env := []string{"AGENT_VAULT_TOKEN=" + tok}
	// b.run uses the owner's data dir, which holds the owner's login.
	r := b.run(env, "account", "whoami")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "agent bot on ") || strings.Contains(r.stdout, "owner@example.com") {
		t.Errorf("whoami with the owner logged in and an agent token set:\n%s", r)
	}
	r = b.run(env, "vault", "proposal", "create", "--delete-credential", "API_KEY", "--json")
	if r.code != 0 {
		t.Fatalf("proposal create:\n%s", r)
	}
	var created struct {
		ID int64 `json:"id"`
	}
	decodeStrict(t, r.stdout, &created)
	var p struct {
		CreatedBy string `json:"created_by"`
	}
	b.owner.json(&p, "vault", "proposal", "show", strconv.FormatInt(created.ID, 10))
	if p.CreatedBy != "agent:bot" {
		t.Errorf("a proposal raised with the agent token set is recorded as by %q, want the agent", p.CreatedBy)
	}
	// The human's `vault use` is not the agent's choice of vault.
	b.owner.ok("", "vault", "create", "other")
	b.owner.ok("", "vault", "use", "other")
	if r := b.run(env, "vault", "discover"); r.code != 0 || !strings.HasPrefix(r.stdout, "vault: default\n") {
		t.Errorf("discover with the owner's `vault use other` and the agent's token:\n%s", r)
	}
	r = b.run(env, "vault", "credential", "get", "API_KEY")
	if r.code != 1 || strings.Contains(r.stdout, rnSecret) || !strings.Contains(r.stderr, "is not for agents") {
		t.Errorf("credential get with the owner logged in and an agent token set:\n%s", r)
	}
	// A token with no address falls back to the default address, never to
	// the saved login's: here nothing listens there for this test.
	r = runBin(t, "", env, "--data-dir", b.owner.dir, "account", "whoami")
	if r.code == 0 || strings.Contains(r.stdout, "owner@example.com") || strings.Contains(r.stderr, filepath.Base(b.srv.url)) {
		t.Errorf("an agent token without AGENT_VAULT_ADDR used the saved login's address:\n%s", r)
	}
}
