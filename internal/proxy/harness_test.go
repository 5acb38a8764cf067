package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/ca"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/proxy"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// countingStore counts every use of an aggregate: each database operation
// of the broker goes through one of these accessors.
type countingStore struct {
	store.Store
	n *atomic.Int64
}

func (c countingStore) count()                         { c.n.Add(1) }
func (c countingStore) Keyring() store.KeyringStore    { c.count(); return c.Store.Keyring() }
func (c countingStore) Users() store.Users             { c.count(); return c.Store.Users() }
func (c countingStore) Sessions() store.Sessions       { c.count(); return c.Store.Sessions() }
func (c countingStore) Vaults() store.Vaults           { c.count(); return c.Store.Vaults() }
func (c countingStore) Grants() store.Grants           { c.count(); return c.Store.Grants() }
func (c countingStore) Invites() store.Invites         { c.count(); return c.Store.Invites() }
func (c countingStore) Settings() store.Settings       { c.count(); return c.Store.Settings() }
func (c countingStore) Credentials() store.Credentials { c.count(); return c.Store.Credentials() }
func (c countingStore) Services() store.Services       { c.count(); return c.Store.Services() }
func (c countingStore) Agents() store.Agents           { c.count(); return c.Store.Agents() }
func (c countingStore) AgentGrants() store.AgentGrants { c.count(); return c.Store.AgentGrants() }
func (c countingStore) CA() store.CAStore              { c.count(); return c.Store.CA() }
func (c countingStore) Proposals() store.Proposals     { c.count(); return c.Store.Proposals() }
func (c countingStore) RequestLogs() store.RequestLogs { c.count(); return c.Store.RequestLogs() }
func (c countingStore) ScopedSessions() store.ScopedSessions {
	c.count()
	return c.Store.ScopedSessions()
}
func (c countingStore) InTx(ctx context.Context, fn func(tx store.Store) error) error {
	c.count()
	return c.Store.InTx(ctx, fn)
}

// fakeResolver maps test host names to loopback.
type fakeResolver struct{ hosts map[string]netip.Addr }

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f.hosts[host]; ok {
		return []netip.Addr{a}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// seen is what an upstream observed.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seen) add(r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Clone(context.Background()))
	s.mu.Unlock()
}
func (s *seen) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return nil
	}
	return s.reqs[len(s.reqs)-1]
}

