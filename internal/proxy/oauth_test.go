package proxy_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/ca"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/oauth/oauthtest"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/proxy"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// clock is a broker clock tests move forward: the provider's tokens live
// an hour in real time, and the broker is told that hours went by.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// oauthEnv is a broker and proxy whose upstream is the real provider's
// protected API, on localhost.
type oauthEnv struct {
	*env
	p     *oauthtest.Server
	clock *clock
	agent string // an agent token with the proxy role
	api   string // https://localhost:port/api/
}

func newOAuthEnv(t *testing.T, o oauthtest.Options) *oauthEnv {
	t.Helper()
	return newOAuthEnvTimeout(t, o, 0)
}

// newOAuthEnvTimeout is newOAuthEnv with the broker's token requests
// bounded by tokenTimeout (0: oauth.DefaultTimeout).
func newOAuthEnvTimeout(t *testing.T, o oauthtest.Options, tokenTimeout time.Duration) *oauthEnv {
	t.Helper()
	ctx := context.Background()
	p := oauthtest.Start(t, o)
	db := sqltest.Open(t)
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, storeOps: new(atomic.Int64), seen: &seen{}, logs: &strings.Builder{}, logMu: &sync.Mutex{}}
	log := slog.New(slog.NewTextHandler(lockedWriter{e.logMu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := &clock{}
	loop := netip.MustParsePrefix("127.0.0.1/32")
	oc := &oauth.Client{Dialer: &netguard.Dialer{Policy: netguard.Policy{Allow: []netip.Prefix{loop}}}, RootCAs: p.CertPool(), Timeout: tokenTimeout}
	e.b = broker.New(broker.Options{Store: countingStore{db, e.storeOps}, Keyring: kr, PasswordParams: password.Params{Time: 1, MemoryKiB: 64, Threads: 1},
		Logger: log, Now: c.Now, OAuth: oc})
	if err := e.b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := e.b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	if err != nil {
		t.Fatal(err)
	}
	if e.owner, err = e.b.Authenticate(ctx, reg.Token); err != nil {
		t.Fatal(err)
	}
	root, _, err := ca.NewRoot(kr, nowUTC())
	if err != nil {
		t.Fatal(err)
	}
	minter, err := ca.NewMinter(root, ca.MinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.caPool = root.CertPool()
	res := fakeResolver{hosts: map[string]netip.Addr{"localhost": loop.Addr()}}
	dialer := &netguard.Dialer{Policy: netguard.Policy{AllowPrivate: true}, Resolver: res}
	px := proxy.New(proxy.Options{Authority: e.b, Certs: minter, Dial: dialer.DialContext, UpstreamRoots: p.CertPool(), Logger: log, MaxRequestBytes: 4 << 20})
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := px.Server()
	go func() { _ = ps.Serve(px.Listen(pl)) }()
	t.Cleanup(func() { ps.Close(); px.Close() })
	e.proxyURL = "http://" + pl.Addr().String()
	_, port, _ := net.SplitHostPort(p.Host)
	oe := &oauthEnv{env: e, p: p, clock: c, api: "https://localhost:" + port + "/api/"}
	oe.agent = e.agent("bot", "proxy")
	return oe
}

// upload stores tokens (or a client credentials client) as the owner,
// bound to localhost, with a bearer service using it.
func (o *oauthEnv) upload(in apitype.OAuthTokensRequest) apitype.OAuthConnected {
	o.t.Helper()
	in.Vault, in.AllowedHosts = "default", []string{"localhost"}
	if in.Key == "" {
		in.Key = "PROVIDER_TOKEN"
	}
	if in.TokenURL == "" {
		in.TokenURL = o.p.TokenURL
	}
	out, err := o.b.UploadOAuthTokens(context.Background(), o.owner, in)
	if err != nil {
		o.t.Fatalf("upload: %v", err)
	}
	if _, err := o.b.ReplaceServices(context.Background(), o.owner, "default", apitype.ServiceList{Services: []apitype.Service{bearer("provider", "localhost", in.Key)}}, false); err != nil {
		o.t.Fatal(err)
	}
	return out
}

// call sends one agent request through the proxy and returns the status,
// the body and the proxy's error code.
func (o *oauthEnv) call(method, path, body string) (int, string) {
	o.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, o.api+path, rd)
	resp, err := o.client(o.agent, "", false).Do(req)
	if err != nil {
		o.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, read(o.t, resp)
}

// stored is the credential's sealed state, read as the broker does.
func (o *oauthEnv) status() apitype.OAuthStatus {
	o.t.Helper()
	st, err := o.b.OAuthStatus(context.Background(), o.owner, "default", "PROVIDER_TOKEN")
	if err != nil {
		o.t.Fatal(err)
	}
	return st
}

func errorCode(body string) string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error
}

const redirect = "https://vault.example/v1/oauth/callback"

// Pasted tokens are checked by a refresh at once, injected as Bearer,
// renewed when the access token is about to lapse, and the new token is
// what the upstream then receives.
func TestOAuthPasteInjectExpireRefresh(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "app-secret", AuthMethod: "client_secret_post", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "read")
	o.upload(apitype.OAuthTokensRequest{AccessToken: pasted.Access, RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "app-secret"})
	if got := o.p.Hits("refresh_token"); got != 1 {
		t.Fatalf("upload with a refresh token made %d refreshes, want 1", got)
	}
	code, body := o.call("GET", "whoami", "")
	if code != 200 {
		t.Fatalf("first call: %d %s", code, body)
	}
	first := o.p.LastAPIToken()
	if first == "" || first == pasted.Access {
		t.Fatalf("the upstream saw %q; want the token of the refresh done at upload (the pasted one was replaced)", first)
	}
	// Within the token's life: no refresh, and no database work (a
	// kept-alive connection, the token from memory).
	cl := o.client(o.agent, "", false)
	for i := 0; i < 2; i++ {
		ops := o.storeOps.Load()
		resp, err := cl.Get(o.api + "again")
		if err != nil {
			t.Fatal(err)
		}
		if body := read(t, resp); resp.StatusCode != 200 {
			t.Fatalf("call: %d %s", resp.StatusCode, body)
		}
		if i == 1 && o.storeOps.Load() != ops {
			t.Fatalf("a proxied request with a fresh OAuth token made %d store calls", o.storeOps.Load()-ops)
		}
	}
	if got := o.p.Hits("refresh_token"); got != 1 {
		t.Fatalf("a fresh token was refreshed (%d refreshes)", got)
	}
	o.clock.Advance(time.Hour - 30*time.Second) // inside the skew
	code, body = o.call("GET", "whoami", "")
	if code != 200 {
		t.Fatalf("call at expiry: %d %s", code, body)
	}
	if got := o.p.Hits("refresh_token"); got != 2 {
		t.Fatalf("%d refreshes at expiry, want 2 in all", got)
	}
	if second := o.p.LastAPIToken(); second == first || second == "" {
		t.Fatalf("the upstream still saw the old token after the refresh")
	}
	st := o.status()
	if !st.Connected || st.Status != "connected" || st.ExpiresAt == nil || !st.HasRefreshToken || !st.HasClientSecret || st.LastError != nil {
		t.Fatalf("status after refresh: %+v", st)
	}
	if o.p.LastAuthMethod() != "client_secret_post" {
		t.Fatalf("auth method %s", o.p.LastAuthMethod())
	}
	// The renewal counts (exported as agent_vault_oauth_refreshes_total)
	// name the upload's check and the renewal at expiry.
	for _, r := range o.b.OAuthRenewals() {
		want := uint64(0)
		if r.Grant == "refresh_token" && r.Outcome == "ok" && (r.Trigger == "upload" || r.Trigger == "expiry") {
			want = 1
		}
		if r.N != want {
			t.Errorf("renewals %s/%s/%s = %d, want %d", r.Grant, r.Trigger, r.Outcome, r.N, want)
		}
	}
}

// With rotating refresh tokens each refresh spends the previous refresh
// token: were the new one not stored with the new access token, the next
// refresh would fail with invalid_grant.
func TestOAuthRotatingRefreshTokens(t *testing.T) {
	for _, method := range []string{"client_secret_basic", "client_secret_post", "none"} {
		t.Run(method, func(t *testing.T) {
			o := newOAuthEnv(t, oauthtest.Options{RotateRefresh: true})
			sec := "rot-secret"
			if method == "none" {
				sec = ""
			}
			o.p.AddClient(oauthtest.Client{ID: "rot", Secret: sec, AuthMethod: method, RedirectURI: redirect})
			pasted := o.p.Authorize(t, "rot", "")
			o.upload(apitype.OAuthTokensRequest{RefreshToken: pasted.Refresh, ClientID: "rot", ClientSecret: sec, TokenAuthMethod: method})
			for i := 0; i < 3; i++ {
				o.clock.Advance(2 * time.Hour)
				if code, body := o.call("GET", "n", ""); code != 200 {
					t.Fatalf("round %d: %d %s", i, code, body)
				}
			}
			if got := o.p.Hits("refresh_token"); got != 4 {
				t.Fatalf("%d refreshes, want 4 (upload + 3 expiries)", got)
			}
			if o.p.LastAuthMethod() != method {
				t.Fatalf("presented %s, want %s", o.p.LastAuthMethod(), method)
			}
		})
	}
}

// An upstream 401 (the provider revoked the token early) makes one
// refresh and one resend with the new token, body included; a body that
// cannot be replayed is not resent, but the next request has the new
// token.
func TestOAuthUpstream401RefreshesOnceAndRetries(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{RotateRefresh: true})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "s3", AuthMethod: "client_secret_basic", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "")
	o.upload(apitype.OAuthTokensRequest{RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "s3", TokenAuthMethod: "client_secret_basic"})
	if code, _ := o.call("GET", "a", ""); code != 200 {
		t.Fatal("first call failed")
	}
	o.p.RevokeAccess(o.p.LastAPIToken())
	code, body := o.call("POST", "echo", `{"n":1}`)
	if code != 200 || !strings.Contains(body, `{\"n\":1}`) {
		t.Fatalf("after a 401 the request was not resent with its body: %d %s", code, body)
	}
	if got := o.p.Hits("refresh_token"); got != 2 {
		t.Fatalf("%d refreshes, want 2 (upload, 401)", got)
	}

	// An upstream that keeps answering 401 whatever the token (here the
	// provider revoked the new one at once) does not make the vault ask
	// the provider on every request: within the interval the agent gets
	// the 401, and no refresh token is spent.
	o.p.RevokeAccess(o.p.LastAPIToken())
	for i := 0; i < 5; i++ {
		if code, body := o.call("GET", "again", ""); code != http.StatusUnauthorized {
			t.Fatalf("a 401 right after a 401 renewal: %d %s", code, body)
		}
	}
	if got := o.p.Hits("refresh_token"); got != 2 {
		t.Fatalf("repeated 401s made %d refreshes, want still 2", got)
	}
	o.clock.Advance(31 * time.Second)

	// A streamed body (unknown length) is not replayed: the agent gets
	// the 401, and the token is renewed for its next request.
	o.p.RevokeAccess(o.p.LastAPIToken())
	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, "streamed"); pw.Close() }()
	req, _ := http.NewRequest("POST", o.api+"stream", pr)
	resp, err := o.client(o.agent, "", false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	read(t, resp)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a streamed body was replayed (status %d)", resp.StatusCode)
	}
	if got := o.p.Hits("refresh_token"); got != 3 {
		t.Fatalf("%d refreshes, want 3", got)
	}
	if code, body := o.call("GET", "b", ""); code != 200 {
		t.Fatalf("next call: %d %s", code, body)
	}
	if got := o.p.Hits("refresh_token"); got != 3 {
		t.Fatalf("%d refreshes after the renewed call, want still 3", got)
	}
}

