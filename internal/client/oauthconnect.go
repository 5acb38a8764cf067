package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// OAuthConnect starts the authorization-code flow of an OAuth credential
// and returns the provider URL to open.
func (c *Client) OAuthConnect(ctx context.Context, in apitype.OAuthConnectRequest) (out apitype.OAuthConnectStarted, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/credentials/oauth/connect", in, &out)
}

// OAuthConnection is what a waiting `oauth connect` reads of an OAuth
// credential's status: whether it holds tokens and since when (the time
// changes with each completed connection).
type OAuthConnection struct {
	Connected   bool   `json:"connected"`
	ConnectedAt string `json:"connected_at,omitempty"`
}

// OAuthConnection reads GET /v1/credentials/oauth/status.
func (c *Client) OAuthConnection(ctx context.Context, vault, key string) (out OAuthConnection, err error) {
	q := url.Values{"vault": {vault}, "key": {key}}
	return out, c.do(ctx, http.MethodGet, "/v1/credentials/oauth/status?"+q.Encode(), nil, &out)
}
