// Package store declares the persistence interfaces Agent Vault's use cases
// depend on, one small interface per aggregate. Implementations live in
// subpackages (sqlstore for SQLite, and PostgreSQL through the same code and
// a dialect); callers never see SQL.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// Sentinel errors every implementation returns, so callers can map them to
// user-facing errors with context.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: unique constraint violated")
)

// Store is a handle on the database: the aggregates, and transactions over
// them. Methods on a Store obtained inside InTx run in that transaction.
type Store interface {
	Keyring() KeyringStore
	Users() Users
	Sessions() Sessions
	Vaults() Vaults
	Grants() Grants
	Invites() Invites
	PasswordResets() PasswordResets
	EmailVerifications() EmailVerifications
	Settings() Settings
	Credentials() Credentials
	Services() Services
	Agents() Agents
	AgentGrants() AgentGrants
	ScopedSessions() ScopedSessions
	CA() CAStore
	Proposals() Proposals
	RequestLogs() RequestLogs
	AdminEvents() AdminEvents
	OAuthStates() OAuthStates

	// InTx runs fn in one serialised write transaction: all of fn's writes
	// are committed together or, when fn returns an error, none are.
	InTx(ctx context.Context, fn func(tx Store) error) error

	// LockName holds a lock named name, across every server sharing the
	// database, until unlock runs; meanwhile others asking for the same
	// name wait (or fail when ctx ends). It takes no write lock: hold it
	// around slow work outside InTx (an OAuth refresh). Where one server
	// owns the database (SQLite) it returns at once: callers serialise
	// within the process themselves.
	LockName(ctx context.Context, name string) (unlock func(), err error)
}

// KeyringStore keeps the instance's one wrapped (or passwordless) DEK.
type KeyringStore interface {
	// Load returns the stored state; ok is false on a fresh database.
	Load(ctx context.Context) (st keyring.State, ok bool, err error)
	// Save writes the state, replacing any previous one.
	Save(ctx context.Context, st keyring.State) error
}

// Users are human accounts.
type Users interface {
	Create(ctx context.Context, u model.User) error
	ByEmail(ctx context.Context, email string) (model.User, error)
	ByID(ctx context.Context, id string) (model.User, error)
	List(ctx context.Context) ([]model.User, error)
	Count(ctx context.Context) (int, error)
	CountByRole(ctx context.Context, r model.InstanceRole) (int, error)
	SetPassword(ctx context.Context, id, hash string, at time.Time) error
	SetRole(ctx context.Context, id string, r model.InstanceRole, at time.Time) error
	Delete(ctx context.Context, id string) error
}