// A hundred requests at expiry make exactly one refresh: with rotating
// refresh tokens a second one would spend a revoked refresh token.
func TestOAuthConcurrentRequestsAtExpiryRefreshOnce(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{RotateRefresh: true})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "s", AuthMethod: "client_secret_post", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "")
	o.upload(apitype.OAuthTokensRequest{RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "s"})
	before := o.p.Hits("refresh_token")
	o.clock.Advance(2 * time.Hour)
	cl := o.client(o.agent, "", false)
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := cl.Get(o.api + "c/" + strconv.Itoa(i))
			if err != nil {
				bad.Add(1)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				bad.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of 100 requests failed", bad.Load())
	}
	if got := o.p.Hits("refresh_token") - before; got != 1 {
		t.Fatalf("%d refreshes for 100 concurrent requests at expiry, want 1", got)
	}
}

// Client credentials: the vault fetches the token itself and fetches a
// new one when it lapses.
func TestOAuthClientCredentials(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{})
	o.p.AddClient(oauthtest.Client{ID: "m2m", Secret: "m2m-secret", AuthMethod: "client_secret_basic"})
	out := o.upload(apitype.OAuthTokensRequest{GrantType: "client_credentials", ClientID: "m2m", ClientSecret: "m2m-secret", TokenAuthMethod: "client_secret_basic", Scopes: apitype.OAuthScopes{"read", "write"}})
	if !out.Connected || out.ExpiresAt == nil {
		t.Fatalf("upload answer %+v", out)
	}
	if code, body := o.call("GET", "x", ""); code != 200 || !strings.Contains(body, `"scope":"read write"`) {
		t.Fatalf("call: %d %s", code, body)
	}
	o.clock.Advance(2 * time.Hour)
	if code, body := o.call("GET", "y", ""); code != 200 {
		t.Fatalf("call after expiry: %d %s", code, body)
	}
	if got := o.p.Hits("client_credentials"); got != 2 {
		t.Fatalf("%d client credentials requests, want 2", got)
	}
	if st := o.status(); st.GrantType != "client_credentials" || st.HasRefreshToken {
		t.Fatalf("status %+v", st)
	}
}

