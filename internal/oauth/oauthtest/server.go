package oauthtest

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	oauth2 "github.com/go-oauth2/oauth2/v4"
	oerrors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	oserver "github.com/go-oauth2/oauth2/v4/server"
	ostore "github.com/go-oauth2/oauth2/v4/store"
)

// Options shape the provider.
type Options struct {
	// AccessTTL is the access tokens' lifetime (whole seconds; default one
	// hour).
	AccessTTL time.Duration
	// RefreshTTL is the refresh tokens' lifetime; 0 means they never lapse.
	RefreshTTL time.Duration
	// RotateRefresh makes every refresh return a new refresh token and
	// revoke the one used.
	RotateRefresh bool
	// ConsentPage makes the authorization endpoint show a page with
	// "Allow" and "Deny" buttons (ids allow and deny) instead of approving
	// at once.
	ConsentPage bool
}

// Client is a client registration.
type Client struct {
	ID     string
	Secret string // "" for a public client (AuthMethod none)
	// AuthMethod is the one token endpoint authentication the client may
	// use: client_secret_basic, client_secret_post or none. Any other
	// presentation of the client is refused with invalid_client.
	AuthMethod string
	// RedirectURI is the one redirect URI accepted, compared exactly; ""
	// for a client that only uses client credentials.
	RedirectURI string
}

// Tokens are a token endpoint's answer, as the fixture's own client reads
// them.
type Tokens struct {
	Access    string `json:"access_token"`
	Refresh   string `json:"refresh_token"`
	TokenType string `json:"token_type"`
	ExpiresIn int64  `json:"expires_in"`
	Scope     string `json:"scope"`
}

// Server is a running provider. Its URLs are https://127.0.0.1:port/…;
// trust CertPool (or CAPEM) to reach it.
type Server struct {
	URL          string // base URL
	Host         string // 127.0.0.1:port
	AuthorizeURL string // authorization endpoint
	TokenURL     string // token endpoint
	APIURL       string // a protected API: any path under it answers 200 to a live bearer token, 401 otherwise

	ca      *authority
	hs      *httptest.Server
	srv     *oserver.Server
	manager *manage.Manager
	clients *ostore.ClientStore

	mu         sync.RWMutex // held for writing while the token config changes
	opts       Options
	registered map[string]Client

	tokenStatus atomic.Int32
	hold        atomic.Bool
	gate        atomic.Pointer[chan struct{}] // non-nil while token requests are paused
	abandoned   atomic.Int64
	stop        chan struct{} // closed when the test ends: held requests return
	hits        sync.Map      // grant type -> *atomic.Int64
	total       atomic.Int64
	apiHits     atomic.Int64
	apiCalls    atomic.Int64 // every request to the API, refused ones included
	lastMu      sync.Mutex
	lastMethod  string
	lastAPI     string
	lastWS      string         // the payload of the last websocket message (/ws)
	lastWSLive  bool           // whether its words after "token " were a live access token
	secrets     map[string]int // client secrets presented at the token endpoint
}

