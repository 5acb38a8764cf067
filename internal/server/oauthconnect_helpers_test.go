package server_test

import (
	"context"
	"crypto/tls"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/oauth/oauthtest"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/server"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
	"github.com/agent-vault/agent-vault/internal/web"
)

// connectEnv is a control plane with the browser pages, whose broker
// reaches a real OAuth provider (oauthtest, go-oauth2) on loopback.
type connectEnv struct {
	*env
	p        *oauthtest.Server
	kr       *keyring.Keyring
	clientID string
	secret   string
}

// newConnectEnv starts the provider and the vault; with loopback false the
// broker's token client keeps netguard's defaults (loopback refused).
func newConnectEnv(t *testing.T, loopback bool) *connectEnv {
	return newConnectEnvDNS(t, loopback, nil)
}

// staticDNS answers names from a map, as a resolver an attacker
// controls would (a name of theirs pointing at a private address).
type staticDNS map[string][]netip.Addr

func (d staticDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := d[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// newConnectEnvDNS is newConnectEnv whose token client resolves with dns
// (nil: the system resolver).
func newConnectEnvDNS(t *testing.T, loopback bool, dns netguard.Resolver) *connectEnv {
	t.Helper()
	p := oauthtest.Start(t, oauthtest.Options{AccessTTL: time.Hour})
	db := sqltest.Open(t)
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC()}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	oc := &oauth.Client{RootCAs: p.CertPool(), Now: clk.Now}
	oc.Dialer = &netguard.Dialer{Resolver: dns}
	if loopback {
		oc.Dialer.Policy = netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	}
	b := broker.New(broker.Options{Store: db, Keyring: kr, PasswordParams: fastPW, BaseURL: ts.URL, Logger: log, Now: clk.Now, Version: "test", OAuth: oc})
	if err := b.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	h = server.New(server.Options{Broker: b, Logger: log, Web: web.New(web.Options{Broker: b, BaseURL: ts.URL, Logger: log})})
	t.Cleanup(func() {
		ts.Close()
		_ = db.Close()
	})
	e := &connectEnv{env: &env{t: t, url: ts.URL, db: db, clock: clk, logs: logs, b: b}, p: p, kr: kr, clientID: "vault-app", secret: "app-secret-4711"}
	p.AddClient(oauthtest.Client{ID: e.clientID, Secret: e.secret, AuthMethod: "client_secret_post", RedirectURI: ts.URL + "/v1/oauth/callback"})
	return e
}

// connectReq is a valid connect request for the fixture's client.
func (e *connectEnv) connectReq(key string) apitype.OAuthConnectRequest {
	return apitype.OAuthConnectRequest{Vault: "default", Key: key, AuthorizationURL: e.p.AuthorizeURL, TokenURL: e.p.TokenURL,
		ClientID: e.clientID, ClientSecret: e.secret, Scopes: apitype.ScopeList{Joined: "read write"}}
}

// browser is a user's browser: a cookie jar holding their console
// session, trusting the provider's CA, following no redirects itself.
type browser struct {
	t  *testing.T
	hc *http.Client
	e  *connectEnv
}

// browserOf logs in through the API and puts the session in the cookie,
// as the console's login page does.
func (e *connectEnv) browserOf(email, password string) *browser {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, e: e, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.p.CertPool(), MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if email != "" {
		tok, err := e.anon().Login(context.Background(), apitype.Credentials{Email: email, Password: password})
		if err != nil {
			e.t.Fatalf("login %s: %v", email, err)
		}
		u, _ := url.Parse(e.url)
		jar.SetCookies(u, []*http.Cookie{{Name: web.SessionCookie, Value: tok.Token, Path: "/"}})
	}
	return b
}

// get fetches u and returns the status, the Location and the body.
func (b *browser) get(u string) (int, string, string) {
	b.t.Helper()
	resp, err := b.hc.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// post submits a form to a path of the vault.
func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	resp, err := b.hc.PostForm(b.e.url+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// consent opens the authorization URL at the provider, which approves at
// once, and returns the callback URL it redirects to.
func (b *browser) consent(authURL string) string {
	b.t.Helper()
	st, loc, body := b.get(authURL)
	if st != http.StatusFound || !strings.HasPrefix(loc, b.e.url+"/v1/oauth/callback?") {
		b.t.Fatalf("provider answered %d, Location %q: %s", st, loc, body)
	}
	return loc
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// finishForm reads the hidden fields of the callback page's form.
func finishForm(t *testing.T, page string) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		f.Set(m[1], html.UnescapeString(m[2]))
	}
	if f.Get("state") == "" || f.Get("code") == "" || f.Get("csrf") == "" {
		t.Fatalf("the callback page has no finish form:\n%s", page)
	}
	return f
}

// callbackPage opens the callback URL and returns its finish form.
func (b *browser) callbackPage(cb string) url.Values {
	b.t.Helper()
	st, _, body := b.get(cb)
	if st != http.StatusOK {
		b.t.Fatalf("callback page: %d\n%s", st, body)
	}
	return finishForm(b.t, body)
}

// stored reads an OAuth credential's sealed form from the database (the
// API never returns it).
func (e *connectEnv) stored(key string) (oauth.Stored, bool) {
	e.t.Helper()
	ctx := context.Background()
	v, err := e.db.Vaults().ByName(ctx, "default")
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.db.Credentials().Get(ctx, v.ID, key)
	if err != nil || c.Type != "oauth" {
		return oauth.Stored{}, false
	}
	val, err := e.kr.Open(c.Ciphertext, keyring.AD("credential", v.ID, key))
	if err != nil {
		e.t.Fatalf("opening %s: %v", key, err)
	}
	s, err := oauth.ParseStored(val.Reveal())
	if err != nil {
		e.t.Fatalf("stored form of %s: %v", key, err)
	}
	return s, true
}
