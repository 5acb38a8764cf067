package model

import "time"

// OAuthState is one authorization-code flow in progress: the user who
// started it, the credential it will fill, and the sealed parameters the
// callback needs (the PKCE verifier, the provider settings and the client
// secret). Only the hash of the state value sent to the provider is
// stored; the row is taken (read and deleted at once) by the one callback
// that may complete it. See docs/oauth.md.
type OAuthState struct {
	ID        string
	StateHash []byte
	UserID    string // who started the flow; only they may complete it
	VaultID   string
	Key       string // the credential the tokens are stored under
	// Sealed holds the flow's parameters, sealed with the keyring and
	// bound to ID.
	Sealed    []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OAuthStateTTL is how long a started authorization-code flow may be
// completed.
const OAuthStateTTL = 10 * time.Minute

// MaxOAuthStatesPerUser bounds the flows one user may have open at once.
const MaxOAuthStatesPerUser = 20
