package oauth

import (
	"encoding/json"
	"fmt"
	"time"
)

// StoredVersion is the version of the Stored form this code writes.
const StoredVersion = 1

// Status is an OAuth credential's state as members see it.
type Status string

// The states of an OAuth credential.
const (
	// StatusPending: approved or configured, never connected (no access
	// token yet). The proxy answers oauth_not_connected.
	StatusPending Status = "pending"
	// StatusConnected: it holds an access token that the proxy injects,
	// refreshing it when it is due.
	StatusConnected Status = "connected"
	// StatusRefreshFailed: the last refresh failed; the proxy answers
	// oauth_refresh_failed (never the stale token) until a refresh works
	// or a member reconnects.
	StatusRefreshFailed Status = "refresh_failed"
)

// Stored is an OAuth credential as sealed in the store: the whole of it
// is the plaintext of the credential's sealed value (type oauth), so that
// tokens, client secret and configuration are encrypted, bound to the
// vault and key, and replaced together in one write. Never send it to a
// client: build the public state with Public.
type Stored struct {
	V int `json:"v"`

	// Provider configuration.
	Grant            Grant      `json:"grant"` // authorization_code (connect or pasted tokens) or client_credentials
	TokenURL         string     `json:"token_url,omitempty"`
	AuthorizationURL string     `json:"authorization_url,omitempty"`
	ClientID         string     `json:"client_id,omitempty"`
	ClientSecret     string     `json:"client_secret,omitempty"`
	AuthMethod       AuthMethod `json:"token_auth_method,omitempty"`
	Scopes           []string   `json:"scopes,omitempty"`
	ScopeSeparator   string     `json:"scope_separator,omitempty"`
	DisablePKCE      bool       `json:"disable_pkce,omitempty"`

	// Tokens.
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Scope        string    `json:"scope,omitempty"` // as granted
	ExpiresAt    time.Time `json:"expires_at,omitzero"`

	// State.
	ConnectedAt time.Time `json:"connected_at,omitzero"` // first tokens stored by this configuration
	RefreshedAt time.Time `json:"refreshed_at,omitzero"` // last successful token request
	Status      Status    `json:"status"`
	LastError   string    `json:"last_error,omitempty"` // an *Error's message: no secret
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// ParseStored reads a sealed value's plaintext. An empty plaintext is an
// approved slot never configured (StatusPending, no configuration).
func ParseStored(b []byte) (Stored, error) {
	if len(b) == 0 {
		return Stored{V: StoredVersion, Status: StatusPending}, nil
	}
	var s Stored
	if err := json.Unmarshal(b, &s); err != nil {
		return Stored{}, fmt.Errorf("oauth credential: stored form does not parse")
	}
	if s.V != StoredVersion {
		return Stored{}, fmt.Errorf("oauth credential: stored form version %d is not known to this build", s.V)
	}
	return s, nil
}

// Marshal returns the plaintext to seal.
func (s Stored) Marshal() ([]byte, error) {
	s.V = StoredVersion
	return json.Marshal(s)
}

// Config returns the token request configuration.
func (s Stored) Config() Config {
	return Config{TokenURL: s.TokenURL, ClientID: s.ClientID, ClientSecret: secretOf(s.ClientSecret), AuthMethod: s.AuthMethod, Scopes: s.Scopes}
}

// Usable reports whether the access token may be injected at now, given
// skew: connected, and not expiring within skew.
func (s Stored) Usable(now time.Time, skew time.Duration) bool {
	if s.Status != StatusConnected || s.AccessToken == "" {
		return false
	}
	return s.ExpiresAt.IsZero() || now.Add(skew).Before(s.ExpiresAt)
}

// CanRenew reports whether the vault can get a new access token by
// itself: a refresh token, or the client credentials grant.
func (s Stored) CanRenew() bool {
	return s.TokenURL != "" && (s.RefreshToken != "" || s.Grant == GrantClientCredentials)
}

// Apply records a successful token request's answer at now. A refresh
// that returns no refresh token keeps the old one (no rotation).
func (s *Stored) Apply(t Tokens, now time.Time) {
	s.AccessToken = string(t.Access.Reveal())
	if !t.Refresh.IsEmpty() {
		s.RefreshToken = string(t.Refresh.Reveal())
	}
	s.TokenType, s.Scope, s.ExpiresAt = t.TokenType, t.Scope, t.ExpiresAt
	if s.ConnectedAt.IsZero() {
		s.ConnectedAt = now
	}
	s.RefreshedAt = now
	s.Status, s.LastError, s.LastErrorAt = StatusConnected, "", time.Time{}
}

// Fail records a failed refresh: the access token is dropped, so that it
// can never be injected stale.
func (s *Stored) Fail(err error, now time.Time) {
	s.AccessToken, s.ExpiresAt = "", time.Time{}
	s.Status, s.LastError, s.LastErrorAt = StatusRefreshFailed, err.Error(), now
}