// Sessions are user login sessions, found by the hash of their token.
type Sessions interface {
	Create(ctx context.Context, s model.Session) error
	ByTokenHash(ctx context.Context, hash []byte) (model.Session, error)
	ListByUser(ctx context.Context, userID string) ([]model.Session, error)
	// Touch records use at `at`, sliding the idle expiry.
	Touch(ctx context.Context, id string, at time.Time) error
	// Delete removes one session of the user; ErrNotFound if none.
	Delete(ctx context.Context, userID, id string) error
	// DeleteAllForUser removes every session of the user except keepID.
	DeleteAllForUser(ctx context.Context, userID, keepID string) error
	// DeleteExpired removes sessions that lapsed before now.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}

// Vaults are the named containers.
type Vaults interface {
	Create(ctx context.Context, v model.Vault) error
	ByName(ctx context.Context, name string) (model.Vault, error)
	List(ctx context.Context) ([]model.Vault, error)
	Rename(ctx context.Context, id, newName string, at time.Time) error
	SetPolicy(ctx context.Context, id string, p model.HostPolicy, at time.Time) error
	Delete(ctx context.Context, id string) error
}

// Grants are users' roles in vaults.
type Grants interface {
	// Put adds or replaces a user's role in a vault.
	Put(ctx context.Context, g model.VaultGrant) error
	// Get returns the user's grant; ErrNotFound when it has none.
	Get(ctx context.Context, vaultID, userID string) (model.VaultGrant, error)
	ListByVault(ctx context.Context, vaultID string) ([]model.VaultGrant, error)
	ListByUser(ctx context.Context, userID string) ([]model.VaultGrant, error)
	CountAdmins(ctx context.Context, vaultID string) (int, error)
	Delete(ctx context.Context, vaultID, userID string) error
}

// Invites are pending user invitations.
type Invites interface {
	Create(ctx context.Context, inv model.Invite) error
	ByTokenHash(ctx context.Context, hash []byte) (model.Invite, error)
	ByID(ctx context.Context, id string) (model.Invite, error)
	List(ctx context.Context) ([]model.Invite, error)
	MarkAccepted(ctx context.Context, id string, at time.Time) error
	Revoke(ctx context.Context, id string, at time.Time) error
}

// Settings are instance-wide settings.
type Settings interface {
	Get(ctx context.Context) (model.Settings, error)
	Put(ctx context.Context, s model.Settings) error
}

// Credentials are a vault's encrypted values.
type Credentials interface {
	// Put inserts or replaces one credential (CreatedAt kept on replace).
	// Replacing a value drops the bindings agents made (ByAgent): they
	// were for the value it replaces.
	Put(ctx context.Context, c model.Credential) error
	Get(ctx context.Context, vaultID, key string) (model.Credential, error)
	// List returns a vault's credentials ordered by key.
	List(ctx context.Context, vaultID string) ([]model.Credential, error)
	// Delete removes one (and its bindings); ErrNotFound if absent.
	Delete(ctx context.Context, vaultID, key string) error
	// SetValue replaces the sealed value of an existing credential and its
	// update time, keeping its type, writer and bindings (the vault
	// renewing an OAuth credential's tokens); ErrNotFound if absent.
	SetValue(ctx context.Context, vaultID, key string, ciphertext []byte, updatedAt time.Time) error

	// Bindings returns a vault's credential bindings ordered by key and
	// pattern.
	Bindings(ctx context.Context, vaultID string) ([]model.CredentialBinding, error)
	// Bind adds a binding; binding an existing pattern again keeps one
	// row, which a user's binding (ByAgent false) makes a user's.
	Bind(ctx context.Context, b model.CredentialBinding) error
	// Unbind removes one binding; ErrNotFound if absent.
	Unbind(ctx context.Context, vaultID, key, pattern string) error
}

// Services keep each vault's ordered service set.
type Services interface {
	// Get returns the set; an empty set (Version 0) when none was stored.
	Get(ctx context.Context, vaultID string) (model.ServiceSet, error)
	// Put replaces the set and bumps its version.
	Put(ctx context.Context, s model.ServiceSet) (int64, error)
}

// Agents are named non-human identities.
type Agents interface {
	Create(ctx context.Context, a model.Agent) error
	ByName(ctx context.Context, name string) (model.Agent, error)
	ByID(ctx context.Context, id string) (model.Agent, error)
	ByTokenHash(ctx context.Context, hash []byte) (model.Agent, error)
	List(ctx context.Context) ([]model.Agent, error)
	// Update writes name, role, token hash, status, owner ids, updated_at
	// and revoked_at.
	Update(ctx context.Context, a model.Agent) error
	Delete(ctx context.Context, id string) error
}

// AgentGrants are agents' roles in vaults.
type AgentGrants interface {
	Put(ctx context.Context, g model.AgentGrant) error
	Get(ctx context.Context, vaultID, agentID string) (model.AgentGrant, error)
	ListByVault(ctx context.Context, vaultID string) ([]model.AgentGrant, error)
	ListByAgent(ctx context.Context, agentID string) ([]model.AgentGrant, error)
	Delete(ctx context.Context, vaultID, agentID string) error
}

// ScopedSessions are vault-bound session tokens.
type ScopedSessions interface {
	Create(ctx context.Context, s model.ScopedSession) error
	ByTokenHash(ctx context.Context, hash []byte) (model.ScopedSession, error)
	// ListByCreator lists the sessions a user or an agent minted (one of
	// the ids is empty), unexpired at now.
	ListByCreator(ctx context.Context, userID, agentID string, now time.Time) ([]model.ScopedSession, error)
	Delete(ctx context.Context, id string) error
	// DeleteByAgent removes every session an agent minted.
	DeleteByAgent(ctx context.Context, agentID string) error
	// DeleteByUser removes every session a user minted.
	DeleteByUser(ctx context.Context, userID string) error
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}

// CAStore keeps the proxy's one root CA.
type CAStore interface {
	// Load returns the stored CA; ok is false before the first start.
	Load(ctx context.Context) (st model.CAState, ok bool, err error)
	// Create stores the CA; ErrConflict if one exists.
	Create(ctx context.Context, st model.CAState) error
}

// ProposalFilter narrows a proposal listing.
type ProposalFilter struct {
	VaultID string // "" for every vault
	Status  model.ProposalStatus
	Limit   int
}

// Proposals are agents' change requests.
type Proposals interface {
	// Create stores p with its sealed values and returns its new id.
	Create(ctx context.Context, p model.Proposal) (int64, error)
	Get(ctx context.Context, id int64) (model.Proposal, error)
	ByApprovalHash(ctx context.Context, hash []byte) (model.Proposal, error)
	List(ctx context.Context, f ProposalFilter) ([]model.Proposal, error)
	CountPending(ctx context.Context, vaultID string, now time.Time) (int, error)
	// Decide moves a pending proposal to status; ErrConflict if it is no
	// longer pending (the other of a racing approve/reject won).
	Decide(ctx context.Context, id int64, status model.ProposalStatus, by, reason string, at time.Time) error
	// ExpireBefore marks pending proposals past their expiry as expired.
	ExpireBefore(ctx context.Context, now time.Time) (int64, error)
}

// RequestLogFilter narrows a request log listing. Rows come newest first
// below Before (an id cursor), or oldest first above After.
type RequestLogFilter struct {
	VaultID     string
	Service     string
	StatusClass int // 2 for 2xx, 4 for 4xx…; 0 for any
	Status      int // an exact status; 0 for any
	Actor       string
	Host        string
	Since       time.Time
	Until       time.Time
	Before      int64
	After       int64
	Limit       int
}

// RequestLogs is the audit trail of proxied requests.
type RequestLogs interface {
	// Insert writes rows and counts the hosts of rows no service matched
	// (the discovered hosts); a vault keeps at most
	// MaxDiscoveredHostsPerVault of them, the least recently seen going
	// first.
	Insert(ctx context.Context, rows []model.RequestLog) error
	List(ctx context.Context, f RequestLogFilter) ([]model.RequestLog, error)
	// Unmatched counts hosts no service matched, busiest first.
	Unmatched(ctx context.Context, vaultID string, limit int) ([]model.HostCount, error)
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
	// TrimVaults keeps the newest keep rows of every vault.
	TrimVaults(ctx context.Context, keep int) (int64, error)
}

// MaxDiscoveredHostsPerVault bounds the discovered hosts of one vault:
// every host an agent names is a row, so without it a loop over made-up
// host names would grow the table without end.
const MaxDiscoveredHostsPerVault = 1000

// PasswordResets are the codes of forgotten-password resets.
type PasswordResets interface {
	Create(ctx context.Context, r model.PasswordReset) error
	// Pending lists a user's unused, unexpired codes at now, newest first.
	Pending(ctx context.Context, userID string, now time.Time) ([]model.PasswordReset, error)
	// Fail counts a wrong code against every pending code of the user.
	Fail(ctx context.Context, userID string, now time.Time) error
	// Use marks a code used; ErrNotFound if it was used meanwhile.
	Use(ctx context.Context, id string, now time.Time) error
	// UseAll marks every unused code of the user used.
	UseAll(ctx context.Context, userID string, now time.Time) error
	// CountSince counts the codes created for the user since t, whatever
	// became of them.
	CountSince(ctx context.Context, userID string, t time.Time) (int, error)
	// DeleteCreatedBefore removes codes created before t (the hourly cap
	// counts codes whatever became of them, so they are kept an hour).
	DeleteCreatedBefore(ctx context.Context, t time.Time) (int64, error)
}

// OAuthStates are authorization-code flows in progress, found by the hash
// of their state value.
type OAuthStates interface {
	Create(ctx context.Context, s model.OAuthState) error
	// ByHash reads a flow without using it up; ErrNotFound if none.
	ByHash(ctx context.Context, hash []byte) (model.OAuthState, error)
	// Take reads and deletes a flow in one statement, so that of two
	// callbacks racing with one state (on any server) one gets the row and
	// the other ErrNotFound.
	Take(ctx context.Context, hash []byte) (model.OAuthState, error)
	// CountByUser counts the user's flows that have not expired at now.
	CountByUser(ctx context.Context, userID string, now time.Time) (int, error)
	// DeleteExpired removes the flows that expired before now.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}

// EmailVerifications are pending self-registrations, each with the code
// emailed to prove the address (keyed by email: no account exists yet).
type EmailVerifications interface {
	Create(ctx context.Context, v model.EmailVerification) error
	// Pending lists the email's unused, unexpired codes at now, newest first.
	Pending(ctx context.Context, email string, now time.Time) ([]model.EmailVerification, error)
	// Fail counts a wrong code against every pending code of the email.
	Fail(ctx context.Context, email string, now time.Time) error
	// UseAll marks every unused code of the email used.
	UseAll(ctx context.Context, email string, now time.Time) error
	// CountSince counts the codes created for the email since t.
	CountSince(ctx context.Context, email string, t time.Time) (int, error)
	// DeleteCreatedBefore removes codes created before t.
	DeleteCreatedBefore(ctx context.Context, t time.Time) (int64, error)
}

// AdminEventFilter narrows a listing of the admin trail. Rows come newest
// first below Before (a seq cursor; 0 for the newest), or with Ascending
// oldest first above After.
type AdminEventFilter struct {
	VaultID string
	Action  string // exact, or a prefix ending in "." ("credential.")
	Actor   string // an actor's id or name, exact
	Since   time.Time
	Until   time.Time
	Before  int64
	After   int64
	// Ascending lists oldest first, above After.
	Ascending bool
	Limit     int
}

// AdminEvents is the admin audit trail: one hash-chained row per
// management action (see package trail).
type AdminEvents interface {
	// Append chains e after the newest row and stores it together with
	// the new head, in the caller's transaction (or in one of its own).
	// Writers are serialised, across servers on PostgreSQL, so there is
	// one chain. It returns e with its Seq and Hash.
	Append(ctx context.Context, key trail.Key, e trail.Event) (trail.Event, error)
	List(ctx context.Context, f AdminEventFilter) ([]trail.Event, error)
	// Head returns the chain's head record; ok is false when it is missing.
	Head(ctx context.Context) (h trail.Head, ok bool, err error)
	// Prune deletes the rows older than before and moves the head's cut
	// to the last one deleted, so that verification starts there.
	Prune(ctx context.Context, key trail.Key, before time.Time) (int64, error)
}
