package e2e

// Shared pieces of the TestContents… tests: a vault's contents
// (credentials, services, agents, vault tokens, discovery, catalog) driven
// through the CLI of the built binary. Every identifier here starts with
// "ct" so that the file cannot collide with other e2e files.

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// ctService is one service as `vault service list --json` prints it.
type ctService struct {
	Name    string `json:"name"`
	Host    string `json:"host"`
	Enabled *bool  `json:"enabled,omitempty"`
	Auth    struct {
		Type     string            `json:"type"`
		Token    string            `json:"token,omitempty"`
		Username string            `json:"username,omitempty"`
		Password string            `json:"password,omitempty"`
		Key      string            `json:"key,omitempty"`
		Header   string            `json:"header,omitempty"`
		Prefix   string            `json:"prefix,omitempty"`
		Headers  map[string]string `json:"headers,omitempty"`
	} `json:"auth"`
	Substitutions []struct {
		Key         string   `json:"key"`
		Placeholder string   `json:"placeholder"`
		In          []string `json:"in,omitempty"`
	} `json:"substitutions,omitempty"`
}

type ctServiceList struct {
	Vault    string      `json:"vault"`
	Services []ctService `json:"services"`
}

func (l ctServiceList) find(name string) (ctService, bool) {
	for _, s := range l.Services {
		if s.Name == name {
			return s, true
		}
	}
	return ctService{}, false
}

func (l ctServiceList) names() []string {
	out := []string{}
	for _, s := range l.Services {
		out = append(out, s.Name)
	}
	return out
}

type ctCredential struct {
	Key   string  `json:"key"`
	Type  string  `json:"type"`
	Value *string `json:"value,omitempty"`
}

type ctCredentialList struct {
	Vault       string         `json:"vault"`
	Keys        []string       `json:"keys"`
	Credentials []ctCredential `json:"credentials"`
}

type ctDiscover struct {
	Vault    string `json:"vault"`
	Services []struct {
		Name string `json:"name"`
		Host string `json:"host"`
	} `json:"services"`
	AvailableCredentials []string `json:"available_credentials"`
}

type ctGrant struct {
	VaultName string `json:"vault_name"`
	VaultRole string `json:"vault_role"`
}

type ctAgent struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Status    string    `json:"status"`
	Vaults    []ctGrant `json:"vaults"`
	CreatedBy string    `json:"created_by"`
}

type ctAgentList struct {
	Agents []ctAgent `json:"agents"`
}

func (l ctAgentList) find(name string) (ctAgent, bool) {
	for _, a := range l.Agents {
		if a.Name == name {
			return a, true
		}
	}
	return ctAgent{}, false
}

type ctVaultAgentList struct {
	Agents []struct {
		Name      string `json:"name"`
		VaultRole string `json:"vault_role"`
		Status    string `json:"status"`
	} `json:"agents"`
}

// role is the vault role of agent name, "" when it is not in the list.
func (l ctVaultAgentList) role(name string) string {
	for _, a := range l.Agents {
		if a.Name == name {
			return a.VaultRole
		}
	}
	return ""
}

// ctStart starts a fresh server, logging every request (debug level, so
// that the secrets-hygiene check has a full log to search), and registers
// its owner through the CLI.
func ctStart(t *testing.T) (*server, *cliUser) {
	t.Helper()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server"), args: []string{"--log-level", "debug"}})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	return s, owner
}

// ctServices is the vault's service list as JSON.
func ctServices(t *testing.T, c *cliUser, vault string) ctServiceList {
	t.Helper()
	var l ctServiceList
	c.json(&l, "vault", "service", "list", "--vault", vault)
	return l
}

// ctWrite writes a file under a temp dir and returns its path.
func ctWrite(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ctAgentToken creates an agent and returns its token (--token-only).
func ctAgentToken(t *testing.T, c *cliUser, name string, args ...string) string {
	t.Helper()
	out := c.ok("", append([]string{"agent", "create", name, "--token-only"}, args...)...)
	tok := strings.TrimSpace(out)
	if !strings.HasPrefix(tok, "av_agt_") || strings.ContainsAny(tok, " \n\t") || out != tok+"\n" {
		t.Fatalf("agent create --token-only printed %q, want one av_agt_ token line", out)
	}
	return tok
}

// ctDiscoverAs calls GET /discover with tok, and X-Vault when vault is set.
func ctDiscoverAs(t *testing.T, base, tok, vault string) apiResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/discover", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if vault != "" {
		req.Header.Set("X-Vault", vault)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET /discover: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET /discover: reading body: %v", err)
	}
	return apiResp{status: resp.StatusCode, header: resp.Header, body: b}
}

// ctDecode decodes a 200 answer's JSON body into v.
func ctDecode(t *testing.T, what string, r apiResp, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s = %s, want 200", what, r)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, r)
	}
}

// ctNoSecrets fails if the server's output holds any of the secrets.
func ctNoSecrets(t *testing.T, s *server, secrets ...string) {
	t.Helper()
	logs := s.stderr.String() + s.stdout.String()
	if !strings.Contains(logs, "msg=request") {
		t.Errorf("the server logged no requests: the hygiene check would prove little:\n%s", logs)
	}
	for _, sec := range secrets {
		if sec == "" {
			t.Fatalf("an empty secret was given to the hygiene check")
		}
	}
	checkNoSecrets(t, s, secrets, nil, nil)
}

func ctEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("%s:\n got  %s\n want %s", what, gj, wj)
	}
}
