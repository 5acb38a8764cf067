package catalog

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func TestEmbeddedCatalogParses(t *testing.T) {
	entries, err := parse(catalogYAML)
	if err != nil {
		t.Fatalf("embedded catalog.yaml: %v", err)
	}
	if len(entries) < 25 {
		t.Fatalf("catalog has %d entries, want at least 25", len(entries))
	}
	if got := len(All()); got != len(entries) {
		t.Fatalf("All() returned %d entries, parse %d", got, len(entries))
	}
}

var (
	slugRE   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	keyRE    = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	headerRE = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	refRE    = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)
	// A deliberately simple restatement of the host grammar: optional
	// "*." then dotted lowercase labels, optional :port, optional path.
	hostRE = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*\*?)?$`)
)

func TestIDsUniqueSortedAndSlugs(t *testing.T) {
	seen := map[string]bool{}
	var ids []string
	for _, e := range All() {
		if len(e.ID) < 3 || len(e.ID) > 64 || !slugRE.MatchString(e.ID) {
			t.Errorf("id %q is not a 3-64 character lowercase slug", e.ID)
		}
		if seen[e.ID] {
			t.Errorf("duplicate id %q", e.ID)
		}
		seen[e.ID] = true
		ids = append(ids, e.ID)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("catalog.yaml is not sorted by id: %v", ids)
	}
}

// referencedKeys lists the credential keys an auth block names.
func referencedKeys(a apitype.ServiceAuth) []string {
	var keys []string
	for _, k := range []string{a.Token, a.Username, a.Password, a.Key} {
		if k != "" {
			keys = append(keys, k)
		}
	}
	for _, v := range a.Headers {
		for _, m := range refRE.FindAllStringSubmatch(v, -1) {
			keys = append(keys, m[1])
		}
	}
	return keys
}

func TestEntriesWellFormed(t *testing.T) {
	for _, e := range All() {
		t.Run(e.ID, func(t *testing.T) {
			if e.Name == "" || e.Description == "" {
				t.Errorf("name and description are required")
			}
			if !strings.HasPrefix(e.DocsURL, "https://") {
				t.Errorf("docs_url %q is not https", e.DocsURL)
			}
			if strings.Contains(e.Host, "://") || !hostRE.MatchString(e.Host) {
				t.Errorf("host %q does not match the host grammar", e.Host)
			}

			a := e.Auth
			switch a.Type {
			case "bearer":
				if a.Token == "" || a.Username != "" || a.Password != "" || a.Key != "" || a.Header != "" || a.Prefix != "" || len(a.Headers) > 0 {
					t.Errorf("bearer auth must set token and nothing else: %+v", a)
				}
			case "basic":
				if a.Username == "" || a.Token != "" || a.Key != "" || a.Header != "" || a.Prefix != "" || len(a.Headers) > 0 {
					t.Errorf("basic auth must set username (and optionally password) only: %+v", a)
				}
			case "api-key":
				if a.Key == "" || a.Header == "" || a.Token != "" || a.Username != "" || a.Password != "" || len(a.Headers) > 0 {
					t.Errorf("api-key auth must set key and header (and optionally prefix) only: %+v", a)
				}
				if !headerRE.MatchString(a.Header) {
					t.Errorf("invalid header name %q", a.Header)
				}
			case "custom":
				if len(a.Headers) == 0 || a.Token != "" || a.Username != "" || a.Password != "" || a.Key != "" || a.Header != "" || a.Prefix != "" {
					t.Errorf("custom auth must set headers only: %+v", a)
				}
				for name := range a.Headers {
					if !headerRE.MatchString(name) {
						t.Errorf("invalid header name %q", name)
					}
				}
			case "passthrough":
				if len(referencedKeys(a)) > 0 || a.Header != "" || a.Prefix != "" {
					t.Errorf("passthrough auth must set no fields: %+v", a)
				}
			default:
				t.Fatalf("unknown auth type %q", a.Type)
			}

			keys := referencedKeys(a)
			for _, k := range keys {
				if !keyRE.MatchString(k) {
					t.Errorf("credential key %q is not UPPER_SNAKE_CASE", k)
				}
			}
			if a.Type != "passthrough" {
				if !keyRE.MatchString(e.CredentialKey) {
					t.Errorf("credential_key %q is not UPPER_SNAKE_CASE", e.CredentialKey)
				}
				if !slices.Contains(keys, e.CredentialKey) {
					t.Errorf("credential_key %q is not one of the auth keys %v", e.CredentialKey, keys)
				}
			}
		})
	}
}

// TestKnownFacts pins provider facts checked against each provider's docs.
func TestKnownFacts(t *testing.T) {
	tests := []struct {
		id   string
		host string
		auth apitype.ServiceAuth
		key  string
	}{
		{"openai", "api.openai.com", apitype.ServiceAuth{Type: "bearer", Token: "OPENAI_API_KEY"}, "OPENAI_API_KEY"},
		{"anthropic", "api.anthropic.com", apitype.ServiceAuth{Type: "api-key", Key: "ANTHROPIC_API_KEY", Header: "x-api-key"}, "ANTHROPIC_API_KEY"},
		{"gemini", "generativelanguage.googleapis.com", apitype.ServiceAuth{Type: "api-key", Key: "GEMINI_API_KEY", Header: "x-goog-api-key"}, "GEMINI_API_KEY"},
		{"github", "api.github.com", apitype.ServiceAuth{Type: "bearer", Token: "GITHUB_TOKEN"}, "GITHUB_TOKEN"},
		{"gitlab", "gitlab.com/api/*", apitype.ServiceAuth{Type: "api-key", Key: "GITLAB_TOKEN", Header: "PRIVATE-TOKEN"}, "GITLAB_TOKEN"},
		{"stripe", "api.stripe.com", apitype.ServiceAuth{Type: "bearer", Token: "STRIPE_SECRET_KEY"}, "STRIPE_SECRET_KEY"},
		{"slack", "slack.com/api/*", apitype.ServiceAuth{Type: "bearer", Token: "SLACK_BOT_TOKEN"}, "SLACK_BOT_TOKEN"},
		{"linear", "api.linear.app", apitype.ServiceAuth{Type: "api-key", Key: "LINEAR_API_KEY", Header: "Authorization"}, "LINEAR_API_KEY"},
		{"pagerduty", "api.pagerduty.com", apitype.ServiceAuth{Type: "api-key", Key: "PAGERDUTY_API_TOKEN", Header: "Authorization", Prefix: "Token token="}, "PAGERDUTY_API_TOKEN"},
		{"discord", "discord.com/api/*", apitype.ServiceAuth{Type: "api-key", Key: "DISCORD_BOT_TOKEN", Header: "Authorization", Prefix: "Bot "}, "DISCORD_BOT_TOKEN"},
		{"twilio", "api.twilio.com", apitype.ServiceAuth{Type: "basic", Username: "TWILIO_ACCOUNT_SID", Password: "TWILIO_AUTH_TOKEN"}, "TWILIO_AUTH_TOKEN"},
		{"jira", "*.atlassian.net", apitype.ServiceAuth{Type: "basic", Username: "ATLASSIAN_EMAIL", Password: "ATLASSIAN_API_TOKEN"}, "ATLASSIAN_API_TOKEN"},
		{"postmark", "api.postmarkapp.com", apitype.ServiceAuth{Type: "api-key", Key: "POSTMARK_SERVER_TOKEN", Header: "X-Postmark-Server-Token"}, "POSTMARK_SERVER_TOKEN"},
		{"datadog", "api.datadoghq.com", apitype.ServiceAuth{Type: "api-key", Key: "DD_API_KEY", Header: "DD-API-KEY"}, "DD_API_KEY"},
		{"shopify", "*.myshopify.com/admin/*", apitype.ServiceAuth{Type: "api-key", Key: "SHOPIFY_ACCESS_TOKEN", Header: "X-Shopify-Access-Token"}, "SHOPIFY_ACCESS_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			e, ok := Get(tt.id)
			if !ok {
				t.Fatalf("Get(%q) found nothing", tt.id)
			}
			if e.ID != tt.id || e.Host != tt.host || e.CredentialKey != tt.key {
				t.Errorf("got id=%q host=%q credential_key=%q, want %q %q %q", e.ID, e.Host, e.CredentialKey, tt.id, tt.host, tt.key)
			}
			got, _ := json.Marshal(e.Auth)
			want, _ := json.Marshal(tt.auth)
			if string(got) != string(want) {
				t.Errorf("auth = %s, want %s", got, want)
			}
		})
	}
}

func TestGetMissing(t *testing.T) {
	if _, ok := Get("no-such-service"); ok {
		t.Fatal("Get of an unknown id reported a match")
	}
}

func TestAllReturnsCopies(t *testing.T) {
	a := All()
	a[0].ID = "mutated"
	a[0].Auth.Headers = map[string]string{"X": "{{ Y }}"}
	b := All()
	if b[0].ID == "mutated" || len(b[0].Auth.Headers) != 0 {
		t.Fatal("mutating the result of All changed the catalog")
	}
}

func TestJSONShape(t *testing.T) {
	e, _ := Get("anthropic")
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"id", "name", "description", "host", "auth", "auth_type", "header", "suggested_credential_key", "docs_url"} {
		if _, ok := m[f]; !ok {
			t.Errorf("JSON of a catalog entry lacks %q: %s", f, raw)
		}
	}
}

func TestParseRejects(t *testing.T) {
	const good = `services:
  - id: example
    name: Example
    description: An example.
    host: api.example.com
    auth: {type: bearer, token: EXAMPLE_KEY}
    credential_key: EXAMPLE_KEY
    docs_url: https://example.com/docs
