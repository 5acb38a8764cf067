package agentvault

import (
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The types below are aliases of the server's wire types. Being aliases,
// they are usable by any importer of this package (including ones outside
// this module) and always match what the server sends.

// Discovery is the answer of GET /discover (docs/protocol.md, "Discovery"): the vault the token
// reaches, its services (name and host pattern) and the names of its
// credentials. It never holds a credential value.
type Discovery = apitype.Discover

// ServiceRef names one service by name and joined host pattern
// (host[:port][/path-glob]). Discovery lists them, and an ambiguous host
// reference in an [Error] carries them as Candidates.
type ServiceRef = apitype.ServiceCandidate

// ServerStatus is the answer of GET /v1/status. ProxyPort is the broker
// proxy's port on the server's host, zero when the proxy is disabled.
type ServerStatus = apitype.Status

// ProposalRequest is the body of POST /v1/proposals (docs/protocol.md,
// "Raising one"): the
// service and credential changes an agent asks a human to approve. Vault
// may be left empty: the client's vault (see [WithVault]) is sent as the
// X-Vault header.
type ProposalRequest = apitype.CreateProposalRequest

// ProposalService is one service change of a proposal: Action "set" (upsert
// by Name) or "delete".
type ProposalService = apitype.ProposalService

// ProposalCredential is one credential slot of a proposal: Action "set" (a
// human supplies the value at approval, or the agent stores one back with
// Value) or "delete".
type ProposalCredential = apitype.ProposalCredential

// ServiceAuth says how the broker authenticates matched traffic. Its fields
// name credential keys, never values.
type ServiceAuth = apitype.ServiceAuth

// Substitution replaces a placeholder in a request with a credential value.
type Substitution = apitype.Substitution

// OAuthConfig describes an OAuth credential slot of a proposal.
type OAuthConfig = apitype.OAuthConfig

// ProposalCreated is the 201 answer of POST /v1/proposals: the proposal's
// id, its status ("pending") and the URL a human approves it at.
type ProposalCreated = apitype.ProposalCreated

// Proposal is one proposal as GET /v1/proposals/{id} shows it. Status is
// one of [StatusPending], [StatusApplied], [StatusRejected] and
// [StatusExpired]; RejectionReason is set when a human rejected it.
type Proposal = apitype.Proposal

// Proposal statuses.
const (
	StatusPending  = "pending"  // waiting for a human
	StatusApplied  = "applied"  // approved: the changes are in the vault
	StatusRejected = "rejected" // a human said no (see RejectionReason)
	StatusExpired  = "expired"  // nobody decided within the proposal's TTL (7 days)
)

// Terminal reports whether a proposal status is final: applied, rejected
// or expired.
func Terminal(status string) bool {
	switch status {
	case StatusApplied, StatusRejected, StatusExpired:
		return true
	}
	return false
}

// SessionRequest asks for a vault-scoped session (POST /v1/sessions).
type SessionRequest struct {
	// Vault the session is bound to; empty means the client's vault
	// (see [WithVault]).
	Vault string
	// Role is the session's vault role: "proxy" (the default when empty),
	// "member" or "admin"; never more than the caller's own role.
	Role string
	// TTL is the session's lifetime in whole seconds; zero means the
	// server's default (24 h). The server accepts 5 minutes to 7 days.
	TTL time.Duration
	// Label describes the session in listings, e.g. "ci job 1234".
	Label string
}

// Session is a minted vault-scoped session. Token is shown only once: hand
// it to the agent (for instance through [ProxyEnv] with Scoped set) and
// revoke the session with [Client.RevokeSession] by ID when the agent is done.
type Session struct {
	ID        string
	Token     string
	ExpiresAt time.Time
	Vault     string
	Role      string
	// Addr is the server's advertised external address, when it has one.
	Addr string
}
