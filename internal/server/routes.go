package server

import (
	"context"
	"net/http"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
)

type route struct {
	pattern string
	h       http.Handler
}

// routes is the control plane's one route table.
func (s *Server) routes() []route {
	b := s.b
	ok, created := http.StatusOK, http.StatusCreated
	withName := s.withName
	return append([]route{
		{"GET /health", s.open(ok, func(*http.Request) (any, error) { return apitype.Health{Status: "ok"}, nil })},
		{"GET /healthz", http.HandlerFunc(s.healthz)},
		{"GET /readyz", http.HandlerFunc(s.readyz)},
		{"GET /v1/status", s.open(ok, func(r *http.Request) (any, error) { return b.Status(r.Context()) })},

		// Auth and account.
		// Register is guarded: the first account needs the setup code, and a
		// wrong one spends the failure budget (broker/firstrun.go).
		{"POST /v1/auth/register", s.guarded(created, func(r *http.Request) (any, error) { return body(r, b.Register) })},
		{"POST /v1/auth/login", s.guarded(ok, func(r *http.Request) (any, error) { return body(r, b.Login) })},
		{"POST /v1/auth/forgot-password", s.guarded(ok, func(r *http.Request) (any, error) { return body(r, b.ForgotPassword) })},
		{"POST /v1/auth/reset-password", s.guarded(ok, func(r *http.Request) (any, error) { return body(r, b.ResetPassword) })},
		{"POST /v1/auth/logout", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.Logout(r.Context(), a) })},
		{"GET /v1/auth/me", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.Me(r.Context(), a) })},
		{"POST /v1/auth/change-password", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.ChangePasswordRequest) (apitype.TokenResponse, error) {
				return b.ChangePassword(ctx, a, in)
			})
		})},
		{"DELETE /v1/auth/account", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.DeleteAccount(r.Context(), a) })},
		{"GET /v1/auth/sessions", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.ListSessions(r.Context(), a) })},
		{"DELETE /v1/auth/sessions/{id}", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.RevokeSession(r.Context(), a, r.PathValue("id"))
		})},

		// Vaults.
		{"POST /v1/vaults", s.authed(created, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.CreateVaultRequest) (apitype.VaultCreated, error) {
				return b.CreateVault(ctx, a, in)
			})
		})},
		{"GET /v1/vaults", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.ListVaults(r.Context(), a) })},
		{"GET /v1/admin/vaults", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.AdminListVaults(r.Context(), a) })},
		{"DELETE /v1/vaults/{name}", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.DeleteVault(r.Context(), a, name)
		})},
		{"POST /v1/vaults/{name}/rename", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return body(r, func(ctx context.Context, in apitype.RenameVaultRequest) (apitype.VaultRenamed, error) {
				return b.RenameVault(ctx, a, name, in)
			})
		})},
		{"POST /v1/vaults/{name}/join", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.JoinVault(r.Context(), a, name)
		})},
		{"POST /v1/vaults/{name}/leave", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.LeaveVault(r.Context(), a, name)
		})},
		{"GET /v1/vaults/{name}/settings", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.VaultSettings(r.Context(), a, name)
		})},
		{"PATCH /v1/vaults/{name}/settings", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return body(r, func(ctx context.Context, in apitype.VaultSettings) (apitype.VaultSettings, error) {
				return b.UpdateVaultSettings(ctx, a, name, in)
			})
		})},

		// Vault users.
		{"GET /v1/vaults/{name}/users", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.ListVaultUsers(r.Context(), a, name)
		})},
		{"POST /v1/vaults/{name}/users", withName(created, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return body(r, func(ctx context.Context, in apitype.VaultUserRequest) (apitype.UserRole, error) {
				return b.AddVaultUser(ctx, a, name, in)
			})
		})},
		{"DELETE /v1/vaults/{name}/users/{email}", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.RemoveVaultUser(r.Context(), a, name, r.PathValue("email"))
		})},
		{"POST /v1/vaults/{name}/users/{email}/role", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return body(r, func(ctx context.Context, in apitype.RoleRequest) (apitype.UserRole, error) {
				return b.SetVaultUserRole(ctx, a, name, r.PathValue("email"), in)
			})
		})},

		// Users, invites and instance settings.
		{"GET /v1/users", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.ListUsers(r.Context(), a) })},
		{"GET /v1/admin/users/{email}", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.AdminGetUser(r.Context(), a, r.PathValue("email"))
		})},
		{"DELETE /v1/admin/users/{email}", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.AdminDeleteUser(r.Context(), a, r.PathValue("email"), r.URL.Query().Get("transfer_agents_to"))
		})},
		{"POST /v1/admin/users/{email}/role", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.RoleRequest) (apitype.UserRole, error) {
				return b.AdminSetRole(ctx, a, r.PathValue("email"), in)
			})
		})},
		{"POST /v1/users/invites", s.authed(created, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.InviteRequest) (apitype.InviteCreated, error) {
				return b.CreateInvite(ctx, a, in)
			})
		})},
		{"GET /v1/users/invites", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.ListInvites(r.Context(), a) })},
		{"DELETE /v1/users/invites/{token}", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.RevokeInvite(r.Context(), a, r.PathValue("token"))
		})},
		{"GET /v1/users/invites/{token}/details", s.guarded(ok, func(r *http.Request) (any, error) {
			return b.InviteDetails(r.Context(), r.PathValue("token"))
		})},
		{"POST /v1/users/invites/{token}/accept", s.guarded(ok, func(r *http.Request) (any, error) {
			return body(r, func(ctx context.Context, in apitype.AcceptInviteRequest) (apitype.InviteAccepted, error) {
				return b.AcceptInvite(ctx, r.PathValue("token"), in)
			})
		})},
		{"GET /v1/admin/settings", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.GetInstanceSettings(r.Context(), a) })},
		{"PUT /v1/admin/settings", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return strictBody(r, func(ctx context.Context, in apitype.InstanceSettings) (apitype.InstanceSettings, error) {
				return b.UpdateInstanceSettings(ctx, a, in)
			})
		})},
		{"POST /v1/admin/email/test", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return optionalBody(r, func(ctx context.Context, in apitype.EmailTestRequest) (apitype.EmailTestResult, error) {
				return b.TestEmail(ctx, a, in)
			})
		})},
	}, append(append(append(append(append(s.contentRoutes(), s.proposalRoutes()...), s.auditRoutes()...), s.compatRoutes()...), s.oauthRoutes()...), s.oauthConnectRoutes()...)...)
}

// withName wraps a handler of a vault-scoped route, binding {name}.
func (s *Server) withName(status int, fn func(r *http.Request, a broker.Actor, name string) (any, error)) http.Handler {
	return s.authed(status, func(r *http.Request, a broker.Actor) (any, error) {
		name, err := pathValue(r, "name")
		if err != nil {
			return nil, err
		}
		return fn(r, a, name)
	})
}
