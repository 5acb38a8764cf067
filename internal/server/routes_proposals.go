package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/errs"
)

// proposalID reads the {id} path segment.
func proposalID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.Invalid("id", "proposal id must be a positive number")
	}
	return id, nil
}

// vaultHint is the vault an agent-side call names: X-Vault, then ?vault=.
func vaultHint(r *http.Request) string {
	if v := strings.TrimSpace(r.Header.Get("X-Vault")); v != "" {
		return v
	}
	return r.URL.Query().Get("vault")
}

// proposalRoutes are the agent and review sides of proposals.
func (s *Server) proposalRoutes() []route {
	b := s.b
	ok, created := http.StatusOK, http.StatusCreated
	withID := func(fn func(r *http.Request, a broker.Actor, id int64) (any, error)) http.Handler {
		return s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			id, err := proposalID(r)
			if err != nil {
				return nil, err
			}
			return fn(r, a, id)
		})
	}
	return []route{
		{"POST /v1/proposals", s.authed(created, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.CreateProposalRequest) (apitype.ProposalCreated, error) {
				return b.CreateProposal(ctx, a, vaultHint(r), in)
			})
		})},
		{"GET /v1/proposals", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.ListProposals(r.Context(), a, vaultHint(r), r.URL.Query().Get("status"))
		})},
		{"GET /v1/proposals/{id}", withID(func(r *http.Request, a broker.Actor, id int64) (any, error) {
			return b.GetProposal(r.Context(), a, id)
		})},
		{"GET /v1/proposals/approve-details", s.guarded(ok, func(r *http.Request) (any, error) {
			var id int64
			if v := r.URL.Query().Get("id"); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, errs.Invalid("id", "id must be a number")
				}
				id = n
			}
			return b.ApprovalDetails(r.Context(), r.URL.Query().Get("token"), id)
		})},
		{"GET /v1/admin/proposals", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			q := r.URL.Query()
			return b.AdminListProposals(r.Context(), a, q.Get("vault"), q.Get("status"))
		})},
		{"GET /v1/admin/proposals/{id}", withID(func(r *http.Request, a broker.Actor, id int64) (any, error) {
			return b.AdminGetProposal(r.Context(), a, id)
		})},
		{"POST /v1/admin/proposals/{id}/approve", withID(func(r *http.Request, a broker.Actor, id int64) (any, error) {
			var in apitype.ApproveProposalRequest
			if r.ContentLength != 0 {
				if err := decode(r, &in); err != nil {
					return nil, err
				}
			}
			return b.ApproveProposal(r.Context(), a, id, in)
		})},
		{"POST /v1/admin/proposals/{id}/reject", withID(func(r *http.Request, a broker.Actor, id int64) (any, error) {
			return body(r, func(ctx context.Context, in apitype.RejectProposalRequest) (apitype.ProposalDecided, error) {
				return b.RejectProposal(ctx, a, id, in)
			})
		})},
	}
}