// Start runs a provider until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.AccessTTL <= 0 {
		o.AccessTTL = time.Hour
	}
	ca, err := newAuthority()
	if err != nil {
		t.Fatalf("oauthtest: certificate authority: %v", err)
	}
	s := &Server{ca: ca, opts: o, registered: map[string]Client{}, clients: ostore.NewClientStore(), secrets: map[string]int{}, stop: make(chan struct{})}
	s.manager = manage.NewDefaultManager()
	s.manager.MustTokenStorage(ostore.NewMemoryTokenStore())
	s.manager.MapClientStorage(s.clients)
	s.manager.SetValidateURIHandler(func(registered, redirect string) error {
		if registered == "" || registered != redirect {
			return oerrors.ErrInvalidRedirectURI
		}
		return nil
	})
	s.applyTokenConfig()
	cfg := oserver.NewConfig()
	cfg.AllowedGrantTypes = []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.ClientCredentials, oauth2.Refreshing}
	cfg.AllowedResponseTypes = []oauth2.ResponseType{oauth2.Code}
	cfg.AllowedCodeChallengeMethods = []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256}
	s.srv = oserver.NewServer(cfg, s.manager)
	s.srv.ClientInfoHandler = s.clientInfo
	s.srv.UserAuthorizationHandler = s.consent
	s.srv.ClientAuthorizedHandler = func(clientID string, gt oauth2.GrantType) (bool, error) {
		s.mu.RLock()
		c, ok := s.registered[clientID]
		s.mu.RUnlock()
		if !ok {
			return false, oerrors.ErrInvalidClient
		}
		if gt == oauth2.ClientCredentials && c.AuthMethod == "none" {
			return false, nil
		}
		return true, nil
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		if err := s.srv.HandleAuthorizeRequest(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/token", s.token)
	mux.HandleFunc("/api/", s.api)
	mux.HandleFunc("/ws", s.ws)
	s.hs = httptest.NewUnstartedServer(mux)
	s.hs.TLS = &tls.Config{Certificates: []tls.Certificate{ca.server}, MinVersion: tls.VersionTLS12}
	s.hs.StartTLS()
	t.Cleanup(s.hs.Close)
	t.Cleanup(func() { close(s.stop) }) // runs first: held requests end before Close waits for them
	u, _ := url.Parse(s.hs.URL)
	s.Host = u.Host
	s.URL = "https://" + u.Host
	s.AuthorizeURL = s.URL + "/authorize"
	s.TokenURL = s.URL + "/token"
	s.APIURL = s.URL + "/api/"
	return s
}

// applyTokenConfig hands the lifetimes and rotation to the manager; the
// caller holds mu for writing, or no request runs yet.
func (s *Server) applyTokenConfig() {
	o := s.opts
	s.manager.SetAuthorizeCodeTokenCfg(&manage.Config{AccessTokenExp: o.AccessTTL, RefreshTokenExp: o.RefreshTTL, IsGenerateRefresh: true})
	s.manager.SetClientTokenCfg(&manage.Config{AccessTokenExp: o.AccessTTL})
	s.manager.SetRefreshTokenCfg(&manage.RefreshingConfig{AccessTokenExp: o.AccessTTL, RefreshTokenExp: o.RefreshTTL,
		IsGenerateRefresh: o.RotateRefresh, IsRemoveRefreshing: o.RotateRefresh, IsRemoveAccess: true, IsResetRefreshTime: o.RotateRefresh})
}

// AddClient registers (or replaces) a client.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registered[c.ID] = c
	_ = s.clients.Set(c.ID, &models.Client{ID: c.ID, Secret: c.Secret, Domain: c.RedirectURI, Public: c.AuthMethod == "none"})
}

// SetAccessTTL changes the lifetime of access tokens issued from now on.
func (s *Server) SetAccessTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.AccessTTL = d
	s.applyTokenConfig()
}

// AcceptNoPKCE makes the authorization endpoint also accept requests
// without a code challenge, as a provider that does not do PKCE does.
// Call it before the first authorization request.
func (s *Server) AcceptNoPKCE() {
	s.srv.Config.AllowedCodeChallengeMethods = []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256, oauth2.CodeChallengePlain}
}

// SetTokenStatus makes the token endpoint answer every request with this
// HTTP status and a temporarily_unavailable error, until set back to 0.
// The requests still count as hits.
func (s *Server) SetTokenStatus(code int) { s.tokenStatus.Store(int32(code)) }

// HoldTokenRequests makes the token endpoint, while on, read each request
// (and count it as a hit) and then answer nothing until the client goes
// away, as a provider that hangs does.
func (s *Server) HoldTokenRequests(on bool) { s.hold.Store(on) }

// PauseTokenRequests makes the token endpoint, until release is called,
// read each request (and count it as a hit) and then wait before
// answering it as usual, as a slow provider does. A test can so hold one
// renewal in flight and look at what the others do meanwhile.
func (s *Server) PauseTokenRequests() (release func()) {
	ch := make(chan struct{})
	s.gate.Store(&ch)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.gate.Store(nil)
			close(ch)
		})
	}
}

// AbandonedTokenRequests counts the held token requests whose client
// went away (closed the connection or reset the stream).
func (s *Server) AbandonedTokenRequests() int64 { return s.abandoned.Load() }

// CertPool trusts the fixture's certificate authority.
func (s *Server) CertPool() *x509.CertPool { return s.ca.pool }

// CAPEM is the fixture's CA certificate in PEM.
func (s *Server) CAPEM() []byte { return append([]byte(nil), s.ca.pem...) }

// TokenHits counts the token endpoint's requests, all grants together.
func (s *Server) TokenHits() int64 { return s.total.Load() }

