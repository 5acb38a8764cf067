// Package catalog holds the built-in service templates that GET
// /v1/service-catalog serves: how the broker authenticates to widely used
// APIs. The templates live in the embedded catalog.yaml; it is parsed and
// checked once, on first use.
package catalog

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

//go:embed catalog.yaml
var catalogYAML []byte

// document is the shape of catalog.yaml.
type document struct {
	Services []apitype.CatalogEntry `yaml:"services"`
}

var load = sync.OnceValues(func() ([]apitype.CatalogEntry, error) {
	return parse(catalogYAML)
})

// All returns every template, in catalog order (sorted by id). The slice
// and its maps are the caller's own. It panics if the embedded catalog is
// invalid, which the package tests rule out.
func All() []apitype.CatalogEntry {
	entries, err := load()
	if err != nil {
		panic(err)
	}
	out := make([]apitype.CatalogEntry, len(entries))
	for i, e := range entries {
		out[i] = clone(e)
	}
	return out
}

// Get returns the template with the given id.
func Get(id string) (apitype.CatalogEntry, bool) {
	entries, err := load()
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		if e.ID == id {
			return clone(e), true
		}
	}
	return apitype.CatalogEntry{}, false
}

// clone copies an entry and fills the flat fields of the public API from
// its auth block.
func clone(e apitype.CatalogEntry) apitype.CatalogEntry {
	e.Auth.Headers = maps.Clone(e.Auth.Headers)
	e.AuthType, e.Header, e.Prefix, e.Headers = e.Auth.Type, e.Auth.Header, e.Auth.Prefix, maps.Clone(e.Auth.Headers)
	return e
}

// parse decodes a catalog document strictly (unknown fields are errors)
// and checks every entry.
func parse(data []byte) ([]apitype.CatalogEntry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc document
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("catalog: decoding: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("catalog: more than one YAML document")
	}
	if len(doc.Services) == 0 {
		return nil, errors.New("catalog: no services")
	}
	seen := make(map[string]bool, len(doc.Services))
	for i, e := range doc.Services {
		if err := check(e); err != nil {
			return nil, fmt.Errorf("catalog: services[%d] (%s): %w", i, e.ID, err)
		}
		if seen[e.ID] {
			return nil, fmt.Errorf("catalog: services[%d]: duplicate id %q", i, e.ID)
		}
		seen[e.ID] = true
	}
	return doc.Services, nil
}

var (
	credentialKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	headerNameRE    = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	headerRefRE     = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)
	hostLabelRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	pathRE          = regexp.MustCompile(`^/[A-Za-z0-9._~/-]*\*?$`)
)

// check validates one entry: its id, texts, host pattern, auth block and
// that credential_key is one of the keys the auth block references.
func check(e apitype.CatalogEntry) error {
	if err := checkSlug(e.ID); err != nil {
		return err
	}
	if strings.TrimSpace(e.Name) == "" {
		return errors.New("name is required")
	}
	if strings.TrimSpace(e.Description) == "" {
		return errors.New("description is required")
	}
	if err := checkHost(e.Host); err != nil {
		return err
	}
	if !strings.HasPrefix(e.DocsURL, "https://") || len(e.DocsURL) <= len("https://") {
		return fmt.Errorf("docs_url %q must be an https URL", e.DocsURL)
	}
	keys, err := checkAuth(e.Auth)
	if err != nil {
		return err
	}
	if e.Auth.Type == "passthrough" {
		if e.CredentialKey != "" {
			return errors.New("credential_key must be empty for passthrough auth")
		}
		return nil
	}
	for _, k := range keys {
		if k == e.CredentialKey {
			return nil
		}
	}
	return fmt.Errorf("credential_key %q is not referenced by auth (references %v)", e.CredentialKey, keys)
}

