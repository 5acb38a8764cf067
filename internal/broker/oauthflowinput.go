package broker

import (
	"net/netip"
	"net/url"
	"strings"
	"unicode"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/oauth"
)

// Bounds of a connect request's fields.
const (
	maxOAuthURL          = 2048
	maxOAuthClientID     = 512
	maxOAuthClientSecret = 4096
	maxOAuthScopes       = 50
	maxOAuthScope        = 256
)

// connectInput is a checked connect request.
type connectInput struct {
	vault, key          string
	authURL, tokenURL   string
	clientID            string
	secret              string // the new secret, when secretGiven
	secretGiven, keep   bool   // keep: reuse the stored secret (OAuthSecretKept)
	scopes              []string
	separator           string
	disablePKCE         bool
	authMethod          oauth.AuthMethod
	authHost, tokenHost string
}

// checkConnect validates a connect request before anything is read or
// written. Every message says which field is wrong and what it needs.
func checkConnect(in apitype.OAuthConnectRequest) (connectInput, error) {
	c := connectInput{vault: in.Vault, key: in.Key, authURL: strings.TrimSpace(in.AuthorizationURL), tokenURL: strings.TrimSpace(in.TokenURL),
		clientID: in.ClientID, disablePKCE: in.PKCEDisabled(), separator: in.ScopeSeparator}
	if c.vault == "" {
		c.vault = model.DefaultVault
	}
	if err := model.ValidateCredentialKey("key", c.key); err != nil {
		return c, err
	}
	if c.authURL == "" {
		return c, errs.Invalid("authorization_url", "authorization_url is required for the connect flow: the provider's authorization endpoint, an https:// URL (the catalog lists common ones: `agent-vault catalog`)")
	}
	u, err := checkAuthorizationURL(c.authURL)
	if err != nil {
		return c, err
	}
	c.authHost = u.Hostname()
	if err := oauth.CheckTokenURL(c.tokenURL); err != nil {
		return c, errs.Invalid("token_url", "token_url: %v", err)
	}
	tu, _ := url.Parse(c.tokenURL)
	c.tokenHost = tu.Hostname()
	for _, h := range []struct{ field, host string }{{"authorization_url", c.authHost}, {"token_url", c.tokenHost}} {
		if numericHost(h.host) {
			return c, errs.Invalid(h.field, "%s names the host %q, which browsers read as an IPv4 address in a non-standard form: write a host name or a dotted-decimal address", h.field, h.host)
		}
	}
	if c.clientID == "" {
		return c, errs.Invalid("client_id", "client_id is required: the id the provider gave the application you registered with it")
	}
	if len(c.clientID) > maxOAuthClientID || hasControl(c.clientID) {
		return c, errs.Invalid("client_id", "client_id must be at most %d printable characters", maxOAuthClientID)
	}
	switch in.ClientSecret {
	case apitype.OAuthSecretKept:
		c.keep = true
	case "":
	default:
		if len(in.ClientSecret) > maxOAuthClientSecret || hasControl(in.ClientSecret) {
			return c, errs.Invalid("client_secret", "client_secret must be at most %d printable characters", maxOAuthClientSecret)
		}
		c.secret, c.secretGiven = in.ClientSecret, true
	}
	if c.separator, err = checkScopeSeparator("", c.separator); err != nil {
		return c, err
	}
	c.scopes = in.Scopes.List
	if c.scopes == nil && in.Scopes.Joined != "" {
		for _, s := range strings.Split(in.Scopes.Joined, c.separator) {
			if s = strings.TrimSpace(s); s != "" {
				c.scopes = append(c.scopes, s)
			}
		}
	}
	if err := checkScopes("", c.scopes, c.separator); err != nil {
		return c, err
	}
	c.authMethod, err = checkTokenAuth("", in.TokenAuthMethod, c.disablePKCE)
	return c, err
}

