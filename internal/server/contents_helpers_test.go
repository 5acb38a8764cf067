package server_test

// Shared fixture for the contents_*_test.go files: a running server on a
// real SQLite file (newEnv), its owner, and a record of every secret the
// tests hand the server (credential values, tokens, passwords) so that the
// logs can be searched for them afterwards.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

var cbg = context.Background()

// cfx is one control plane with its owner and the secrets used against it.
type cfx struct {
	e      *env
	own    *client.Client
	ownTok string

	mu      sync.Mutex
	secrets []string
}

// newCfx starts a server, registers its owner and checks, when the test
// ends, that no secret it was given reached the logs.
func newCfx(t *testing.T) *cfx {
	t.Helper()
	e := newEnv(t)
	reg, err := e.anon().Register(cbg, apitype.Credentials{Email: "owner@example.com", Password: "owner-password", SetupCode: setupCode})
	if err != nil || reg.Token == "" {
		t.Fatalf("register owner = %+v, %v", reg, err)
	}
	f := &cfx{e: e, own: e.as(reg.Token), ownTok: reg.Token}
	f.keep(reg.Token, "owner-password")
	t.Cleanup(func() { f.assertLogsClean(t) })
	return f
}

// keep records secrets that must never be logged.
func (f *cfx) keep(s ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range s {
		if x != "" {
			f.secrets = append(f.secrets, x)
		}
	}
}

// secret returns a fresh, recognisable credential value and records it.
func (f *cfx) secret(label string) string {
	v := "sv-" + label + "-" + ctRandHex(12)
	f.keep(v)
	return v
}

func ctRandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tokenShape matches anything shaped like a real Agent Vault token.
var tokenShape = regexp.MustCompile(`av_(agt|sess|appr|uinv)_[0-9a-f]{16,}`)

// assertLogsClean fails if any recorded secret, or anything shaped like a
// token, appears in the server's logs.
func (f *cfx) assertLogsClean(t *testing.T) {
	t.Helper()
	logs := f.e.logs.String()
	f.mu.Lock()
	secrets := append([]string(nil), f.secrets...)
	f.mu.Unlock()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a secret (%.12s…) appears in the server logs", s)
		}
	}
	if m := tokenShape.FindString(logs); m != "" {
		t.Errorf("something shaped like a token appears in the logs: %.16s…", m)
	}
}

// user invites email as an instance member and logs them in.
func (f *cfx) user(t *testing.T, email string) (*client.Client, string) {
	t.Helper()
	inv, err := f.own.CreateInvite(cbg, apitype.InviteRequest{Email: email, Role: "member"})
	if err != nil {
		t.Fatalf("invite %s: %v", email, err)
	}
	pw := "pw-" + ctRandHex(8)
	f.keep(inv.Token, pw)
	if _, err := f.e.anon().AcceptInvite(cbg, inv.Token, pw); err != nil {
		t.Fatalf("accept %s: %v", email, err)
	}
	tok, err := f.e.anon().Login(cbg, apitype.Credentials{Email: email, Password: pw})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	f.keep(tok.Token)
	return f.e.as(tok.Token), tok.Token
}

// agent creates an agent through by and returns its token.
func (f *cfx) agent(t *testing.T, by *client.Client, name, role string, vaults ...apitype.AgentVault) string {
	t.Helper()
	out, err := by.CreateAgent(cbg, apitype.CreateAgentRequest{Name: name, Role: role, Vaults: vaults})
	if err != nil {
		t.Fatalf("create agent %s: %v", name, err)
	}
	f.keep(out.Token)
	return out.Token
}

// session mints a scoped session through by and returns its token.
func (f *cfx) session(t *testing.T, by *client.Client, vault, role string) string {
	t.Helper()
	out, err := by.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{Vault: vault, VaultRole: role})
	if err != nil {
		t.Fatalf("mint %s session in %s: %v", role, vault, err)
	}
	f.keep(out.Token)
	return out.Token
}

// mkVault creates a vault through by.
func mkVault(t *testing.T, by *client.Client, name string) string {
	t.Helper()
	if _, err := by.CreateVault(cbg, name); err != nil {
		t.Fatalf("create vault %s: %v", name, err)
	}
	return name
}

// ctResp is an HTTP answer read whole.
type ctResp struct {
	code int
	hdr  http.Header
	body []byte
}

// errBody decodes the JSON error body.
func (r ctResp) errBody(t *testing.T) apitype.ErrorBody {
	t.Helper()
	var eb apitype.ErrorBody
	if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error == "" {
		t.Fatalf("status %d: body %q is not a JSON error", r.code, r.body)
	}
	return eb
}

// into decodes a success body.
func (r ctResp) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d: decoding %q: %v", r.code, r.body, err)
	}
}

var ctHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}

// raw sends a request with tok (if any); body is a string sent as is, or a
// value encoded as JSON; hdr holds header name/value pairs.
func (f *cfx) raw(t *testing.T, method, path, tok string, body any, hdr ...string) ctResp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(cbg, method, f.e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ctHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return ctResp{code: resp.StatusCode, hdr: resp.Header, body: data}
}

// wantAPIErr checks that err is an API error with status code and, when field
// is not empty, that it names field. It returns the decoded body.
func wantAPIErr(t *testing.T, what string, err error, code int, field string) apitype.ErrorBody {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: err = %v, want HTTP %d", what, err, code)
		return apitype.ErrorBody{}
	}
	if ae.Status != code {
		t.Errorf("%s: status %d (%q), want %d", what, ae.Status, ae.Body.Error, code)
	}
	if field != "" && ae.Body.Field != field {
		t.Errorf("%s: field = %q, want %q (message %q)", what, ae.Body.Field, field, ae.Body.Error)
	}
	return ae.Body
}

// mustOK fails the test at once on err.
func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// credKeys returns the key names of a credential list, in order.
func credKeys(l apitype.CredentialList) []string {
	out := make([]string, 0, len(l.Credentials))
	for _, c := range l.Credentials {
		out = append(out, c.Key)
	}
	return out
}

// credValues maps keys to revealed values.
func credValues(l apitype.CredentialList) map[string]string {
	out := map[string]string{}
	for _, c := range l.Credentials {
		if c.Value != nil {
			out[c.Key] = *c.Value
		}
	}
	return out
}

func ptrBool(b bool) *bool { return &b }
