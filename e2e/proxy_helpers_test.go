package e2e

// Shared pieces of the TestProxy… tests: the broker proxy of the real
// binary, exercised by real clients against HTTPS upstreams that the tests
// start on 127.0.0.1 with their own CA (trusted by the server through
// --upstream-ca-file, never by the clients). Every identifier here starts
// with "px" so that the file cannot collide with other e2e files.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---------------------------------------------------------------------
// The upstreams' own CA.

// pxCA is a throwaway CA for upstream servers: only the broker trusts it.
type pxCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its PEM, for --upstream-ca-file
	pool *x509.CertPool
}

func pxNewCA(t testing.TB) *pxCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "e2e upstream test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "upstream-ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pxCA{cert: cert, key: key, file: file, pool: pool}
}

// leaf is a server certificate for localhost, 127.0.0.1 and ::1.
func (c *pxCA) leaf(t testing.TB) tls.Certificate {
	t.Helper()
	return c.leafFor(t, []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
}

// leafFor is a server certificate for the given names and addresses.
func (c *pxCA) leafFor(t testing.TB, names []string, ips []net.IP) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// ---------------------------------------------------------------------
// Upstream servers.

// pxSeen is one request as an upstream received it.
type pxSeen struct {
	Method   string
	Path     string
	RawQuery string
	Host     string
	Proto    int // ProtoMajor
	Header   http.Header
	Body     []byte
}

// pxUpstream is an HTTP server on 127.0.0.1 (TLS with its own CA, HTTP/1.1
// and HTTP/2, unless plain) that records every request it gets.
type pxUpstream struct {
	port int
	srv  *http.Server
	tls  bool
	mu   sync.Mutex
	seen []pxSeen
}

// pxStartUpstream serves h over TLS (ca != nil) or plaintext (ca == nil).
// The body is read (up to 16 MiB) and recorded before h runs.
func pxStartUpstream(t testing.TB, ca *pxCA, h http.Handler) *pxUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &pxUpstream{port: ln.Addr().(*net.TCPAddr).Port, tls: ca != nil}
	u.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body []byte
			if r.Body != nil {
				body, _ = io.ReadAll(io.LimitReader(r.Body, 16<<20))
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			u.mu.Lock()
			u.seen = append(u.seen, pxSeen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
				Proto: r.ProtoMajor, Header: r.Header.Clone(), Body: body})
			u.mu.Unlock()
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		// Handshakes that clients abort on purpose are not news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	u.srv.Protocols = new(http.Protocols)
	u.srv.Protocols.SetHTTP1(true)
	if ca != nil {
		u.srv.Protocols.SetHTTP2(true)
		u.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.leaf(t)}, MinVersion: tls.VersionTLS12}
		go func() { _ = u.srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { _ = u.srv.Serve(ln) }()
	}
	t.Cleanup(func() { _ = u.srv.Close() })
	return u
}

// hostport is "localhost:<port>".
func (u *pxUpstream) hostport() string { return "localhost:" + strconv.Itoa(u.port) }

// url is the base URL with host localhost.
func (u *pxUpstream) url() string {
	if u.tls {
		return "https://" + u.hostport()
	}
	return "http://" + u.hostport()
}

func (u *pxUpstream) requests() []pxSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]pxSeen(nil), u.seen...)
}

func (u *pxUpstream) count() int { return len(u.requests()) }

// last is the latest request; it fails the test when there is none.
func (u *pxUpstream) last(t testing.TB) pxSeen {
	t.Helper()
	r := u.requests()
	if len(r) == 0 {
		t.Fatal("the upstream received no request")
	}
	return r[len(r)-1]
}

