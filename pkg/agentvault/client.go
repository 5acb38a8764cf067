package agentvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// Environment variables through which an agent receives its connection
// details (docs/protocol.md, "Connection details"). [ProxyEnv] sets them and [NewFromEnv] reads them.
const (
	EnvAddr  = "AGENT_VAULT_ADDR"  // control plane base URL
	EnvToken = "AGENT_VAULT_TOKEN" // bearer token: a scoped session or an agent token
	EnvVault = "AGENT_VAULT_VAULT" // the vault, optional for scoped sessions
)

// VaultHeader names the vault an agent token acts on (docs/protocol.md,
// "Tokens and the vault they act on").
const VaultHeader = "X-Vault"

// maxBody bounds what the client reads of any answer.
const maxBody = 8 << 20

// Client talks to one Agent Vault control plane with one token. It is safe
// for concurrent use.
type Client struct {
	addr  string
	token string
	vault string
	http  *http.Client

	// now and sleep drive WaitProposal; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a [Client].
type Option func(*Client)

// WithHTTPClient makes the client send its requests through h. The default
// client ignores HTTPS_PROXY and friends, so that the control plane is
// reached directly even from inside an environment [ProxyEnv] built, and
// times out after 60 seconds.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h != nil {
			c.http = h
		}
	}
}

// WithVault names the vault the client acts on. It is sent as the X-Vault
// header, which agent tokens (av_agt_…) with more than one vault need for
// [Client.Discover] and the proposal calls, and it is the default vault of
// [Client.CreateSession]. A scoped session (av_sess_…) carries its vault;
// naming a different one makes the server refuse the request.
func WithVault(vault string) Option {
	return func(c *Client) { c.vault = strings.TrimSpace(vault) }
}

// New returns a client for the control plane at addr (for example
// "http://127.0.0.1:14321") authenticating with token: a user session, an
// agent token or a vault-scoped session.
func New(addr, token string, opts ...Option) *Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	c := &Client{
		addr:  strings.TrimRight(strings.TrimSpace(addr), "/"),
		token: strings.TrimSpace(token),
		http:  &http.Client{Timeout: 60 * time.Second, Transport: t},
		now:   time.Now,
		sleep: sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// NewFromEnv returns a client built from AGENT_VAULT_ADDR,
// AGENT_VAULT_TOKEN and AGENT_VAULT_VAULT, as `agent-vault run` and
// [ProxyEnv] set them. Options apply after the environment, so
// [WithVault] overrides AGENT_VAULT_VAULT. It fails when the address or the
// token is missing.
func NewFromEnv(opts ...Option) (*Client, error) {
	addr, token := strings.TrimSpace(os.Getenv(EnvAddr)), strings.TrimSpace(os.Getenv(EnvToken))
	if addr == "" || token == "" {
		return nil, fmt.Errorf("agent vault: %s and %s must both be set (start the agent with `agent-vault run`)", EnvAddr, EnvToken)
	}
	return New(addr, token, append([]Option{WithVault(os.Getenv(EnvVault))}, opts...)...), nil
}

// Addr is the control plane's base URL, without a trailing slash.
func (c *Client) Addr() string { return c.addr }

// Vault is the vault the client names in X-Vault, or "".
func (c *Client) Vault() string { return c.vault }

// CreateSession mints a vault-scoped session (POST /v1/sessions) that an
// orchestrator hands to one agent run. The caller must be allowed to act in
// the vault; the session's role never exceeds the caller's.
func (c *Client) CreateSession(ctx context.Context, req SessionRequest) (Session, error) {
	if req.TTL < 0 || req.TTL%time.Second != 0 {
		return Session{}, fmt.Errorf("agent vault: session TTL %s must be a non-negative whole number of seconds", req.TTL)
	}
	in := apitype.CreateScopedSessionRequest{Vault: req.Vault, VaultRole: req.Role, TTLSeconds: int(req.TTL / time.Second), Label: req.Label}
	if in.Vault == "" {
		in.Vault = c.vault
	}
	var out apitype.ScopedSessionCreated
	if err := c.do(ctx, http.MethodPost, "/v1/sessions", in, &out); err != nil {
		return Session{}, err
	}
	return Session{ID: out.ID, Token: out.Token, ExpiresAt: out.ExpiresAt, Vault: out.Vault, Role: out.VaultRole, Addr: out.AVAddr}, nil
}

// RevokeSession ends a vault-scoped session by its ID
// (DELETE /v1/sessions/{id}); its token stops working at once.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("agent vault: RevokeSession needs a session ID")
	}
	return c.do(ctx, http.MethodDelete, "/v1/sessions/"+url.PathEscape(id), nil, nil)
}

// Discover asks which services and credential names the token's vault
// offers (GET /discover). It sends X-Vault when the client has a vault. It
// is also the cheapest way to check that a token works.
func (c *Client) Discover(ctx context.Context) (Discovery, error) {
	var out Discovery
	return out, c.do(ctx, http.MethodGet, "/discover", nil, &out)
}

// Status reads the server's status (GET /v1/status), which needs no token:
// its version, and the port of the broker proxy.
func (c *Client) Status(ctx context.Context) (ServerStatus, error) {
	var out ServerStatus
	return out, c.do(ctx, http.MethodGet, "/v1/status", nil, &out)
}

// FetchCA downloads the broker proxy's root certificate as PEM
// (GET /v1/mitm/ca.pem, public). Agents must trust it for HTTPS through the
// proxy; [ProxyEnv] points the usual CA variables at a file holding it.
func (c *Client) FetchCA(ctx context.Context) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/mitm/ca.pem", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/x-pem-file")
	status, h, data, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if status >= 300 {
		return nil, parseError(status, h, data)
	}
	if !bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("agent vault: %s/v1/mitm/ca.pem did not answer with a PEM certificate", c.addr)
	}
	return data, nil
}

// do sends in (when non-nil) as JSON and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("agent vault: encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	status, h, data, err := c.send(req)
	if err != nil {
		return err
	}
	if status >= 300 {
		return parseError(status, h, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("agent vault: unreadable answer to %s %s: %w", method, path, err)
	}
	return nil
}

// newRequest builds a request carrying the token and the vault header.
func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	if c.addr == "" {
		return nil, errors.New("agent vault: no server address (set AGENT_VAULT_ADDR)")
	}
	req, err := http.NewRequestWithContext(ctx, method, c.addr+path, body)
	if err != nil {
		return nil, fmt.Errorf("agent vault: building %s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.vault != "" {
		req.Header.Set(VaultHeader, c.vault)
	}
	return req, nil
}

// send performs req and reads the whole (bounded) answer.
func (c *Client) send(req *http.Request) (int, http.Header, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("agent vault: cannot reach %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("agent vault: reading the answer of %s %s: %w", req.Method, req.URL.Path, err)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// sleepCtx waits d, or less when ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