// When the refresh fails the proxy answers 502 oauth_refresh_failed and
// sends nothing upstream, not the stale token; the state says why; the
// provider is not asked again on every request.
func TestOAuthRefreshFailureAnswers502WithoutStaleToken(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "s", AuthMethod: "client_secret_post", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "")
	o.upload(apitype.OAuthTokensRequest{RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "s"})
	if code, _ := o.call("GET", "ok", ""); code != 200 {
		t.Fatal("first call failed")
	}
	apiHits := o.p.APIHits()
	o.p.RevokeRefresh(pasted.Refresh) // no rotation: the pasted refresh token is the live one
	o.clock.Advance(2 * time.Hour)
	code, body := o.call("GET", "late", "")
	if code != http.StatusBadGateway || errorCode(body) != "oauth_refresh_failed" || !strings.Contains(body, "invalid_grant") || !strings.Contains(body, `"help"`) {
		t.Fatalf("got %d %s, want 502 oauth_refresh_failed with the reason and a hint", code, body)
	}
	if o.p.APIHits() != apiHits {
		t.Fatalf("the upstream was reached after the refresh failed (with a stale token)")
	}
	st := o.status()
	if st.Connected || st.Status != "refresh_failed" || st.LastError == nil || !strings.Contains(*st.LastError, "invalid_grant") {
		t.Fatalf("status %+v", st)
	}
	hits := o.p.TokenHits()
	if code, _ := o.call("GET", "again", ""); code != http.StatusBadGateway {
		t.Fatalf("second call %d", code)
	}
	if o.p.TokenHits() != hits {
		t.Fatalf("a failed credential asked the provider again at once")
	}
	list, err := o.b.ListCredentials(context.Background(), o.owner, "default", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := list.Credentials[0]; c.Type != "oauth" || c.OAuth == nil || c.OAuth.Status != "refresh_failed" || c.OAuth.LastError == "" {
		t.Fatalf("list entry %+v", c)
	}
}