// pxAuthHandler answers 200 "authorized" when Authorization is exactly
// want and 401 otherwise: it never echoes a credential back.
func pxAuthHandler(want string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		vals := r.Header.Values("Authorization")
		if len(vals) != 1 || vals[0] != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="upstream"`)
			http.Error(w, "upstream: wrong or missing credential", http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Upstream-Verdict", "authorized")
		fmt.Fprintf(w, "authorized %s %s proto=%d", r.Method, r.URL.Path, r.ProtoMajor)
	}
}

// pxRequireAuth answers 401 unless Authorization is exactly want, and
// otherwise runs next.
func pxRequireAuth(want string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if vals := r.Header.Values("Authorization"); len(vals) != 1 || vals[0] != want {
			http.Error(w, "upstream: wrong or missing credential", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pxCheckInjected fails unless the upstream's request carried exactly one
// Authorization header equal to want and nothing of the broker's.
func pxCheckInjected(t testing.TB, s pxSeen, want string) {
	t.Helper()
	if vals := s.Header.Values("Authorization"); len(vals) != 1 || vals[0] != want {
		t.Errorf("upstream saw Authorization %q, want exactly the injected credential", vals)
	}
	for _, h := range []string{"Proxy-Authorization", "Proxy-Connection", "X-Vault"} {
		if v := s.Header.Get(h); v != "" {
			t.Errorf("upstream saw broker header %s: %q", h, v)
		}
	}
}

// ---------------------------------------------------------------------
// The broker: the real binary with its proxy listener.

// pxOpts configure a broker.
type pxOpts struct {
	ca        *pxCA    // trusted for upstream TLS (--upstream-ca-file)
	noPrivate bool     // leave AGENT_VAULT_ALLOW_PRIVATE_RANGES unset
	env       []string // extra environment
	args      []string // extra server flags
}

// pxBroker is a running server with its proxy, an owner CLI, and the
// broker CA that agents trust.
type pxBroker struct {
	t         *testing.T
	srv       *server
	owner     *cliUser
	proxyAddr string // 127.0.0.1:<mitm port>
	caFile    string // the broker CA (from `ca fetch -o`)
	caPool    *x509.CertPool

	mu        sync.Mutex
	secrets   []string // credential values: never logged, never seen by a client
	tokens    []string // agent/session tokens: never logged
	clientOut []string // everything a client process printed
}

// pxStart starts a server with the proxy on a free port, registers the
// owner, and fetches the broker CA. At cleanup it checks that neither the
// server's output nor any client's output holds a credential value.
func pxStart(t *testing.T, o pxOpts) *pxBroker {
	t.Helper()
	var (
		s    *server
		mitm int
	)
	for attempt := 0; ; attempt++ {
		mitm = freePort(t)
		args := []string{"--mitm-port", strconv.Itoa(mitm)}
		if o.ca != nil {
			args = append(args, "--upstream-ca-file", o.ca.file)
		}
		args = append(args, o.args...)
		env := append([]string(nil), o.env...)
		if !o.noPrivate {
			env = append(env, "AGENT_VAULT_ALLOW_PRIVATE_RANGES=true")
		}
		s = launch(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server"), args: args, env: env})
		err := s.waitHealthy(30 * time.Second)
		if err == nil {
			break
		}
		if s.exited() && strings.Contains(s.stderr.String(), "cannot listen") && attempt < 3 {
			continue // lost a race for one of the ports
		}
		t.Fatalf("%s did not become healthy: %v\nstderr:\n%s", s.name, err, s.stderr.String())
	}
	b := &pxBroker{t: t, srv: s, proxyAddr: "127.0.0.1:" + strconv.Itoa(mitm)}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.proxyAddr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker proxy does not listen on %s: %v\nstderr:\n%s", b.proxyAddr, err, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.owner = newCLI(t, "owner", s.url)
	register(t, b.owner, "owner@example.com", "owner-pass-1")
	b.caFile = filepath.Join(t.TempDir(), "agent-vault-ca.pem")
	b.owner.ok("", "ca", "fetch", "-o", b.caFile)
	pemBytes, err := os.ReadFile(b.caFile)
	if err != nil {
		t.Fatal(err)
	}
	b.caPool = x509.NewCertPool()
	if !b.caPool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("ca fetch -o wrote no PEM certificate:\n%s", pemBytes)
	}
	t.Cleanup(b.checkHygiene)
	return b
}

// checkHygiene: no credential value in the server's output or any
// client's output; no token in the server's output.
func (b *pxBroker) checkHygiene() {
	b.mu.Lock()
	defer b.mu.Unlock()
	checkNoSecrets(b.t, b.srv, b.secrets, b.tokens, b.clientOut)
}

// checkNoSecrets fails t when the server's output holds a secret or a
// token, or when any of outputs (what clients printed) holds a secret.
func checkNoSecrets(t testing.TB, srv *server, secrets, tokens, outputs []string) {
	t.Helper()
	logs := srv.stdout.String() + srv.stderr.String()
	for _, sec := range secrets {
		if strings.Contains(logs, sec) {
			t.Errorf("the server's output contains the credential value %q", sec)
		}
		for i, out := range outputs {
			if strings.Contains(out, sec) {
				t.Errorf("client output #%d contains the credential value %q:\n%s", i, sec, out)
			}
		}
	}
	for _, tok := range tokens {
		if strings.Contains(logs, tok) {
			t.Errorf("the server's output contains a token (%.12s…)", tok)
		}
	}
}

// recordClient adds a client's output to what the hygiene check searches.
func (b *pxBroker) recordClient(out string) {
	b.mu.Lock()
	b.clientOut = append(b.clientOut, out)
	b.mu.Unlock()
}

// creds sets credentials in a vault (default when vault is "").
func (b *pxBroker) creds(vault string, kv map[string]string) {
	b.t.Helper()
	args := []string{"vault", "credential", "set"}
	if vault != "" {
		args = append(args, "--vault", vault)
	}
	b.mu.Lock()
	for k, v := range kv {
		args = append(args, k+"="+v)
		b.secrets = append(b.secrets, v)
	}
	b.mu.Unlock()
	b.owner.ok("", args...)
}

// services replaces a vault's services with a YAML services: list.
func (b *pxBroker) services(vault, yaml string) {
	b.t.Helper()
	f := filepath.Join(b.t.TempDir(), "services.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		b.t.Fatal(err)
	}
	args := []string{"vault", "service", "set", "-f", f}
	if vault != "" {
		args = append(args, "--vault", vault)
	}
	b.owner.ok("", args...)
}

// agent creates an agent with vault grants ("default:proxy" if none) and
// returns its token.
func (b *pxBroker) agent(name string, grants ...string) string {
	b.t.Helper()
	if len(grants) == 0 {
		grants = []string{"default:proxy"}
	}
	args := []string{"agent", "create", name, "--token-only"}
	for _, g := range grants {
		args = append(args, "--vault", g)
	}
	tok := strings.TrimSpace(b.owner.ok("", args...))
	if !strings.HasPrefix(tok, "av_agt_") || strings.ContainsAny(tok, " \n\t") {
		b.t.Fatalf("agent create --token-only printed %q", tok)
	}
	b.mu.Lock()
	b.tokens = append(b.tokens, tok)
	b.mu.Unlock()
	return tok
}

// proxyURL is http://tok[:vault]@127.0.0.1:<mitm>.
func (b *pxBroker) proxyURL(tok, vault string) *url.URL {
	u := &url.URL{Scheme: "http", Host: b.proxyAddr}
	switch {
	case tok != "" && vault != "":
		u.User = url.UserPassword(tok, vault)
	case tok != "":
		u.User = url.User(tok)
	}
	return u
}

// client is a Go agent: proxy with tok[:vault], trusting only the broker
// CA, HTTP/2 when h2, never following redirects.
func (b *pxBroker) client(tok, vault string, h2 bool) *http.Client {
	tr := &http.Transport{
		Proxy:             http.ProxyURL(b.proxyURL(tok, vault)),
		TLSClientConfig:   &tls.Config{RootCAs: b.caPool},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	b.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// read reads and closes a response body, recording it as client output.
func (b *pxBroker) read(resp *http.Response) string {
	b.t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("reading the response body: %v", err)
	}
	var hdr bytes.Buffer
	_ = resp.Header.Write(&hdr)
	b.recordClient(hdr.String() + "\n" + string(body))
	return string(body)
}

// pxBrokerErr checks a broker-layer error: status, marker header, JSON
// body with the code. It returns the decoded body.
func pxBrokerErr(t testing.TB, status int, header http.Header, body string, wantStatus int, code string) map[string]any {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d (%s), want %d %s", status, body, wantStatus, code)
	}
	if header.Get("X-Agent-Vault-Proxy-Error") != "true" {
		t.Errorf("%d %s without X-Agent-Vault-Proxy-Error: true", status, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("broker error body is not JSON: %q", body)
	}
	if code != "" && m["error"] != code {
		t.Fatalf("error code %v, want %q (%s)", m["error"], code, body)
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Errorf("broker error without a message: %s", body)
	}
	return m
}

// ---------------------------------------------------------------------
// Raw proxy connections.

// pxBasic is a Proxy-Authorization value for token[:vault].
func pxBasic(tok, vault string) string {
	s := tok
	if vault != "" {
		s += ":" + vault
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(s))
}

// pxRaw is a raw connection to the proxy listener.
type pxRaw struct {
	net.Conn
	br *bufio.Reader
}

func (b *pxBroker) dialRaw() *pxRaw {
	b.t.Helper()
	c, err := net.DialTimeout("tcp", b.proxyAddr, 5*time.Second)
	if err != nil {
		b.t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	b.t.Cleanup(func() { c.Close() })
	return &pxRaw{Conn: c, br: bufio.NewReader(c)}
}

// roundTrip writes raw bytes and reads one response (body included).
func (r *pxRaw) roundTrip(t testing.TB, raw, method string) (*http.Response, string) {
	t.Helper()
	if raw != "" {
		if _, err := io.WriteString(r.Conn, raw); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.ReadResponse(r.br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the proxy's answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// connect sends CONNECT target with the given Proxy-Authorization ("" for
// none) and returns the proxy's answer; on 200 the conn is the tunnel.
func (b *pxBroker) connect(target, proxyAuth string) (*pxRaw, *http.Response, string) {
	b.t.Helper()
	r := b.dialRaw()
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if proxyAuth != "" {
		req += "Proxy-Authorization: " + proxyAuth + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(r.Conn, req); err != nil {
		b.t.Fatal(err)
	}
	resp, err := http.ReadResponse(r.br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		b.t.Fatalf("CONNECT %s: %v", target, err)
	}
	var body string
	if resp.StatusCode != http.StatusOK {
		bb, _ := io.ReadAll(resp.Body)
		body = string(bb)
	}
	return r, resp, body
}

// tunnel opens an intercepted TLS tunnel to target (ALPN http/1.1).
func (b *pxBroker) tunnel(target, proxyAuth, sni string) *pxRaw {
	b.t.Helper()
	r, resp, body := b.connect(target, proxyAuth)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("CONNECT %s: %d %s", target, resp.StatusCode, body)
	}
	var conn net.Conn = r.Conn
	if n := r.br.Buffered(); n > 0 {
		b.t.Fatalf("the proxy sent %d unexpected bytes after 200", n)
	}
	tc := tls.Client(conn, &tls.Config{RootCAs: b.caPool, ServerName: sni, NextProtos: []string{"http/1.1"}})
	if err := tc.Handshake(); err != nil {
		b.t.Fatalf("TLS through the tunnel to %s: %v", target, err)
	}
	return &pxRaw{Conn: tc, br: bufio.NewReader(tc)}
}

// dialer dials through the proxy with CONNECT: for clients (gRPC) that
// take a dialer rather than a proxy URL.
func (b *pxBroker) dialer(tok, vault string) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", b.proxyAddr)
		if err != nil {
			return nil, err
		}
		req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\nProxy-Authorization: " + pxBasic(tok, vault) + "\r\n\r\n"
		if _, err := io.WriteString(c, req); err != nil {
			c.Close()
			return nil, err
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			c.Close()
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			c.Close()
			return nil, fmt.Errorf("CONNECT %s: %s %s", addr, resp.Status, body)
		}
		if br.Buffered() > 0 {
			c.Close()
			return nil, errors.New("bytes after the CONNECT answer")
		}
		return c, nil
	}
}

// ---------------------------------------------------------------------
// External client processes.

// pxClientEnv is a clean environment for a client process: no proxy
// variables, nothing of agent-vault, HOME in a temp dir, plus extra.
func pxClientEnv(t testing.TB, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		lk := strings.ToLower(k)
		switch {
		case strings.HasSuffix(lk, "_proxy"), strings.HasPrefix(k, "AGENT_VAULT_"), k == "HOME",
			k == "SSL_CERT_FILE", k == "SSL_CERT_DIR", k == "REQUESTS_CA_BUNDLE", k == "CURL_CA_BUNDLE",
			k == "NODE_EXTRA_CA_CERTS", strings.HasPrefix(k, "GIT_"):
			continue
		}
		env = append(env, kv)
	}
	home := t.TempDir()
	env = append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	return append(env, extra...)
}

// pxTool finds a client program or skips the test.
func pxTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed on this machine: %v", name, err)
	}
	return p
}

// pxPython is python3 with the requests module, or skips the test.
func pxPython(t *testing.T) string {
	t.Helper()
	py := pxTool(t, "python3")
	probe := exec.Command(py, "-c", "import requests")
	probe.Env = pxClientEnv(t)
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("python3 has no requests module (Debian python3-requests): %v %s", err, out)
	}
	return py
}

// pxOut is a finished client process.
type pxOut struct {
	cmd            string
	stdout, stderr string
	err            error
}

func (o pxOut) String() string {
	return fmt.Sprintf("$ %s\nerr: %v\nstdout:\n%s\nstderr:\n%s", o.cmd, o.err, o.stdout, o.stderr)
}

// run executes a client process with env and a 30 s deadline, records its
// output for the hygiene check, and checks that its environment holds no
// credential value.
func (b *pxBroker) run(dir string, env []string, name string, args ...string) pxOut {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = b.t.TempDir()
	}
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	o := pxOut{cmd: name + " " + strings.Join(args, " "), stdout: out.String(), stderr: errb.String(), err: err}
	if ctx.Err() != nil {
		b.t.Fatalf("client timed out:\n%s", o)
	}
	b.recordClient(o.stdout + "\n" + o.stderr + "\n" + strings.Join(args, " "))
	b.mu.Lock()
	for _, sec := range b.secrets {
		for _, kv := range env {
			if strings.Contains(kv, sec) {
				b.t.Errorf("the client's environment holds a credential value: %s", kv)
			}
		}
		for _, a := range args {
			if strings.Contains(a, sec) {
				b.t.Errorf("the client's command line holds a credential value: %s", a)
			}
		}
	}
	b.mu.Unlock()
	return o
}

// pxWriteFile writes content into dir/name and returns the path.
func pxWriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pxLookPath is exec.LookPath (for optional tools inside a test).
func pxLookPath(name string) (string, error) { return exec.LookPath(name) }
