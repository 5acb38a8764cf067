package oauth

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/secret"
)

// AuthMethod is how the client authenticates at the token endpoint.
type AuthMethod string

// The client authentication methods.
const (
	// AuthBasic sends client_id and client_secret in an HTTP Basic
	// Authorization header (form-encoded first, as the standard says).
	AuthBasic AuthMethod = "client_secret_basic"
	// AuthPost sends them as client_id and client_secret form fields.
	AuthPost AuthMethod = "client_secret_post"
	// AuthNone sends client_id only: a public client (PKCE protects its
	// code exchange).
	AuthNone AuthMethod = "none"
)

// DefaultAuthMethod is the method used when none is given, as the public
// Agent Vault API does.
const DefaultAuthMethod = AuthPost

// ParseAuthMethod checks a token_auth_method value; "" is the default.
func ParseAuthMethod(s string) (AuthMethod, error) {
	switch m := AuthMethod(s); m {
	case "":
		return DefaultAuthMethod, nil
	case AuthBasic, AuthPost, AuthNone:
		return m, nil
	}
	return "", fmt.Errorf("token_auth_method must be %q, %q or %q", AuthBasic, AuthPost, AuthNone)
}

// Grant names a token request's grant type.
type Grant string

// The grants the vault uses.
const (
	GrantAuthorizationCode Grant = "authorization_code"
	GrantRefreshToken      Grant = "refresh_token"
	GrantClientCredentials Grant = "client_credentials"
)

// Config is the client's registration at one provider: everything a token
// request needs besides the grant's own fields.
type Config struct {
	TokenURL     string
	ClientID     string
	ClientSecret secret.Bytes // empty for AuthNone
	AuthMethod   AuthMethod   // "" means DefaultAuthMethod
	// Scopes are sent with client credentials requests (and never with a
	// refresh, which keeps the granted scope).
	Scopes []string
}

// Request is one token request.
type Request struct {
	Config
	Grant Grant
	// Authorization code grant.
	Code         secret.Bytes
	CodeVerifier secret.Bytes // empty when PKCE was not used
	RedirectURI  string
	// Refresh token grant.
	RefreshToken secret.Bytes
}

// Tokens are a token endpoint's successful answer. They redact themselves
// when printed or logged (secret.Bytes).
type Tokens struct {
	Access secret.Bytes
	// Refresh is empty when the endpoint returned none: on a refresh that
	// means the old refresh token stays valid (no rotation).
	Refresh   secret.Bytes
	TokenType string // as returned ("Bearer" most often); may be ""
	Scope     string // granted scope as returned; may be ""
	// ExpiresAt is when the access token lapses, from expires_in; zero
	// when the endpoint gave no lifetime.
	ExpiresAt time.Time
}

// CheckTokenURL checks that raw is an absolute https URL without user
// information or fragment, as a token endpoint must be. It does not
// resolve the host: the dial does that, through netguard.
func CheckTokenURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("the token URL is empty")
	}
	if len(raw) > 2048 {
		return fmt.Errorf("the token URL is longer than 2048 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("the token URL does not parse")
	}
	switch {
	case u.Scheme != "https":
		return fmt.Errorf("the token URL must be an https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("the token URL has no host")
	case u.User != nil:
		return fmt.Errorf("the token URL must not carry user information")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("the token URL must not have a fragment")
	}
	return nil
}
