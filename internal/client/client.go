// Package client is the typed Go client of the control plane. The CLI
// uses nothing else to talk to a server: no hand-built URLs or anonymous
// structs outside this package.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// Client talks to one Agent Vault server.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Options configure a Client.
type Options struct {
	BaseURL string // e.g. http://127.0.0.1:14321
	Token   string // session token, if logged in
	HTTP    *http.Client
}

// New builds a client.
func New(o Options) *Client {
	if o.HTTP == nil {
		// No proxy: the control plane is reached directly even when the
		// caller's environment routes traffic through Agent Vault.
		o.HTTP = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil}}
	}
	return &Client{base: strings.TrimRight(o.BaseURL, "/"), token: o.Token, http: o.HTTP}
}

// APIError is an error response from the server.
type APIError struct {
	Status int
	Body   apitype.ErrorBody
}

func (e *APIError) Error() string {
	if e.Body.Error != "" {
		return e.Body.Error
	}
	return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
}

// statusIs reports whether err is an APIError with the given status.
func statusIs(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status
}

// IsUnauthorized reports a missing, expired or revoked session.
func IsUnauthorized(err error) bool { return statusIs(err, http.StatusUnauthorized) }

// IsForbidden reports an action the caller's role does not allow.
func IsForbidden(err error) bool { return statusIs(err, http.StatusForbidden) }

// IsNotFound reports a missing resource.
func IsNotFound(err error) bool { return statusIs(err, http.StatusNotFound) }

// IsConflict reports a request the server's state forbids.
func IsConflict(err error) bool { return statusIs(err, http.StatusConflict) }

// ConnError is a failure to reach the server at all.
type ConnError struct {
	Base string
	Err  error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("cannot reach Agent Vault at %s (%v): is the server running? start it with `agent-vault server`, or set --address / AGENT_VAULT_ADDR", e.Base, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// do sends in (when non-nil) as JSON and decodes the answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &ConnError{Base: c.base, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return &ConnError{Base: c.base, Err: err}
	}
	if resp.StatusCode >= 300 {
		e := &APIError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, &e.Body)
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("server sent an unreadable answer to %s %s: %w", method, path, err)
	}
	return nil
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }
