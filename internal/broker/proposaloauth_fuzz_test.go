package broker

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/oauth"
)

// An agent's oauth block, whatever its bytes: what proposedOAuthSlot
// accepts is a slot the connect flow can use as it stands (scopes
// without spaces, separators or control characters, within bounds; a
// known auth method; never a public client without PKCE).
func FuzzProposedOAuthSlot(f *testing.F) {
	f.Add(`{"action":"set","key":"K","type":"oauth","oauth":{"token_url":"https://idp.example/t","scopes":"a b,c"}}`)
	f.Add(`{"action":"set","key":"K","type":"oauth","oauth":{"token_url":"https://idp.example/t","scopes":["a;b"],"scope_separator":";"}}`)
	f.Add(`{"action":"set","key":"K","type":"oauth","oauth":{"token_url":"https://idp.example/t","token_auth_method":"none","disable_pkce":true}}`)
	f.Add(`{"action":"set","key":"K","type":"oauth","oauth":{"token_url":"https://idp.example/t","scopes":"a\u0000b","scope_separator":"+"}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var c apitype.ProposalCredential
		if json.Unmarshal([]byte(raw), &c) != nil {
			return
		}
		s, err := proposedOAuthSlot("credentials[0]", &c)
		if err != nil {
			return
		}
		if len(s.Scopes) > maxOAuthScopes {
			t.Fatalf("%d scopes accepted", len(s.Scopes))
		}
		for _, sc := range s.Scopes {
			if sc == "" || len(sc) > maxOAuthScope || strings.ContainsFunc(sc, unicode.IsControl) || strings.ContainsAny(sc, " "+s.ScopeSeparator) {
				t.Fatalf("scope %q accepted (separator %q)", sc, s.ScopeSeparator)
			}
		}
		m, err := oauth.ParseAuthMethod(s.TokenAuthMethod)
		if err != nil {
			t.Fatalf("auth method %q accepted", s.TokenAuthMethod)
		}
		if m == oauth.AuthNone && s.DisablePKCE {
			t.Fatal("a public client without PKCE accepted")
		}
	})
}