// Hits counts the token endpoint's requests of one grant type
// ("authorization_code", "refresh_token", "client_credentials").
func (s *Server) Hits(grant string) int64 {
	if v, ok := s.hits.Load(grant); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// LastAuthMethod is how the last token request presented its client:
// client_secret_basic, client_secret_post or none.
func (s *Server) LastAuthMethod() string {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	return s.lastMethod
}

// APIHits counts the protected API's requests that carried a live token.
func (s *Server) APIHits() int64 { return s.apiHits.Load() }

// APICalls counts every request the protected API received, those it
// refused with 401 included.
func (s *Server) APICalls() int64 { return s.apiCalls.Load() }

// LastAPIToken is the last live bearer token the protected API accepted.
func (s *Server) LastAPIToken() string {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	return s.lastAPI
}

// LastWebSocketMessage is the last text message /ws received, and whether
// what follows "token " in it was a live access token. /ws accepts a
// websocket from anyone (tokens travel in its messages, as some streaming
// APIs take them), reads one short text message and closes.
func (s *Server) LastWebSocketMessage() (string, bool) {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	return s.lastWS, s.lastWSLive
}

func (s *Server) ws(w http.ResponseWriter, r *http.Request) {
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
		base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
	var head [6]byte // a masked frame of under 126 bytes
	if _, err := io.ReadFull(brw, head[:]); err != nil {
		return
	}
	payload := make([]byte, head[1]&0x7f)
	if _, err := io.ReadFull(brw, payload); err != nil {
		return
	}
	for i := range payload {
		payload[i] ^= head[2+i%4]
	}
	probe, _ := http.NewRequest(http.MethodGet, "/", nil)
	probe.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(string(payload), "token "))
	_, verr := s.srv.ValidationBearerToken(probe)
	s.lastMu.Lock()
	s.lastWS, s.lastWSLive = string(payload), verr == nil
	s.lastMu.Unlock()
	_, _ = c.Write([]byte{0x81, 2, 'o', 'k'})
}

// RevokeAccess makes an access token dead at once (the API answers 401).
func (s *Server) RevokeAccess(access string) {
	_ = s.manager.RemoveAccessToken(context.Background(), access)
}

// RevokeRefresh makes a refresh token dead at once (invalid_grant).
func (s *Server) RevokeRefresh(refresh string) {
	_ = s.manager.RemoveRefreshToken(context.Background(), refresh)
}

// token is the token endpoint: counts, optionally fails, then lets the
// library answer.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	grant := r.PostForm.Get("grant_type")
	v, _ := s.hits.LoadOrStore(grant, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	s.total.Add(1)
	s.lastMu.Lock()
	s.lastMethod = presented(r)
	if sec := presentedSecret(r); sec != "" {
		s.secrets[sec]++
	}
	s.lastMu.Unlock()
	if s.hold.Load() {
		// The form is read: net/http now watches the connection and ends
		// r.Context when the client hangs up.
		select {
		case <-r.Context().Done():
			s.abandoned.Add(1)
		case <-s.stop:
		}
		return
	}
	if g := s.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		}
	}
	if code := s.tokenStatus.Load(); code != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(code))
		_, _ = io.WriteString(w, `{"error":"temporarily_unavailable","error_description":"the fixture is set to fail"}`)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_ = s.srv.HandleTokenRequest(w, r)
}

// presented names how a token request authenticated its client.
func presented(r *http.Request) string {
	if _, _, ok := r.BasicAuth(); ok {
		return "client_secret_basic"
	}
	if r.PostForm.Has("client_secret") {
		return "client_secret_post"
	}
	return "none"
}

// presentedSecret is the client secret a token request carries, if any.
func presentedSecret(r *http.Request) string {
	if _, p, ok := r.BasicAuth(); ok {
		if v, err := url.QueryUnescape(p); err == nil {
			return v
		}
		return p
	}
	return r.PostForm.Get("client_secret")
}

// SecretSeen counts the token requests that presented this client
// secret (Basic or form): an attacker's provider in a test must see 0.
func (s *Server) SecretSeen(secret string) int {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	return s.secrets[secret]
}

