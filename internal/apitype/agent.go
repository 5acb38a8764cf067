package apitype

import "time"

// AgentVault is one vault grant of an agent.
type AgentVault struct {
	VaultName string `json:"vault_name"`
	VaultRole string `json:"vault_role"`
}

// CreateAgentRequest is POST /v1/agents.
type CreateAgentRequest struct {
	Name   string       `json:"name"`
	Role   string       `json:"role,omitempty"`   // instance role, default no-access
	Vaults []AgentVault `json:"vaults,omitempty"` // vault_role default proxy
}

// AgentCreated is the 201 body of POST /v1/agents. The token is shown once.
type AgentCreated struct {
	Token     string       `json:"av_agent_token"`
	Name      string       `json:"name"`
	Role      string       `json:"role"`
	Vaults    []AgentVault `json:"vaults"`
	CreatedAt time.Time    `json:"created_at"`
}

// Agent is one entry of GET /v1/agents and the body of GET /v1/agents/{name}.
type Agent struct {
	Name      string       `json:"name"`
	Role      string       `json:"role"`
	Status    string       `json:"status"`
	Vaults    []AgentVault `json:"vaults"`
	CreatedBy string       `json:"created_by,omitempty"` // who created it, as they were called then
	// Owner manages the agent besides the instance owners: an email or
	// agent:<name> as called now; "" when nobody does (owners only).
	Owner     string     `json:"owner,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// AgentList is GET /v1/agents.
type AgentList struct {
	Agents []Agent `json:"agents"`
}

// AgentRotated answers POST /v1/agents/{name}/rotate.
type AgentRotated struct {
	Token     string    `json:"av_agent_token"`
	Name      string    `json:"name"`
	RotatedAt time.Time `json:"rotated_at"`
	// RevokedAgents are the agents the rotated one had created, revoked
	// with its old token (rotate each to bring it back).
	RevokedAgents []string `json:"revoked_agents,omitempty"`
}

// AgentRenamed answers POST /v1/agents/{name}/rename.
type AgentRenamed struct {
	Message string `json:"message"`
	OldName string `json:"old_name"`
	NewName string `json:"new_name"`
}

// AgentRoleChanged answers POST /v1/agents/{name}/role.
type AgentRoleChanged struct {
	Agent   string `json:"agent"`
	OldRole string `json:"old_role"`
	NewRole string `json:"new_role"`
}

// VaultAgent is one entry of GET /v1/vaults/{name}/agents.
type VaultAgent struct {
	Name      string `json:"name"`
	AgentID   string `json:"agent_id"`
	VaultRole string `json:"vault_role"`
	Status    string `json:"status"`
}

// VaultAgentList is GET /v1/vaults/{name}/agents.
type VaultAgentList struct {
	Agents []VaultAgent `json:"agents"`
}

// VaultAgentRequest is POST /v1/vaults/{name}/agents.
type VaultAgentRequest struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"` // default proxy
}

// RoleChanged answers a vault role change of an agent.
type RoleChanged struct {
	Message string `json:"message"`
	OldRole string `json:"old_role"`
	NewRole string `json:"new_role"`
}

// CreateScopedSessionRequest is POST /v1/sessions.
type CreateScopedSessionRequest struct {
	Vault      string `json:"vault"`
	VaultRole  string `json:"vault_role,omitempty"`  // default proxy
	TTLSeconds int    `json:"ttl_seconds,omitempty"` // 300..604800, default 86400
	Label      string `json:"label,omitempty"`
}

// ScopedSessionCreated answers POST /v1/sessions. The token is shown once.
type ScopedSessionCreated struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	AVAddr    string    `json:"av_addr,omitempty"`
	Vault     string    `json:"vault"`
	VaultRole string    `json:"vault_role"`
}

// SessionCreator names who minted a scoped session.
type SessionCreator struct {
	ID          string `json:"id"`
	Type        string `json:"type"` // user or agent
	DisplayName string `json:"display_name"`
}

// ScopedSession is one entry of GET /v1/sessions.
type ScopedSession struct {
	ID        string          `json:"id"`
	Label     string          `json:"label,omitempty"`
	Vault     string          `json:"vault"`
	VaultRole string          `json:"vault_role"`
	CreatedBy *SessionCreator `json:"created_by,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
}

// ScopedSessionList is GET /v1/sessions.
type ScopedSessionList struct {
	Sessions []ScopedSession `json:"sessions"`
}
