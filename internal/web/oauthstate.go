package web

import "github.com/agent-vault/agent-vault/internal/apitype"

// oauthState is an OAuth credential's state as the console shows it
// beside its type ("" for other credentials); never a token.
func oauthState(c apitype.Credential) string {
	if c.OAuth == nil {
		return ""
	}
	s := c.OAuth.Status
	if c.OAuth.Status == apitype.OAuthStatusConnected && c.OAuth.ExpiresAt != nil {
		s += ", expires " + fmtTime(*c.OAuth.ExpiresAt)
	}
	return s
}
