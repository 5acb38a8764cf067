package broker

import (
	"cmp"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/oauth"
)

// proposedOAuthSlot checks the oauth block of a proposed OAuth credential
// slot (field f) and returns the slot it describes. The settings are
// those of the connect flow (docs/oauth.md), checked as an agent
// proposes them so that the reviewer sees what approval will store.
func proposedOAuthSlot(f string, c *apitype.ProposalCredential) (*model.OAuthSlot, error) {
	o := c.OAuth
	if o == nil || !isHTTPSURL(o.TokenURL) {
		return nil, errs.Invalid(f+".oauth.token_url", "an oauth slot needs oauth.token_url, an https:// URL")
	}
	if o.AuthorizationURL != "" && !isHTTPSURL(o.AuthorizationURL) {
		return nil, errs.Invalid(f+".oauth.authorization_url", "oauth.authorization_url must be an https:// URL")
	}
	if c.Value != nil {
		return nil, errs.Invalid(f+".value", "an oauth slot takes no value: it is connected after approval")
	}
	if len(o.ClientID) > maxOAuthClientID || hasControl(o.ClientID) {
		return nil, errs.Invalid(f+".oauth.client_id", "oauth.client_id must be at most %d printable characters", maxOAuthClientID)
	}
	sep := o.ScopeSeparator
	if sep != "" && (len(sep) != 1 || !strings.Contains(" ,;+", sep)) {
		return nil, errs.Invalid(f+".oauth.scope_separator", "oauth.scope_separator must be one of a space, \",\", \";\" or \"+\" (or left out for a space)")
	}
	m, err := oauth.ParseAuthMethod(o.TokenAuthMethod)
	if err != nil {
		return nil, errs.Invalid(f+".oauth.token_auth_method", "oauth.%v", err)
	}
	if m == oauth.AuthNone && o.DisablePKCE {
		return nil, errs.Invalid(f+".oauth.disable_pkce", "a public client (token_auth_method none) must use PKCE: leave disable_pkce out")
	}
	// A scopes string is split at spaces and commas when decoded; a
	// separator of its own splits it further.
	var scopes []string
	for _, s := range o.Scopes {
		for _, part := range strings.Split(s, cmp.Or(sep, " ")) {
			if part = strings.TrimSpace(part); part != "" {
				scopes = append(scopes, part)
			}
		}
	}
	if len(scopes) > maxOAuthScopes {
		return nil, errs.Invalid(f+".oauth.scopes", "at most %d scopes", maxOAuthScopes)
	}
	for _, s := range scopes {
		if len(s) > maxOAuthScope || hasControl(s) || strings.ContainsAny(s, " "+sep) {
			return nil, errs.Invalid(f+".oauth.scopes", "each scope must be 1 to %d printable characters without spaces or the separator (got %q)", maxOAuthScope, s)
		}
	}
	return &model.OAuthSlot{AuthorizationURL: o.AuthorizationURL, TokenURL: o.TokenURL, Scopes: scopes, ClientID: o.ClientID,
		ScopeSeparator: sep, DisablePKCE: o.DisablePKCE, TokenAuthMethod: o.TokenAuthMethod}, nil
}