// A provider that is down while the token still has a little life left
// does not cost the agent its request: the current token is used, and
// the state records why renewal is late.
func TestOAuthProviderDownWithinSkewKeepsValidToken(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "s", AuthMethod: "client_secret_post", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "")
	o.upload(apitype.OAuthTokensRequest{RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "s"})
	o.p.SetTokenStatus(http.StatusServiceUnavailable)
	o.clock.Advance(time.Hour - 30*time.Second)
	if code, body := o.call("GET", "x", ""); code != 200 {
		t.Fatalf("call with a still-valid token while the provider is down: %d %s", code, body)
	}
	if st := o.status(); st.Status != "connected" || st.LastError == nil {
		t.Fatalf("status %+v", st)
	}
	hits := o.p.TokenHits()
	if code, _ := o.call("GET", "x2", ""); code != 200 || o.p.TokenHits() != hits {
		t.Fatalf("a provider that just failed was asked again at once (%d, %d hits)", code, o.p.TokenHits()-hits)
	}
	o.clock.Advance(time.Minute) // now past expiry
	if code, body := o.call("GET", "y", ""); code != http.StatusBadGateway || errorCode(body) != "oauth_refresh_failed" {
		t.Fatalf("call past expiry with the provider down: %d %s", code, body)
	}
}

