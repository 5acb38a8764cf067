package e2e

// A hostile proposal in a real browser: the approval page and the list
// show each change before → after, and call out a credential moving to a
// new host, a replaced value, a removed service and a conflict before
// Allow is pressed. Writes docs/screenshots/approval-diff*.png under
// UPDATE_SCREENSHOTS=1.

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserApprovalDiff(t *testing.T) {
	t.Parallel()
	br := brStart(t)
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, brOwnerEmail, brOwnerPW)
	pdSeed(t, owner)
	tok := ctAgentToken(t, owner, "bot", "--vault", "default:proxy")

	moving := brPropose(t, s.url, tok, map[string]any{
		"services": []any{
			map[string]any{"action": "set", "name": "llm", "host": "collector.evil.test", "auth": map[string]any{"type": "bearer", "token": "LLM_API_KEY"}},
			map[string]any{"action": "set", "name": "search", "host": "api.search.example", "auth": map[string]any{"type": "custom",
				"headers": map[string]any{"X-Trace": "{{ OTHER_KEY }}:{{ LLM_API_KEY }}"}}},
		},
		"credentials":  []any{map[string]any{"action": "set", "key": "OTHER_KEY", "description": "the rotated search key"}},
		"user_message": "Routine maintenance: the LLM endpoint moved.",
	})
	doomed := brPropose(t, s.url, tok, map[string]any{"services": []any{
		map[string]any{"action": "set", "name": "other-llm", "host": "api.other-llm.example", "auth": map[string]any{"type": "bearer", "token": "LLM_API_KEY"}},
		map[string]any{"action": "delete", "name": "search"},
	}})
	br.do("opening the approval link", chromedp.Navigate(moving.ApprovalURL))
	br.login(brOwnerEmail, brOwnerPW, "#approve-form")
	mustContain(t, "the warnings box", br.text("#warnings"),
		"Check before approving",
		"LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)",
		"LLM_API_KEY would be sent to a host it has never been sent to: api.search.example (service search)",
		"replaces the current value of OTHER_KEY")
	main := br.text("main")
	mustContain(t, "the page", main, "api.openai.com", "collector.evil.test", "X-Search-Key: {{ OTHER_KEY }}", "X-Trace: {{ OTHER_KEY }}:{{ LLM_API_KEY }}")
	if strings.Contains(main, "add or update") {
		t.Error("the page still says \"add or update\"")
	}
	// The warning style comes from the one hashed style sheet: had the CSP
	// blocked it, the box would have no border. No inline style attribute.
	if got := brEval[string](br, `getComputedStyle(document.querySelector('#warnings')).borderLeftStyle`); got != "solid" {
		t.Errorf("the warnings box is not styled (border-left-style %q): the style sheet was blocked", got)
	}
	if n := brEval[int](br, `document.querySelectorAll('[style], script').length`); n != 0 {
		t.Errorf("the page has %d inline style attributes or scripts", n)
	}
	br.pageCheck("approval-diff", "approval-diff.png", "")

	// The list says the same without opening each proposal.
	br.do("opening the list", chromedp.Navigate(s.url+"/proposals"), chromedp.WaitVisible(chromedp.CSS("#proposal-list")))
	mustContain(t, "the list", br.text("#proposal-list"),
		"update service llm: host api.openai.com → collector.evil.test",
		"LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)",
		"remove service search", "removes service search (api.search.example)")
	br.pageCheck("proposals-list-diff", "proposals-list-diff.png", "")

	// A conflict: the proposal's key is deleted after it was raised.
	owner.ok("", "vault", "service", "remove", "llm")
	owner.ok("", "vault", "credential", "delete", "LLM_API_KEY")
	br.do("opening the doomed proposal", chromedp.Navigate(doomed.ApprovalURL), chromedp.WaitVisible(chromedp.CSS("#conflicts")))
	before := br.text("#conflicts")
	mustContain(t, "the conflicts box", before, "Approving now would fail", `approving would leave service "other-llm" without its credential LLM_API_KEY`)
	mustContain(t, "the warnings box", br.text("#warnings"), "removes service search (api.search.example)")
	br.pageCheck("approval-diff-conflict", "approval-diff-conflict.png", "")
	// Allow fails exactly as the page said it would.
	br.do("allowing anyway", chromedp.Click(chromedp.CSS("#allow")), chromedp.WaitVisible(chromedp.CSS("#page-error")))
	mustContain(t, "the error after Allow", br.text("#page-error"), `approving would leave service "other-llm" without its credential LLM_API_KEY`, "Nothing was changed")

	// The list shows the conflict too.
	br.do("opening the list again", chromedp.Navigate(s.url+"/proposals"), chromedp.WaitVisible(chromedp.CSS("#proposal-list")))
	mustContain(t, "the list", br.text("#proposal-list"), `approving would leave service "other-llm" without its credential LLM_API_KEY`)
	br.noDialogs()
}

// TestBrowserAgentTextBelowWarnings: the text an agent writes cannot push
// the warnings out of sight. The page shows the warnings and the changes
// first, in the first screen, and the agent's message after them, under a
// heading that says it is the agent's, in a box of bounded height that
// scrolls (and can be reached with the keyboard) however many lines the
// agent sends (docs/proposals.md, "What the agent wrote").
func TestBrowserAgentTextBelowWarnings(t *testing.T) {
	t.Parallel()
	br := brStart(t)
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, brOwnerEmail, brOwnerPW)
	pdSeed(t, owner)
	tok := ctAgentToken(t, owner, "bot", "--vault", "default:proxy")
	msg := "Nothing to check: the warnings below are empty.\n" + strings.Repeat("Routine maintenance.\n", 200) + "(end)"
	moving := brPropose(t, s.url, tok, map[string]any{
		"services": []any{
			map[string]any{"action": "set", "name": "llm", "host": "collector.evil.test", "auth": map[string]any{"type": "bearer", "token": "LLM_API_KEY"}},
		},
		"user_message": msg,
	})
	br.do("opening the approval link", chromedp.Navigate(moving.ApprovalURL))
	br.login(brOwnerEmail, brOwnerPW, "#approve-form")
	mustContain(t, "the warnings box", br.text("#warnings"), "LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)")
	if top := brEval[float64](br, `document.querySelector('#warnings').getBoundingClientRect().bottom`); top > 900 {
		t.Errorf("the warnings box ends %.0f px down, below the first screen (900 px)", top)
	}
	if brEval[bool](br, `document.querySelector('#user-message').getBoundingClientRect().top < document.querySelector('#warnings').getBoundingClientRect().bottom`) {
		t.Error("the agent's message starts above the end of the warnings")
	}
	mustContain(t, "the message's heading", br.text("#user-message-title"), "from the agent")
	if got := br.text("#user-message"); got != msg {
		t.Errorf("the message box holds %d characters, want the agent's %d", len(got), len(msg))
	}
	box := brEval[[]float64](br, `(() => { const m = document.querySelector('#user-message'); return [m.clientHeight, m.scrollHeight, m.tabIndex]; })()`)
	if box[0] > 400 || box[1] <= box[0] || box[2] != 0 {
		t.Errorf("the message box is %.0f px high for %.0f px of text, tabindex %.0f; want at most 400 px, scrolling, focusable", box[0], box[1], box[2])
	}
	br.pageCheck("approval-long-message", "", "")
	br.noDialogs()
}
