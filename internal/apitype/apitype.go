// Package apitype holds the JSON request and response bodies of the
// control plane, shared by the server that writes them and the client that
// reads them. Field names follow the public Agent Vault API.
package apitype

import "time"

// ErrorBody is every control-plane error response.
type ErrorBody struct {
	Error   string `json:"error"`
	Code    string `json:"code,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message,omitempty"`
	// Candidates lists the services an ambiguous host reference matched.
	Candidates []ServiceCandidate `json:"candidates,omitempty"`
	// ProposalHint tells an agent refused with credential_not_bound how
	// to ask a human instead.
	ProposalHint *ProposalHint `json:"proposal_hint,omitempty"`
}

// ProposalHint tells an agent how to ask for access to a host: which
// host, which endpoint, and which auth types a proposal may use.
type ProposalHint struct {
	Host               string   `json:"host"`
	Endpoint           string   `json:"endpoint"`
	SupportedAuthTypes []string `json:"supported_auth_types"`
}

// StatusOK is the body of endpoints that only acknowledge.
type StatusOK struct {
	Status string `json:"status"`
}

// MessageResponse is the body of endpoints that answer with a sentence.
type MessageResponse struct {
	Message string `json:"message"`
}

// Health is GET /health.
type Health struct {
	Status string `json:"status"`
}

// Readiness is GET /readyz: Status is "ok" or "unavailable" (503), and
// each check ("store", "keyring", "proxy") is "ok" or "failing".
type Readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// Status is GET /v1/status.
type Status struct {
	Initialized    bool   `json:"initialized"`
	NeedsFirstUser bool   `json:"needs_first_user"`
	Version        string `json:"version"`
	// Build names the commit the server was built from, when recorded.
	Build      *Build `json:"build,omitempty"`
	BaseURL    string `json:"base_url,omitempty"`
	InviteOnly bool   `json:"invite_only,omitempty"`
	// ProxyPort is the broker proxy's port on the server's host; absent
	// when the proxy is disabled.
	ProxyPort int `json:"proxy_port,omitempty"`
}

// Build is the server's build information in /v1/status.
type Build struct {
	Commit   string `json:"commit,omitempty"`
	Time     string `json:"time,omitempty"` // the commit's time, RFC 3339
	Modified bool   `json:"modified,omitempty"`
}

// Credentials is the body of register and login.
type Credentials struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DeviceLabel string `json:"device_label,omitempty"`
	// SetupCode is read by register only: the one-time code that the
	// first (owner) account needs, printed by the server when it started
	// without an account.
	SetupCode string `json:"setup_code,omitempty"`
}

// RegisterResponse is POST /v1/auth/register (201).
type RegisterResponse struct {
	Email                string    `json:"email"`
	Role                 string    `json:"role"`
	RequiresVerification bool      `json:"requires_verification"`
	EmailSent            bool      `json:"email_sent"`
	Authenticated        bool      `json:"authenticated"`
	Message              string    `json:"message"`
	Token                string    `json:"token,omitempty"`
	ExpiresAt            time.Time `json:"expires_at,omitzero"`
}

// TokenResponse is login and change-password.
type TokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ChangePasswordRequest is POST /v1/auth/change-password.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// Me is GET /v1/auth/me.
type Me struct {
	Type      string `json:"type"`
	Email     string `json:"email,omitempty"`
	AgentName string `json:"agent_name,omitempty"`
	Vault     string `json:"vault,omitempty"` // for vault-scoped sessions
	Role      string `json:"role"`
	IsOwner   bool   `json:"is_owner"`
}

// AccountDeleted is DELETE /v1/auth/account. The agents the user owned
// were revoked.
type AccountDeleted struct {
	Status        string   `json:"status"`
	Email         string   `json:"email"`
	AgentsRevoked []string `json:"agents_revoked,omitempty"`
}

// Session is one entry of GET /v1/auth/sessions.
type Session struct {
	ID          string    `json:"id"`
	DeviceLabel string    `json:"device_label,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	LastUsedAt  time.Time `json:"last_used_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	Current     bool      `json:"current"`
}

// SessionList is GET /v1/auth/sessions.
type SessionList struct {
	Sessions []Session `json:"sessions"`
}

// SessionRevoked is DELETE /v1/auth/sessions/{id}.
type SessionRevoked struct {
	Status  string `json:"status"`
	Current bool   `json:"current"`
}

// EmailTestRequest is the body of POST /v1/admin/email/test; To defaults
// to the caller's own address.
type EmailTestRequest struct {
	To string `json:"to,omitempty"`
}

// EmailTestResult says a test message was handed to the mail server.
type EmailTestResult struct {
	Sent bool   `json:"sent"`
	To   string `json:"to"`
}

// ForgotPasswordRequest is POST /v1/auth/forgot-password.
type ForgotPasswordRequest struct {
	Email string `json:"email"`
}

// ForgotPasswordResult is the same whether or not the account exists.
type ForgotPasswordResult struct {
	Message   string `json:"message"`
	EmailSent bool   `json:"email_sent"`
}

// ResetPasswordRequest is POST /v1/auth/reset-password: the emailed code
// and the new password.
type ResetPasswordRequest struct {
	Email       string `json:"email"`
	Code        string `json:"code"`
	NewPassword string `json:"new_password"`
}

// ResetPasswordResult confirms a reset.
type ResetPasswordResult struct {
	Email   string `json:"email"`
	Message string `json:"message"`
}
