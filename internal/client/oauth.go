package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// UploadOAuthTokens stores OAuth tokens for a credential, or a client
// whose tokens the vault fetches (grant_type client_credentials).
func (c *Client) UploadOAuthTokens(ctx context.Context, in apitype.OAuthTokensRequest) (out apitype.OAuthConnected, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/credentials/oauth/tokens", in, &out)
}

// OAuthStatus reads an OAuth credential's state.
func (c *Client) OAuthStatus(ctx context.Context, vault, key string) (out apitype.OAuthStatus, err error) {
	q := url.Values{"vault": {vault}, "key": {key}}
	return out, c.do(ctx, http.MethodGet, "/v1/credentials/oauth/status?"+q.Encode(), nil, &out)
}
