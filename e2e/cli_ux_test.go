package e2e

// The CLI as a first-time user meets it: a server without accounts says
// to register, ages for --since, --status all, mistyped subcommands and
// flag help.

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCLIFirstSteps(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	c := newCLI(t, "first", s.url)

	// No account exists yet: the hint is to register, not to log in.
	r := c.run("", "vault", "list")
	if r.code == 0 || !strings.Contains(r.stderr, "this server has no account yet") || !strings.Contains(r.stderr, "`agent-vault auth register`") {
		t.Errorf("vault list before any account:\n%s", r)
	}
	r = c.run("someone@example.com\nsome-password-1\n", "auth", "login")
	if r.code == 0 || !strings.Contains(r.stderr, "`agent-vault auth register`") {
		t.Errorf("auth login before any account:\n%s", r)
	}
	register(t, c, "owner@example.com", "owner-pass-1")

	// Ages and times for --since/--until; a wrong one names the flag.
	for _, args := range [][]string{
		{"vault", "logs", "--since", "1h"},
		{"vault", "logs", "--since", "2026-01-02T15:04:05Z"},
		{"audit", "list", "--since", "7d", "--until", "1m"},
		{"vault", "proposal", "list", "--status", "all"},
		{"vault", "proposal", "list", "--status", "pending"},
	} {
		if r := c.run("", args...); r.code != 0 {
			t.Errorf("%v:\n%s", args, r)
		}
	}
	r = c.run("", "vault", "logs", "--since", "yesterday")
	if r.code == 0 || !strings.Contains(r.stderr, `--since "yesterday" is neither a time like`) {
		t.Errorf("vault logs --since yesterday:\n%s", r)
	}

	// A mistyped nested subcommand is an error with a suggestion.
	r = c.run("", "vault", "servce", "list")
	if r.code == 0 || strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stderr, "did you mean `agent-vault vault service`?") {
		t.Errorf("vault servce list:\n%s", r)
	}
	// Flag help shows the value type, not a back-quoted command.
	r = c.run("", "vault", "credential", "list", "--help")
	if !strings.Contains(r.stdout, "--vault string") || strings.Contains(r.stdout, "--vault agent-vault") {
		t.Errorf("vault credential list --help:\n%s", r.stdout)
	}
}
