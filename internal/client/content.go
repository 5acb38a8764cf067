package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// Credentials lists a vault's credentials; reveal decrypts values (users
// with the member role or higher only); key narrows to one.
func (c *Client) Credentials(ctx context.Context, vault string, reveal bool, key string) (out apitype.CredentialList, err error) {
	q := url.Values{"vault": {vault}}
	if reveal {
		q.Set("reveal", "true")
	}
	if key != "" {
		q.Set("key", key)
	}
	return out, c.do(ctx, http.MethodGet, "/v1/credentials?"+q.Encode(), nil, &out)
}

// SetCredentials stores values.
func (c *Client) SetCredentials(ctx context.Context, vault string, values map[string]string) (out apitype.CredentialsSet, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/credentials", apitype.SetCredentialsRequest{Vault: vault, Credentials: values}, &out)
}

// SetCredentialsWith stores values with the full request (allowed_hosts
// included).
func (c *Client) SetCredentialsWith(ctx context.Context, in apitype.SetCredentialsRequest) (out apitype.CredentialsSet, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/credentials", in, &out)
}

// BindCredential adds host patterns to a credential's binding.
func (c *Client) BindCredential(ctx context.Context, vault, key string, hosts []string) (out apitype.CredentialBinding, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/credentials/bind", apitype.BindCredentialRequest{Vault: vault, Key: key, Hosts: hosts}, &out)
}

// UnbindCredential removes host patterns from a credential's binding.
func (c *Client) UnbindCredential(ctx context.Context, vault, key string, hosts []string) (out apitype.CredentialBinding, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/credentials/unbind", apitype.BindCredentialRequest{Vault: vault, Key: key, Hosts: hosts}, &out)
}

// DeleteCredentials removes keys.
func (c *Client) DeleteCredentials(ctx context.Context, vault string, keys []string) (out apitype.CredentialsDeleted, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/credentials", apitype.DeleteCredentialsRequest{Vault: vault, Keys: keys}, &out)
}

// Services lists a vault's services.
func (c *Client) Services(ctx context.Context, vault string) (out apitype.ServiceList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/vaults/"+seg(vault)+"/services", nil, &out)
}

// ReplaceServices replaces all of a vault's services; with dryRun the
// server only validates them.
func (c *Client) ReplaceServices(ctx context.Context, vault string, svcs []apitype.Service, dryRun bool) (out apitype.ServicesReplaced, err error) {
	p := "/v1/vaults/" + seg(vault) + "/services"
	if dryRun {
		p += "?dry_run=true"
	}
	return out, c.do(ctx, http.MethodPut, p, apitype.ServiceList{Services: svcs}, &out)
}

// UpsertServices adds or replaces services by name.
func (c *Client) UpsertServices(ctx context.Context, vault string, svcs []apitype.Service) (out apitype.ServicesUpserted, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/vaults/"+seg(vault)+"/services", apitype.ServiceList{Services: svcs}, &out)
}

// ClearServices removes every service of a vault.
func (c *Client) ClearServices(ctx context.Context, vault string) (out apitype.ServicesCleared, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/vaults/"+seg(vault)+"/services", nil, &out)
}

// SetServiceEnabled enables or disables the service ref names.
func (c *Client) SetServiceEnabled(ctx context.Context, vault, ref string, enabled bool) (out apitype.ServicePatched, err error) {
	return out, c.do(ctx, http.MethodPatch, "/v1/vaults/"+seg(vault)+"/services/"+seg(ref), apitype.ServicePatch{Enabled: &enabled}, &out)
}

// RemoveService deletes the service ref names.
func (c *Client) RemoveService(ctx context.Context, vault, ref string) (out apitype.ServiceRemoved, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/vaults/"+seg(vault)+"/services/"+seg(ref), nil, &out)
}

// CreateAgent creates an agent; the answer holds its token, shown once.
func (c *Client) CreateAgent(ctx context.Context, in apitype.CreateAgentRequest) (out apitype.AgentCreated, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/agents", in, &out)
}

// Agents lists agents.
func (c *Client) Agents(ctx context.Context) (out apitype.AgentList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/agents", nil, &out)
}

