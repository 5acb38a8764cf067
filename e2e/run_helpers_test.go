package e2e

// Shared pieces of the TestRun… and TestDoctor… tests: `agent-vault run`
// and `agent-vault doctor` of the real binary, against HTTPS upstreams the
// tests start on loopback addresses with their own CA (trusted by the
// server through --upstream-ca-file, never by the clients, which only get
// what `run` hands them). Every identifier here starts with "rn" so that
// the file cannot collide with other e2e files.
//
// The upstreams listen on 127.0.0.2, not 127.0.0.1: `run` sets
// NO_PROXY=localhost,127.0.0.1 (docs/agents.md), so a client honouring NO_PROXY
// would go straight to an upstream on those names, bypassing the broker.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rnUpstreamIP is where the upstreams listen (see the file comment).
const rnUpstreamIP = "127.0.0.2"

// rnSecret is the bearer credential; it must reach the upstream and never
// a child's environment, output or files.
const rnSecret = "sk_live_e2e_RUN_4d2f9b8e61a7"

// The upstreams' CA is pxCA (proxy_helpers_test.go); their certificates
// name rnUpstreamIP too (pxCA.leafFor).

// ---------------------------------------------------------------------
// Upstreams.

// rnSeen is one request as an upstream received it.
type rnSeen struct {
	Method, Path string
	Header       http.Header
}

// rnUpstream is an HTTPS server (HTTP/1.1 and HTTP/2) on one address that
// records the requests it gets.
type rnUpstream struct {
	ip   string
	port int
	mu   sync.Mutex
	seen []rnSeen
}

// rnStartUpstream serves h over TLS on ip (a free port), with a
// certificate for ip, localhost, 127.0.0.1 and extraNames.
func rnStartUpstream(t testing.TB, ca *pxCA, ip string, h http.Handler, extraNames ...string) *rnUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listening on %s: %v", ip, err)
	}
	u := &rnUpstream{ip: ip, port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u.mu.Lock()
			u.seen = append(u.seen, rnSeen{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()})
			u.mu.Unlock()
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.leafFor(t,
			append([]string{"localhost"}, extraNames...), []net.IP{net.ParseIP(ip), net.IPv4(127, 0, 0, 1)})}},
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return u
}

// hostport is "<ip>:<port>".
func (u *rnUpstream) hostport() string { return net.JoinHostPort(u.ip, strconv.Itoa(u.port)) }

func (u *rnUpstream) requests() []rnSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]rnSeen(nil), u.seen...)
}

func (u *rnUpstream) count() int { return len(u.requests()) }

// checkAuth fails unless every request after the first `from` carried
// exactly one Authorization header equal to want, and there was at least
// one such request.
func (u *rnUpstream) checkAuth(t testing.TB, from int, want string) {
	t.Helper()
	reqs := u.requests()
	if len(reqs) <= from {
		t.Fatalf("the upstream received no request (it had %d before)", from)
	}
	for _, s := range reqs[from:] {
		if vals := s.Header.Values("Authorization"); len(vals) != 1 || vals[0] != want {
			t.Errorf("upstream saw %s %s with Authorization %q, want exactly the injected credential", s.Method, s.Path, vals)
		}
		for _, h := range []string{"Proxy-Authorization", "X-Vault"} {
			if v := s.Header.Get(h); v != "" {
				t.Errorf("upstream saw broker header %s", h)
			}
		}
	}
}

