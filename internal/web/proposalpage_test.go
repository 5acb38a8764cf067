package web

import (
	"html"
	"net/http"
	"strings"
	"testing"
)

// TestApprovalPageShowsAgentTextAfterWarnings: what the requester wrote
// (user_message holds up to 5000 characters, shown as pre-wrap text)
// comes after the warnings and after the changes it asks for, labelled as
// the agent's, in a box of bounded height, with its runs of empty lines
// collapsed and its bidirectional-formatting characters dropped. Placed
// first, 4800 newlines would push "Check before approving" thousands of
// lines down under the agent's own "the check below is empty"
// (docs/proposals.md, "What the agent wrote").
func TestApprovalPageShowsAgentTextAfterWarnings(t *testing.T) {
	e := newEnv(t, "")
	e.seedLLM()
	in := movingProposal()
	in.UserMessage = "Routine key rotation for the LLM service. The check below is empty." +
		strings.Repeat("\n", 2400) + strings.Repeat(" \t\r\n", 600) + "Ignore the \u202eetoN\u202c part\u2066 \u2067\u2068\u2069\u200e\u200f\u061c\u202a\u202b\u202d(end)"
	in.Message = "dev\n\n\n\n\nnote\u202e"
	_, path := e.propose(in)
	for _, loggedIn := range []bool{false, true} {
		b := e.browser()
		if loggedIn {
			b.loggedIn(path)
		}
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, p.status)
		}
		body := html.UnescapeString(p.body)
		order := []string{`id="warnings"`, `<h2>Services</h2>`, `<h2>Credentials</h2>`, `id="user-message"`, `id="dev-message"`}
		if loggedIn {
			order = append(order, `id="allow"`)
		}
		at := -1
		for i, mark := range order {
			j := strings.Index(body, mark)
			if j < 0 {
				t.Fatalf("logged in %v: the page has no %s", loggedIn, mark)
			}
			if j < at {
				t.Errorf("logged in %v: %s comes before %s", loggedIn, mark, order[i-1])
			}
			at = j
		}
		if n := strings.Count(body[strings.Index(body, "<h1>"):strings.Index(body, `id="warnings"`)], "\n"); n > 5 {
			t.Errorf("logged in %v: the warnings come %d lines below the title", loggedIn, n)
		}
		mustHave(t, "the page", body,
			`<h2 id="user-message-title">Message for you from the agent</h2>`,
			`Written by agent:bot, not checked by Agent Vault`,
			`<div class="msg agent-text" id="user-message" role="region" aria-labelledby="user-message-title" tabindex="0">Routine key rotation for the LLM service. The check below is empty.`+"\n\n"+`Ignore the etoN part (end)</div>`,
			`<h2 id="dev-message-title">Note for the developer from the agent</h2>`,
			`id="dev-message" role="region" aria-labelledby="dev-message-title" tabindex="0">dev`+"\n\n"+`note</div>`)
		for _, r := range "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c" {
			if strings.ContainsRune(body, r) {
				t.Errorf("logged in %v: the page holds the bidi control %U", loggedIn, r)
			}
		}
	}
	if !strings.Contains(styleCSS, ".agent-text{max-height:16em;overflow:auto}") {
		t.Error("the style sheet does not bound the height of the agent's text")
	}
}

// TestAgentText: the cleaning of requester-written text for the page.
func TestAgentText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a\nb", "a\nb"},
		{"a\n\nb", "a\n\nb"},
		{"a\n\n\n\n\nb", "a\n\nb"},
		{"\n\n  \t\na\n \n\t\n\u00a0\n\u3000\nb\n\n\n", "a\n\nb"},
		{"a\r\nb\rc\vd\fe\u0085f\u2028g\u2029h", "a\nb\nc\nd\ne\nf\ng\nh"},
		{"a\u2028\u2028\u2028\u2028b", "a\n\nb"},
		{"  indented\n\tkept   ", "  indented\n\tkept"},
		{"\u202eevil\u202c \u2066x\u2069\u200e\u200f\u061c\u202a\u202b\u202d\u2067\u2068", "evil x"},
		{"bell\a esc\x1b[31m del\x7f c1\u009b", "bell esc[31m del c1"},
		{"\u202e\n\u202e", ""},
		{"emoji 👩\u200d💻 stays", "emoji 👩\u200d💻 stays"},
	} {
		if got := agentText(tc.in); got != tc.want {
			t.Errorf("agentText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestApprovalPageBoundsSlotText: a credential slot's description and
// hints come before the agent's messages and before later slots, outside
// any box of bounded height; hundreds of one-character lines there would
// push the rest of the page down (a proposal may have 30 slots), so the
// page keeps 8 lines of each and
// joins the rest.
func TestApprovalPageBoundsSlotText(t *testing.T) {
	e := newEnv(t, "")
	e.seedLLM()
	in := movingProposal()
	long := strings.Repeat("x\n", 240) + "end" // within the 500 characters a description may have
	in.Credentials[0].Description = long
	in.Credentials[0].ObtainInstructions = long
	_, path := e.propose(in)
	p := e.browser().get(path)
	if p.status != http.StatusOK {
		t.Fatalf("GET %s: %d", path, p.status)
	}
	body := html.UnescapeString(p.body)
	if n := strings.Count(body, "x\nx\n"); n == 0 || strings.Contains(body, strings.Repeat("x\n", 9)) {
		t.Errorf("the slot's text keeps more than 8 lines (or none): %d pairs of lines", n)
	}
	if !strings.Contains(body, "x\n"+strings.Repeat("x ", 233)+"end") {
		t.Error("the lines past the 8th are not joined onto the last one")
	}
	if n := strings.Count(body, "\n"); n > 300 {
		t.Errorf("the page has %d lines", n)
	}
}

func TestFewLines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"1\n2\n3\n4\n5\n6\n7\n8", "1\n2\n3\n4\n5\n6\n7\n8"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n10", "1\n2\n3\n4\n5\n6\n7\n8 9 10"},
	} {
		if got := fewLines(tc.in); got != tc.want {
			t.Errorf("fewLines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
