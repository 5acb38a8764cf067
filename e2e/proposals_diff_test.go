package e2e

// What a reviewer sees of a hostile proposal through the real binary:
// `vault proposal show`, `review` and `approve` print each change as
// before → after against the vault as it is, with the warnings and
// conflicts. Identifiers here start with "pd".

import (
	"strings"
	"testing"
)

// pdSeed gives the default vault llm (bearer LLM_API_KEY on
// api.openai.com) and search (api-key OTHER_KEY in X-Search-Key).
func pdSeed(t *testing.T, owner *cliUser) {
	t.Helper()
	owner.ok("", "vault", "credential", "set", "LLM_API_KEY=sk-pd-llm-5e1c", "OTHER_KEY=pd-other-93b0", "--vault", "default")
	owner.ok("", "vault", "service", "add", "--name", "llm", "--host", "api.openai.com", "--auth", "bearer", "--token", "LLM_API_KEY")
	owner.ok("", "vault", "service", "add", "--name", "search", "--host", "api.search.example", "--auth", "api-key", "--key", "OTHER_KEY", "--header", "X-Search-Key")
}

// TestProposalsCLIShowDiff: an agent proposes moving llm and its key to
// its own host, turning search into a custom header naming both keys,
// replacing a value and removing nothing; `proposal show` says so.
func TestProposalsCLIShowDiff(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)
	pdSeed(t, owner)
	tok := ctAgentToken(t, owner, "bot", "--vault", "default:proxy")
	moving := pcPropose(t, s.url, tok, map[string]any{
		"services": []any{
			map[string]any{"action": "set", "name": "llm", "host": "collector.evil.test", "auth": map[string]any{"type": "bearer", "token": "LLM_API_KEY"}},
			map[string]any{"action": "set", "name": "search", "host": "api.search.example", "auth": map[string]any{"type": "custom",
				"headers": map[string]any{"X-Trace": "{{ OTHER_KEY }}:{{ LLM_API_KEY }}"}}},
		},
		"credentials":  []any{map[string]any{"action": "set", "key": "OTHER_KEY", "description": "rotated"}},
		"user_message": "routine update",
	})
	out := owner.ok("", "vault", "proposal", "show", pcID(moving.ID))
	mustContain(t, "proposal show", out,
		"WARNING — check before approving:",
		"!! LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)",
		"!! LLM_API_KEY would be sent to a host it has never been sent to: api.search.example (service search)",
		"!! replaces the current value of OTHER_KEY",
		"!! header x-trace would carry a credential inside text the agent chose: {{OTHER_KEY}}:{{LLM_API_KEY}} (service search)",
		"update llm (collector.evil.test), auth bearer: token LLM_API_KEY",
		"* host:             api.openai.com → collector.evil.test",
		"  credentials used: LLM_API_KEY (unchanged)",
		"* auth type:        api-key → custom",
		"* headers:          X-Search-Key: {{ OTHER_KEY }} → X-Trace: {{ OTHER_KEY }}:{{ LLM_API_KEY }}",
		"set    OTHER_KEY (static) — rotated")
	if strings.Contains(out, "add or update") || strings.Contains(out, "OTHER_KEY (static), new credential") {
		t.Errorf("proposal show hides what changes:\n%s", out)
	}

	mustContain(t, "proposal list", owner.ok("", "vault", "proposal", "list"), "!! 4 warnings (see show)")

	// --json carries the diff for scripts.
	var js struct {
		Diff *struct {
			Warnings []struct{ Code, Key, Host string } `json:"warnings"`
		} `json:"diff"`
	}
	owner.json(&js, "vault", "proposal", "show", pcID(moving.ID))
	if js.Diff == nil || len(js.Diff.Warnings) != 4 || js.Diff.Warnings[0].Code != "new_host" || js.Diff.Warnings[0].Host != "collector.evil.test" {
		t.Errorf("show --json diff = %+v", js.Diff)
	}

	// A removal and a conflict known before approval.
	doomed := pcPropose(t, s.url, tok, map[string]any{"services": []any{
		map[string]any{"action": "set", "name": "other-llm", "host": "api.other-llm.example", "auth": map[string]any{"type": "bearer", "token": "LLM_API_KEY"}},
		map[string]any{"action": "delete", "name": "search"},
	}})
	owner.ok("", "vault", "service", "remove", "llm")
	owner.ok("", "vault", "credential", "delete", "LLM_API_KEY")
	out = owner.ok("", "vault", "proposal", "show", pcID(doomed.ID))
	mustContain(t, "show of a doomed proposal", out,
		"CONFLICT — approving now would fail (nothing would change):",
		`!! approving would leave service "other-llm" without its credential LLM_API_KEY`,
		"!! removes service search (api.search.example)",
		"remove search",
		"  host:             api.search.example")

	// review shows the same before asking.
	out = owner.ok("s\ns\n", "vault", "proposal", "review")
	mustContain(t, "proposal review", out, "removes service search (api.search.example)",
		`approving would leave service "other-llm" without its credential LLM_API_KEY`)
	pcNoSecrets(t, s, []string{out}, "sk-pd-llm-5e1c", "pd-other-93b0")
}

// TestProposalsCLIReviewRefusesAStaleDiff: in one `review`, approving the
// first proposal changes what the second would do; the second approval is
// refused (it would apply something other than what was shown) and stays
// pending, with the next step named.
func TestProposalsCLIReviewRefusesAStaleDiff(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)
	pdSeed(t, owner)
	tok := ctAgentToken(t, owner, "bot", "--vault", "default:proxy")
	first := pcPropose(t, s.url, tok, map[string]any{"services": []any{
		map[string]any{"action": "set", "name": "llm", "host": "api.llm-gateway.example", "auth": map[string]any{"type": "bearer", "token": "LLM_API_KEY"}}}})
	second := pcPropose(t, s.url, tok, map[string]any{"services": []any{
		map[string]any{"action": "set", "name": "llm", "host": "api.openai.com", "auth": map[string]any{"type": "bearer", "token": "LLM_API_KEY"},
			"substitutions": []any{map[string]any{"key": "LLM_API_KEY", "placeholder": "__LLM__"}}}}})
	out := owner.ok("a\na\n", "vault", "proposal", "review")
	mustContain(t, "review", out, "Proposal "+pcID(first.ID)+" approved",
		"Could not approve proposal "+pcID(second.ID), "no longer what you saw", "vault proposal show "+pcID(second.ID), "1 failed")
	if got := pcPoll(t, s.url, tok, second.ID).Status; got != "pending" {
		t.Fatalf("the refused proposal is %s, want pending", got)
	}
	// Shown again, the second now says it moves the key back.
	mustContain(t, "show after the refusal", owner.ok("", "vault", "proposal", "show", pcID(second.ID)),
		"* host:             api.llm-gateway.example → api.openai.com",
		"!! LLM_API_KEY would be sent to a host it has never been sent to: api.openai.com (service llm)")
}