// env is a broker, a proxy listener and an HTTPS upstream with its own CA.
type env struct {
	t         *testing.T
	b         *broker.Broker
	db        store.Store // the store itself, for tests that plant rows the broker would refuse
	owner     broker.Actor
	storeOps  *atomic.Int64
	proxyURL  string
	caPool    *x509.CertPool // the broker CA, trusted by agents
	upstream  string         // host:port of the HTTPS upstream, as api.test:<port>
	plainUp   string         // host:port of a plaintext upstream, as plain.test:<port>
	upPort    int
	plainPort int
	seen      *seen
	logs      *strings.Builder
	logMu     *sync.Mutex
	handler   atomic.Value // http.HandlerFunc for the upstreams
	proxy     *proxy.Proxy
	upMinter  *ca.Minter // the upstreams' CA, for tests that serve TLS by hand
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (e *env) logText() string { e.logMu.Lock(); defer e.logMu.Unlock(); return e.logs.String() }

func newEnv(t *testing.T, allowPrivate bool) *env { return newEnvWith(t, allowPrivate, nil, nil) }

// newEnvLimited builds the environment with a rate limiter (nil: none).
func newEnvLimited(t *testing.T, allowPrivate bool, lim *ratelimit.Limiter) *env {
	return newEnvWith(t, allowPrivate, lim, nil)
}

// newEnvWith builds the environment with a rate limiter and a request log
// recorder (nil: none).
func newEnvWith(t *testing.T, allowPrivate bool, lim *ratelimit.Limiter, rec proxy.Recorder) *env {
	t.Helper()
	return newEnvConns(t, allowPrivate, lim, rec, proxy.ConnLimits{})
}

// newEnvConns is newEnvWith with the proxy listener's connection limits
// (zero fields: the defaults).
func newEnvConns(t *testing.T, allowPrivate bool, lim *ratelimit.Limiter, rec proxy.Recorder, conns proxy.ConnLimits) *env {
	t.Helper()
	ctx := context.Background()
	db := sqltest.Open(t) // SQLite, or PostgreSQL under AGENT_VAULT_TEST_ENGINE=postgres
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, storeOps: new(atomic.Int64), seen: &seen{}, logs: &strings.Builder{}, logMu: &sync.Mutex{}}
	log := slog.New(slog.NewTextHandler(lockedWriter{e.logMu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.b = broker.New(broker.Options{Store: countingStore{db, e.storeOps}, Keyring: kr, PasswordParams: password.Params{Time: 1, MemoryKiB: 64, Threads: 1}, Logger: log})
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

	// The broker's CA, which agents trust.
	root, _, err := ca.NewRoot(kr, nowUTC())
	if err != nil {
		t.Fatal(err)
	}
	minter, err := ca.NewMinter(root, ca.MinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.caPool = root.CertPool()

	// The upstreams' own CA, which only the proxy trusts.
	upKR, _, _ := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	upRoot, _, err := ca.NewRoot(upKR, nowUTC())
	if err != nil {
		t.Fatal(err)
	}
	upMinter, _ := ca.NewMinter(upRoot, ca.MinterOptions{})
	e.upMinter = upMinter
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream-Auth", r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "upstream "+r.Method+" "+r.URL.RequestURI())
	}))
	serve := func(w http.ResponseWriter, r *http.Request) {
		e.seen.add(r)
		e.handler.Load().(http.HandlerFunc)(w, r)
	}
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upSrv := &http.Server{Handler: http.HandlerFunc(serve), TLSConfig: &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return upMinter.Leaf(h.ServerName)
	}}}
	upSrv.Protocols = new(http.Protocols)
	upSrv.Protocols.SetHTTP1(true)
	upSrv.Protocols.SetHTTP2(true)
	go func() { _ = upSrv.ServeTLS(upLn, "", "") }()
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plainSrv := &http.Server{Handler: http.HandlerFunc(serve)}
	go func() { _ = plainSrv.Serve(plainLn) }()
	t.Cleanup(func() { upSrv.Close(); plainSrv.Close() })
	e.upPort = upLn.Addr().(*net.TCPAddr).Port
	e.plainPort = plainLn.Addr().(*net.TCPAddr).Port
	e.upstream = "api.test:" + strconv.Itoa(e.upPort)
	e.plainUp = "plain.test:" + strconv.Itoa(e.plainPort)

	loop := netip.MustParseAddr("127.0.0.1")
	res := fakeResolver{hosts: map[string]netip.Addr{"api.test": loop, "other.test": loop, "plain.test": loop, "off.test": loop, "tunnel.test": loop, "metadata.test": netip.MustParseAddr("169.254.169.254")}}
	dialer := &netguard.Dialer{Policy: netguard.Policy{AllowPrivate: allowPrivate}, Resolver: res}
	p := proxy.New(proxy.Options{
		Authority: e.b, Certs: minter, Dial: dialer.DialContext,
		Blocked: func(err error) bool {
			var be *netguard.BlockedError
			return asBlocked(err, &be)
		},
		UpstreamRoots: upRoot.CertPool(), Logger: log, MaxRequestBytes: 1 << 20, Limiter: lim, Recorder: rec, Conns: conns,
	})
	e.proxy = p
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := p.Server() // the daemon's listener: timeouts and connection caps
	go func() { _ = ps.Serve(p.Listen(pl)) }()
	t.Cleanup(func() { ps.Close(); p.Close() })
	e.proxyURL = "http://" + pl.Addr().String()
	return e
}

// client is an agent's HTTP client through the proxy with token[:vault].
func (e *env) client(token, vault string, h2 bool) *http.Client {
	u, _ := url.Parse(e.proxyURL)
	if vault != "" {
		u.User = url.UserPassword(token, vault)
	} else if token != "" {
		u.User = url.User(token)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: e.caPool}, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// agent creates an agent with role in the default vault and returns its token.
func (e *env) agent(name, role string) string {
	e.t.Helper()
	out, err := e.b.CreateAgent(context.Background(), e.owner, apitype.CreateAgentRequest{Name: name, Role: "member", Vaults: []apitype.AgentVault{{VaultName: "default", VaultRole: role}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Token
}

// setup stores credentials and services in the default vault.
func (e *env) setup(creds map[string]string, svcs ...apitype.Service) {
	e.t.Helper()
	ctx := context.Background()
	if len(creds) > 0 {
		if _, err := e.b.SetCredentials(ctx, e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: creds}); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.b.ReplaceServices(ctx, e.owner, "default", apitype.ServiceList{Services: svcs}, false); err != nil {
		e.t.Fatal(err)
	}
}

func read(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rawConnect opens a CONNECT tunnel by hand and returns the TLS conn.
func (e *env) rawConnect(t *testing.T, target, token string, sni string) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	auth := base64.StdEncoding.EncodeToString([]byte(token + ":default"))
	_, _ = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+auth+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	tc := tls.Client(c, &tls.Config{RootCAs: e.caPool, ServerName: sni, NextProtos: []string{"http/1.1"}})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc, bufio.NewReader(tc)
}
