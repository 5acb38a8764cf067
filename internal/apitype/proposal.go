package apitype

import "time"

// A proposal's change actions and statuses, as the API spells them.
const (
	ProposalSet    = "set"    // create or replace a service or credential
	ProposalDelete = "delete" // remove one

	ProposalPending  = "pending"
	ProposalApplied  = "applied"
	ProposalRejected = "rejected"
	ProposalExpired  = "expired"

	// ProposalStatusAll is the listing filter for every status (as is
	// no filter).
	ProposalStatusAll = "all"
)

// ProposalService is one service change of a proposal: action "set"
// (upsert by name; name may be omitted when host names one existing
// service) or "delete" (by name, or by host when unique).
type ProposalService struct {
	Action        string         `json:"action"`
	Name          string         `json:"name,omitempty"`
	Host          string         `json:"host,omitempty"`
	Enabled       *bool          `json:"enabled,omitempty"`
	Auth          *ServiceAuth   `json:"auth,omitempty"`
	Substitutions []Substitution `json:"substitutions,omitempty"`
	// The service's rules, as on Service: a set replaces the whole
	// service, so a proposal that omits them removes them.
	AllowPlaintext bool       `json:"allow_plaintext,omitempty"`
	Methods        []string   `json:"methods,omitempty"`
	Paths          *PathRules `json:"paths,omitempty"`
}

// OAuthConfig describes an OAuth credential slot: the provider the
// credential will be connected to after approval. Field names follow the
// public Agent Vault API; scopes may be sent as one string (separated by
// spaces, commas or scope_separator) or a list, and are answered as a
// list.
type OAuthConfig struct {
	AuthorizationURL string      `json:"authorization_url,omitempty"`
	TokenURL         string      `json:"token_url"`
	Scopes           OAuthScopes `json:"scopes,omitempty"`
	ClientID         string      `json:"client_id,omitempty"`
	ScopeSeparator   string      `json:"scope_separator,omitempty"`   // a space when empty
	DisablePKCE      bool        `json:"disable_pkce,omitempty"`      // for a provider that refuses PKCE
	TokenAuthMethod  string      `json:"token_auth_method,omitempty"` // client_secret_post when empty
}

// ProposalCredential is one credential slot: action "set" (a human supplies
// the value at approval, or the agent stores one back with value) or
// "delete". Value is accepted on create and never returned: HasValue says
// whether the agent supplied one.
type ProposalCredential struct {
	Action             string       `json:"action"`
	Key                string       `json:"key"`
	Type               string       `json:"type,omitempty"` // static (default) or oauth
	Description        string       `json:"description,omitempty"`
	Obtain             string       `json:"obtain,omitempty"`
	ObtainInstructions string       `json:"obtain_instructions,omitempty"`
	Value              *string      `json:"value,omitempty"`
	HasValue           bool         `json:"has_value,omitempty"`
	OAuth              *OAuthConfig `json:"oauth,omitempty"`
}

// CreateProposalRequest is POST /v1/proposals.
type CreateProposalRequest struct {
	Vault       string               `json:"vault,omitempty"`
	Services    []ProposalService    `json:"services,omitempty"`
	Credentials []ProposalCredential `json:"credentials,omitempty"`
	Message     string               `json:"message,omitempty"`
	UserMessage string               `json:"user_message,omitempty"`
}

// ProposalCreated is the 201 body of POST /v1/proposals.
type ProposalCreated struct {
	ID          int64     `json:"id"`
	Status      string    `json:"status"`
	Vault       string    `json:"vault"`
	ApprovalURL string    `json:"approval_url"`
	Message     string    `json:"message"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Proposal is GET /v1/proposals/{id} and an entry of the listings.
type Proposal struct {
	ID              int64                `json:"id"`
	Status          string               `json:"status"`
	Vault           string               `json:"vault"`
	Services        []ProposalService    `json:"services"`
	Credentials     []ProposalCredential `json:"credentials"`
	Message         string               `json:"message,omitempty"`
	UserMessage     string               `json:"user_message,omitempty"`
	CreatedBy       string               `json:"created_by"`
	CreatedByType   string               `json:"created_by_type"`
	CreatedAt       time.Time            `json:"created_at"`
	ExpiresAt       time.Time            `json:"expires_at"`
	DecidedAt       *time.Time           `json:"decided_at,omitempty"`
	DecidedBy       string               `json:"decided_by,omitempty"`
	RejectionReason string               `json:"rejection_reason,omitempty"`
	// Diff compares each change with the vault as it is now (pending
	// proposals only).
	Diff *ProposalDiff `json:"diff,omitempty"`
	// ServicesJSON and CredentialsJSON repeat Services and Credentials as
	// JSON documents in strings, the shape reviewers' tools written for
	// the public protocol parse (reviewer views only; see
	// docs/compatibility.md).
	ServicesJSON    string `json:"services_json,omitempty"`
	CredentialsJSON string `json:"credentials_json,omitempty"`
}

// ProposalList is GET /v1/proposals and GET /v1/admin/proposals.
type ProposalList struct {
	Proposals []Proposal `json:"proposals"`
}

// ApproveProposalRequest is POST /v1/admin/proposals/{id}/approve: values
// for the credential slots (overriding any the agent supplied).
type ApproveProposalRequest struct {
	Credentials map[string]string `json:"credentials,omitempty"`
	// Diff is the fingerprint of the diff the reviewer saw (optional).
	// When set, approval is refused with 409 proposal_changed if the vault
	// changed since in a way that changes the diff.
	Diff string `json:"diff,omitempty"`
}

// RejectProposalRequest is POST /v1/admin/proposals/{id}/reject.
type RejectProposalRequest struct {
	Reason string `json:"reason"`
}

// ProposalDecided answers approve and reject.
type ProposalDecided struct {
	ID      int64    `json:"id"`
	Status  string   `json:"status"`
	Vault   string   `json:"vault"`
	Applied []string `json:"applied,omitempty"` // what approval changed, in words
	Message string   `json:"message"`
}