// The checks the connect flow and a proposed OAuth slot share; prefix
// goes before each field name in errors ("" or "credentials[0].oauth.").

// checkScopeSeparator returns the scope separator ("" is a space): one of
// a space, ",", ";" or "+".
func checkScopeSeparator(prefix, sep string) (string, error) {
	if sep == "" {
		return " ", nil
	}
	if len(sep) != 1 || !strings.Contains(" ,;+", sep) {
		return "", errs.Invalid(prefix+"scope_separator", "scope_separator must be one of a space, \",\", \";\" or \"+\" (or left out for a space)")
	}
	return sep, nil
}

// checkScopes bounds the scopes' count and each scope: printable, without
// spaces or the separator.
func checkScopes(prefix string, scopes []string, sep string) error {
	if len(scopes) > maxOAuthScopes {
		return errs.Invalid(prefix+"scopes", "at most %d scopes", maxOAuthScopes)
	}
	for _, s := range scopes {
		if s == "" || len(s) > maxOAuthScope || hasControl(s) || strings.ContainsAny(s, " "+sep) {
			return errs.Invalid(prefix+"scopes", "each scope must be 1 to %d printable characters without spaces or the separator (got %q)", maxOAuthScope, s)
		}
	}
	return nil
}

// checkTokenAuth parses the token endpoint's client authentication; a
// public client (none) must keep PKCE.
func checkTokenAuth(prefix, method string, disablePKCE bool) (oauth.AuthMethod, error) {
	m, err := oauth.ParseAuthMethod(method)
	if err != nil {
		return m, errs.Invalid(prefix+"token_auth_method", "%v", err)
	}
	if m == oauth.AuthNone && disablePKCE {
		return m, errs.Invalid(prefix+"disable_pkce", "a public client (token_auth_method none) must use PKCE: leave disable_pkce out")
	}
	return m, nil
}

// checkAuthorizationURL checks the provider's authorization endpoint: an
// absolute https URL without user information or fragment, that does not
// already carry a parameter of the authorization request.
func checkAuthorizationURL(raw string) (*url.URL, error) {
	const f = "authorization_url"
	if len(raw) > maxOAuthURL {
		return nil, errs.Invalid(f, "authorization_url is longer than %d bytes", maxOAuthURL)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || hasControl(raw):
		return nil, errs.Invalid(f, "authorization_url does not parse as a URL")
	case u.Scheme != "https":
		return nil, errs.Invalid(f, "authorization_url must be an https:// URL")
	case u.Hostname() == "":
		return nil, errs.Invalid(f, "authorization_url has no host")
	case u.User != nil:
		return nil, errs.Invalid(f, "authorization_url must not carry user information")
	case strings.Contains(raw, "#"):
		return nil, errs.Invalid(f, "authorization_url must not have a fragment")
	}
	if _, err := oauth.AuthorizationURL(oauth.AuthorizationRequest{Endpoint: raw}); err != nil {
		return nil, errs.Invalid(f, "authorization_url must not carry response_type, client_id, redirect_uri, state, scope or code_challenge: the vault sets them")
	}
	return u, nil
}

// numericHost reports a host whose last label is a number (decimal, octal
// or 0x-hex) without being a dotted-decimal IPv4 address: browsers and
// some resolvers read "0x7f000001", "2130706433" or "127.1" as an address
// (127.0.0.1) that netguard, reading a name, would not vet as one.
func numericHost(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if strings.Contains(h, ":") { // an IPv6 literal
		return false
	}
	labels := strings.Split(h, ".")
	last := model.LowerASCII(labels[len(labels)-1])
	numeric := last != "" && strings.Trim(last, "0123456789") == ""
	if x, ok := strings.CutPrefix(last, "0x"); ok {
		numeric = strings.Trim(x, "0123456789abcdef") == ""
	}
	if !numeric {
		return false
	}
	a, err := netip.ParseAddr(h)
	return err != nil || !a.Is4()
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}
