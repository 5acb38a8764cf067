package e2e

// Real tools under `agent-vault run`, with nothing but the environment run
// sets: each reaches a local HTTPS upstream whose credential the broker
// injects, while the tool's environment and output never hold it.

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rnNodeClient tunnels by hand, as an agent on Node 20 must (its fetch
// ignores proxy variables): CONNECT through HTTPS_PROXY with the
// credentials of its user info, then https.request over TLS on the tunnel
// trusting Node's default roots plus NODE_EXTRA_CA_CERTS (no ca option).
const rnNodeClient = `
const http = require('http'), https = require('https'), tls = require('tls'), net = require('net');
const target = new URL(process.argv[2]);
const proxy = new URL(process.env.HTTPS_PROXY);
const auth = 'Basic ' + Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64');
const hostport = target.hostname + ':' + target.port;
const creq = http.request({host: proxy.hostname, port: Number(proxy.port), method: 'CONNECT', path: hostport,
  headers: {'Host': hostport, 'Proxy-Authorization': auth}});
creq.on('error', (e) => { console.error('CONNECT failed:', e.message); process.exit(1); });
creq.on('connect', (res, socket) => {
  if (res.statusCode !== 200) { console.error('CONNECT answered', res.statusCode); process.exit(1); }
  const req = https.request({host: target.hostname, port: Number(target.port), method: 'GET', path: target.pathname,
    createConnection: () => tls.connect({socket, host: target.hostname, servername: net.isIP(target.hostname) ? undefined : target.hostname, ALPNProtocols: ['http/1.1']})},
    (resp) => {
      let data = '';
      resp.on('data', (c) => data += c);
      resp.on('end', () => { process.stdout.write('node ' + resp.statusCode + ' ' + data); process.exit(resp.statusCode === 200 ? 0 : 1); });
    });
  req.on('error', (e) => { console.error('request failed:', e.message); process.exit(1); });
  req.end();
});
creq.end();
`

// rnGoClient uses the standard library's defaults: the proxy from
// HTTPS_PROXY/NO_PROXY (http.ProxyFromEnvironment) and the system pool,
// which on Linux and the BSDs is read from SSL_CERT_FILE when it is set.
// E2E_EXPLICIT_PROXY=1 uses HTTPS_PROXY for every host instead (Go never
// proxies loopback addresses, see TestRunTools).
const rnGoClient = `package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	proxy := http.ProxyFromEnvironment
	if os.Getenv("E2E_EXPLICIT_PROXY") == "1" {
		proxy = func(*http.Request) (*url.URL, error) { return url.Parse(os.Getenv("HTTPS_PROXY")) }
	}
	req, err := http.NewRequest(http.MethodGet, os.Args[1], nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if p, err := proxy(req); err != nil || p == nil {
		fmt.Fprintln(os.Stderr, "no proxy for", req.URL.Host, err)
		os.Exit(2)
	}
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: proxy}}
	resp, err := c.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("go %d %s", resp.StatusCode, b)
	if resp.StatusCode != http.StatusOK {
		os.Exit(1)
	}
}
`

// rnLocalName is a host name (not localhost) that resolves to a loopback
// or private address of this machine, and that address: Go's
// ProxyFromEnvironment proxies a name like that, never a loopback IP.
func rnLocalName() (string, string) {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return "", ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", h)
	if err != nil || len(ips) == 0 {
		return "", ""
	}
	a := ips[0].Unmap()
	if !a.IsLoopback() && !a.IsPrivate() {
		return "", ""
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(a.String(), "0"))
	if err != nil {
		return "", ""
	}
	ln.Close()
	return h, a.String()
}

func TestRunTools(t *testing.T) {
	t.Parallel()
	const gitUser, gitPass = "git-bot", "ghp_e2e_RUN_PASSWORD_b4dc0ffee9"
	ca := pxNewCA(t)
	want := "Bearer " + rnSecret
	up := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler(want))
	goName, goIP := rnLocalName()
	var goUp *rnUpstream
	if goName != "" {
		goUp = rnStartUpstream(t, ca, goIP, rnAuthHandler(want), goName)
	}
	gitUp, gitRepo := rnGitUpstream(t, ca, gitUser, gitPass)

	b := rnStart(t, ca)
	b.creds(map[string]string{"API_KEY": rnSecret, "GIT_USER": gitUser, "GIT_PASSWORD": gitPass})
	yaml := `services:
  - name: api
    host: ` + up.hostport() + `
    auth: {type: bearer, token: API_KEY}
  - name: git
    host: ` + gitUp.hostport() + `
    auth: {type: basic, username: GIT_USER, password: GIT_PASSWORD}
`
	if goUp != nil {
		yaml += "  - name: go-api\n    host: " + goName + ":" + strconv.Itoa(goUp.port) + "\n    auth: {type: bearer, token: API_KEY}\n"
	}
	b.services(yaml)
	agentTok := b.agent("bot")
	echo := "https://" + up.hostport() + "/echo"

	// runToolAs runs a tool under `run` (in agent mode with tok, or as the
	// logged-in owner when tok is ""), through a shell that first saves the
	// environment the tool gets; it checks that no credential value is in
	// that environment, and returns run's result.
	runToolAs := func(t *testing.T, tok string, env []string, tool ...string) result {
		t.Helper()
		envFile := filepath.Join(t.TempDir(), "child.env")
		args := append([]string{"run", "--", "sh", "-c", `env -0 >"$0" && exec "$@"`, envFile}, tool...)
		var r result
		if tok != "" {
			r = b.agentRun(tok, env, args...)
		} else {
			r = b.run(env, args...)
		}
		data, err := os.ReadFile(envFile)
		if err != nil {
			t.Fatalf("the tool's environment was not saved (%v):\n%s", err, r)
		}
		m := rnEnvMap(string(data))
		for _, k := range rnSpecVars {
			if m[k] == "" {
				t.Errorf("the tool's environment lacks %s", k)
			}
		}
		for k, v := range m {
			for _, sec := range []string{rnSecret, gitUser, gitPass} {
				if strings.Contains(v, sec) {
					t.Errorf("the tool's %s holds the credential value %q", k, sec)
				}
			}
		}
		return r
	}
	// runTool runs a tool as the agent "bot" (agent) or the owner.
	runTool := func(t *testing.T, agent bool, env []string, tool ...string) result {
		t.Helper()
		if agent {
			return runToolAs(t, agentTok, env, tool...)
		}
		return runToolAs(t, "", env, tool...)
	}

	t.Run("curl", func(t *testing.T) {
		t.Parallel()
		curl := rnTool(t, "curl")
		for _, agent := range []bool{false, true} {
			before := up.count()
			r := runTool(t, agent, rnCleanClientEnv(t.TempDir()), curl, "-sS", "--max-time", "20", echo)
			if r.code != 0 || r.stdout != "authorized GET /echo\n" {
				t.Fatalf("curl (agent mode %v):\n%s", agent, r)
			}
			up.checkAuth(t, before, want)
		}
	})

	t.Run("python requests", func(t *testing.T) {
		t.Parallel()
		py := rnTool(t, "python3")
		env := rnCleanClientEnv(t.TempDir())
		probe := exec.Command(py, "-c", "import requests")
		probe.Env = childEnv(env...)
		if out, err := probe.CombinedOutput(); err != nil {
			t.Skipf("python3 has no requests module: %v %s", err, out)
		}
		code := "import requests; r = requests.get('" + echo + "', timeout=20); print('python', r.status_code, r.text, end='')"
		// Agent mode first: HTTPS_PROXY is http://<token>:<vault>@….
		before := up.count()
		r := runTool(t, true, env, py, "-c", code)
		if r.code != 0 || r.stdout != "python 200 authorized GET /echo\n" {
			t.Fatalf("python requests under run (agent mode):\n%s", r)
		}
		up.checkAuth(t, before, want)
		// Agent mode with a vault session (av_sess_ from `vault token`):
		// http://<token>:<vault>@… works for it too, which is how user
		// mode could hand out its minted session.
		sess := strings.TrimSpace(b.owner.ok("", "vault", "token", "--ttl", "10m"))
		before = up.count()
		r = runToolAs(t, sess, env, py, "-c", code)
		if r.code != 0 || r.stdout != "python 200 authorized GET /echo\n" {
			t.Fatalf("python requests under run (agent mode, vault session token):\n%s", r)
		}
		up.checkAuth(t, before, want)
		// User mode: HTTPS_PROXY is http://<token>:<vault>@… as in agent mode.
		before = up.count()
		r = runTool(t, false, env, py, "-c", code)
		if r.code != 0 || r.stdout != "python 200 authorized GET /echo\n" {
			t.Fatalf("python requests under run (user mode):\n%s", r)
		}
		up.checkAuth(t, before, want)
	})

	t.Run("nodejs fetch with undici EnvHttpProxyAgent", func(t *testing.T) {
		t.Parallel()
		node := rnTool(t, "node")
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		modules := filepath.Join(root, "e2e", ".node", "node_modules")
		if _, err := os.Stat(filepath.Join(modules, "undici")); err != nil {
			t.Skip("undici is not installed (scripts/test.sh installs it with npm into e2e/.node)")
		}
		// fetch through undici's EnvHttpProxyAgent, which reads HTTPS_PROXY
		// and NO_PROXY from the environment run sets; Node itself reads
		// NODE_EXTRA_CA_CERTS at start.
		script := filepath.Join(t.TempDir(), "fetch.js")
		code := "const { EnvHttpProxyAgent, fetch } = require('undici');\n" +
			"fetch(process.argv[2], { dispatcher: new EnvHttpProxyAgent() })\n" +
			"  .then(async r => process.stdout.write('node ' + r.status + ' ' + (await r.text())))\n" +
			"  .catch(e => { console.error(String(e && e.cause || e)); process.exit(1); });\n"
		if err := os.WriteFile(script, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, agent := range []bool{false, true} {
			before := up.count()
			r := runTool(t, agent, append(rnCleanClientEnv(t.TempDir()), "NODE_PATH="+modules), node, script, echo)
			if r.code != 0 || r.stdout != "node 200 authorized GET /echo\n" {
				t.Fatalf("node fetch (undici, agent mode %v) under run:\n%s", agent, r)
			}
			up.checkAuth(t, before, want)
		}
	})
	t.Run("nodejs", func(t *testing.T) {
		t.Parallel()
		node := rnTool(t, "node")
		script := filepath.Join(t.TempDir(), "client.js")
		if err := os.WriteFile(script, []byte(rnNodeClient), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, agent := range []bool{false, true} {
			before := up.count()
			r := runTool(t, agent, rnCleanClientEnv(t.TempDir()), node, script, echo)
			if r.code != 0 || r.stdout != "node 200 authorized GET /echo\n" {
				t.Fatalf("node (agent mode %v) under run:\n%s", agent, r)
			}
			up.checkAuth(t, before, want)
		}
	})

	t.Run("git clone", func(t *testing.T) {
		t.Parallel()
		git := rnTool(t, "git")
		if out, err := exec.Command(git, "--exec-path").Output(); err != nil {
			t.Skipf("git --exec-path: %v", err)
		} else if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")); err != nil {
			t.Skipf("git http-backend is not installed: %v", err)
		}
		// Agent mode first (HTTPS_PROXY http://<token>:<vault>@…), then user
		// mode (http://<token>@…).
		for _, agent := range []bool{true, false} {
			home := t.TempDir()
			dst := filepath.Join(t.TempDir(), "clone")
			before := gitUp.count()
			r := runTool(t, agent, rnCleanClientEnv(home), git, "clone", "-q", "https://"+gitUp.hostport()+"/"+gitRepo, dst)
			if r.code != 0 {
				t.Fatalf("git clone under run (agent mode %v):\n%s", agent, r)
			}
			gitUp.checkAuth(t, before, "Basic "+base64.StdEncoding.EncodeToString([]byte(gitUser+":"+gitPass)))
			logCmd := exec.Command(git, "-C", dst, "log", "--format=%s", "-1")
			logCmd.Env = childEnv(rnCleanClientEnv(home)...)
			if out, err := logCmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "e2e: the commit to clone" {
				t.Fatalf("the clone lacks the commit: %v %s", err, out)
			}
			// Nothing on the agent's side kept the password.
			for _, f := range []string{filepath.Join(dst, ".git", "config"), filepath.Join(home, ".gitconfig"), filepath.Join(home, ".git-credentials")} {
				data, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if strings.Contains(string(data), gitPass) {
					t.Errorf("%s holds the password", f)
				}
			}
		}
	})

	t.Run("go program", func(t *testing.T) {
		t.Parallel()
		client := rnGoBuild(t, rnGoClient)
		target, u, env := echo, up, rnCleanClientEnv(t.TempDir())
		if goUp != nil {
			target, u = "https://"+goName+":"+strconv.Itoa(goUp.port)+"/echo", goUp
			t.Logf("the Go client calls %s (%s), proxied through ProxyFromEnvironment", target, goIP)
		} else {
			t.Logf("no host name of this machine resolves to a local address: the Go client proxies %s explicitly", up.hostport())
			env = append(env, "E2E_EXPLICIT_PROXY=1")
		}
		for _, agent := range []bool{false, true} {
			before := u.count()
			r := runTool(t, agent, env, client, target)
			if r.code != 0 || r.stdout != "go 200 authorized GET /echo\n" {
				t.Fatalf("the Go program (agent mode %v) under run:\n%s", agent, r)
			}
			u.checkAuth(t, before, want)
		}
	})
}

// rnGitUpstream serves one bare repository (with one commit) through git
// http-backend behind basic auth user:pass; it returns the upstream and
// the repository's path.
func rnGitUpstream(t *testing.T, ca *pxCA, user, pass string) (*rnUpstream, string) {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		return rnStartUpstream(t, ca, rnUpstreamIP, http.NotFoundHandler()), "none.git"
	}
	backend := ""
	if out, err := exec.Command(git, "--exec-path").Output(); err == nil {
		backend = filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	}
	work := t.TempDir()
	root := filepath.Join(work, "repos")
	src := filepath.Join(work, "src")
	env := childEnv(append(rnCleanClientEnv(filepath.Join(work, "home")),
		"GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com", "GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.com")...)
	for _, args := range [][]string{
		{"init", "-q", "--bare", filepath.Join(root, "repo.git")},
		{"init", "-q", src},
		{"-C", src, "commit", "-q", "--allow-empty", "-m", "e2e: the commit to clone"},
		{"-C", src, "push", "-q", filepath.Join(root, "repo.git"), "HEAD:refs/heads/main"},
		{"-C", filepath.Join(root, "repo.git"), "symbolic-ref", "HEAD", "refs/heads/main"},
	} {
		cmd := exec.Command(git, args...)
		cmd.Env = env
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("preparing the repository: git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	h := &cgi.Handler{Path: backend, Root: "/", Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	return rnStartUpstream(t, ca, rnUpstreamIP, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if vals := r.Header.Values("Authorization"); len(vals) != 1 || vals[0] != wantAuth {
			w.Header().Set("WWW-Authenticate", `Basic realm="private git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		if _, err := os.Stat(backend); err != nil {
			http.Error(w, "git http-backend is not installed", http.StatusNotImplemented)
			return
		}
		r.Header.Del("Authorization")
		h.ServeHTTP(w, r)
	})), "repo.git"
}
