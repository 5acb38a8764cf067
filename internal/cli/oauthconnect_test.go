package cli

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The connect line printed after an approval holds values an agent
// proposed: a shell given the line sees each as one word, whatever it
// holds.
func TestWriteOAuthToConnectQuotesAgentValues(t *testing.T) {
	evil := "https://idp.example/auth?x=1'; touch /tmp/pwned-oauth; echo '$(id)`id`"
	p := apitype.Proposal{Vault: "default", Credentials: []apitype.ProposalCredential{
		{Action: "set", Key: "STATIC", Type: "static"},
		{Action: "set", Key: "GOOGLE", Type: "oauth", OAuth: &apitype.OAuthConfig{AuthorizationURL: evil, TokenURL: "https://idp.example/token", ClientID: "c id", Scopes: []string{"a", "b"}}},
	}}
	var b strings.Builder
	writeOAuthToConnect(&b, p)
	out := b.String()
	if strings.Contains(out, "STATIC") || !strings.Contains(out, "oauth connect GOOGLE --vault default") {
		t.Fatalf("output:\n%s", out)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "oauth connect GOOGLE") {
			line = strings.TrimSpace(l)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// printf prints each word the shell split the line into on its own line.
	got, err := exec.Command(sh, "-c", "printf '%s\\n' "+strings.TrimPrefix(line, "agent-vault ")).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	words := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	want := []string{"vault", "credential", "oauth", "connect", "GOOGLE", "--vault", "default", "--authorization-url", evil,
		"--token-url", "https://idp.example/token", "--client-id", "c id", "--scopes", "a b"}
	if strings.Join(words, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("the shell split the line into %q\nwant %q", words, want)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"GOOGLE": "GOOGLE", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "https://x.example/a?b=c": "'https://x.example/a?b=c'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