// The tokens and the client secret never reach the broker's log.
func TestOAuthSecretsStayOutOfLogs(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{RotateRefresh: true})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "very-secret-client-value", AuthMethod: "client_secret_post", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "")
	o.upload(apitype.OAuthTokensRequest{RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "very-secret-client-value"})
	o.call("GET", "x", "")
	tok := o.p.LastAPIToken()
	o.p.RevokeAccess(tok)
	o.call("GET", "y", "")
	o.p.SetTokenStatus(http.StatusBadRequest)
	o.clock.Advance(2 * time.Hour)
	o.call("GET", "z", "")
	logs := o.logText()
	for _, s := range []string{"very-secret-client-value", pasted.Refresh, pasted.Access, tok, o.p.LastAPIToken()} {
		if s != "" && strings.Contains(logs, s) {
			t.Fatalf("a secret is in the log:\n%s", logs)
		}
	}
}

// An OAuth credential a service places by substitution is renewed (or
// refused) only for requests that carry its placeholder: a failed one
// does not block requests that do not use it.
func TestOAuthSubstitutionOnlyWhenUsed(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "s", AuthMethod: "client_secret_post", RedirectURI: redirect})
	o.p.AddClient(oauthtest.Client{ID: "m2m", Secret: "m2m-secret", AuthMethod: "client_secret_post"})
	ctx := context.Background()
	static := o.p.Authorize(t, "app", "")
	if _, err := o.b.SetCredentials(ctx, o.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"STATIC": static.Access},
		AllowedHosts: map[string][]string{"STATIC": {"localhost"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.b.UploadOAuthTokens(ctx, o.owner, apitype.OAuthTokensRequest{Vault: "default", Key: "M2M", GrantType: "client_credentials",
		TokenURL: o.p.TokenURL, ClientID: "m2m", ClientSecret: "m2m-secret", AllowedHosts: []string{"localhost"}}); err != nil {
		t.Fatal(err)
	}
	svc := bearer("provider", "localhost", "STATIC")
	svc.Substitutions = []apitype.Substitution{{Key: "M2M", Placeholder: "__M2M__", In: []string{"query"}}}
	if _, err := o.b.ReplaceServices(ctx, o.owner, "default", apitype.ServiceList{Services: []apitype.Service{svc}}, false); err != nil {
		t.Fatal(err)
	}
	o.p.SetTokenStatus(http.StatusBadRequest)
	o.clock.Advance(2 * time.Hour)
	hits := o.p.TokenHits()
	if code, body := o.call("GET", "plain", ""); code != 200 {
		t.Fatalf("a request without the placeholder: %d %s", code, body)
	}
	if o.p.TokenHits() != hits {
		t.Fatal("a request that does not use the OAuth credential renewed it")
	}
	if code, body := o.call("GET", "with?t=__M2M__", ""); code != http.StatusBadGateway || errorCode(body) != "oauth_refresh_failed" {
		t.Fatalf("a request with the placeholder: %d %s", code, body)
	}
}

// An OAuth token placed by substitution (here into the Authorization
// header the agent writes, and into a JSON body) is renewed after an
// upstream 401 and the request is resent once, with the placeholders
// substituted anew from the agent's original request; a body that
// cannot be replayed is not resent.
func TestOAuthUpstream401ResendsSubstitutedToken(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{RotateRefresh: true})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "s3", AuthMethod: "client_secret_post", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "")
	o.upload(apitype.OAuthTokensRequest{RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "s3"})
	ctx := context.Background()
	svc := apitype.Service{Name: "provider", Host: "localhost", Auth: apitype.ServiceAuth{Type: "passthrough"},
		Substitutions: []apitype.Substitution{{Key: "PROVIDER_TOKEN", Placeholder: "__TOK__", In: []string{"header", "body"}}}}
	if _, err := o.b.ReplaceServices(ctx, o.owner, "default", apitype.ServiceList{Services: []apitype.Service{svc}}, false); err != nil {
		t.Fatal(err)
	}
	send := func(body io.Reader) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", o.api+"echo", body)
		req.Header.Set("Authorization", "Bearer __TOK__")
		req.Header.Set("Content-Type", "application/json")
		resp, err := o.client(o.agent, "", false).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, read(t, resp)
	}
	if code, body := send(strings.NewReader(`{"n":1}`)); code != 200 {
		t.Fatalf("first call: %d %s", code, body)
	}
	old := o.p.LastAPIToken()
	o.p.RevokeAccess(old)
	apiHits := o.p.APIHits()
	code, body := send(strings.NewReader(`{"n":2,"t":"__TOK__"}`))
	if code != 200 || !strings.Contains(body, `\"n\":2`) {
		t.Fatalf("after a 401 the substituted request was not resent: %d %s", code, body)
	}
	if got := o.p.Hits("refresh_token"); got != 2 {
		t.Fatalf("%d refreshes, want 2 (upload, 401)", got)
	}
	if o.p.APIHits() != apiHits+1 || o.p.LastAPIToken() == old {
		t.Fatalf("the resend did not carry the renewed token (api hits %d -> %d)", apiHits, o.p.APIHits())
	}
	if strings.Contains(body, old) || strings.Contains(body, o.p.LastAPIToken()) || strings.Contains(body, "__TOK__") {
		t.Fatalf("the echoed body carries a token or an unsubstituted placeholder: %s", body)
	}

	// A streamed body (unknown length) is not replayed: the 401 stands,
	// and the next request has the renewed token.
	o.clock.Advance(31 * time.Second) // past the spacing of 401 renewals
	o.p.RevokeAccess(o.p.LastAPIToken())
	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, `{"s":1}`); pw.Close() }()
	if code, body := send(pr); code != http.StatusUnauthorized {
		t.Fatalf("a streamed body was replayed: %d %s", code, body)
	}
	if code, body := send(strings.NewReader(`{}`)); code != 200 {
		t.Fatalf("next call: %d %s", code, body)
	}
	if got := o.p.Hits("refresh_token"); got != 3 {
		t.Fatalf("%d refreshes, want 3", got)
	}
}

