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
	"net/url"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/service"
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
	if e.OAuth != nil {
		o := *e.OAuth
		o.Scopes, o.AuthorizationParams = slices.Clone(o.Scopes), maps.Clone(o.AuthorizationParams)
		e.OAuth = &o
	}
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

// check validates one entry with the service model the server applies to
// every service (so a template always installs), plus its texts and that
// credential_key is one of the keys the auth block references.
func check(e apitype.CatalogEntry) error {
	if strings.TrimSpace(e.Name) == "" {
		return errors.New("name is required")
	}
	if strings.TrimSpace(e.Description) == "" {
		return errors.New("description is required")
	}
	if !strings.HasPrefix(e.DocsURL, "https://") || len(e.DocsURL) <= len("https://") {
		return fmt.Errorf("docs_url %q must be an https URL", e.DocsURL)
	}
	if err := checkOAuth(e.OAuth); err != nil {
		return err
	}
	svc, err := service.FromAPI(apitype.Service{Name: e.ID, Host: e.Host, Auth: e.Auth}, "")
	if err != nil {
		return err
	}
	keys := svc.ReferencedKeys()
	if e.Auth.Type == "passthrough" {
		if e.CredentialKey != "" {
			return errors.New("credential_key must be empty for passthrough auth")
		}
		return nil
	}
	if !slices.Contains(keys, e.CredentialKey) {
		return fmt.Errorf("credential_key %q is not referenced by auth (references %v)", e.CredentialKey, keys)
	}
	return nil
}

// checkOAuth validates an entry's OAuth provider: https endpoints without
// user information, a known token_auth_method.
func checkOAuth(o *apitype.CatalogOAuth) error {
	if o == nil {
		return nil
	}
	for name, raw := range map[string]string{"authorization_url": o.AuthorizationURL, "token_url": o.TokenURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
			return fmt.Errorf("oauth.%s %q must be an https URL", name, raw)
		}
	}
	switch o.TokenAuthMethod {
	case "", "client_secret_post", "client_secret_basic", "none":
	default:
		return fmt.Errorf("oauth.token_auth_method %q is not known", o.TokenAuthMethod)
	}
	return nil
}
