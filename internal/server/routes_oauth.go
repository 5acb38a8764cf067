package server

import (
	"context"
	"net/http"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
)

// oauthRoutes are the OAuth credential routes of the public protocol
// besides the connect flow: token upload (and the client credentials
// grant) and status. See docs/oauth.md.
func (s *Server) oauthRoutes() []route {
	b := s.b
	ok := http.StatusOK
	return []route{
		{"POST /v1/credentials/oauth/tokens", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.OAuthTokensRequest) (apitype.OAuthConnected, error) {
				in.Vault = vaultParam(r, a, in.Vault)
				return b.UploadOAuthTokens(ctx, a, in)
			})
		})},
		{"GET /v1/credentials/oauth/status", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.OAuthStatus(r.Context(), a, vaultParam(r, a, ""), r.URL.Query().Get("key"))
		})},
	}
}