// clientInfo reads the client from the request and holds it to the
// registered method: Basic (form-encoded, as the standard says), form
// fields, or client_id alone. Mixing methods is refused.
func (s *Server) clientInfo(r *http.Request) (string, string, error) {
	method := presented(r)
	var id, secret string
	switch method {
	case "client_secret_basic":
		u, p, _ := r.BasicAuth()
		var err1, err2 error
		id, err1 = url.QueryUnescape(u)
		secret, err2 = url.QueryUnescape(p)
		if err1 != nil || err2 != nil || r.PostForm.Has("client_secret") {
			return "", "", oerrors.ErrInvalidClient
		}
	default:
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.RLock()
	c, ok := s.registered[id]
	s.mu.RUnlock()
	if id == "" || !ok || c.AuthMethod != method {
		return "", "", oerrors.ErrInvalidClient
	}
	return id, secret, nil
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><title>oauthtest consent</title></head><body>
<h1>Allow {{.Client}} to access your account?</h1>
<form method="post" action="/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<button id="allow" name="approve" value="yes" type="submit">Allow</button>
<button id="deny" name="approve" value="no" type="submit">Deny</button>
</form></body></html>`))

// consent approves as user "user-1": at once, or through the consent page.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) (string, error) {
	s.mu.RLock()
	page := s.opts.ConsentPage
	s.mu.RUnlock()
	if !page {
		return "user-1", nil
	}
	switch r.FormValue("approve") {
	case "yes":
		if r.Method != http.MethodPost {
			return "", oerrors.ErrAccessDenied
		}
		return "user-1", nil
	case "no":
		return "", oerrors.ErrAccessDenied
	}
	params := map[string]string{}
	for k, v := range r.Form {
		if k != "approve" && len(v) > 0 {
			params[k] = v[0]
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = consentPage.Execute(w, map[string]any{"Client": r.FormValue("client_id"), "Params": params})
	return "", nil
}

// api is the protected API: 200 with what it saw for a live bearer token,
// 401 otherwise. It reads the whole body and reports its length.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	s.apiCalls.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	ti, err := s.srv.ValidationBearerToken(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid_token"}`)
		return
	}
	s.apiHits.Add(1)
	s.lastMu.Lock()
	s.lastAPI = ti.GetAccess()
	s.lastMu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "client_id": ti.GetClientID(), "scope": ti.GetScope(), "path": r.URL.Path, "body": string(body)})
}

// HTTPClient trusts the fixture and follows no redirect.
func (s *Server) HTTPClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.ca.pool, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

// Authorize runs the authorization code flow with PKCE for a registered
// client as the user would (approving the consent page when there is one)
// and returns the tokens, so that a test can paste them. The exchange
// counts as an authorization_code hit.
func (s *Server) Authorize(t testing.TB, clientID, scope string) Tokens {
	t.Helper()
	s.mu.RLock()
	c, ok := s.registered[clientID]
	s.mu.RUnlock()
	if !ok {
		t.Fatalf("oauthtest: no client %q", clientID)
	}
	code, verifier, err := s.code(c, scope)
	if err != nil {
		t.Fatalf("oauthtest: authorize: %v", err)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.RedirectURI}, "code_verifier": {verifier}}
	tok, err := s.post(c, form)
	if err != nil {
		t.Fatalf("oauthtest: exchange: %v", err)
	}
	return tok
}

func (s *Server) code(c Client, scope string) (code, verifier string, err error) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("v", 8) + c.ID + time.Now().String()))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {c.RedirectURI}, "state": {"st"},
		"scope": {scope}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	hc := s.HTTPClient()
	var resp *http.Response
	if s.opts.ConsentPage {
		q.Set("approve", "yes")
		resp, err = hc.PostForm(s.AuthorizeURL, q)
	} else {
		resp, err = hc.Get(s.AuthorizeURL + "?" + q.Encode())
	}
	if err != nil {
		return "", "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return "", "", errors.New("no code in the redirect (status " + resp.Status + ", location " + resp.Header.Get("Location") + ")")
	}
	return loc.Query().Get("code"), verifier, nil
}

// post sends a token request as client c.
func (s *Server) post(c Client, form url.Values) (Tokens, error) {
	switch c.AuthMethod {
	case "client_secret_post":
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	case "none":
		form.Set("client_id", c.ID)
	}
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.AuthMethod == "client_secret_basic" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		return Tokens{}, err
	}
	defer resp.Body.Close()
	var tok Tokens
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return Tokens{}, errors.New("token endpoint: " + resp.Status + ": " + string(b))
	}
	if err := json.Unmarshal(b, &tok); err != nil {
		return Tokens{}, err
	}
	return tok, nil
}
