package oauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// Bounds of one token request.
const (
	// DefaultTimeout bounds a whole token request, dial to last byte.
	DefaultTimeout = 20 * time.Second
	// MaxResponseBytes bounds the answer's body; a larger one is refused.
	MaxResponseBytes = 64 << 10
	// maxHeaderBytes bounds the answer's headers.
	maxHeaderBytes = 32 << 10
	// maxLifetime caps an expires_in, so that a huge one cannot overflow.
	maxLifetime = 10 * 365 * 24 * time.Hour
)

// Client posts token requests. The zero Client dials through a zero
// netguard.Dialer (every private and reserved range refused), trusts the
// system roots and uses DefaultTimeout. Its fields must not change after
// the first request; it is safe for concurrent use.
type Client struct {
	// Dialer vets and dials the token endpoint's addresses; nil means a
	// zero netguard.Dialer. Give it the proxy's policy so that the
	// operator's allowlist applies to token endpoints too.
	Dialer *netguard.Dialer
	// RootCAs verifies the endpoint's certificate; nil means the system
	// roots.
	RootCAs *x509.CertPool
	// Timeout bounds one request, dial to last byte; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for ExpiresAt; nil means time.Now.
	Now func() time.Time
}

// transport is the transport of one token request, to be closed with
// CloseIdleConnections when the request ends. Each request has its own,
// so that nothing a request started outlives it: net/http lets a dial or
// TLS handshake go on after the request that wanted it has given up (to
// hand the connection to a later request), and would keep a connection
// to an endpoint that stalled an HTTP/2 stream open in its pool.
// Closing the request's own transport cancels such a dial and closes
// such a connection, and touches no other request's.
func (c *Client) transport() *http.Transport {
	d := c.Dialer
	if d == nil {
		d = &netguard.Dialer{}
	}
	return &http.Transport{
		Proxy:                  nil, // never through an environment proxy
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12},
		MaxResponseHeaderBytes: maxHeaderBytes,
		ForceAttemptHTTP2:      true,
		// One connection per request, closed when the answer is read.
		DisableKeepAlives: true,
		// No timeouts of its own: the request's context deadline bounds
		// it all, so that a timeout is always reported as the Client's.
	}
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// errTimedOut is the cause of a token request's context when the
// Client's own Timeout ends it.
var errTimedOut = errors.New("the token request timed out")

