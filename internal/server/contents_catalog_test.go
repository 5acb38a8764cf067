package server_test

import (
	"bytes"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

// update rewrites golden files: go test ./internal/server -run Skill -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestContentsCatalog(t *testing.T) {
	catalogScenario(t, newCfx(t), "ct")
}

func TestContentsSkill(t *testing.T) {
	skillScenario(t, newCfx(t), "sk")
}

var headerKeyRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// catalogKeys is every credential key a catalog entry references.
func catalogKeys(e apitype.CatalogEntry) []string {
	set := map[string]bool{}
	for _, k := range []string{e.Auth.Token, e.Auth.Username, e.Auth.Password, e.Auth.Key, e.CredentialKey} {
		if k != "" {
			set[k] = true
		}
	}
	for _, h := range e.Auth.Headers {
		for _, m := range headerKeyRE.FindAllStringSubmatch(h, -1) {
			set[m[1]] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// catalogScenario: the public catalog is well formed, and every entry is
// accepted by our own service validation once its keys exist.
func catalogScenario(t *testing.T, f *cfx, p string) {
	r := f.raw(t, http.MethodGet, "/v1/service-catalog", "", nil)
	if r.code != 200 || !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("anonymous GET /v1/service-catalog = %d %q", r.code, r.hdr.Get("Content-Type"))
	}
	var cat apitype.Catalog
	r.into(t, &cat)
	if len(cat.Services) < 25 {
		t.Fatalf("catalog has %d entries, want at least 25", len(cat.Services))
	}
	if c, err := f.e.anon().Catalog(cbg); err != nil || len(c.Services) != len(cat.Services) {
		t.Errorf("client catalog = %d entries, %v", len(c.Services), err)
	}
	ids := map[string]bool{}
	for i, e := range cat.Services {
		if e.ID == "" || e.Host == "" || e.AuthType == "" || e.CredentialKey == "" || e.Name == "" {
			t.Errorf("entry %d (%q) lacks id, name, host, auth_type or suggested_credential_key: %+v", i, e.ID, e)
		}
		if e.AuthType != e.Auth.Type {
			t.Errorf("%s: auth_type %q differs from auth.type %q", e.ID, e.AuthType, e.Auth.Type)
		}
		if ids[e.ID] {
			t.Errorf("duplicate catalog id %q", e.ID)
		}
		ids[e.ID] = true
		if i > 0 && cat.Services[i-1].ID > e.ID {
			t.Errorf("catalog not sorted by id at %q", e.ID)
		}
		if e.AuthType != "passthrough" && !contains(catalogKeys(e), e.CredentialKey) {
			t.Errorf("%s: suggested_credential_key %s is not used by its auth", e.ID, e.CredentialKey)
		}
	}
	// The raw body holds the public field names.
	for _, field := range []string{`"id"`, `"host"`, `"auth_type"`, `"suggested_credential_key"`} {
		if !bytes.Contains(r.body, []byte(field)) {
			t.Errorf("catalog body lacks %s", field)
		}
	}

	alice, _ := f.user(t, "alice."+p+"@example.com")
	v := mkVault(t, alice, p+"-catalog")
	// Before the keys exist, an entry with credentials is refused.
	first := cat.Services[0]
	_, err := alice.ReplaceServices(cbg, v, []apitype.Service{{Name: first.ID, Host: first.Host, Auth: first.Auth}}, false)
	wantAPIErr(t, "catalog entry without its keys", err, 400, "services[0]")

	keys := map[string]string{}
	for _, e := range cat.Services {
		for _, k := range catalogKeys(e) {
			keys[k] = f.secret("cat")
		}
	}
	_, err = alice.SetCredentials(cbg, v, keys)
	mustOK(t, "set catalog keys", err)
	for _, e := range cat.Services {
		svc := apitype.Service{Name: e.ID, Host: e.Host, Auth: e.Auth}
		if _, err := alice.ReplaceServices(cbg, v, []apitype.Service{svc}, false); err != nil {
			t.Errorf("catalog entry %s refused by PUT services: %v (field %q)", e.ID, err, errField(err))
			continue
		}
		got, err := alice.Services(cbg, v)
		if err != nil || len(got.Services) != 1 || got.Services[0].Host != e.Host || got.Services[0].Auth.Type != e.Auth.Type {
			t.Errorf("catalog entry %s read back as %+v, %v", e.ID, got.Services, err)
		}
	}
	// Entries with distinct hosts also coexist in one set.
	var all []apitype.Service
	seen := map[string]bool{}
	for _, e := range cat.Services {
		if !seen[e.Host] {
			seen[e.Host] = true
			all = append(all, apitype.Service{Name: e.ID, Host: e.Host, Auth: e.Auth})
		}
	}
	if _, err := alice.ReplaceServices(cbg, v, all, true); err != nil {
		t.Errorf("the whole catalog as one set (dry run): %v (field %q)", err, errField(err))
	}
	// The catalog holds key names only: no value we set appears in it.
	r2 := f.raw(t, http.MethodGet, "/v1/service-catalog", "", nil)
	for _, val := range keys {
		if bytes.Contains(r2.body, []byte(val)) {
			t.Errorf("a credential value appears in the catalog")
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// errField is the field an API error names.
func errField(err error) string {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Body.Field
	}
	return ""
}

// skillScenario: the public skill document matches its golden copy,
// teaches the protocol, and holds nothing shaped like a real token.
func skillScenario(t *testing.T, f *cfx, _ string) {
	r := f.raw(t, http.MethodGet, "/v1/skills/cli", "", nil)
	if r.code != 200 {
		t.Fatalf("anonymous GET /v1/skills/cli = %d", r.code)
	}
	if ct := r.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/markdown") {
		t.Errorf("Content-Type = %q, want text/markdown", ct)
	}
	golden := filepath.Join("testdata", "skill_cli.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, r.body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading %s (run with -update to create it): %v", golden, err)
	}
	if !bytes.Equal(r.body, want) {
		t.Errorf("GET /v1/skills/cli differs from %s (run with -update if the change is intended)", golden)
	}
	if s, err := f.e.anon().Skill(cbg); err != nil || s != string(r.body) {
		t.Errorf("client Skill() differs from the raw body: %v", err)
	}
	// With a token it is the same document.
	if r2 := f.raw(t, http.MethodGet, "/v1/skills/cli", f.ownTok, nil); !bytes.Equal(r2.body, r.body) {
		t.Errorf("the skill differs for an authenticated caller")
	}
	doc := string(r.body)
	for _, must := range []string{"/discover", "/v1/proposals", "approval_url", "X-Vault", "AGENT_VAULT_TOKEN", "X-Agent-Vault-Proxy-Error"} {
		if !strings.Contains(doc, must) {
			t.Errorf("the skill does not mention %s", must)
		}
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`av_(agt|sess|appr|uinv)_[0-9a-fA-F]{4,}`),
		regexp.MustCompile(`\b(sk|pk|rk)_(live|test)_[A-Za-z0-9]{8,}`),
		regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{20,}`),
		regexp.MustCompile(`\bxox[abpr]-[A-Za-z0-9-]{10,}`),
		regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{20,}`),
		regexp.MustCompile(`Bearer [A-Za-z0-9._~+/-]{20,}`),
		regexp.MustCompile(`\b[0-9a-f]{32,}\b`),
	} {
		if m := re.FindString(doc); m != "" {
			t.Errorf("the skill holds something that looks like a real secret: %q", m)
		}
	}
}
