package apitype

import (
	"encoding/json"
	"strings"
	"time"
)

// OAuthScopes are OAuth scopes: on the wire a JSON array of strings, or
// one string of scopes separated by spaces or commas (as the public
// Agent Vault API sends them).
type OAuthScopes []string

// UnmarshalJSON accepts an array or a separated string.
func (s *OAuthScopes) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = strings.FieldsFunc(one, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// OAuthTokensRequest is POST /v1/credentials/oauth/tokens: tokens
// obtained elsewhere (access and/or refresh token), or, with grant_type
// "client_credentials", a client the vault gets tokens for itself.
type OAuthTokensRequest struct {
	Vault           string      `json:"vault"`
	Key             string      `json:"key"`
	GrantType       string      `json:"grant_type,omitempty"` // "" (tokens given) or "client_credentials"
	AccessToken     string      `json:"access_token,omitempty"`
	RefreshToken    string      `json:"refresh_token,omitempty"`
	TokenURL        string      `json:"token_url,omitempty"`
	ClientID        string      `json:"client_id,omitempty"`
	ClientSecret    string      `json:"client_secret,omitempty"`
	TokenAuthMethod string      `json:"token_auth_method,omitempty"`
	Scopes          OAuthScopes `json:"scopes,omitempty"`
	// AllowedHosts binds the credential to host patterns (users only),
	// as on POST /v1/credentials.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
}

// OAuthConnected answers a token upload: the credential is connected.
type OAuthConnected struct {
	Connected   bool       `json:"connected"`
	ConnectedAt string     `json:"connected_at"` // RFC 3339
	Vault       string     `json:"vault"`
	Key         string     `json:"key"`
	Status      string     `json:"status"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

// OAuthStatus is GET /v1/credentials/oauth/status?vault=&key=: an OAuth
// credential's state and configuration, never its tokens or secret.
type OAuthStatus struct {
	Vault           string     `json:"vault"`
	Key             string     `json:"key"`
	Connected       bool       `json:"connected"`
	ConnectedAt     *string    `json:"connected_at,omitempty"` // RFC 3339
	LastError       *string    `json:"last_error,omitempty"`
	Status          string     `json:"status"` // OAuthStatusPending, OAuthStatusConnected or OAuthStatusRefreshFailed
	GrantType       string     `json:"grant_type,omitempty"`
	TokenURL        string     `json:"token_url,omitempty"`
	ClientID        string     `json:"client_id,omitempty"`
	TokenAuthMethod string     `json:"token_auth_method,omitempty"`
	Scopes          []string   `json:"scopes,omitempty"`
	ExpiresAt       *time.Time `json:"expires_at,omitempty"`
	RefreshedAt     *time.Time `json:"refreshed_at,omitempty"`
	HasRefreshToken bool       `json:"has_refresh_token"`
	HasClientSecret bool       `json:"has_client_secret"`
}

// An OAuth credential's status (OAuthStatus.Status,
// CredentialOAuthState.Status).
const (
	OAuthStatusPending       = "pending"        // waiting to be connected
	OAuthStatusConnected     = "connected"      // holds tokens it can renew
	OAuthStatusRefreshFailed = "refresh_failed" // renewing failed: connect again
)

// CredentialOAuthState is an OAuth credential's state in credential
// lists.
type CredentialOAuthState struct {
	Status    string     `json:"status"` // OAuthStatusPending, OAuthStatusConnected or OAuthStatusRefreshFailed
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	GrantType string     `json:"grant_type,omitempty"`
}
