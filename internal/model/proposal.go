package model

import "time"

// ProposalStatus is where a proposal is in its life.
type ProposalStatus string

// Proposal statuses.
const (
	ProposalPending  ProposalStatus = "pending"
	ProposalApplied  ProposalStatus = "applied"
	ProposalRejected ProposalStatus = "rejected"
	ProposalExpired  ProposalStatus = "expired"
)

// ProposalStatuses is every status, in the order listings offer them.
var ProposalStatuses = []ProposalStatus{ProposalPending, ProposalApplied, ProposalRejected, ProposalExpired}

// ParseProposalStatus reads a status name; ok is false for anything else.
func ParseProposalStatus(s string) (ProposalStatus, bool) {
	for _, st := range ProposalStatuses {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// ProposalAction is what one change of a proposal does to its service or
// credential: set (create or replace) or delete.
type ProposalAction string

// Proposal actions.
const (
	ProposalSet    ProposalAction = "set"
	ProposalDelete ProposalAction = "delete"
)

// ParseProposalAction reads an action name; ok is false for anything else
// (there is no default action).
func ParseProposalAction(s string) (ProposalAction, bool) {
	switch a := ProposalAction(s); a {
	case ProposalSet, ProposalDelete:
		return a, true
	}
	return "", false
}

// Proposal lifetimes and the pending limit (docs/proposals.md).
const (
	ProposalTTL         = 7 * 24 * time.Hour
	ApprovalTokenTTL    = 24 * time.Hour
	MaxPendingProposals = 20
	// MaxPendingPerAgent bounds the pending proposals one agent holds in
	// a vault, those raised with the vault sessions it minted and by the
	// agents it created (transitively) included: one agent cannot take
	// every slot of the vault (or a reviewer's whole attention).
	MaxPendingPerAgent = 5
)

// ProposedCredential is one credential slot of a proposal. HasValue says
// the requester supplied a value, which is kept sealed apart (see
// Proposal.SealedValues), never here.
type ProposedCredential struct {
	Action             ProposalAction
	Key                string
	Type               CredentialType // set only: static or oauth
	Description        string
	Obtain             string
	ObtainInstructions string
	HasValue           bool
	OAuth              *OAuthSlot // oauth slots only
}

// OAuthSlot is where an OAuth credential slot will be connected after
// approval.
type OAuthSlot struct {
	AuthorizationURL string
	TokenURL         string
	Scopes           []string
	ClientID         string
	ScopeSeparator   string // "" is a space
	DisablePKCE      bool
	TokenAuthMethod  string // "" is the default (client_secret_post)
}

// Proposal is an agent's request to change a vault. Its changes are kept
// in their storage form (ServicesDoc, CredentialsDoc), which the broker
// encodes and decodes (a row it cannot decode is an error, never an empty
// change); agent-supplied values are kept sealed in SealedValues (key →
// ciphertext), never in the documents.
type Proposal struct {
	ID             int64
	VaultID        string
	VaultName      string
	Status         ProposalStatus
	ServicesDoc    []byte
	CredentialsDoc []byte
	Message        string
	UserMessage    string
	CreatedByKind  ActorKind
	CreatedByID    string
	CreatedByName  string
	// AccountableAgentID is the agent the proposal counts toward under
	// MaxPendingPerAgent: the top-most agent of the creation chain of the
	// agent that raised it, or of the one that minted the vault session
	// that raised it; "" for a human and for a session a human minted. It
	// is fixed when the proposal is made, as the session (or a child
	// agent) may be gone long before the proposal is decided.
	AccountableAgentID string
	ApprovalTokenHash  []byte
	ApprovalExpiresAt  time.Time
	CreatedAt          time.Time
	ExpiresAt          time.Time
	DecidedAt          *time.Time
	DecidedBy          string
	RejectionReason    string
	SealedValues       map[string][]byte
}

// StatusAt is the status with expiry applied at now.
func (p Proposal) StatusAt(now time.Time) ProposalStatus {
	if p.Status == ProposalPending && !now.Before(p.ExpiresAt) {
		return ProposalExpired
	}
	return p.Status
}
