package service

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
)

// AuthType is how the broker authenticates matched traffic
// (docs/protocol.md, "Auth types").
type AuthType string

// The auth types.
const (
	AuthBearer      AuthType = "bearer"      // Authorization: Bearer <token>
	AuthBasic       AuthType = "basic"       // Authorization: Basic b64(username:password)
	AuthAPIKey      AuthType = "api-key"     // <header>: <prefix><key>
	AuthCustom      AuthType = "custom"      // each header template, {{ KEY }} resolved
	AuthPassthrough AuthType = "passthrough" // nothing injected; allowlists the host
)

// DefaultAPIKeyHeader is the header api-key auth sets when none is named.
const DefaultAPIKeyHeader = "Authorization"

// Limits on an auth config.
const (
	MaxCustomHeaders = 20
	MaxPrefixLen     = 256
)

var authTypes = []AuthType{AuthBearer, AuthBasic, AuthAPIKey, AuthCustom, AuthPassthrough}

// SupportedAuthTypes lists the auth types in documentation order, for
// proposal_hint.supported_auth_types and help texts.
func SupportedAuthTypes() []string {
	out := make([]string, len(authTypes))
	for i, t := range authTypes {
		out[i] = string(t)
	}
	return out
}

// Auth is a validated auth config. Credential fields (Token, Username,
// Password, Key) hold credential key names, never values. After
// AuthFromAPI, Header is set for api-key (DefaultAPIKeyHeader when the
// input named none) and empty otherwise.
type Auth struct {
	Type     AuthType
	Token    string            // bearer
	Username string            // basic
	Password string            // basic, optional
	Key      string            // api-key
	Header   string            // api-key
	Prefix   string            // api-key, optional literal, e.g. "Bearer "
	Headers  map[string]string // custom: header name → template
}

// authField names one field of the auth object and says which types use it.
type authField struct {
	name  string
	set   func(a apitype.ServiceAuth) bool
	types []AuthType
}

var authFields = []authField{
	{"token", func(a apitype.ServiceAuth) bool { return a.Token != "" }, []AuthType{AuthBearer}},
	{"username", func(a apitype.ServiceAuth) bool { return a.Username != "" }, []AuthType{AuthBasic}},
	{"password", func(a apitype.ServiceAuth) bool { return a.Password != "" }, []AuthType{AuthBasic}},
	{"key", func(a apitype.ServiceAuth) bool { return a.Key != "" }, []AuthType{AuthAPIKey}},
	{"header", func(a apitype.ServiceAuth) bool { return a.Header != "" }, []AuthType{AuthAPIKey}},
	{"prefix", func(a apitype.ServiceAuth) bool { return a.Prefix != "" }, []AuthType{AuthAPIKey}},
	{"headers", func(a apitype.ServiceAuth) bool { return len(a.Headers) > 0 }, []AuthType{AuthCustom}},
}

// usage says which fields a type takes, for error messages.
var usage = map[AuthType]string{
	AuthBearer:      "bearer auth takes only token",
	AuthBasic:       "basic auth takes only username and password",
	AuthAPIKey:      "api-key auth takes only key, header and prefix",
	AuthCustom:      "custom auth takes only headers",
	AuthPassthrough: "passthrough auth injects nothing and takes no credential fields",
}

// AuthFromAPI validates the wire form of an auth config. prefix is the
// JSON path of the auth object ("services[0].auth"); errors name the
// offending member under it.
func AuthFromAPI(a apitype.ServiceAuth, prefix string) (Auth, error) {
	typeField := field(prefix, "type")
	t := AuthType(a.Type)
	if a.Type == "" {
		return Auth{}, invalid(typeField, "an auth type is required: one of %s", strings.Join(SupportedAuthTypes(), ", "))
	}
	if _, ok := usage[t]; !ok {
		return Auth{}, invalid(typeField, "unknown auth type %s; use one of %s", quoteInput(a.Type), strings.Join(SupportedAuthTypes(), ", "))
	}
	for _, f := range authFields {
		if f.set(a) && !containsType(f.types, t) {
			return Auth{}, invalid(field(prefix, f.name), "%s is not used by %s auth (%s)", f.name, t, usage[t])
		}
	}
	out := Auth{Type: t}
	switch t {
	case AuthBearer:
		if err := checkKeyRef(field(prefix, "token"), a.Token, "bearer auth needs token: the credential key whose value is sent as Authorization: Bearer <value>"); err != nil {
			return Auth{}, err
		}
		out.Token = a.Token
	case AuthBasic:
		if err := checkKeyRef(field(prefix, "username"), a.Username, "basic auth needs username: the credential key holding the user name"); err != nil {
			return Auth{}, err
		}
		if a.Password != "" {
			if err := checkKeyRef(field(prefix, "password"), a.Password, ""); err != nil {
				return Auth{}, err
			}
		}
		out.Username, out.Password = a.Username, a.Password
	case AuthAPIKey:
		if err := checkKeyRef(field(prefix, "key"), a.Key, "api-key auth needs key: the credential key whose value is sent in the header"); err != nil {
			return Auth{}, err
		}
		out.Key, out.Header = a.Key, a.Header
		if out.Header == "" {
			out.Header = DefaultAPIKeyHeader
		} else if reason := checkManagedHeader(a.Header); reason != "" {
			return Auth{}, invalid(field(prefix, "header"), "%s", reason)
		}
		if a.Prefix != "" {
			if len(a.Prefix) > MaxPrefixLen {
				return Auth{}, invalid(field(prefix, "prefix"), "the prefix is %d bytes long; the limit is %d", len(a.Prefix), MaxPrefixLen)
			}
			if reason := checkHeaderValue(a.Prefix); reason != "" {
				return Auth{}, invalid(field(prefix, "prefix"), "%s", reason)
			}
		}
		out.Prefix = a.Prefix
	case AuthCustom:
		headers, err := customHeadersFromAPI(a.Headers, field(prefix, "headers"))
		if err != nil {
			return Auth{}, err
		}
		out.Headers = headers
	}
	return out, nil
}