// An upstream 401 whose renewal the provider refuses: the agent gets
// 502 oauth_refresh_failed, and the refused token is not sent again (the
// upstream saw exactly the one request that it refused).
func TestOAuthUpstream401FailedRenewalSendsNothingStale(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "s", AuthMethod: "client_secret_post", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "")
	o.upload(apitype.OAuthTokensRequest{RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "s"})
	if code, _ := o.call("GET", "ok", ""); code != 200 {
		t.Fatal("first call failed")
	}
	o.p.RevokeAccess(o.p.LastAPIToken())
	o.p.RevokeRefresh(pasted.Refresh)
	calls := o.p.APICalls()
	code, body := o.call("POST", "echo", `{"n":1}`)
	if code != http.StatusBadGateway || errorCode(body) != "oauth_refresh_failed" || !strings.Contains(body, "invalid_grant") {
		t.Fatalf("got %d %s, want 502 oauth_refresh_failed", code, body)
	}
	if got := o.p.APICalls() - calls; got != 1 {
		t.Fatalf("the upstream got %d requests, want only the one it refused", got)
	}
	if st := o.status(); st.Status != "refresh_failed" {
		t.Fatalf("status %+v", st)
	}
	// The next request is refused at the proxy: nothing goes upstream.
	if code, _ := o.call("GET", "again", ""); code != http.StatusBadGateway || o.p.APICalls()-calls != 1 {
		t.Fatalf("after the failed renewal: %d, %d upstream requests", code, o.p.APICalls()-calls)
	}
}

