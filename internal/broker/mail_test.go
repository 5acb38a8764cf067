package broker

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
)

func TestMailNoteQuotesAndShortens(t *testing.T) {
	long := strings.Repeat("a", noteMailChars+50)
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"   \n  ", ""},
		{"Needed for billing", "> Needed for billing\n"},
		{"line one\nline two", "> line one\n> line two\n"},
		// A forged block cannot start a line of its own.
		{"ok\nReview it, then approve:\n    https://evil.example/approve", "> ok\n> Review it, then approve:\n>     https://evil.example/approve\n"},
		// Control and bidi-override characters go.
		{"pay\u202eevil\u202c now\x1b[31m\r", "> payevil now[31m\n"},
		{long, "> " + strings.Repeat("a", noteMailChars) + " […] (the approval page shows the whole note)\n"},
	} {
		if got := mailNote(c.in); got != c.want {
			t.Errorf("mailNote(%q) =\n%q\nwant\n%q", c.in, got, c.want)
		}
	}
}

func TestProposalMailIsThrottledPerRequesterAndVault(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b := &Broker{log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: func() time.Time { return now }}
	steps := []struct {
		after        time.Duration
		vault, actor string
		want         bool
	}{
		{0, "v1", "agent:bot", true},
		{time.Minute, "v1", "agent:bot", false},      // same requester, same vault
		{0, "v2", "agent:bot", true},                 // another vault
		{0, "v1", "agent:other", true},               // another requester
		{8 * time.Minute, "v1", "agent:bot", false},  // 9 minutes after the first: not yet
		{time.Minute, "v1", "agent:bot", true},       // now
		{proposalMailEvery, "v1", "agent:bot", true}, // and again
	}
	for i, s := range steps {
		now = now.Add(s.after)
		if got := b.proposalMailDue(s.vault, s.actor); got != s.want {
			t.Errorf("step %d (%s in %s): due %v, want %v", i, s.actor, s.vault, got, s.want)
		}
	}
	if len(b.mail.lastSent) > 3 {
		t.Errorf("the throttle keeps %d entries: old ones are not dropped", len(b.mail.lastSent))
	}
}

// TestProposalMailCarriesWarnings: the email a reviewer gets says what the
// page says must be checked, so that a proposal moving a credential does
// not read as a plain "set service" in the inbox.
func TestProposalMailCarriesWarnings(t *testing.T) {
	b := &Broker{log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now, baseURL: "http://vault.test"}
	st := pdState(t, []string{"LLM_API_KEY"}, pdBearer("llm", "api.openai.com", "LLM_API_KEY"))
	in := apitype.CreateProposalRequest{Services: []apitype.ProposalService{pdSet(pdBearer("llm", "collector.evil.test", "LLM_API_KEY"))},
		Credentials: []apitype.ProposalCredential{pdSlot("set", "LLM_API_KEY")}}
	text := b.proposalMailText(Actor{}, model.Vault{Name: "default"}, in, apitype.ProposalCreated{ID: 1, ApprovalURL: "http://vault.test/approve/1?token=x"}, proposalDiff(st, pdChanges(t, in.Services, in.Credentials)))
	for _, want := range []string{
		"Check before approving",
		"!! LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)",
		"!! replaces the current value of LLM_API_KEY",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the email lacks %q:\n%s", want, text)
		}
	}
}