// rnAuthHandler answers 200 "authorized <METHOD> <path>" when
// Authorization is exactly want, else 401. It never echoes a credential.
func rnAuthHandler(want string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if vals := r.Header.Values("Authorization"); len(vals) != 1 || vals[0] != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="upstream"`)
			http.Error(w, "upstream: wrong or missing credential", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "authorized %s %s\n", r.Method, r.URL.Path)
	}
}

// ---------------------------------------------------------------------
// The broker: the real server with its proxy, and an owner logged in.

// rnBroker is a running server with its proxy listener and an owner CLI.
type rnBroker struct {
	t        *testing.T
	srv      *server
	owner    *cliUser
	mitmPort int
	upCA     *pxCA
	caPEM    []byte // the broker's root CA, from `ca fetch`

	mu      sync.Mutex
	secrets []string // credential values
	outputs []string // everything a run child printed, for the hygiene check
}

// rnStart starts a server with the broker proxy on a free port (trusting
// upCA for upstream TLS, loopback allowed), registers the owner (whose CLI
// data dir then holds a session) and fetches the broker CA.
func rnStart(t *testing.T, upCA *pxCA) *rnBroker {
	t.Helper()
	b := rnLaunch(t, upCA)
	b.owner = newCLI(t, "owner", b.srv.url)
	register(t, b.owner, "owner@example.com", "owner-pass-1")
	caFile := filepath.Join(t.TempDir(), "broker-ca.pem")
	b.owner.ok("", "ca", "fetch", "-o", caFile)
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(rnCerts(pemBytes)) != 1 {
		t.Fatalf("ca fetch -o wrote no single certificate:\n%s", pemBytes)
	}
	b.caPEM = pemBytes
	return b
}

// rnLaunch is rnStart without an account: a fresh instance whose owner is
// yet to be created (b.owner is nil).
func rnLaunch(t *testing.T, upCA *pxCA) *rnBroker {
	t.Helper()
	var s *server
	var mitm int
	for attempt := 0; ; attempt++ {
		mitm = freePort(t)
		args := []string{"--mitm-port", strconv.Itoa(mitm)}
		if upCA != nil {
			args = append(args, "--upstream-ca-file", upCA.file)
		}
		s = launch(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server"), args: args,
			env: []string{"AGENT_VAULT_ALLOW_PRIVATE_RANGES=true"}})
		err := s.waitHealthy(30 * time.Second)
		if err == nil {
			break
		}
		if s.exited() && strings.Contains(s.stderr.String(), "cannot listen") && attempt < 3 {
			continue // lost a race for one of the ports
		}
		t.Fatalf("%s did not become healthy: %v\nstderr:\n%s", s.name, err, s.stderr.String())
	}
	b := &rnBroker{t: t, srv: s, mitmPort: mitm, upCA: upCA}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(mitm), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker proxy does not listen on :%d: %v\nstderr:\n%s", mitm, err, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(b.checkHygiene)
	return b
}

// creds sets credentials in the default vault.
func (b *rnBroker) creds(kv map[string]string) {
	b.t.Helper()
	args := []string{"vault", "credential", "set"}
	b.mu.Lock()
	for k, v := range kv {
		args = append(args, k+"="+v)
		b.secrets = append(b.secrets, v)
	}
	b.mu.Unlock()
	b.owner.ok("", args...)
}

// services replaces the default vault's services with a YAML list.
func (b *rnBroker) services(yaml string) {
	b.t.Helper()
	f := filepath.Join(b.t.TempDir(), "services.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		b.t.Fatal(err)
	}
	b.owner.ok("", "vault", "service", "set", "-f", f)
}

// bearer stores rnSecret as API_KEY and brokers it as a bearer token for
// every host:port given.
func (b *rnBroker) bearer(hosts ...string) {
	b.t.Helper()
	b.creds(map[string]string{"API_KEY": rnSecret})
	var y strings.Builder
	y.WriteString("services:\n")
	for i, h := range hosts {
		fmt.Fprintf(&y, "  - name: api-%d\n    host: %s\n    auth: {type: bearer, token: API_KEY}\n", i, h)
	}
	b.services(y.String())
}

// agent creates an agent with the proxy role on default and returns its
// token.
func (b *rnBroker) agent(name string) string {
	b.t.Helper()
	tok := strings.TrimSpace(b.owner.ok("", "agent", "create", name, "--vault", "default:proxy", "--token-only"))
	if !strings.HasPrefix(tok, "av_agt_") {
		b.t.Fatalf("agent create --token-only printed %q", tok)
	}
	return tok
}

// run is `agent-vault --address … --data-dir <owner's> <args>` with the
// parent environment extended by env; its output joins the hygiene check.
func (b *rnBroker) run(env []string, args ...string) result {
	b.t.Helper()
	full := append([]string{"--address", b.srv.url, "--data-dir", b.owner.dir}, args...)
	r := runBin(b.t, "", env, full...)
	b.record(r.stdout + "\n" + r.stderr)
	return r
}

// agentRun is the binary in agent mode: AGENT_VAULT_TOKEN and
// AGENT_VAULT_ADDR set, and an empty CLI data dir (no login).
func (b *rnBroker) agentRun(tok string, env []string, args ...string) result {
	b.t.Helper()
	env = append([]string{"AGENT_VAULT_TOKEN=" + tok, "AGENT_VAULT_ADDR=" + b.srv.url}, env...)
	full := append([]string{"--data-dir", filepath.Join(b.t.TempDir(), "agent-cli")}, args...)
	r := runBin(b.t, "", env, full...)
	b.record(r.stdout + "\n" + r.stderr)
	return r
}

func (b *rnBroker) record(out string) {
	b.mu.Lock()
	b.outputs = append(b.outputs, out)
	b.mu.Unlock()
}

// checkHygiene: no credential value in anything a child printed, nor in
// the server's output.
func (b *rnBroker) checkHygiene() {
	b.mu.Lock()
	defer b.mu.Unlock()
	checkNoSecrets(b.t, b.srv, b.secrets, nil, b.outputs)
}

// scopedSessions lists the owner's vault sessions (`vault token list`).
func (b *rnBroker) scopedSessions() []map[string]any {
	b.t.Helper()
	var out struct {
		Sessions []map[string]any `json:"sessions"`
	}
	b.owner.json(&out, "vault", "token", "list")
	return out.Sessions
}

// ---------------------------------------------------------------------
// Small helpers.

// rnCerts parses every certificate in a PEM bundle.
func rnCerts(b []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, c)
		}
	}
}