// An OAuth token placed only by a websocket substitution (the service
// authenticates otherwise, and the token travels in the messages, as some
// streaming APIs take it) is renewed at the upgrade once it expired,
// like a token the request itself names: the messages carry a live token,
// never the one held from before.
func TestOAuthWebSocketSubstitutionGetsALiveToken(t *testing.T) {
	o := newOAuthEnv(t, oauthtest.Options{})
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "app-secret", AuthMethod: "client_secret_post", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "read")
	o.upload(apitype.OAuthTokensRequest{AccessToken: pasted.Access, RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "app-secret"})
	svc := apitype.Service{Name: "stream", Host: "localhost", Auth: apitype.ServiceAuth{Type: "passthrough"},
		Substitutions: []apitype.Substitution{{Key: "PROVIDER_TOKEN", Placeholder: "__TOKEN__", In: []string{"websocket"}}}}
	if _, err := o.b.ReplaceServices(context.Background(), o.owner, "default", apitype.ServiceList{Services: []apitype.Service{svc}}, false); err != nil {
		t.Fatal(err)
	}
	send := func() (string, bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, strings.Replace(o.api, "/api/", "/ws", 1), &websocket.DialOptions{HTTPClient: o.client(o.agent, "", false)})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.MessageText, []byte("token __TOKEN__")); err != nil {
			t.Fatal(err)
		}
		if _, data, err := c.Read(ctx); err != nil || string(data) != "ok" {
			t.Fatalf("answer %q, %v", data, err)
		}
		return o.p.LastWebSocketMessage()
	}
	first, live := send()
	if !live || first == "token __TOKEN__" {
		t.Fatalf("within the token's life the upstream got %q (live %v)", first, live)
	}
	refreshes := o.p.Hits("refresh_token")
	o.clock.Advance(2 * time.Hour)
	o.p.RevokeAccess(strings.TrimPrefix(first, "token ")) // dead at the provider too, whose clock did not move
	msg, live := send()
	if !live || msg == first {
		t.Errorf("after expiry the message carried the old token (live %v, the same as before %v)", live, msg == first)
	}
	if o.p.Hits("refresh_token") != refreshes+1 {
		t.Errorf("%d renewals at the upgrade after expiry, want 1", o.p.Hits("refresh_token")-refreshes)
	}
}