// Token posts one token request and returns the tokens, or an *Error that
// holds no secret.
func (c *Client) Token(ctx context.Context, r Request) (Tokens, error) {
	host := hostOf(r.TokenURL)
	fail := func(k ErrorKind, detail string) (Tokens, error) {
		return Tokens{}, &Error{Kind: k, Host: host, Detail: detail}
	}
	if err := CheckTokenURL(r.TokenURL); err != nil {
		return fail(ErrConfig, err.Error())
	}
	method, err := ParseAuthMethod(string(r.AuthMethod))
	if err != nil {
		return fail(ErrConfig, err.Error())
	}
	if r.ClientID == "" {
		return fail(ErrConfig, "the client id is empty")
	}
	if method != AuthNone && r.ClientSecret.IsEmpty() {
		return fail(ErrConfig, "token_auth_method "+string(method)+" needs a client secret")
	}
	form := url.Values{"grant_type": {string(r.Grant)}}
	switch r.Grant {
	case GrantAuthorizationCode:
		if r.Code.IsEmpty() || r.RedirectURI == "" {
			return fail(ErrConfig, "an authorization code exchange needs the code and the redirect URI")
		}
		form.Set("code", string(r.Code.Reveal()))
		form.Set("redirect_uri", r.RedirectURI)
		if !r.CodeVerifier.IsEmpty() {
			form.Set("code_verifier", string(r.CodeVerifier.Reveal()))
		}
	case GrantRefreshToken:
		if r.RefreshToken.IsEmpty() {
			return fail(ErrConfig, "there is no refresh token")
		}
		form.Set("refresh_token", string(r.RefreshToken.Reveal()))
	case GrantClientCredentials:
		if method == AuthNone {
			return fail(ErrConfig, "the client credentials grant needs a client secret (token_auth_method none is for public clients)")
		}
		if len(r.Scopes) > 0 {
			form.Set("scope", strings.Join(r.Scopes, " "))
		}
	default:
		return fail(ErrConfig, "unknown grant type")
	}
	basic := false
	switch method {
	case AuthBasic:
		basic = true
	case AuthPost:
		form.Set("client_id", r.ClientID)
		form.Set("client_secret", string(r.ClientSecret.Reveal()))
	case AuthNone:
		form.Set("client_id", r.ClientID)
	}
	sent := sentSecrets(r)
	// One deadline covers the whole request, dial to the last byte of the
	// answer: an endpoint that stalls, or trickles its answer a byte at a
	// time, is dropped when it passes, and the connection closed.
	timeout := c.timeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimedOut)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fail(ErrConfig, "the token URL does not make a request")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "agent-vault")
	if basic {
		req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(string(r.ClientSecret.Reveal())))
	}
	tr := c.transport()
	defer tr.CloseIdleConnections()
	hc := &http.Client{
		Transport: tr,
		// A redirect would carry the form (secrets included) to another
		// place: never follow one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Tokens{}, transportError(host, timedOut(ctx, err, timeout))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err == nil {
		// An answer delimited by the connection's end reads as complete
		// when the deadline closes the connection: a cut-off answer (a
		// truncated form-encoded token) must not be taken for one.
		err = context.Cause(ctx)
	}
	if err != nil {
		return Tokens{}, transportError(host, timedOut(ctx, err, timeout))
	}
	if len(body) > MaxResponseBytes {
		return Tokens{}, &Error{Kind: ErrMalformed, Host: host, Status: resp.StatusCode, Detail: "the answer is larger than " + strconv.Itoa(MaxResponseBytes) + " bytes"}
	}
	return c.parse(host, resp, body, sent)
}

