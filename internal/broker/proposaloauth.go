package broker

import (
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
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
	prefix := f + ".oauth."
	split, err := checkScopeSeparator(prefix, o.ScopeSeparator)
	if err != nil {
		return nil, err
	}
	if _, err := checkTokenAuth(prefix, o.TokenAuthMethod, o.DisablePKCE); err != nil {
		return nil, err
	}
	// A scopes string is split at spaces and commas when decoded; a
	// separator of its own splits it further.
	var scopes []string
	for _, s := range o.Scopes {
		for _, part := range strings.Split(s, split) {
			if part = strings.TrimSpace(part); part != "" {
				scopes = append(scopes, part)
			}
		}
	}
	if err := checkScopes(prefix, scopes, split); err != nil {
		return nil, err
	}
	return &model.OAuthSlot{AuthorizationURL: o.AuthorizationURL, TokenURL: o.TokenURL, Scopes: scopes, ClientID: o.ClientID,
		ScopeSeparator: o.ScopeSeparator, DisablePKCE: o.DisablePKCE, TokenAuthMethod: o.TokenAuthMethod}, nil
}