// Agent shows one agent.
func (c *Client) Agent(ctx context.Context, name string) (out apitype.Agent, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/agents/"+seg(name), nil, &out)
}

// RevokeAgent disables an agent's token (the agent is kept).
func (c *Client) RevokeAgent(ctx context.Context, name string) (out apitype.MessageResponse, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/agents/"+seg(name), nil, &out)
}

// DeleteAgent removes an agent for good.
func (c *Client) DeleteAgent(ctx context.Context, name string) (out apitype.MessageResponse, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/agents/"+seg(name)+"/delete", nil, &out)
}

// RotateAgent issues a new token and reactivates the agent.
func (c *Client) RotateAgent(ctx context.Context, name string) (out apitype.AgentRotated, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/agents/"+seg(name)+"/rotate", nil, &out)
}

// RenameAgent renames an agent.
func (c *Client) RenameAgent(ctx context.Context, name, newName string) (out apitype.AgentRenamed, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/agents/"+seg(name)+"/rename", apitype.RenameVaultRequest{Name: newName}, &out)
}

// SetAgentRole changes an agent's instance role.
func (c *Client) SetAgentRole(ctx context.Context, name, role string) (out apitype.AgentRoleChanged, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/agents/"+seg(name)+"/role", apitype.RoleRequest{Role: role}, &out)
}

// VaultAgents lists the agents of a vault.
func (c *Client) VaultAgents(ctx context.Context, vault string) (out apitype.VaultAgentList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/vaults/"+seg(vault)+"/agents", nil, &out)
}

// AddVaultAgent grants an agent a vault.
func (c *Client) AddVaultAgent(ctx context.Context, vault, agent, role string) (out apitype.MessageResponse, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/vaults/"+seg(vault)+"/agents", apitype.VaultAgentRequest{Name: agent, Role: role}, &out)
}

// RemoveVaultAgent removes an agent's grant.
func (c *Client) RemoveVaultAgent(ctx context.Context, vault, agent string) (out apitype.MessageResponse, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/vaults/"+seg(vault)+"/agents/"+seg(agent), nil, &out)
}

// SetVaultAgentRole changes an agent's role in a vault.
func (c *Client) SetVaultAgentRole(ctx context.Context, vault, agent, role string) (out apitype.RoleChanged, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/vaults/"+seg(vault)+"/agents/"+seg(agent)+"/role", apitype.RoleRequest{Role: role}, &out)
}

// CreateScopedSession mints a vault-bound session token.
func (c *Client) CreateScopedSession(ctx context.Context, in apitype.CreateScopedSessionRequest) (out apitype.ScopedSessionCreated, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/sessions", in, &out)
}

// ScopedSessions lists the vault sessions the caller minted.
func (c *Client) ScopedSessions(ctx context.Context, vault string) (out apitype.ScopedSessionList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/sessions?"+url.Values{"vault": {vault}}.Encode(), nil, &out)
}

// RevokeScopedSession ends one vault session.
func (c *Client) RevokeScopedSession(ctx context.Context, id string) (out apitype.StatusOK, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/sessions/"+seg(id), nil, &out)
}

// Discover lists what a vault brokers; vault may be empty for a scoped
// session or an agent with one vault.
func (c *Client) Discover(ctx context.Context, vault string) (out apitype.Discover, err error) {
	p := "/discover"
	if vault != "" {
		p += "?" + url.Values{"vault": {vault}}.Encode()
	}
	return out, c.do(ctx, http.MethodGet, p, nil, &out)
}

// Catalog lists the service templates.
func (c *Client) Catalog(ctx context.Context) (out apitype.Catalog, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/service-catalog", nil, &out)
}

// Skill fetches the agent skill document (Markdown).
func (c *Client) Skill(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/skills/cli", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", &ConnError{Base: c.base, Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), err
}

// CAPEM fetches the broker proxy's root certificate.
func (c *Client) CAPEM(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/mitm/ca.pem", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &ConnError{Base: c.base, Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &APIError{Status: resp.StatusCode}
	}
	return b, nil
}
