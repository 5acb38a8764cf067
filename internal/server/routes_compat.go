package server

import (
	"net/http"

	"github.com/agent-vault/agent-vault/internal/broker"
)

// compatRoutes are routes of the public protocol that our own clients do
// not need but clients written for it call (see docs/compatibility.md).
func (s *Server) compatRoutes() []route {
	b := s.b
	ok, created := http.StatusOK, http.StatusCreated
	return []route{
		{"POST /v1/auth/verify", s.guarded(ok, func(r *http.Request) (any, error) { return body(r, b.VerifyEmail) })},
		{"POST /v1/auth/resend-verification", s.guarded(ok, func(r *http.Request) (any, error) { return body(r, b.ResendVerification) })},
		{"GET /v1/vaults/{name}/context", s.withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.VaultContext(r.Context(), a, name)
		})},
		{"GET /v1/vaults/{name}/services/credential-usage", s.withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.CredentialUsage(r.Context(), a, name, r.URL.Query().Get("key"))
		})},
		{"POST /v1/users/invites/{token}/reinvite", s.authed(created, func(r *http.Request, a broker.Actor) (any, error) {
			return b.Reinvite(r.Context(), a, r.PathValue("token"))
		})},
	}
}