`
	if _, err := parse([]byte(good)); err != nil {
		t.Fatalf("good document rejected: %v", err)
	}
	tests := []struct {
		name, from, to string
	}{
		{"unknown field", "docs_url:", "homepage: x\n    docs_url:"},
		{"unknown auth field", "token: EXAMPLE_KEY}", "token: EXAMPLE_KEY, scheme: x}"},
		{"short id", "id: example", "id: ex"},
		{"uppercase id", "id: example", "id: Example"},
		{"double hyphen id", "id: example", "id: ex--ample"},
		{"scheme in host", "host: api.example.com", "host: https://api.example.com"},
		{"inner wildcard", "host: api.example.com", "host: api.*.example.com"},
		{"bad port", "host: api.example.com", "host: api.example.com:99999"},
		{"query in host", "host: api.example.com", "host: api.example.com/v1?x=1"},
		{"http docs", "https://example.com/docs", "http://example.com/docs"},
		{"lowercase key", "token: EXAMPLE_KEY}", "token: example_key}"},
		{"unknown auth type", "type: bearer", "type: oauth"},
		{"bearer without token", "{type: bearer, token: EXAMPLE_KEY}", "{type: bearer}"},
		{"bearer with header", "token: EXAMPLE_KEY}", "token: EXAMPLE_KEY, header: X-Key}"},
		{"basic without username", "{type: bearer, token: EXAMPLE_KEY}", "{type: basic, password: EXAMPLE_KEY}"},
		{"custom without refs", "{type: bearer, token: EXAMPLE_KEY}", "{type: custom, headers: {X-Key: plain}}"},
		{"credential key not referenced", "credential_key: EXAMPLE_KEY", "credential_key: OTHER_KEY"},
		{"missing name", "name: Example", "name: ''"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(good, tt.from, tt.to, 1)
			if doc == good {
				t.Fatalf("replacement %q did not apply", tt.from)
			}
			if _, err := parse([]byte(doc)); err == nil {
				t.Errorf("parse accepted:\n%s", doc)
			}
		})
	}

	if _, err := parse([]byte(good + good[len("services:\n"):])); err == nil {
		t.Error("parse accepted a duplicate id")
	}
	if _, err := parse([]byte(good + "---\n" + good)); err == nil {
		t.Error("parse accepted two YAML documents")
	}
	if _, err := parse([]byte("services: []\n")); err == nil {
		t.Error("parse accepted an empty catalog")
	}
}

// The OAuth providers people connect most have entries with their
// authorization and token endpoints.
func TestOAuthProviders(t *testing.T) {
	want := map[string]string{
		"google-oauth":    "https://oauth2.googleapis.com/token",
		"microsoft-graph": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
		"slack-oauth":     "https://slack.com/api/oauth.v2.access",
		"github-oauth":    "https://github.com/login/oauth/access_token",
	}
	for id, tokenURL := range want {
		e, ok := Get(id)
		if !ok || e.OAuth == nil {
			t.Errorf("%s: no OAuth entry", id)
			continue
		}
		if e.OAuth.TokenURL != tokenURL || !strings.HasPrefix(e.OAuth.AuthorizationURL, "https://") {
			t.Errorf("%s: endpoints %+v", id, e.OAuth)
		}
	}
	// A copy is the caller's own.
	e, _ := Get("google-oauth")
	e.OAuth.Scopes[0], e.OAuth.AuthorizationParams["prompt"] = "changed", "changed"
	if f, _ := Get("google-oauth"); f.OAuth.Scopes[0] == "changed" || f.OAuth.AuthorizationParams["prompt"] == "changed" {
		t.Error("Get shares the OAuth block between callers")
	}
}

func TestOAuthBlockChecked(t *testing.T) {
	base := "services:\n  - id: prov\n    name: P\n    description: d\n    host: api.example.com\n    auth: {type: bearer, token: K}\n    credential_key: K\n    docs_url: https://example.com\n"
	for _, c := range []struct{ oauth, want string }{
		{"    oauth: {authorization_url: http://example.com/a, token_url: https://example.com/t}\n", "authorization_url"},
		{"    oauth: {authorization_url: https://example.com/a, token_url: https://u:p@example.com/t}\n", "token_url"},
		{"    oauth: {authorization_url: https://example.com/a, token_url: https://example.com/t, token_auth_method: private_key_jwt}\n", "token_auth_method"},
	} {
		if _, err := parse([]byte(base + c.oauth)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error about %s", c.oauth, err, c.want)
		}
	}
	if _, err := parse([]byte(base + "    oauth: {authorization_url: https://example.com/a, token_url: https://example.com/t}\n")); err != nil {
		t.Errorf("valid oauth block refused: %v", err)
	}
}
