// Package e2e drives the real agent-vault binary: it is built once in
// TestMain, started on free loopback ports with data dirs under
// t.TempDir(), and exercised through its CLI and its HTTP control plane.
// Nothing here leaves the loopback interface.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

	"github.com/agent-vault/agent-vault/internal/config"
)

var (
	binPath string // the built agent-vault binary
	homeDir string // HOME for every child process (never the real one)
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: finding the module root:", err)
		return 2
	}
	tmp, err := os.MkdirTemp("", "agent-vault-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	defer os.RemoveAll(tmp)
	binPath = filepath.Join(tmp, "agent-vault")
	homeDir = filepath.Join(tmp, "home")
	if err := os.MkdirAll(homeDir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	build := exec.Command("go", "build", "-o", binPath, "./cmd/agent-vault")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/agent-vault failed: %v\n%s", err, out)
		return 2
	}
	return m.Run()
}

// moduleRoot finds the directory of go.mod: `go env GOMOD`, else by
// walking up from the working directory.
func moduleRoot() (string, error) {
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if p := strings.TrimSpace(string(out)); p != "" && p != os.DevNull {
			return filepath.Dir(p), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// childEnv is the environment of every child: the test's own, minus
// anything that configures agent-vault, with HOME pointed at a temp dir.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AGENT_VAULT_"), k == "PORT", k == "DATABASE_URL", k == "HOME":
			continue
		}
		env = append(env, kv)
	}
	// Servers in these tests run without the broker proxy unless a test
	// gives --mitm-port (many run at once and 14322 is a single port), and
	// without rate limits unless a test sets a profile: the suite drives
	// far more requests from 127.0.0.1 than any agent would.
	env = append(env, "HOME="+homeDir, "AGENT_VAULT_MITM_PORT=0", "AGENT_VAULT_RATELIMIT_PROFILE=off")
	return append(env, extra...)
}

// syncBuffer is a bytes.Buffer safe for a child's writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort asks the kernel for a free loopback port, never one it handed
// out before in this test process (the kernel may offer a port again as
// soon as the probe closes, so two servers of parallel tests, or a server
// and its metrics listener, could be given the same one). Another process
// can still take it before the server binds; startServer retries on that.
func freePort(t testing.TB) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		portsGivenMu.Lock()
		seen := portsGiven[port]
		portsGiven[port] = true
		portsGivenMu.Unlock()
		if !seen {
			return port
		}
	}
}

var (
	portsGivenMu sync.Mutex
	portsGiven   = map[int]bool{}
)

// serverOpts describe one server process.
type serverOpts struct {
	dataDir string
	env     []string // extra environment, e.g. AGENT_VAULT_MASTER_PASSWORD=…
	stdin   string   // piped to the server (for --password-stdin)
	args    []string // extra flags
	port    int      // 0: pick a free one
}

// server is a running (or exited) agent-vault server process.
type server struct {
	t       testing.TB
	name    string
	dataDir string
	port    int
	url     string
	cmd     *exec.Cmd
	stdout  *syncBuffer
	stderr  *syncBuffer
	done    chan struct{} // closed when the process has exited
	state   *os.ProcessState
}

// launch starts a server process without waiting for it to be ready.
func launch(t testing.TB, o serverOpts) *server {
	t.Helper()
	if o.port == 0 {
		o.port = freePort(t)
	}
	args := append([]string{"server", "--host", "127.0.0.1", "--port", strconv.Itoa(o.port), "--data-dir", o.dataDir}, o.args...)
	cmd := exec.Command(binPath, args...)
	cmd.Env = childEnv(o.env...)
	cmd.Dir = t.TempDir()
	s := &server{
		t: t, name: "server :" + strconv.Itoa(o.port), dataDir: o.dataDir, port: o.port,
		url: "http://127.0.0.1:" + strconv.Itoa(o.port),
		cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{}),
	}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if o.stdin != "" {
		cmd.Stdin = strings.NewReader(o.stdin)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", s.name, err)
	}
	rememberServer(s.url, o.dataDir)
	go func() {
		_ = cmd.Wait()
		s.state = cmd.ProcessState
		close(s.done)
	}()
	t.Cleanup(func() {
		if !s.exited() {
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("--- %s (data dir %s) stderr:\n%s", s.name, s.dataDir, s.stderr.String())
		}
	})
	return s
}