// checkSlug accepts 3–64 lowercase letters, digits and hyphens with no
// leading, trailing or doubled hyphen.
func checkSlug(s string) error {
	if len(s) < 3 || len(s) > 64 {
		return fmt.Errorf("id %q must be 3 to 64 characters", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("id %q may contain only lowercase letters, digits and hyphens", s)
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return fmt.Errorf("id %q must not start or end with a hyphen or contain two in a row", s)
	}
	return nil
}

// checkHost checks a host pattern: a lowercase DNS name or "*." followed
// by one (a wildcard stands for exactly one label), then an optional
// ":port" and an optional path starting with "/" that may end in "*".
// A scheme, query or fragment is rejected.
func checkHost(pattern string) error {
	if pattern == "" {
		return errors.New("host is required")
	}
	if strings.Contains(pattern, "://") {
		return fmt.Errorf("host %q must not carry a scheme", pattern)
	}
	hostport, path, hasPath := strings.Cut(pattern, "/")
	if hasPath && !pathRE.MatchString("/"+path) {
		return fmt.Errorf("host %q has an invalid path: want /segment/... optionally ending in *", pattern)
	}
	host := hostport
	if h, port, ok := strings.Cut(hostport, ":"); ok {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return fmt.Errorf("host %q has an invalid port", pattern)
		}
		host = h
	}
	name := strings.TrimPrefix(host, "*.")
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return fmt.Errorf("host %q must be a dotted domain name", pattern)
	}
	for _, l := range labels {
		if len(l) > 63 || !hostLabelRE.MatchString(l) {
			return fmt.Errorf("host %q has an invalid label %q (lowercase letters, digits, inner hyphens; a leading *. is the only wildcard)", pattern, l)
		}
	}
	return nil
}

// checkAuth checks that the auth block has exactly the fields of its type
// and returns the credential keys it references.
func checkAuth(a apitype.ServiceAuth) ([]string, error) {
	set := map[string]bool{
		"token":    a.Token != "",
		"username": a.Username != "",
		"password": a.Password != "",
		"key":      a.Key != "",
		"header":   a.Header != "",
		"prefix":   a.Prefix != "",
		"headers":  len(a.Headers) > 0,
	}
	var required, optional []string
	switch a.Type {
	case "bearer":
		required = []string{"token"}
	case "basic":
		required, optional = []string{"username"}, []string{"password"}
	case "api-key":
		required, optional = []string{"key", "header"}, []string{"prefix"}
	case "custom":
		required = []string{"headers"}
	case "passthrough":
	default:
		return nil, fmt.Errorf("auth: unknown type %q (want bearer, basic, api-key, custom or passthrough)", a.Type)
	}
	allowed := make(map[string]bool)
	for _, f := range required {
		if !set[f] {
			return nil, fmt.Errorf("auth: %s auth needs %q", a.Type, f)
		}
		allowed[f] = true
	}
	for _, f := range optional {
		allowed[f] = true
	}
	for f, ok := range set {
		if ok && !allowed[f] {
			return nil, fmt.Errorf("auth: %q does not belong to %s auth", f, a.Type)
		}
	}
	if a.Header != "" && !headerNameRE.MatchString(a.Header) {
		return nil, fmt.Errorf("auth: invalid header name %q", a.Header)
	}

	var keys []string
	switch a.Type {
	case "bearer":
		keys = []string{a.Token}
	case "basic":
		keys = []string{a.Username}
		if a.Password != "" {
			keys = append(keys, a.Password)
		}
	case "api-key":
		keys = []string{a.Key}
	case "custom":
		for name, tmpl := range a.Headers {
			if !headerNameRE.MatchString(name) {
				return nil, fmt.Errorf("auth: invalid header name %q", name)
			}
			refs := headerRefRE.FindAllStringSubmatch(tmpl, -1)
			if len(refs) == 0 {
				return nil, fmt.Errorf("auth: header %q references no credential ({{ KEY }})", name)
			}
			for _, m := range refs {
				keys = append(keys, m[1])
			}
		}
	}
	for _, k := range keys {
		if !credentialKeyRE.MatchString(k) {
			return nil, fmt.Errorf("auth: credential key %q must be UPPER_SNAKE_CASE", k)
		}
	}
	return keys, nil
}
