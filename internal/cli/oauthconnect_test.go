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
	// A slot without an authorization URL asks for tokens the person
	// holds: the upload command is offered too; GOOGLE, with one, gets none.
	if !strings.Contains(out, "oauth tokens BARE --vault default --refresh-token - --client-secret - --client-id …   # or upload tokens you already hold\n") ||
		strings.Contains(out, "oauth tokens GOOGLE") {
		t.Errorf("the token upload line is wrong:\n%s", out)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"GOOGLE": "GOOGLE", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "https://x.example/a?b=c": "'https://x.example/a?b=c'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// `oauth status` of a credential the proxy cannot inject says what to run
// next; a connected one needs nothing.
func TestOAuthNextStep(t *testing.T) {
	for _, c := range []struct {
		st   apitype.OAuthStatus
		want string
	}{
		{apitype.OAuthStatus{Vault: "default", Key: "G", Status: "connected"}, ""},
		{apitype.OAuthStatus{Vault: "default", Key: "G", Status: "pending"}, "oauth connect G --vault default"},
		{apitype.OAuthStatus{Vault: "my vault", Key: "G", Status: "refresh_failed", GrantType: "authorization_code"}, "oauth connect G --vault 'my vault'"},
		{apitype.OAuthStatus{Vault: "default", Key: "M", Status: "refresh_failed", GrantType: "client_credentials"}, "oauth tokens M --vault default --grant client_credentials"},
	} {
		got := oauthNextStep(c.st)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s/%s: next step %q, want one with %q", c.st.Status, c.st.GrantType, got, c.want)
		}
	}
}