// startServer starts a server and waits until /health answers. A lost
// race for the port is retried with another one.
func startServer(t testing.TB, o serverOpts) *server {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s := launch(t, o)
		err := s.waitHealthy(30 * time.Second)
		if err == nil {
			return s
		}
		if s.exited() && strings.Contains(s.stderr.String(), "cannot listen") && o.port == 0 && attempt < 3 {
			continue
		}
		t.Fatalf("%s did not become healthy: %v\nstderr:\n%s", s.name, err, s.stderr.String())
	}
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitHealthy polls GET /health until it answers 200 {"status":"ok"}.
func (s *server) waitHealthy(timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s.exited() {
			return fmt.Errorf("the process exited (%v)", s.state)
		}
		resp, err := c.Get(s.url + "/health")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), `"ok"`) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no healthy answer within %s", timeout)
}

// waitExit waits for the process to exit and returns its exit code.
func (s *server) waitExit(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.done:
		return s.state.ExitCode()
	case <-time.After(timeout):
		s.t.Fatalf("%s did not exit within %s; stderr:\n%s", s.name, timeout, s.stderr.String())
		return 0
	}
}

// stop sends sig and waits for the exit code.
func (s *server) stop(sig os.Signal) int {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signalling %s: %v", s.name, err)
	}
	return s.waitExit(40 * time.Second)
}

// stopOK stops the server with SIGTERM and requires a clean exit.
func (s *server) stopOK() {
	s.t.Helper()
	if code := s.stop(syscall.SIGTERM); code != 0 {
		s.t.Fatalf("%s exited %d after SIGTERM; stderr:\n%s", s.name, code, s.stderr.String())
	}
}

// expectStartFailure launches a server that must refuse to start, and
// returns its stderr.
func expectStartFailure(t testing.TB, o serverOpts) string {
	t.Helper()
	s := launch(t, o)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s should have refused to start but is still running; stderr:\n%s", s.name, s.stderr.String())
	}
	if code := s.state.ExitCode(); code == 0 {
		t.Fatalf("%s exited 0, want a failure; stderr:\n%s", s.name, s.stderr.String())
	}
	return s.stderr.String()
}

// cliUser is one simulated person at a terminal: their own CLI data dir
// (holding session.json) pointed at one server.
type cliUser struct {
	t    testing.TB
	name string
	addr string
	dir  string
}

func newCLI(t testing.TB, name, addr string) *cliUser {
	return &cliUser{t: t, name: name, addr: addr, dir: filepath.Join(t.TempDir(), "cli-"+name)}
}

// result is one finished CLI command.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("agent-vault %s\nexit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// run executes the CLI with the user's --address and --data-dir.
func (c *cliUser) run(stdin string, args ...string) result {
	c.t.Helper()
	full := append([]string{"--address", c.addr, "--data-dir", c.dir}, args...)
	return runBin(c.t, stdin, nil, full...)
}

// ok runs a command that must succeed and returns its stdout.
func (c *cliUser) ok(stdin string, args ...string) string {
	c.t.Helper()
	r := c.run(stdin, args...)
	if r.code != 0 {
		c.t.Fatalf("[%s] command failed:\n%s", c.name, r)
	}
	return r.stdout
}

// fail runs a command that must fail and returns its stderr.
func (c *cliUser) fail(stdin string, args ...string) string {
	c.t.Helper()
	r := c.run(stdin, args...)
	if r.code == 0 {
		c.t.Fatalf("[%s] command succeeded, want a failure:\n%s", c.name, r)
	}
	if !strings.HasPrefix(r.stderr, "error: ") && !strings.Contains(r.stderr, "\nerror: ") {
		c.t.Errorf("[%s] failure without an \"error:\" line:\n%s", c.name, r)
	}
	return r.stderr
}

// json runs a command with --json that must succeed, and decodes stdout
// strictly into v (one JSON value, nothing else).
func (c *cliUser) json(v any, args ...string) {
	c.t.Helper()
	out := c.ok("", append(args, "--json")...)
	decodeStrict(c.t, out, v)
}

func decodeStrict(t testing.TB, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("output is not JSON (%v):\n%s", err, s)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("output has more than one JSON value:\n%s", s)
	}
}

