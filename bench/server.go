//go:build bench

package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is the agent-vault process under test, set up for the benchmark.
type server struct {
	bin        string
	cmd        *exec.Cmd
	done       chan struct{}
	logPath    string
	controlURL string
	proxyAddr  string   // 127.0.0.1:port of the broker proxy
	proxyURL   *url.URL // http://<token>:default@proxyAddr
	token      string   // the agent's token
	brokerPEM  []byte
	brokerPool *x509.CertPool // the broker CA, which the agent trusts
	env        []string
	cliDir     string
	workDir    string
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// startServer builds (unless -bin) and starts agent-vault, then sets it up
// through its CLI: owner, agent token, credential, bearer service, CA.
func startServer(ctx context.Context, o options, tmp string, up *upstream) (*server, error) {
	s := &server{bin: o.bin, cliDir: filepath.Join(tmp, "cli"), workDir: filepath.Join(tmp, "work")}
	for _, d := range []string{s.cliDir, s.workDir, filepath.Join(tmp, "home")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if s.bin == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		s.bin = filepath.Join(tmp, "agent-vault")
		logf("building ./cmd/agent-vault")
		build := exec.CommandContext(ctx, "go", "build", "-o", s.bin, "./cmd/agent-vault")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/agent-vault: %v\n%s", err, out)
		}
	}
	caFile := filepath.Join(tmp, "upstream-ca-bundle.pem")
	if err := os.WriteFile(caFile, up.caPEM, 0o600); err != nil {
		return nil, err
	}
	// The server takes the first account's setup code from the
	// environment, and `auth register` sends it from there.
	s.env = append(childEnv(filepath.Join(tmp, "home")), "AGENT_VAULT_SETUP_CODE="+benchSetupCode)

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, mitm := freePort(), freePort()
		if port == 0 || mitm == 0 || port == mitm {
			lastErr = errors.New("no free loopback port")
			continue
		}
		s.controlURL = "http://127.0.0.1:" + strconv.Itoa(port)
		s.proxyAddr = "127.0.0.1:" + strconv.Itoa(mitm)
		s.logPath = filepath.Join(tmp, "server.log")
		logFile, err := os.Create(s.logPath)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(s.bin, "server", "--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--mitm-port", strconv.Itoa(mitm), "--data-dir", filepath.Join(tmp, "data"), "--upstream-ca-file", caFile)
		cmd.Env = append(append(append([]string{}, s.env...), benchServerEnv...), o.serverEnv...)
		cmd.Dir = s.workDir
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			logFile.Close()
			return nil, err
		}
		logFile.Close()
		s.cmd, s.done = cmd, make(chan struct{})
		go func() { _ = cmd.Wait(); close(s.done) }()
		if lastErr = s.waitReady(30 * time.Second); lastErr == nil {
			break
		}
		s.stop()
		if !strings.Contains(s.logTail(), "cannot listen") {
			return nil, fmt.Errorf("agent-vault did not start: %v\n%s", lastErr, s.logTail())
		}
	}
	if lastErr != nil {
		return nil, fmt.Errorf("agent-vault did not start: %v", lastErr)
	}
	if err := s.setup(ctx, up); err != nil {
		s.stop()
		return nil, fmt.Errorf("setting up agent-vault: %w\nserver log:\n%s", err, s.logTail())
	}
	return s, nil
}

// setup drives the CLI as an operator would.
func (s *server) setup(ctx context.Context, up *upstream) error {
	if _, err := s.cli(ctx, "bench-password-1234\n", "auth", "register", "--email", "owner@example.com"); err != nil {
		return err
	}
	tok, err := s.cli(ctx, "", "agent", "create", "bench-agent", "--vault", "default:proxy", "--token-only")
	if err != nil {
		return err
	}
	s.token = strings.TrimSpace(tok)
	if s.token == "" {
		return errors.New("agent create printed no token")
	}
	if _, err := s.cli(ctx, "", "vault", "credential", "set", "--vault", "default", credentialKey+"="+credentialValue); err != nil {
		return err
	}
	if _, err := s.cli(ctx, "", "vault", "service", "add", "--vault", "default", "--name", "bench-upstream",
		"--host", "127.0.0.1", "--auth", "bearer", "--token", credentialKey); err != nil {
		return err
	}
	caFile := filepath.Join(s.cliDir, "agent-vault-ca.pem")
	if _, err := s.cli(ctx, "", "ca", "fetch", "-o", caFile); err != nil {
		return err
	}
	if s.brokerPEM, err = os.ReadFile(caFile); err != nil {
		return err
	}
	s.brokerPool = x509.NewCertPool()
	if !s.brokerPool.AppendCertsFromPEM(s.brokerPEM) {
		return errors.New("ca fetch wrote no certificate")
	}
	s.proxyURL = &url.URL{Scheme: "http", Host: s.proxyAddr, User: url.UserPassword(s.token, "default")}
	return nil
}

// cli runs one agent-vault CLI command against the server.
func (s *server) cli(ctx context.Context, stdin string, args ...string) (string, error) {
	full := append([]string{"--address", s.controlURL, "--data-dir", s.cliDir}, args...)
	cmd := exec.CommandContext(ctx, s.bin, full...)
	cmd.Env = s.env
	cmd.Dir = s.workDir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("agent-vault %s: %v\n%s%s", strings.Join(args[:min(3, len(args))], " "), err, out.String(), errOut.String())
	}
	return out.String(), nil
}

// waitReady polls /health and the proxy port.
func (s *server) waitReady(timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("the process exited")
		default:
		}
		resp, err := c.Get(s.controlURL + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if pc, err := net.DialTimeout("tcp", s.proxyAddr, time.Second); err == nil {
					pc.Close()
					return nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready within %s", timeout)
}

// stop ends the server process this program started.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// benchSetupCode is the one-time setup code of the bench servers' first
// account.
const benchSetupCode = "bench-setup-code-0123456789"

// benchServerEnv configures the server under test: loopback upstreams
// allowed, and the proxy's rate limits (default profile: 100 requests/s
// per agent and vault) raised far above any load here, so that the limiter
// still runs on every request but never refuses one. -server-env comes
// after and wins.
var benchServerEnv = []string{
	"AGENT_VAULT_ALLOW_PRIVATE_RANGES=true",
	"AGENT_VAULT_RATELIMIT_PROXY_RATE=1000000",
	"AGENT_VAULT_RATELIMIT_PROXY_BURST=1000000",
	"AGENT_VAULT_RATELIMIT_PROXY_CONCURRENCY=100000",
	"AGENT_VAULT_RATELIMIT_GLOBAL_MAX=100000",
}

// childEnv is this process's environment without anything that configures
// agent-vault, with HOME in the temp dir.
func childEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AGENT_VAULT_") || k == "PORT" || k == "DATABASE_URL" || k == "HOME" ||
			strings.EqualFold(k, "HTTP_PROXY") || strings.EqualFold(k, "HTTPS_PROXY") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// moduleRoot is the directory of go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	p := strings.TrimSpace(string(out))
	if p == "" || p == os.DevNull {
		return "", errors.New("run from inside the agent-vault module")
	}
	return filepath.Dir(p), nil
}

// procStatus reads a field (in kB) of /proc/<pid>/status.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// procCPU is the process's user+system CPU time, from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields resume after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	// After ')': state(0) … utime(11) stime(12), in clock ticks (USER_HZ,
	// 100 on Linux).
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100), nil
}