// rnEnvMap parses `env -0` output (last one wins, as for exec).
func rnEnvMap(out string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(out, "\x00") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// rnEnvList is an environment list as a map (last one wins).
func rnEnvList(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// rnSpecVars are the variables `run` sets (docs/agents.md, "The child's
// environment").
var rnSpecVars = []string{
	"AGENT_VAULT_ADDR", "AGENT_VAULT_TOKEN", "AGENT_VAULT_VAULT",
	"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "NODE_USE_ENV_PROXY",
	"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "DENO_CERT",
	"https_proxy", "http_proxy", "no_proxy", "OPENCLAW_PROXY_URL",
}

// rnTool finds a program or skips the test.
func rnTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed on this machine: %v", name, err)
	}
	return p
}

// rnCleanClientEnv neutralises what the test process's own environment
// could add to a child: proxies and CA overrides (set empty, which every
// client treats as unset), and a git without system or user config.
func rnCleanClientEnv(home string) []string {
	return []string{
		"https_proxy=", "http_proxy=", "all_proxy=", "ALL_PROXY=", "no_proxy=", "NO_PROXY=",
		"SSL_CERT_DIR=", "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
	}
}

// rnProc is a long-running CLI process (for signal tests).
type rnProc struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
}

// rnStartBin starts the binary without waiting for it.
func rnStartBin(t testing.TB, env []string, args ...string) *rnProc {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = childEnv(env...)
	cmd.Dir = t.TempDir()
	p := &rnProc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	// Its own process group, so the cleanup can end the child too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// waitOutput waits until stdout contains s.
func (p *rnProc) waitOutput(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.stdout.String(), s) {
		select {
		case <-p.done:
			t.Fatalf("the process exited before printing %q\nstdout:\n%s\nstderr:\n%s", s, p.stdout, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s\nstdout:\n%s\nstderr:\n%s", s, timeout, p.stdout, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for the exit and returns the exit code (-1 if a signal
// killed the process itself).
func (p *rnProc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("the process did not exit within %s\nstdout:\n%s\nstderr:\n%s", timeout, p.stdout, p.stderr)
		return 0
	}
}

// rnDoctor is `doctor --json` output.
type rnDoctor struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Check  string `json:"check"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
		Fix    string `json:"fix"`
	} `json:"checks"`
}

func rnParseDoctor(t testing.TB, out string) rnDoctor {
	t.Helper()
	var d rnDoctor
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("doctor --json printed no JSON (%v):\n%s", err, out)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("doctor --json printed more than one JSON value:\n%s", out)
	}
	if len(d.Checks) == 0 {
		t.Fatalf("doctor --json lists no checks:\n%s", out)
	}
	return d
}

// names are the checks in order.
func (d rnDoctor) names() []string {
	var out []string
	for _, c := range d.Checks {
		out = append(out, c.Check)
	}
	return out
}

// rnGoBuild builds a one-file Go program (no dependencies) and returns
// the binary.
func rnGoBuild(t testing.TB, src string) string {
	t.Helper()
	goBin := rnTool(t, "go")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module e2erunclient\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "client")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the client: %v\n%s", err, b)
	}
	return out
}