// token is the session token the user's CLI saved.
func (c *cliUser) token() string {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, "session.json"))
	if err != nil {
		c.t.Fatalf("[%s] reading session.json: %v", c.name, err)
	}
	var s struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Token == "" {
		c.t.Fatalf("[%s] session.json is not a session: %v\n%s", c.name, err, b)
	}
	return s.Token
}

// runBin runs the binary with args and a 60 s deadline.
func runBin(t testing.TB, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = childEnv(env...)
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	r := result{args: args, stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running agent-vault %s: %v\n%s", strings.Join(args, " "), err, r)
	}
	if ctx.Err() != nil {
		t.Fatalf("agent-vault %s timed out\n%s", strings.Join(args, " "), r)
	}
	return r
}

// httpClient talks to the control plane directly, never through a proxy.
var httpClient = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{Proxy: nil}}

// apiResp is a raw control-plane answer.
type apiResp struct {
	status int
	header http.Header
	body   []byte
}

// errBody is the control plane's error shape.
type errBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Field string `json:"field"`
}

func (r apiResp) String() string { return fmt.Sprintf("HTTP %d %s", r.status, r.body) }

// errorBody decodes the JSON error body, failing the test if it is not one.
func (r apiResp) errorBody(t testing.TB) errBody {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error response Content-Type = %q, want application/json (%s)", ct, r)
	}
	var e errBody
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("not a JSON error body (%v): %s", err, r)
	}
	return e
}

// call sends one request. body may be nil, a string/[]byte (sent as is),
// or any other value (JSON-encoded).
func call(t testing.TB, method, url, tok string, body any) apiResp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return apiResp{status: resp.StatusCode, header: resp.Header, body: b}
}

// vaultNames lists the caller's vault names through the API.
func vaultNames(t testing.TB, base, tok string) []string {
	t.Helper()
	r := call(t, http.MethodGet, base+"/v1/vaults", tok, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /v1/vaults: %s", r)
	}
	var out struct {
		Vaults []struct {
			Name string `json:"name"`
		} `json:"vaults"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("GET /v1/vaults: %v: %s", err, r)
	}
	names := make([]string, 0, len(out.Vaults))
	for _, v := range out.Vaults {
		names = append(names, v.Name)
	}
	return names
}

// serverSetupCodes maps a server's URL to a function reading its
// one-time setup code (the first account needs it): from the setup-code
// file in its data dir, where the person who runs the server finds it.
var serverSetupCodes sync.Map // string → func() (string, bool)

// rememberServer notes where the server at url keeps its data, for
// setupCodeOf.
func rememberServer(url, dataDir string) {
	serverSetupCodes.Store(url, func() (string, bool) { return config.SetupCodeFor(dataDir, url) })
}

// setupCodeOf returns the setup code of the server at url, waiting a
// little for the server to write it.
func setupCodeOf(t testing.TB, url string) string {
	t.Helper()
	f, ok := serverSetupCodes.Load(url)
	if !ok {
		t.Fatalf("no server started by this test run answers at %s: its setup code is unknown", url)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, ok := f.(func() (string, bool))(); ok {
			return code
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server at %s wrote no setup code (is an account there already?)", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// register creates the instance owner through the CLI, with the server's
// setup code.
func register(t testing.TB, c *cliUser, email, pw string) {
	t.Helper()
	out := c.ok(pw+"\n", "auth", "register", "--email", email, "--setup-code", setupCodeOf(t, c.addr))
	if !strings.Contains(out, "(owner)") {
		t.Fatalf("first registration should make an owner, got:\n%s", out)
	}
}

// mode is the permission bits of path.
func mode(t testing.TB, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return fi.Mode().Perm()
}

// dirDigest maps every regular file in dir to the sha256 of its bytes.
func dirDigest(t testing.TB, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:])
	}
	return out
}

// processAlive reports whether pid exists (and is not a zombie we can see).
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		// Field 3 is the state; Z is a zombie that only waits to be reaped.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mustContain fails unless s contains every one of subs.
func mustContain(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not mention %q:\n%s", what, sub, s)
		}
	}
}

// answers reports whether anything still answers HTTP at base.
func answers(base string) bool {
	resp, err := httpClient.Get(base + "/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
