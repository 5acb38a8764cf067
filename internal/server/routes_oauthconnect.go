package server

import (
	"context"
	"net/http"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
)

// oauthConnectRoutes start the authorization-code flow of an OAuth
// credential. Its other end, GET /v1/oauth/callback, is a browser page
// (internal/web): it needs the signed-in user's session cookie, which the
// JSON API never reads.
func (s *Server) oauthConnectRoutes() []route {
	b := s.b
	return []route{
		{"POST /v1/credentials/oauth/connect", s.authed(http.StatusOK, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.OAuthConnectRequest) (apitype.OAuthConnectStarted, error) {
				return b.StartOAuthConnect(ctx, a, in)
			})
		})},
	}
}
