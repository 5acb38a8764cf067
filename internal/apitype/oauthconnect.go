package apitype

import (
	"encoding/json"
	"errors"
)

// OAuthConnectRequest is POST /v1/credentials/oauth/connect: start the
// authorization-code flow that fills the OAuth credential Key of Vault.
// Field names follow the public Agent Vault API.
type OAuthConnectRequest struct {
	Vault            string `json:"vault,omitempty"` // the default vault when empty
	Key              string `json:"key"`
	AuthorizationURL string `json:"authorization_url"`
	TokenURL         string `json:"token_url"`
	ClientID         string `json:"client_id"`
	// ClientSecret is write-only. OAuthSecretKept keeps the secret stored
	// with the credential, and only while TokenURL is unchanged.
	ClientSecret   string    `json:"client_secret,omitempty"`
	Scopes         ScopeList `json:"scopes,omitzero"`
	ScopeSeparator string    `json:"scope_separator,omitempty"` // a space when empty
	// DisablePKCE turns PKCE off, for a provider that refuses it. Left
	// out (nil), a connect keeps the setting stored with the credential
	// while the authorization URL is the one it was stored with.
	DisablePKCE *bool `json:"disable_pkce,omitempty"`
	// TokenAuthMethod is client_secret_basic, client_secret_post (the
	// default) or none.
	TokenAuthMethod string `json:"token_auth_method,omitempty"`
}

// PKCEDisabled reports whether the request turns PKCE off.
func (r OAuthConnectRequest) PKCEDisabled() bool { return r.DisablePKCE != nil && *r.DisablePKCE }

// OAuthSecretKept, sent as client_secret, keeps the stored client secret
// (as the public Agent Vault API's edit forms do).
const OAuthSecretKept = "••••••••"

// OAuthConnectStarted is the answer of POST /v1/credentials/oauth/connect:
// the provider URL the user opens in their browser.
type OAuthConnectStarted struct {
	AuthorizationURL string `json:"authorization_url"`
}

// OAuthFlowDone says which credential a completed authorization-code flow filled.
type OAuthFlowDone struct {
	Vault string `json:"vault"`
	Key   string `json:"key"`
}

// ScopeList is the scopes of a request: a JSON string (separated as the
// request's scope_separator says, as the public API sends them) or an
// array of strings. It keeps what was sent; ScopeList.Split reads it.
type ScopeList struct {
	Joined string   // the string form, unsplit
	List   []string // the array form
}

// UnmarshalJSON reads a string or an array of strings.
func (s *ScopeList) UnmarshalJSON(b []byte) error {
	*s = ScopeList{}
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &s.Joined)
	}
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, &s.List)
	}
	return errors.New("scopes must be a string or an array of strings")
}

// MarshalJSON writes the form that was read (a string by default).
func (s ScopeList) MarshalJSON() ([]byte, error) {
	if s.List != nil {
		return json.Marshal(s.List)
	}
	return json.Marshal(s.Joined)
}

// IsZero reports no scopes, for omitempty/omitzero.
func (s ScopeList) IsZero() bool { return s.Joined == "" && len(s.List) == 0 }
