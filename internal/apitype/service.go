package apitype

import "time"

// Service is one service of a vault, as the API and service YAML files
// carry it. Host is the joined inline form host[:port][/path-glob].
type Service struct {
	Name          string         `json:"name" yaml:"name"`
	Host          string         `json:"host" yaml:"host"`
	Enabled       *bool          `json:"enabled,omitempty" yaml:"enabled,omitempty"` // nil means true on write
	Auth          ServiceAuth    `json:"auth" yaml:"auth"`
	Substitutions []Substitution `json:"substitutions,omitempty" yaml:"substitutions,omitempty"`
	// AllowPlaintext lets the service's credential go into an http://
	// request (never on port 443); without it such a request is refused.
	AllowPlaintext bool `json:"allow_plaintext,omitempty" yaml:"allow_plaintext,omitempty"`
	// Methods, when set, are the only request methods the service serves.
	Methods []string `json:"methods,omitempty" yaml:"methods,omitempty"`
	// Paths, when set, limit the request paths the service serves.
	Paths *PathRules `json:"paths,omitempty" yaml:"paths,omitempty"`
	// RedactResponses: nil or true replaces the service's credential values
	// in responses with a placeholder (docs/proxy.md, "Response
	// redaction"); false turns that off, for binary downloads. Only a user
	// may turn it off.
	RedactResponses *bool `json:"redact_responses,omitempty" yaml:"redact_responses,omitempty"`
}

// PathRules are a service's path allow and deny lists, globs in the host
// pattern's path grammar. A request path must match some allow glob (when
// there are any) and no deny glob.
type PathRules struct {
	Allow []string `json:"allow,omitempty" yaml:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty" yaml:"deny,omitempty"`
}

// ServiceAuth says how the broker authenticates matched traffic
// (docs/protocol.md, "Auth types").
// Credential fields hold credential key names, never values.
type ServiceAuth struct {
	Type     string            `json:"type" yaml:"type"` // bearer, basic, api-key, custom, passthrough
	Token    string            `json:"token,omitempty" yaml:"token,omitempty"`
	Username string            `json:"username,omitempty" yaml:"username,omitempty"`
	Password string            `json:"password,omitempty" yaml:"password,omitempty"`
	Key      string            `json:"key,omitempty" yaml:"key,omitempty"`
	Header   string            `json:"header,omitempty" yaml:"header,omitempty"`
	Prefix   string            `json:"prefix,omitempty" yaml:"prefix,omitempty"`
	Headers  map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
}

// Substitution replaces a placeholder in the declared request surfaces
// with a credential value (docs/protocol.md, "Substitutions").
type Substitution struct {
	Key         string   `json:"key" yaml:"key"`
	Placeholder string   `json:"placeholder" yaml:"placeholder"`
	In          []string `json:"in,omitempty" yaml:"in,omitempty"` // path, query, header, body, websocket
}

// ServiceList is GET /v1/vaults/{name}/services and the body of PUT.
type ServiceList struct {
	Vault    string    `json:"vault,omitempty" yaml:"vault,omitempty"`
	Services []Service `json:"services" yaml:"services"`
}

// ServiceCandidate names one of several services a bare host matched.
type ServiceCandidate struct {
	Name string `json:"name"`
	Host string `json:"host"`
}

// ServicesReplaced answers PUT /v1/vaults/{name}/services.
type ServicesReplaced struct {
	Vault         string `json:"vault"`
	ServicesCount int    `json:"services_count"`
	DryRun        bool   `json:"dry_run,omitempty"` // validated only, nothing written
}

// ServicesUpserted answers POST /v1/vaults/{name}/services.
type ServicesUpserted struct {
	Vault         string   `json:"vault"`
	Upserted      []string `json:"upserted"`
	ServicesCount int      `json:"services_count"`
}

// ServicesCleared answers DELETE /v1/vaults/{name}/services.
type ServicesCleared struct {
	Vault   string `json:"vault"`
	Cleared bool   `json:"cleared"`
}

// ServicePatch is PATCH /v1/vaults/{name}/services/{ref}.
type ServicePatch struct {
	Enabled *bool `json:"enabled"`
}

// ServicePatched answers a PATCH.
type ServicePatched struct {
	Vault   string `json:"vault"`
	Name    string `json:"name"`
	Host    string `json:"host"`
	Enabled bool   `json:"enabled"`
}

// ServiceRemoved answers DELETE /v1/vaults/{name}/services/{ref}.
type ServiceRemoved struct {
	Vault         string `json:"vault"`
	Removed       string `json:"removed"`
	RemovedHost   string `json:"removed_host"`
	ServicesCount int    `json:"services_count"`
}

// AmbiguousService is the 409 body when a bare host names several services.
type AmbiguousService struct {
	Error      string             `json:"error"`
	Code       string             `json:"code,omitempty"`
	Candidates []ServiceCandidate `json:"candidates"`
}

