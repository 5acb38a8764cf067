package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
)

// vaultParam is the vault a credentials call names: ?vault=, else the
// scoped session's own vault, else "default".
func vaultParam(r *http.Request, a broker.Actor, fromBody string) string {
	if fromBody != "" {
		return fromBody
	}
	if v := r.URL.Query().Get("vault"); v != "" {
		return v
	}
	if a.Scope != nil {
		return a.Scope.VaultName
	}
	return "default"
}

// contentRoutes are a vault's contents and the agent-facing endpoints:
// credentials, services, agents, scoped sessions, discovery, catalog, skill.
func (s *Server) contentRoutes() []route {
	b := s.b
	ok, created := http.StatusOK, http.StatusCreated
	withName := s.withName
	return []route{
		// Credentials.
		{"GET /v1/credentials", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			q := r.URL.Query()
			reveal := q.Get("reveal") == "true" || q.Get("reveal") == "1"
			return b.ListCredentials(r.Context(), a, vaultParam(r, a, ""), reveal, q.Get("key"))
		})},
		{"POST /v1/credentials", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.SetCredentialsRequest) (apitype.CredentialsSet, error) {
				in.Vault = vaultParam(r, a, in.Vault)
				return b.SetCredentials(ctx, a, in)
			})
		})},
		{"POST /v1/credentials/bind", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.BindCredentialRequest) (apitype.CredentialBinding, error) {
				in.Vault = vaultParam(r, a, in.Vault)
				return b.BindCredential(ctx, a, in)
			})
		})},
		{"POST /v1/credentials/unbind", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.BindCredentialRequest) (apitype.CredentialBinding, error) {
				in.Vault = vaultParam(r, a, in.Vault)
				return b.UnbindCredential(ctx, a, in)
			})
		})},
		{"DELETE /v1/credentials", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			var in apitype.DeleteCredentialsRequest
			if k := r.URL.Query()["key"]; len(k) > 0 {
				in.Keys = k // query form: ?vault=&key=A&key=B
			} else if err := decode(r, &in); err != nil {
				return nil, err
			}
			in.Vault = vaultParam(r, a, in.Vault)
			return b.DeleteCredentials(r.Context(), a, in)
		})},

		// Services.
		{"GET /v1/vaults/{name}/services", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.ListServices(r.Context(), a, name)
		})},
		{"PUT /v1/vaults/{name}/services", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return body(r, func(ctx context.Context, in apitype.ServiceList) (apitype.ServicesReplaced, error) {
				dry := r.URL.Query().Get("dry_run") == "true"
				return b.ReplaceServices(ctx, a, name, in, dry)
			})
		})},
		{"POST /v1/vaults/{name}/services", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return body(r, func(ctx context.Context, in apitype.ServiceList) (apitype.ServicesUpserted, error) {
				return b.UpsertServices(ctx, a, name, in)
			})
		})},
		{"DELETE /v1/vaults/{name}/services", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.ClearServices(r.Context(), a, name)
		})},
		// {ref...} takes the rest of the path: a host reference may hold slashes.
		{"PATCH /v1/vaults/{name}/services/{ref...}", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return body(r, func(ctx context.Context, in apitype.ServicePatch) (apitype.ServicePatched, error) {
				return b.PatchService(ctx, a, name, r.PathValue("ref"), in)
			})
		})},
		{"DELETE /v1/vaults/{name}/services/{ref...}", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.RemoveService(r.Context(), a, name, r.PathValue("ref"))
		})},

		// Agents.
		{"POST /v1/agents", s.authed(created, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.CreateAgentRequest) (apitype.AgentCreated, error) {
				return b.CreateAgent(ctx, a, in)
			})
		})},
		{"GET /v1/agents", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) { return b.ListAgents(r.Context(), a) })},
		{"GET /v1/agents/{agent}", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.GetAgent(r.Context(), a, r.PathValue("agent"))
		})},
		{"DELETE /v1/agents/{agent}", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.RevokeAgent(r.Context(), a, r.PathValue("agent"))
		})},
		{"POST /v1/agents/{agent}/revoke", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.RevokeAgent(r.Context(), a, r.PathValue("agent"))
		})},
		{"POST /v1/agents/{agent}/delete", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.DeleteAgent(r.Context(), a, r.PathValue("agent"))
		})},
		{"POST /v1/agents/{agent}/rotate", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.RotateAgent(r.Context(), a, r.PathValue("agent"))
		})},
		{"POST /v1/agents/{agent}/rename", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.RenameVaultRequest) (apitype.AgentRenamed, error) {
				return b.RenameAgent(ctx, a, r.PathValue("agent"), in)
			})
		})},
		{"POST /v1/agents/{agent}/role", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.RoleRequest) (apitype.AgentRoleChanged, error) {
				return b.SetAgentRole(ctx, a, r.PathValue("agent"), in)
			})
		})},
		{"GET /v1/vaults/{name}/agents", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.ListVaultAgents(r.Context(), a, name)
		})},
		{"POST /v1/vaults/{name}/agents", withName(created, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return body(r, func(ctx context.Context, in apitype.VaultAgentRequest) (apitype.MessageResponse, error) {
				return b.AddVaultAgent(ctx, a, name, in)
			})
		})},
		{"DELETE /v1/vaults/{name}/agents/{agent}", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.RemoveVaultAgent(r.Context(), a, name, r.PathValue("agent"))
		})},
		{"POST /v1/vaults/{name}/agents/{agent}/role", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return body(r, func(ctx context.Context, in apitype.RoleRequest) (apitype.RoleChanged, error) {
				return b.SetVaultAgentRole(ctx, a, name, r.PathValue("agent"), in)
			})
		})},

		// Vault-scoped sessions.
		{"POST /v1/sessions", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return body(r, func(ctx context.Context, in apitype.CreateScopedSessionRequest) (apitype.ScopedSessionCreated, error) {
				return b.CreateScopedSession(ctx, a, in)
			})
		})},
		{"GET /v1/sessions", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.ListScopedSessions(r.Context(), a, r.URL.Query().Get("vault"))
		})},
		{"DELETE /v1/sessions/{id}", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			return b.RevokeScopedSession(r.Context(), a, r.PathValue("id"))
		})},

		// The request log.
		{"GET /v1/vaults/{name}/logs", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			q := r.URL.Query()
			return b.RequestLogs(r.Context(), a, name, broker.LogQuery{
				Service: q.Get("service"), Status: q.Get("status"), Actor: q.Get("actor"), Host: q.Get("host"),
				Since: q.Get("since"), Until: q.Get("until"), Before: q.Get("before"), After: q.Get("after"), Limit: q.Get("limit"),
			})
		})},
		{"GET /v1/vaults/{name}/discovered-hosts", withName(ok, func(r *http.Request, a broker.Actor, name string) (any, error) {
			return b.DiscoveredHosts(r.Context(), a, name)
		})},

		// Agent-facing discovery, the catalog and the skill.
		{"GET /discover", s.authed(ok, func(r *http.Request, a broker.Actor) (any, error) {
			hint := strings.TrimSpace(r.Header.Get("X-Vault"))
			if hint == "" {
				hint = r.URL.Query().Get("vault")
			}
			return b.Discover(r.Context(), a, hint)
		})},
		{"GET /v1/service-catalog", s.open(ok, func(*http.Request) (any, error) { return b.Catalog(), nil })},
		{"GET /v1/skills/cli", http.HandlerFunc(serveSkill)},
		{"GET /v1/mitm/ca.pem", http.HandlerFunc(s.serveCA)},
	}
}
