package apitype

import "time"

// UserVault names a vault grant in user listings and invites.
type UserVault struct {
	VaultName string `json:"vault_name"`
	VaultRole string `json:"vault_role"`
}

// User is one entry of GET /v1/users. Vaults is filled for owners only.
type User struct {
	Email     string      `json:"email"`
	Role      string      `json:"role"`
	Vaults    []UserVault `json:"vaults,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
}

// UserList is GET /v1/users.
type UserList struct {
	Users []User `json:"users"`
}

// UserDetail is GET /v1/admin/users/{email}.
type UserDetail struct {
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Vaults    []string  `json:"vaults"`
	CreatedAt time.Time `json:"created_at"`
}

// UserRemoved is DELETE /v1/admin/users/{email}[?transfer_agents_to=EMAIL].
// The agents the user owned were handed to TransferredTo, or revoked.
type UserRemoved struct {
	Status            string   `json:"status"`
	Email             string   `json:"email"`
	AgentsRevoked     []string `json:"agents_revoked,omitempty"`
	AgentsTransferred []string `json:"agents_transferred,omitempty"`
	TransferredTo     string   `json:"transferred_to,omitempty"`
}

// InviteRequest is POST /v1/users/invites.
type InviteRequest struct {
	Email  string      `json:"email"`
	Role   string      `json:"role,omitempty"`
	Vaults []UserVault `json:"vaults,omitempty"`
}

// InviteCreated is the 201 body of POST /v1/users/invites. The link holds
// the only copy of the invite token.
type InviteCreated struct {
	Email      string      `json:"email"`
	Role       string      `json:"role"`
	Vaults     []UserVault `json:"vaults"`
	EmailSent  bool        `json:"email_sent"` // an email with the link is on its way (the server has SMTP)
	InviteLink string      `json:"invite_link,omitempty"`
	Token      string      `json:"token,omitempty"`
	ExpiresAt  time.Time   `json:"expires_at"`
}

// Invite is one entry of GET /v1/users/invites. Token is the invite's
// public id (its hash prefix), not the secret in the link.
type Invite struct {
	ID        string      `json:"id"`
	Email     string      `json:"email"`
	Role      string      `json:"role"`
	Status    string      `json:"status"`
	CreatedBy string      `json:"created_by"`
	Vaults    []UserVault `json:"vaults"`
	ExpiresAt time.Time   `json:"expires_at"`
	CreatedAt time.Time   `json:"created_at"`
}

// InviteList is GET /v1/users/invites.
type InviteList struct {
	Invites []Invite `json:"invites"`
}

// InviteDetails is GET /v1/users/invites/{token}/details.
type InviteDetails struct {
	Email        string      `json:"email,omitempty"`
	Role         string      `json:"role,omitempty"`
	Vaults       []UserVault `json:"vaults,omitempty"`
	NeedsAccount bool        `json:"needs_account"`
	Status       string      `json:"status"`
}

// AcceptInviteRequest is POST /v1/users/invites/{token}/accept.
type AcceptInviteRequest struct {
	Password string `json:"password"`
}

// InviteAccepted answers an accepted invite. It carries no session: the
// new user logs in next.
type InviteAccepted struct {
	Email   string `json:"email"`
	Message string `json:"message"`
}

// InstanceSettings is GET|PUT /v1/admin/settings. Pointer fields in a PUT
// are optional: nil leaves the setting as it is.
type InstanceSettings struct {
	InviteOnly          *bool     `json:"invite_only,omitempty"`
	AllowedEmailDomains *[]string `json:"allowed_email_domains,omitempty"`
	LogMaxAgeHours      *int      `json:"log_max_age_hours,omitempty"`
	LogMaxRowsPerVault  *int      `json:"log_max_rows_per_vault,omitempty"`
	RateLimitProfile    *string   `json:"rate_limit_profile,omitempty"`
	// RateLimitOverrides are per-tier knobs in the environment's form
	// without the AGENT_VAULT_RATELIMIT_ prefix: {"PROXY_RATE": "50",
	// "API_BURST": "100"}. An empty object clears them.
	RateLimitOverrides *map[string]string `json:"rate_limit_overrides,omitempty"`
	// AuditRetentionDays is how long admin audit trail rows are kept;
	// 0 keeps them for ever (the default).
	AuditRetentionDays *int `json:"audit_retention_days,omitempty"`
	// RateLimitsLocked is read-only: AGENT_VAULT_RATELIMIT_LOCK refuses
	// rate-limit changes.
	RateLimitsLocked bool `json:"rate_limits_locked,omitempty"`
	// RateLimit is the public protocol's form of the two rate-limit
	// settings above (see docs/compatibility.md). In a PUT it replaces
	// both; it may not be sent together with them.
	RateLimit *RateLimitSetting `json:"rate_limit,omitempty"`
	// SMTPConfigured is read-only: whether the server sends email.
	SMTPConfigured bool `json:"smtp_configured"`
}