// tokenAnswer is a token endpoint's JSON body, success or error.
type tokenAnswer struct {
	AccessToken      string          `json:"access_token"`
	TokenType        string          `json:"token_type"`
	RefreshToken     string          `json:"refresh_token"`
	ExpiresIn        json.RawMessage `json:"expires_in"`
	Scope            json.RawMessage `json:"scope"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

func (c *Client) parse(host string, resp *http.Response, body []byte, sent [][]byte) (Tokens, error) {
	e := &Error{Host: host, Status: resp.StatusCode}
	var a tokenAnswer
	jsonErr := json.Unmarshal(body, &a)
	if jsonErr != nil && resp.StatusCode == http.StatusOK {
		// Some endpoints answer form-encoded whatever Accept says.
		if v, err := url.ParseQuery(string(body)); err == nil && (v.Get("access_token") != "" || v.Get("error") != "") {
			a = tokenAnswer{AccessToken: v.Get("access_token"), TokenType: v.Get("token_type"), RefreshToken: v.Get("refresh_token"),
				Error: v.Get("error"), ErrorDescription: v.Get("error_description")}
			if s := v.Get("expires_in"); s != "" {
				a.ExpiresIn = json.RawMessage(strconv.Quote(s))
			}
			if s := v.Get("scope"); s != "" {
				a.Scope = json.RawMessage(strconv.Quote(s))
			}
			jsonErr = nil
		}
	}
	if jsonErr == nil {
		e.Code = cleanCode(a.Error, sent)
		e.Description = cleanDescription(a.ErrorDescription, sent)
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		e.Kind, e.Detail = ErrRejected, "the endpoint answered with a redirect, which token requests never follow"
		return Tokens{}, e
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		e.Kind = ErrUnavailable
		return Tokens{}, e
	case resp.StatusCode != http.StatusOK:
		e.Kind = ErrRejected
		return Tokens{}, e
	case jsonErr != nil:
		e.Kind, e.Detail = ErrMalformed, "the answer is not JSON"
		return Tokens{}, e
	case a.Error != "":
		// A success status carrying an error (Slack answers so).
		e.Kind = ErrRejected
		return Tokens{}, e
	case a.AccessToken == "":
		e.Kind, e.Detail = ErrMalformed, "the answer has no access_token"
		return Tokens{}, e
	}
	t := Tokens{Access: secretOf(a.AccessToken), Refresh: secretOf(a.RefreshToken), TokenType: cleanDescription(a.TokenType, sent), Scope: scopeOf(a.Scope)}
	if d, ok := lifetime(a.ExpiresIn); ok {
		t.ExpiresAt = c.now().Add(d)
	}
	return t, nil
}

// lifetime reads expires_in, a number of seconds (some endpoints send it
// as a string); ok is false when absent or not positive.
func lifetime(raw json.RawMessage) (time.Duration, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	d := time.Duration(n * float64(time.Second))
	if d > maxLifetime || d <= 0 {
		d = maxLifetime
	}
	return d, true
}

// scopeOf reads scope, a space-separated string (or, from some endpoints,
// an array of strings).
func scopeOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return capString(s, 1024)
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return capString(strings.Join(ss, " "), 1024)
	}
	return ""
}

func capString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// timeoutError is a token request ended by the Client's own Timeout.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return "the endpoint did not answer in full within " + e.after.String()
}

// timedOut replaces err by a *timeoutError when the Client's Timeout
// ended the request (not the caller's context).
func timedOut(ctx context.Context, err error, after time.Duration) error {
	if errors.Is(context.Cause(ctx), errTimedOut) {
		return &timeoutError{after: after}
	}
	return err
}

// transportError reduces a failed round trip to its kind, so that no URL,
// header or body reaches the message.
func transportError(host string, err error) error {
	e := &Error{Kind: ErrUnreachable, Host: host}
	var be *netguard.BlockedError
	var ne net.Error
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var uaErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var te *timeoutError
	switch {
	case errors.As(err, &te):
		e.Detail = te.Error()
	case errors.As(err, &be):
		e.Kind, e.Detail = ErrBlocked, be.Reason
	case errors.Is(err, context.Canceled):
		e.Detail = "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Detail = "the request timed out"
	case errors.As(err, &dnsErr):
		e.Detail = "the host name does not resolve"
	case errors.As(err, &certErr), errors.As(err, &uaErr), errors.As(err, &hostErr):
		e.Detail = "its TLS certificate is not trusted"
	case strings.Contains(err.Error(), "connection refused"):
		e.Detail = "connection refused"
	default:
		e.Detail = "the connection failed"
	}
	return e
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the token endpoint"
	}
	return u.Host
}

// sentSecrets are the secret values a request carries, in the forms an
// endpoint might echo them: raw, URL-encoded, and with client_secret_basic
// the Authorization header's base64 (with and without padding), which an
// endpoint's "bad credentials: Basic …" message may quote
// (TestTokenErrorNeverQuotesTheBasicCredentials).
func sentSecrets(r Request) [][]byte {
	var out [][]byte
	for _, s := range [][]byte{r.ClientSecret.Reveal(), r.Code.Reveal(), r.CodeVerifier.Reveal(), r.RefreshToken.Reveal()} {
		if len(s) == 0 {
			continue
		}
		out = append(out, s)
		if q := url.QueryEscape(string(s)); q != string(s) {
			out = append(out, []byte(q))
		}
	}
	if !r.ClientSecret.IsEmpty() { // whichever method: cutting it costs nothing
		pair := url.QueryEscape(r.ClientID) + ":" + url.QueryEscape(string(r.ClientSecret.Reveal()))
		b64 := base64.StdEncoding.EncodeToString([]byte(pair))
		out = append(out, []byte(b64), []byte(strings.TrimRight(b64, "=")))
	}
	return out
}

func secretOf(s string) secret.Bytes {
	if s == "" {
		return secret.Bytes{}
	}
	return secret.FromString(s)
}
