package server_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/server"
)

// routeClass says what an agent may do on a control-plane route.
type routeClass int

const (
	// public routes need no token (probes, logging in, invite links).
	public routeClass = iota
	// agentOK routes serve agents within their vault role.
	agentOK
	// userOnly routes refuse every agent credential, whatever its roles
	// (docs/permissions.md, "What agents never do").
	userOnly
)

// sweepCall is one request of the sweep, for the route named by pattern.
type sweepCall struct {
	pattern string
	class   routeClass
	path    string // the concrete path, query included
	body    any
}

// TestEveryRouteRefusesAgentsTheUserOnlyActions plays the strongest agent
// there is: an agent token with the instance role owner and the admin role
// in its vault, and a vault session of the admin role minted by the vault's
// human admin. It calls every route of the control plane. Each route must
// be classified below (a new route fails this test until it is), every
// user-only one must refuse both tokens with 401 or 403 and change nothing,
// and no answer to either ever holds the credential value.
func TestEveryRouteRefusesAgentsTheUserOnlyActions(t *testing.T) {
	f := newCfx(t)
	const v = "sweep"
	mkVault(t, f.own, v)
	mkVault(t, f.own, "sweep-other")
	value := f.secret("sweep")
	_, err := f.own.SetCredentialsWith(cbg, apitype.SetCredentialsRequest{Vault: v, Credentials: map[string]string{"SWEEP_KEY": value},
		AllowedHosts: map[string][]string{"SWEEP_KEY": {"api.sweep.example"}}})
	mustOK(t, "set credential", err)
	_, err = f.own.UpsertServices(cbg, v, []apitype.Service{{Name: "sweep", Host: "api.sweep.example", Auth: apitype.ServiceAuth{Type: "bearer", Token: "SWEEP_KEY"}}})
	mustOK(t, "set service", err)
	f.user(t, "bob.sweep@example.com")
	_, err = f.own.AddVaultUser(cbg, v, apitype.VaultUserRequest{Email: "bob.sweep@example.com", Role: "member"})
	mustOK(t, "add bob", err)
	inv, err := f.own.CreateInvite(cbg, apitype.InviteRequest{Email: "carol.sweep@example.com", Role: "member"})
	mustOK(t, "invite carol", err)
	f.keep(inv.Token)
	sessions, err := f.own.Sessions(cbg)
	if err != nil || len(sessions.Sessions) == 0 {
		t.Fatalf("owner sessions = %+v, %v", sessions, err)
	}
	ownerSession := sessions.Sessions[0].ID

	agentTok := f.agent(t, f.own, "sweep-strong", "owner", apitype.AgentVault{VaultName: v, VaultRole: "admin"})
	f.agent(t, f.own, "sweep-victim", "", apitype.AgentVault{VaultName: v, VaultRole: "proxy"})
	sessTok := f.session(t, f.own, v, "admin")
	prop, err := f.e.as(agentTok).CreateProposal(cbg, v, apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{{Action: "set", Name: "evil", Host: "evil.example", Auth: &apitype.ServiceAuth{Type: "bearer", Token: "SWEEP_KEY"}}},
		Message:  "please"})
	mustOK(t, "agent raises a proposal", err)
	pid := strconv.FormatInt(prop.ID, 10)

	calls := []sweepCall{
		{"GET /health", public, "/health", nil},
		{"GET /healthz", public, "/healthz", nil},
		{"GET /readyz", public, "/readyz", nil},
		{"GET /v1/status", public, "/v1/status", nil},
		{"POST /v1/auth/register", public, "/v1/auth/register", apitype.Credentials{Email: "mallory.sweep@example.com", Password: "mallory-password"}},
		{"POST /v1/auth/login", public, "/v1/auth/login", apitype.Credentials{Email: "owner@example.com", Password: "wrong-password"}},
		{"POST /v1/auth/forgot-password", public, "/v1/auth/forgot-password", map[string]string{"email": "owner@example.com"}},
		{"POST /v1/auth/reset-password", public, "/v1/auth/reset-password", map[string]string{"email": "owner@example.com", "code": "000000", "new_password": "mallory-password"}},
		{"POST /v1/auth/verify", public, "/v1/auth/verify", map[string]string{"email": "owner@example.com", "code": "000000"}},
		{"POST /v1/auth/resend-verification", public, "/v1/auth/resend-verification", map[string]string{"email": "owner@example.com"}},
		{"GET /v1/users/invites/{token}/details", public, "/v1/users/invites/" + inv.Token + "/details", nil},
		{"POST /v1/users/invites/{token}/accept", public, "/v1/users/invites/av_uinv_0000/accept", map[string]string{"password": "mallory-password"}},
		{"GET /v1/proposals/approve-details", public, "/v1/proposals/approve-details?token=av_appr_0000", nil},
		{"GET /v1/mitm/ca.pem", public, "/v1/mitm/ca.pem", nil},
		{"GET /v1/skills/cli", public, "/v1/skills/cli", nil},
		{"GET /v1/service-catalog", agentOK, "/v1/service-catalog", nil},

		// The user's own account.
		{"GET /v1/auth/me", agentOK, "/v1/auth/me", nil},
		{"POST /v1/auth/logout", agentOK, "/v1/auth/logout", nil}, // ends nothing of an agent's, nor its minter's login (checked below)
		{"POST /v1/auth/change-password", userOnly, "/v1/auth/change-password", apitype.ChangePasswordRequest{CurrentPassword: "owner-password", NewPassword: "mallory-password"}},
		{"DELETE /v1/auth/account", userOnly, "/v1/auth/account", nil},
		{"GET /v1/auth/sessions", userOnly, "/v1/auth/sessions", nil},
		{"DELETE /v1/auth/sessions/{id}", userOnly, "/v1/auth/sessions/" + ownerSession, nil},

		// Vaults and their people.
		{"POST /v1/vaults", agentOK, "/v1/vaults", map[string]string{"name": "sweep-agents-own"}},
		{"GET /v1/vaults", agentOK, "/v1/vaults", nil},
		{"GET /v1/admin/vaults", userOnly, "/v1/admin/vaults", nil},
		{"DELETE /v1/vaults/{name}", userOnly, "/v1/vaults/" + v, nil},
		{"POST /v1/vaults/{name}/rename", userOnly, "/v1/vaults/" + v + "/rename", apitype.RenameVaultRequest{Name: "sweep-renamed"}},
		{"POST /v1/vaults/{name}/join", userOnly, "/v1/vaults/sweep-other/join", nil},
		{"POST /v1/vaults/{name}/leave", userOnly, "/v1/vaults/" + v + "/leave", nil},
		{"GET /v1/vaults/{name}/settings", agentOK, "/v1/vaults/" + v + "/settings", nil},
		{"PATCH /v1/vaults/{name}/settings", userOnly, "/v1/vaults/" + v + "/settings", apitype.VaultSettings{UnmatchedHostPolicy: "passthrough"}},
		{"GET /v1/vaults/{name}/users", agentOK, "/v1/vaults/" + v + "/users", nil},
		{"POST /v1/vaults/{name}/users", userOnly, "/v1/vaults/" + v + "/users", apitype.VaultUserRequest{Email: "carol.sweep@example.com", Role: "admin"}},
		{"DELETE /v1/vaults/{name}/users/{email}", userOnly, "/v1/vaults/" + v + "/users/bob.sweep@example.com", nil},
		{"POST /v1/vaults/{name}/users/{email}/role", userOnly, "/v1/vaults/" + v + "/users/bob.sweep@example.com/role", apitype.RoleRequest{Role: "admin"}},
		{"GET /v1/vaults/{name}/context", agentOK, "/v1/vaults/" + v + "/context", nil},
		{"GET /v1/vaults/{name}/audit", userOnly, "/v1/vaults/" + v + "/audit", nil},

		// Instance administration.
		{"GET /v1/users", userOnly, "/v1/users", nil},
		{"GET /v1/admin/users/{email}", userOnly, "/v1/admin/users/bob.sweep@example.com", nil},
		{"DELETE /v1/admin/users/{email}", userOnly, "/v1/admin/users/bob.sweep@example.com", nil},
		{"POST /v1/admin/users/{email}/role", userOnly, "/v1/admin/users/bob.sweep@example.com/role", apitype.RoleRequest{Role: "owner"}},
		{"POST /v1/users/invites", userOnly, "/v1/users/invites", apitype.InviteRequest{Email: "mallory.sweep@example.com", Role: "owner"}},
		{"GET /v1/users/invites", userOnly, "/v1/users/invites", nil},
		{"DELETE /v1/users/invites/{token}", userOnly, "/v1/users/invites/" + inv.Token, nil},
		{"POST /v1/users/invites/{token}/reinvite", userOnly, "/v1/users/invites/" + inv.Token + "/reinvite", nil},
		{"GET /v1/admin/settings", userOnly, "/v1/admin/settings", nil},
		{"PUT /v1/admin/settings", userOnly, "/v1/admin/settings", map[string]any{}},
		{"POST /v1/admin/email/test", userOnly, "/v1/admin/email/test", nil},
		{"GET /v1/admin/audit", userOnly, "/v1/admin/audit", nil},
		{"POST /v1/admin/audit/verify", userOnly, "/v1/admin/audit/verify", nil},

		// Credentials.
		{"GET /v1/credentials", userOnly, "/v1/credentials?vault=" + v + "&reveal=true", nil},
		{"POST /v1/credentials/bind", userOnly, "/v1/credentials/bind", apitype.BindCredentialRequest{Vault: v, Key: "SWEEP_KEY", Hosts: []string{"evil.example"}}},
		{"POST /v1/credentials/unbind", userOnly, "/v1/credentials/unbind", apitype.BindCredentialRequest{Vault: v, Key: "SWEEP_KEY", Hosts: []string{"api.sweep.example"}}},
		{"POST /v1/credentials/oauth/connect", userOnly, "/v1/credentials/oauth/connect", apitype.OAuthConnectRequest{Vault: v, Key: "SWEEP_OAUTH",
			AuthorizationURL: "https://auth.sweep.example/authorize", TokenURL: "https://auth.sweep.example/token", ClientID: "client"}},

		// Reviewing proposals.
		{"GET /v1/admin/proposals", userOnly, "/v1/admin/proposals?vault=" + v, nil},
		{"GET /v1/admin/proposals/{id}", userOnly, "/v1/admin/proposals/" + pid, nil},
		{"POST /v1/admin/proposals/{id}/approve", userOnly, "/v1/admin/proposals/" + pid + "/approve", apitype.ApproveProposalRequest{}},
		{"POST /v1/admin/proposals/{id}/reject", userOnly, "/v1/admin/proposals/" + pid + "/reject", apitype.RejectProposalRequest{Reason: "no"}},

		// Agents' own work, within their roles. Called after the
		// user-only routes, with requests that change nothing they check.
		{"GET /v1/credentials", agentOK, "/v1/credentials?vault=" + v, nil},
		{"POST /v1/credentials", agentOK, "/v1/credentials", apitype.SetCredentialsRequest{Vault: v, Credentials: map[string]string{"AGENT_OWN": "agent-own-value-123"}}},
		{"DELETE /v1/credentials", agentOK, "/v1/credentials", apitype.DeleteCredentialsRequest{Vault: v, Keys: []string{"NO_SUCH_KEY"}}},
		{"GET /v1/credentials/oauth/status", agentOK, "/v1/credentials/oauth/status?vault=" + v + "&key=SWEEP_KEY", nil},
		{"POST /v1/credentials/oauth/tokens", agentOK, "/v1/credentials/oauth/tokens", map[string]string{"vault": v, "key": "SWEEP_KEY"}},
		{"GET /v1/vaults/{name}/services", agentOK, "/v1/vaults/" + v + "/services", nil},
		{"PUT /v1/vaults/{name}/services", agentOK, "/v1/vaults/" + v + "/services?dry_run=true", map[string]any{"services": []apitype.Service{{Name: "evil", Host: "evil.example", Auth: apitype.ServiceAuth{Type: "bearer", Token: "SWEEP_KEY"}}}}},
		{"POST /v1/vaults/{name}/services", agentOK, "/v1/vaults/" + v + "/services", map[string]any{"services": []apitype.Service{{Name: "evil", Host: "evil.example", Auth: apitype.ServiceAuth{Type: "bearer", Token: "SWEEP_KEY"}}}}},
		{"DELETE /v1/vaults/{name}/services", agentOK, "/v1/vaults/sweep-other/services", nil},
		{"PATCH /v1/vaults/{name}/services/{ref...}", agentOK, "/v1/vaults/" + v + "/services/sweep", map[string]any{"enabled": true}},
		{"DELETE /v1/vaults/{name}/services/{ref...}", agentOK, "/v1/vaults/" + v + "/services/no-such-service", nil},
		{"GET /v1/vaults/{name}/services/credential-usage", agentOK, "/v1/vaults/" + v + "/services/credential-usage?key=SWEEP_KEY", nil},
		{"POST /v1/agents", agentOK, "/v1/agents", apitype.CreateAgentRequest{Name: "sweep-child", Vaults: []apitype.AgentVault{{VaultName: v, VaultRole: "admin"}}}},
		{"GET /v1/agents", agentOK, "/v1/agents", nil},
		{"GET /v1/agents/{agent}", agentOK, "/v1/agents/sweep-victim", nil},
		{"POST /v1/agents/{agent}/rotate", agentOK, "/v1/agents/sweep-victim/rotate", nil},
		{"POST /v1/agents/{agent}/rename", agentOK, "/v1/agents/sweep-victim/rename", apitype.RenameVaultRequest{Name: "sweep-renamed-victim"}},
		{"POST /v1/agents/{agent}/role", userOnly, "/v1/agents/sweep-victim/role", apitype.RoleRequest{Role: "owner"}},
		{"POST /v1/agents/{agent}/revoke", agentOK, "/v1/agents/sweep-victim/revoke", nil},
		{"POST /v1/agents/{agent}/delete", agentOK, "/v1/agents/sweep-victim/delete", nil},
		{"DELETE /v1/agents/{agent}", agentOK, "/v1/agents/sweep-victim", nil},
		{"GET /v1/vaults/{name}/agents", agentOK, "/v1/vaults/" + v + "/agents", nil},
		{"POST /v1/vaults/{name}/agents", agentOK, "/v1/vaults/" + v + "/agents", map[string]string{"name": "sweep-victim", "role": "admin"}},
		{"DELETE /v1/vaults/{name}/agents/{agent}", agentOK, "/v1/vaults/" + v + "/agents/no-such-agent", nil},
		{"POST /v1/vaults/{name}/agents/{agent}/role", agentOK, "/v1/vaults/" + v + "/agents/sweep-victim/role", apitype.RoleRequest{Role: "admin"}},
		{"POST /v1/sessions", agentOK, "/v1/sessions", apitype.CreateScopedSessionRequest{Vault: v, VaultRole: "admin"}},
		{"GET /v1/sessions", agentOK, "/v1/sessions", nil},
		{"DELETE /v1/sessions/{id}", agentOK, "/v1/sessions/no-such-session", nil},
		{"GET /v1/vaults/{name}/logs", agentOK, "/v1/vaults/" + v + "/logs", nil},
		{"GET /v1/vaults/{name}/discovered-hosts", agentOK, "/v1/vaults/" + v + "/discovered-hosts", nil},
		{"GET /discover", agentOK, "/discover?vault=" + v, nil},
		{"POST /v1/proposals", agentOK, "/v1/proposals?vault=" + v, apitype.CreateProposalRequest{Credentials: []apitype.ProposalCredential{{Action: "set", Key: "WANTED"}}}},
		{"GET /v1/proposals", agentOK, "/v1/proposals?vault=" + v, nil},
		{"GET /v1/proposals/{id}", agentOK, "/v1/proposals/" + pid + "?vault=" + v, nil},
	}

	// Every route is classified, so a new one cannot slip past.
	patterns := server.New(server.Options{Broker: f.e.b}).RoutePatterns()
	covered := map[string]bool{}
	for _, c := range calls {
		covered[c.pattern] = true
		if !slices.Contains(patterns, c.pattern) {
			t.Errorf("the sweep calls %q, which is no longer a route: update the sweep", c.pattern)
		}
	}
	for _, p := range patterns {
		if !covered[p] {
			t.Errorf("route %q is not in the agent sweep: classify it (public, agentOK or userOnly) and give it a request", p)
		}
	}

	attackers := []struct{ name, tok string }{{"owner-role admin agent", agentTok}, {"admin vault session", sessTok}}
	for _, c := range calls {
		method, _, _ := strings.Cut(c.pattern, " ")
		for _, a := range attackers {
			r := f.raw(t, method, c.path, a.tok, c.body, "X-Vault", v)
			if strings.Contains(string(r.body), value) {
				t.Errorf("%s: %s %s answered with the credential value", a.name, method, c.path)
			}
			if r.code >= 500 {
				t.Errorf("%s: %s %s = %d %s", a.name, method, c.path, r.code, r.body)
			}
			if c.class == userOnly && r.code != http.StatusForbidden && r.code != http.StatusUnauthorized {
				t.Errorf("%s: %s %s = %d %s, want 403 (users only)", a.name, method, c.path, r.code, r.body)
			}
		}
	}

	// Nothing the user-only routes guard changed.
	if l, err := f.own.Credentials(cbg, v, false, ""); err != nil || len(l.Credentials) == 0 {
		t.Errorf("owner's credential list after the sweep = %+v, %v", l, err)
	}
	pr, err := f.own.AdminProposal(cbg, prop.ID)
	if err != nil || pr.Status != "pending" {
		t.Errorf("the agent's proposal after the sweep = %q, %v; want still pending", pr.Status, err)
	}
	if c := f.works(t, f.ownTok); c != 200 {
		t.Errorf("owner's session after the sweep = %d", c)
	}
	if users, err := f.own.VaultUsers(cbg, v); err != nil || len(users.Users) != 2 {
		t.Errorf("vault users after the sweep = %+v, %v; want the owner and bob", users, err)
	}
}
