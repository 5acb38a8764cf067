package broker

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
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