// checkKeyRef validates a field that names a credential key. required is
// the message for an empty field. The input is never echoed: a user who
// pastes a secret where its key name belongs must not find the secret in
// an error message or a log.
func checkKeyRef(fieldPath, s, required string) error {
	if s == "" {
		if required == "" {
			required = "a credential key name is required"
		}
		return invalid(fieldPath, "%s", required)
	}
	if model.ValidateCredentialKey(fieldPath, s) != nil {
		return invalid(fieldPath, "must name a credential key (UPPER_SNAKE_CASE matching ^[A-Z][A-Z0-9_]*$, at most 128 characters, e.g. STRIPE_KEY), not hold a secret value; the input is not repeated here")
	}
	return nil
}

func containsType(ts []AuthType, t AuthType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// customHeadersFromAPI validates the headers map of custom auth.
func customHeadersFromAPI(in map[string]string, path string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, invalid(path, "custom auth needs headers: a map of header name to a template such as \"Bearer {{ API_TOKEN }}\"")
	}
	if len(in) > MaxCustomHeaders {
		return nil, invalid(path, "custom auth sets %d headers; the limit is %d", len(in), MaxCustomHeaders)
	}
	names := sortedKeys(in)
	seen := make(map[string]string, len(names))
	out := make(map[string]string, len(names))
	refs := 0
	for _, name := range names {
		f := path + "[" + strconv.Quote(name) + "]"
		if reason := checkManagedHeader(name); reason != "" {
			return nil, invalid(f, "%s", reason)
		}
		canon := model.LowerASCII(name)
		if other, dup := seen[canon]; dup {
			return nil, invalid(f, "header %q is also set as %q; header names are case-insensitive, set it once", name, other)
		}
		seen[canon] = name
		t, reason := parseTemplate(in[name])
		if reason != "" {
			return nil, invalid(f, "%s", reason)
		}
		refs += len(t.keys())
		out[name] = in[name]
	}
	if refs == 0 {
		return nil, invalid(path, "custom auth must reference at least one credential key with {{ KEY }}")
	}
	return out, nil
}

// forbiddenHeaders are headers no service may manage: hop-by-hop and
// framing headers (RFC 9110 §7.6.1), the broker's own headers, and the
// WebSocket handshake headers the proxy negotiates itself. Keys are
// lowercase; "proxy-*" and "x-agent-vault-*" prefixes are checked apart.
var forbiddenHeaders = map[string]bool{
	"host": true, "connection": true, "keep-alive": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true,
	"content-length": true, "expect": true, "x-vault": true,
	"set-cookie":               true,
	"sec-websocket-key":        true,
	"sec-websocket-version":    true,
	"sec-websocket-extensions": true,
	"sec-websocket-accept":     true,
}

// checkManagedHeader validates a header name a service sets.
func checkManagedHeader(name string) string {
	if name == "" {
		return "the header name is empty"
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return "header name " + quoteInput(name) + " is not a valid HTTP field name (letters, digits and !#$%&'*+-.^_`|~ only)"
		}
	}
	lower := model.LowerASCII(name)
	if forbiddenHeaders[lower] || strings.HasPrefix(lower, "proxy-") || strings.HasPrefix(lower, "x-agent-vault-") {
		return "header " + strconv.Quote(name) + " is a hop-by-hop, framing or broker header and cannot be set by a service"
	}
	return ""
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ToAPI returns the wire form. The headers map is a copy.
func (a Auth) ToAPI() apitype.ServiceAuth {
	out := apitype.ServiceAuth{
		Type: string(a.Type), Token: a.Token, Username: a.Username, Password: a.Password,
		Key: a.Key, Header: a.Header, Prefix: a.Prefix,
	}
	if len(a.Headers) > 0 {
		out.Headers = make(map[string]string, len(a.Headers))
		for k, v := range a.Headers {
			out.Headers[k] = v
		}
	}
	return out
}

