package server

import (
	"net/http"

	"github.com/agent-vault/agent-vault/internal/broker"
)

// auditRoutes serve the admin audit trail: the whole trail and its
// verification to owners, one vault's rows to that vault's admins.
func (s *Server) auditRoutes() []route {
	b := s.b
	ok := http.StatusOK
	query := func(r *http.Request) broker.AuditQuery {
		q := r.URL.Query()
		return broker.AuditQuery{Vault: q.Get("vault"), Action: q.Get("action"), Actor: q.Get("actor"), Since: q.Get("since"),
			Until: q.Get("until"), Before: q.Get("before"), After: q.Get("after"), Limit: q.Get("limit")}
	}
	return []route{
		{"GET /v1/admin/audit", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.AdminAudit(r.Context(), a, query(r))
		})},
		{"POST /v1/admin/audit/verify", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.VerifyAudit(r.Context(), a)
		})},
		{"GET /v1/vaults/{name}/audit", s.withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.VaultAudit(r.Context(), a, name, query(r))
		})},
	}
}
