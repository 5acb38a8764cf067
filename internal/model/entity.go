package model

import (
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// User is a human account.
type User struct {
	ID           string
	Email        string
	PasswordHash string // PHC-encoded Argon2id hash; never leaves the store layer upward of broker
	Role         InstanceRole
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Vault is a named container of credentials, services, members and proposals.
type Vault struct {
	ID                  string
	Name                string
	UnmatchedHostPolicy HostPolicy
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// HostPolicy is a vault's answer to traffic that no service matches.
type HostPolicy string

// Unmatched host policies.
const (
	PolicyPassthrough HostPolicy = "passthrough"
	PolicyDeny        HostPolicy = "deny"
)

// Valid reports whether p is a known policy.
func (p HostPolicy) Valid() bool { return p == PolicyPassthrough || p == PolicyDeny }

// VaultGrant is one user's role in one vault.
type VaultGrant struct {
	VaultID   string
	VaultName string
	UserID    string
	Email     string
	Role      VaultRole
	CreatedAt time.Time
}

// Session is a logged-in user's session. Only the SHA-256 of its token is
// stored; the token itself is shown once.
type Session struct {
	ID          string // public identifier for listing and revoking
	UserID      string
	TokenHash   []byte
	DeviceLabel string
	CreatedAt   time.Time
	LastUsedAt  time.Time
	ExpiresAt   time.Time // absolute expiry
}

// Session lifetimes (docs/security-model.md, "Tokens").
const (
	SessionAbsoluteTTL = 365 * 24 * time.Hour
	SessionIdleTTL     = 30 * 24 * time.Hour
	InviteTTL          = 48 * time.Hour
)

// IdleExpiry is when the session lapses if it is not used again.
func (s Session) IdleExpiry() time.Time { return s.LastUsedAt.Add(SessionIdleTTL) }

// ActiveAt reports whether the session is usable at now.
func (s Session) ActiveAt(now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Before(s.IdleExpiry())
}

// Invite is a pending invitation of a new user.
type Invite struct {
	ID        string
	TokenHash []byte
	Email     string
	Role      InstanceRole
	Vaults    []InviteVault
	CreatedBy string // inviter's email as it read then: a label, never checked
	// CreatedByID is the inviter's immutable user id, the one the invite's
	// rights are checked against; "" once the inviter is deleted.
	CreatedByID string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	AcceptedAt  *time.Time
	RevokedAt   *time.Time
}

// InviteVault is a vault grant that an invite applies on acceptance.
type InviteVault struct {
	VaultID   string
	VaultName string
	Role      VaultRole
}

// InviteStatus is derived from an invite's timestamps.
type InviteStatus string

// Invite statuses.
const (
	InvitePending  InviteStatus = "pending"
	InviteAccepted InviteStatus = "accepted"
	InviteRevoked  InviteStatus = "revoked"
	InviteExpired  InviteStatus = "expired"
)

// StatusAt derives the invite's status at now.
func (i Invite) StatusAt(now time.Time) InviteStatus {
	switch {
	case i.AcceptedAt != nil:
		return InviteAccepted
	case i.RevokedAt != nil:
		return InviteRevoked
	case !now.Before(i.ExpiresAt):
		return InviteExpired
	}
	return InvitePending
}

// Settings are the instance-wide settings an owner controls. Zero values
// of the numeric and profile settings mean "as configured at start".
type Settings struct {
	InviteOnly          bool
	AllowedEmailDomains []string // empty: any domain
	LogMaxAgeHours      int
	LogMaxRowsPerVault  int
	RateLimitProfile    string
	// RateLimitOverrides are per-tier knobs, validated; stored as the
	// environment's form without its prefix, e.g. "PROXY_RATE": "50"
	// (ratelimit.Overrides).
	RateLimitOverrides ratelimit.Overrides
	// AuditRetentionDays bounds the admin audit trail's age; 0 keeps all.
	AuditRetentionDays int
}

// EmailAllowed reports whether email's domain may register or be invited.
func (s Settings) EmailAllowed(email string) bool {
	if len(s.AllowedEmailDomains) == 0 {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	domain := LowerASCII(email[at+1:])
	for _, d := range s.AllowedEmailDomains {
		if domain == d {
			return true
		}
	}
	return false
}

// CredentialType says how a credential's value is kept current.
type CredentialType string

// Credential types.
const (
	CredentialStatic CredentialType = "static"
	CredentialOAuth  CredentialType = "oauth"
)

// Credential is one encrypted value of a vault. Ciphertext is sealed with
// associated data naming the vault id and key, so it opens only in its row.
type Credential struct {
	VaultID    string
	Key        string
	Type       CredentialType
	Ciphertext []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// WrittenBy is the principal that wrote the current value
	// ("user:<id>", "agent:<id>" or "session:<id>"); "" for values stored
	// before it was recorded, which count as written by a user.
	WrittenBy string
}

// CredentialBinding is one host pattern a credential may be sent to. A
// service injects a credential only where its host pattern is covered by
// one of the credential's bindings (see docs/services-and-agents.md).
type CredentialBinding struct {
	VaultID string
	Key     string
	Pattern string // a host pattern in canonical form
	// ByAgent marks a binding an agent (or vault session) made for a
	// value it wrote itself; it lapses when the value is replaced.
	ByAgent   bool
	AddedBy   string // the principal, as in Credential.WrittenBy, or "upgrade"
	CreatedAt time.Time
}

// ServiceSet is a vault's ordered services, stored as the API's JSON.
type ServiceSet struct {
	VaultID   string
	JSON      []byte
	Version   int64
	UpdatedAt time.Time
}

// AgentStatus is whether an agent's token works.
type AgentStatus string

// Agent statuses.
const (
	AgentActive  AgentStatus = "active"
	AgentRevoked AgentStatus = "revoked"
)

// Agent is a named non-human identity with a long-lived token.
type Agent struct {
	ID        string
	Name      string
	Role      InstanceRole
	TokenHash []byte
	Status    AgentStatus
	// CreatedBy is who created the agent as it read then (an email, or
	// agent:<name>): a label for people, never used to decide anything.
	CreatedBy string
	// OwnerUserID or OwnerAgentID (at most one) is the immutable id of the
	// user or agent that manages this agent besides the instance owners.
	// Both empty: owned by nobody, so instance owners only.
	OwnerUserID  string
	OwnerAgentID string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	RevokedAt    *time.Time
}

// AgentGrant is one agent's role in one vault.
type AgentGrant struct {
	VaultID     string
	VaultName   string
	AgentID     string
	AgentName   string
	AgentStatus AgentStatus // read with the grant; not written by Put
	Role        VaultRole
	CreatedAt   time.Time
}

// ScopedSession is a vault-bound token minted by a user or an agent.
type ScopedSession struct {
	ID        string
	TokenHash []byte
	VaultID   string
	VaultName string
	VaultRole VaultRole
	UserID    string // exactly one of UserID and AgentID is set
	AgentID   string
	Label     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Scoped session lifetimes (docs/security-model.md, "Tokens").
const (
	ScopedSessionMinTTL       = 5 * time.Minute
	ScopedSessionMaxTTL       = 7 * 24 * time.Hour
	ScopedSessionDefaultTTL   = 24 * time.Hour
	MaxScopedSessionsPerActor = 10
)

// CAState is the stored root CA: its certificate and its private key
// sealed with the data encryption key.
type CAState struct {
	CertPEM   []byte
	SealedKey []byte
	CreatedAt time.Time
}

// RequestLog is one proxied request or blind tunnel, as the audit trail
// keeps it: never a value, a body or a query value.
type RequestLog struct {
	ID             int64
	VaultID        string
	At             time.Time
	ActorKind      ActorKind
	ActorName      string
	Ingress        string // connect (intercepted), absolute, tunnel (blind)
	Method         string
	Host           string
	Port           int
	Path           string // without the query
	Service        string // "" when no service matched
	CredentialKeys []string
	Status         int
	RequestBytes   int64
	ResponseBytes  int64
	Duration       time.Duration
	ErrorCode      string // the broker error code, when the broker answered
}

// HostCount is a host agents reached that no service matched.
type HostCount struct {
	Host     string
	Port     int
	Count    int64
	LastSeen time.Time
}

// PasswordReset is a code sent to a user who forgot their password; only
// its hash is stored.
type PasswordReset struct {
	ID        string
	UserID    string
	CodeHash  []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	Failures  int
	UsedAt    *time.Time
}

// EmailVerification is a pending self-registration: the password hash it
// chose and the hash of the code emailed to prove the address.
type EmailVerification struct {
	ID           string
	Email        string
	PasswordHash string
	CodeHash     []byte
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Failures     int
}

// Password reset limits (email verification codes share them).
const (
	PasswordResetTTL         = 15 * time.Minute
	PasswordResetMaxFailures = 5 // wrong codes before the pending ones are void
	PasswordResetMaxPerHour  = 3 // codes sent to one user per hour
)