// Keys returns the credential keys the auth config references, sorted and
// without repeats; nil for passthrough.
func (a Auth) Keys() []string {
	var ks []string
	for _, k := range []string{a.Token, a.Username, a.Password, a.Key} {
		if k != "" {
			ks = append(ks, k)
		}
	}
	for _, v := range a.Headers {
		t, _ := parseTemplate(v)
		ks = append(ks, t.keys()...)
	}
	return sortUnique(ks)
}

func sortUnique(ks []string) []string {
	if len(ks) == 0 {
		return nil
	}
	sort.Strings(ks)
	out := ks[:1]
	for _, k := range ks[1:] {
		if k != out[len(out)-1] {
			out = append(out, k)
		}
	}
	return out
}

// Render builds the headers the auth config injects, header name →
// value, looking each referenced key up once (in sorted order).
//
// Exactly one outcome holds: headers (nil for passthrough) with missingKey
// "" and err nil; or missingKey names the first referenced key lookup did
// not find (the proxy answers 502 credential_not_found); or err says a value
// cannot be placed in a header (a CR, LF or other control character, a
// ':' in a basic-auth user name) or the config is malformed. Messages name
// keys, never values.
func (a Auth) Render(lookup func(key string) ([]byte, bool)) (headers map[string]string, missingKey string, err error) {
	templates := map[string]template{}
	switch a.Type {
	case AuthPassthrough:
		return nil, "", nil
	case AuthBearer, AuthBasic, AuthAPIKey:
	case AuthCustom:
		for name, v := range a.Headers {
			t, reason := parseTemplate(v)
			if reason != "" {
				return nil, "", errs.Invalid("auth.headers", "auth.headers[%q]: %s", name, reason)
			}
			templates[name] = t
		}
	default:
		return nil, "", errs.Invalid("auth.type", "auth.type: unknown auth type %q", a.Type)
	}
	keys := a.Keys()
	values := make(map[string][]byte, len(keys))
	for _, k := range keys {
		v, ok := lookup(k)
		if !ok {
			return nil, k, nil
		}
		values[k] = v
	}
	// Basic auth encodes its values, so only a colon in the user name can
	// break it; every other type puts values into a header as they are.
	if a.Type != AuthBasic {
		for _, k := range keys {
			if hasControlByte(values[k]) {
				return nil, "", credentialError(k, "contains a CR, LF or other control character, which cannot be sent in an HTTP header")
			}
		}
	}
	switch a.Type {
	case AuthBearer:
		return map[string]string{"Authorization": "Bearer " + string(values[a.Token])}, "", nil
	case AuthBasic:
		user := values[a.Username]
		if strings.IndexByte(string(user), ':') >= 0 {
			return nil, "", credentialError(a.Username, "is used as a basic-auth user name and contains ':', which basic auth cannot carry")
		}
		pair := string(user) + ":" + string(values[a.Password])
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(pair))}, "", nil
	case AuthAPIKey:
		header := a.Header
		if header == "" {
			header = DefaultAPIKeyHeader
		}
		return map[string]string{header: a.Prefix + string(values[a.Key])}, "", nil
	default: // AuthCustom
		out := make(map[string]string, len(templates))
		for name, t := range templates {
			out[name] = t.render(values)
		}
		return out, "", nil
	}
}

// HeaderShapes returns, for each header the auth config writes a
// credential into, the header's name in lower case and its shape: the
// value it renders with each credential written {{KEY}} (basic auth, whose
// value the proxy encodes, as "Basic {{USER}}:{{PASS}}"). Nil for
// passthrough. It tells what text surrounds a credential in a header.
func (a Auth) HeaderShapes() map[string]string {
	ref := func(k string) string { return "{{" + k + "}}" }
	switch a.Type {
	case AuthBearer:
		return map[string]string{"authorization": "Bearer " + ref(a.Token)}
	case AuthBasic:
		pass := ""
		if a.Password != "" {
			pass = ref(a.Password)
		}
		return map[string]string{"authorization": "Basic " + ref(a.Username) + ":" + pass}
	case AuthAPIKey:
		h := a.Header
		if h == "" {
			h = DefaultAPIKeyHeader
		}
		return map[string]string{strings.ToLower(h): a.Prefix + ref(a.Key)}
	case AuthCustom:
		out := make(map[string]string, len(a.Headers))
		for name, v := range a.Headers {
			t, _ := parseTemplate(v)
			if len(t.keys()) == 0 {
				continue // a literal header: no credential in it
			}
			var b strings.Builder
			for _, part := range t {
				if part.key != "" {
					b.WriteString(ref(part.key))
				} else {
					b.WriteString(part.text)
				}
			}
			out[strings.ToLower(name)] = b.String()
		}
		return out
	}
	return nil
}

// hasControlByte reports whether v holds a byte a header value cannot.
func hasControlByte(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// credentialError reports a credential value that cannot be injected. It
// names the key only.
func credentialError(key, what string) *errs.Error {
	return errs.Invalid("credential", "credential %s %s", key, what).WithCode("credential_invalid")
}
