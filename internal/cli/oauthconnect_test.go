package cli

import (
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The connect line printed after an approval names only the key and the
// vault: the provider URLs an agent proposed stay out of a command line a
// person pastes into a shell.
func TestWriteOAuthToConnectLeavesAgentValuesOut(t *testing.T) {
	evil := "https://idp.example/auth?x=1'; touch /tmp/pwned-oauth; echo '$(id)`id`"
	p := apitype.Proposal{Vault: "default", Credentials: []apitype.ProposalCredential{
		{Action: "set", Key: "STATIC", Type: "static"},
		{Action: "set", Key: "GOOGLE", Type: "oauth", OAuth: &apitype.OAuthConfig{AuthorizationURL: evil, TokenURL: "https://idp.example/token", ClientID: "c'id"}},
		{Action: "set", Key: "BARE", Type: "oauth", OAuth: &apitype.OAuthConfig{TokenURL: "https://idp.example/token"}},
	}}
	var b strings.Builder
	writeOAuthToConnect(&b, p)
	out := b.String()
	if strings.Contains(out, "STATIC") || strings.Contains(out, "idp.example") || strings.Contains(out, "c'id") {
		t.Fatalf("output:\n%s", out)
	}
	if !strings.Contains(out, "agent-vault vault credential oauth connect GOOGLE --vault default --client-secret -\n") {
		t.Errorf("no connect line for GOOGLE:\n%s", out)
	}
	if !strings.Contains(out, "connect BARE --vault default --client-secret -   # the proposal named no --authorization-url or --client-id: add them") {
		t.Errorf("the line for BARE does not say what is missing:\n%s", out)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"GOOGLE": "GOOGLE", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "https://x.example/a?b=c": "'https://x.example/a?b=c'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