// CatalogEntry is one template of GET /v1/service-catalog. The flat
// auth_type/suggested_credential_key/header/prefix/headers fields follow
// the public API; auth holds the same as a ready-to-use service auth.
type CatalogEntry struct {
	ID            string      `json:"id" yaml:"id"`
	Name          string      `json:"name" yaml:"name"`
	Description   string      `json:"description" yaml:"description"`
	Host          string      `json:"host" yaml:"host"`
	Auth          ServiceAuth `json:"auth" yaml:"auth"`
	CredentialKey string      `json:"suggested_credential_key" yaml:"credential_key"`
	DocsURL       string      `json:"docs_url" yaml:"docs_url"`
	// OAuth, when set, makes the credential an OAuth one: the provider's
	// endpoints to connect it with (see docs/oauth.md).
	OAuth *CatalogOAuth `json:"oauth,omitempty" yaml:"oauth,omitempty"`

	AuthType string            `json:"auth_type" yaml:"-"`
	Header   string            `json:"header,omitempty" yaml:"-"`
	Prefix   string            `json:"prefix,omitempty" yaml:"-"`
	Headers  map[string]string `json:"headers,omitempty" yaml:"-"`
}

// CatalogOAuth is a catalog entry's OAuth provider: where to send the
// user to consent, where to get tokens, and what to ask for.
type CatalogOAuth struct {
	AuthorizationURL string   `json:"authorization_url" yaml:"authorization_url"`
	TokenURL         string   `json:"token_url" yaml:"token_url"`
	Scopes           []string `json:"scopes,omitempty" yaml:"scopes,omitempty"`
	// ScopeSeparator joins scopes in the authorization URL; "" is a space.
	ScopeSeparator  string `json:"scope_separator,omitempty" yaml:"scope_separator,omitempty"`
	TokenAuthMethod string `json:"token_auth_method,omitempty" yaml:"token_auth_method,omitempty"`
	// AuthorizationParams are extra query parameters of the consent URL
	// (Google's access_type=offline, which yields a refresh token).
	AuthorizationParams map[string]string `json:"authorization_params,omitempty" yaml:"authorization_params,omitempty"`
}

// Catalog is GET /v1/service-catalog.
type Catalog struct {
	Services []CatalogEntry `json:"services"`
}

// Credential is one entry of GET /v1/credentials. Value is set only when
// a user with the right role asked to reveal it.
type Credential struct {
	Key       string    `json:"key"`
	Type      string    `json:"type"`
	Value     *string   `json:"value,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// AllowedHosts are the host patterns the credential may be sent to
	// (its binding): a service injects it only where one covers the
	// service's host pattern.
	AllowedHosts []string `json:"allowed_hosts"`
	// AgentBoundHosts are those of AllowedHosts an agent bound for a value
	// it wrote itself; they lapse when the value is replaced.
	AgentBoundHosts []string `json:"agent_bound_hosts,omitempty"`
	// WrittenByAgent is set when an agent or a vault session wrote the
	// current value.
	WrittenByAgent bool `json:"written_by_agent,omitempty"`
	// OAuth is an OAuth credential's state (type oauth); never its tokens.
	OAuth *CredentialOAuthState `json:"oauth,omitempty"`
}

// CredentialList is GET /v1/credentials?vault=: the key names, and the
// entries with type and update time.
type CredentialList struct {
	Vault       string       `json:"vault"`
	Keys        []string     `json:"keys"`
	Credentials []Credential `json:"credentials"`
}

// SetCredentialsRequest is POST /v1/credentials.
type SetCredentialsRequest struct {
	Vault       string            `json:"vault"`
	Credentials map[string]string `json:"credentials"`
	// AllowedHosts optionally binds keys being set to host patterns
	// (users only), key → patterns.
	AllowedHosts map[string][]string `json:"allowed_hosts,omitempty"`
}

// BindCredentialRequest is POST /v1/credentials/bind and
// POST /v1/credentials/unbind: host patterns to add to or remove from a
// credential's binding.
type BindCredentialRequest struct {
	Vault string   `json:"vault"`
	Key   string   `json:"key"`
	Hosts []string `json:"hosts"`
}

// CredentialBinding answers a bind or unbind: the key's binding now.
type CredentialBinding struct {
	Vault        string   `json:"vault"`
	Key          string   `json:"key"`
	AllowedHosts []string `json:"allowed_hosts"`
}

// CredentialsSet answers POST /v1/credentials.
type CredentialsSet struct {
	Vault string   `json:"vault"`
	Set   []string `json:"set"`
}

// CredentialsDeleted answers DELETE /v1/credentials.
type CredentialsDeleted struct {
	Vault   string   `json:"vault"`
	Deleted []string `json:"deleted"`
}

// DeleteCredentialsRequest is DELETE /v1/credentials.
type DeleteCredentialsRequest struct {
	Vault string   `json:"vault"`
	Keys  []string `json:"keys"`
}

// Discover is GET /discover (docs/protocol.md, "Discovery").
type Discover struct {
	Vault                string             `json:"vault"`
	Services             []ServiceCandidate `json:"services"`
	AvailableCredentials []string           `json:"available_credentials"`
}
