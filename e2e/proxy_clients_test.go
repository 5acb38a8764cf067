package e2e

// Real clients through the real binary's broker proxy: each asserts that
// the upstream saw the real credential and that the client never did.

import (
	"encoding/base64"
	"net/http"
	"net/http/cgi"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const (
	pxAPIKey = "sk_live_e2e_BEARER_7f3a9c1d5b"
)

// pxBearerSetup starts a broker and an upstream that requires
// "Bearer pxAPIKey", with a bearer service on localhost:<port> and
// 127.0.0.1:<port>; it returns the agent token.
func pxBearerSetup(t *testing.T) (*pxBroker, *pxUpstream, string) {
	t.Helper()
	return pxSetup(t, pxOpts{}, nil)
}

// pxSetup is pxBearerSetup with server options, and handler h behind the
// upstream's credential check (nil: pxAuthHandler's answer).
func pxSetup(t *testing.T, o pxOpts, h http.Handler) (*pxBroker, *pxUpstream, string) {
	t.Helper()
	ca := pxNewCA(t)
	if h == nil {
		h = pxAuthHandler("Bearer " + pxAPIKey)
	} else {
		h = pxRequireAuth("Bearer "+pxAPIKey, h)
	}
	up := pxStartUpstream(t, ca, h)
	o.ca = ca
	b := pxStart(t, o)
	b.creds("", map[string]string{"API_KEY": pxAPIKey})
	p := strconv.Itoa(up.port)
	b.services("", `services:
  - name: api
    host: localhost:`+p+`
    auth: {type: bearer, token: API_KEY}
  - name: api-ip
    host: 127.0.0.1:`+p+`
    auth: {type: bearer, token: API_KEY}
`)
	return b, up, b.agent("bot")
}

func TestProxyGoNetHTTP(t *testing.T) {
	t.Parallel()
	b, up, tok := pxBearerSetup(t)
	for _, c := range []struct {
		name string
		h2   bool
		host string
	}{
		{"http1.1 localhost", false, up.hostport()},
		{"http2 localhost", true, up.hostport()},
		{"http1.1 ip literal", false, "127.0.0.1:" + strconv.Itoa(up.port)},
		{"http2 ip literal", true, "127.0.0.1:" + strconv.Itoa(up.port)},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := b.client(tok, "default", c.h2)
			before := up.count()
			req, _ := http.NewRequest(http.MethodGet, "https://"+c.host+"/v1/things?x=1", nil)
			// Whatever the agent puts in the managed slot is overwritten,
			// and broker headers inside the tunnel never reach the upstream
			// (nor change anything).
			req.Header.Set("Authorization", "Bearer agent-made-this-up")
			req.Header.Set("X-Vault", "other")
			req.Header.Set("Proxy-Authorization", pxBasic("av_agt_inner", "other"))
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := b.read(resp)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "authorized GET /v1/things") {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			want := 1
			if c.h2 {
				want = 2
			}
			if resp.ProtoMajor != want {
				t.Errorf("the agent side spoke HTTP/%d, want HTTP/%d", resp.ProtoMajor, want)
			}
			if up.count() != before+1 {
				t.Fatalf("upstream got %d requests, want 1", up.count()-before)
			}
			s := up.last(t)
			pxCheckInjected(t, s, "Bearer "+pxAPIKey)
			if s.Host != c.host {
				t.Errorf("upstream Host %q, want %q", s.Host, c.host)
			}
			if s.RawQuery != "x=1" {
				t.Errorf("upstream query %q", s.RawQuery)
			}
			// A simple GET takes the HTTP/1.1 upstream leg whatever the
			// agent spoke (docs/proxy.md); the POSTs below keep HTTP/2.
			if s.Proto != 1 {
				t.Errorf("the upstream leg spoke HTTP/%d, want HTTP/1", s.Proto)
			}
		})
	}
	// A POST with a body, kept alive on the same tunnel.
	cl := b.client(tok, "default", true)
	for i := range 3 {
		resp, err := cl.Post(up.url()+"/upload", "application/json", strings.NewReader(`{"n":`+strconv.Itoa(i)+`}`))
		if err != nil {
			t.Fatal(err)
		}
		if body := b.read(resp); resp.StatusCode != http.StatusOK {
			t.Fatalf("POST: %d %q", resp.StatusCode, body)
		}
		if s := up.last(t); string(s.Body) != `{"n":`+strconv.Itoa(i)+`}` || s.Method != http.MethodPost || s.Proto != 2 {
			t.Fatalf("upstream saw %s %q over HTTP/%d, want a POST over HTTP/2", s.Method, s.Body, s.Proto)
		}
	}
}

func TestProxyCurl(t *testing.T) {
	t.Parallel()
	curl := pxTool(t, "curl")
	b, up, tok := pxBearerSetup(t)
	proxy := b.proxyURL(tok, "default").String()
	env := pxClientEnv(t)
	base := []string{"-sS", "-v", "--max-time", "20", "--noproxy", "", "--proxy", proxy, "--cacert", b.caFile}
	for _, c := range []struct {
		name  string
		args  []string
		proto string // the status line curl prints
		post  bool
	}{
		{"http1.1 GET", []string{"--http1.1", up.url() + "/repos?page=2"}, "HTTP/1.1 200", false},
		{"http2 GET", []string{"--http2", up.url() + "/repos?page=2"}, "HTTP/2 200", false},
		{"http2 POST", []string{"--http2", "-H", "Content-Type: application/json", "--data-binary", `{"title":"from curl"}`, up.url() + "/issues"}, "HTTP/2 200", true},
		{"http1.1 POST ip literal", []string{"--http1.1", "--data-binary", "a=1&b=2", "https://127.0.0.1:" + strconv.Itoa(up.port) + "/form"}, "HTTP/1.1 200", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := up.count()
			o := b.run("", env, curl, append(append([]string(nil), base...), c.args...)...)
			if o.err != nil {
				t.Fatalf("curl failed:\n%s", o)
			}
			if !strings.HasPrefix(o.stdout, "authorized ") {
				t.Fatalf("curl did not get the upstream's answer:\n%s", o)
			}
			if !strings.Contains(o.stderr, "< "+c.proto) {
				t.Errorf("curl's status line is not %q:\n%s", c.proto, o.stderr)
			}
			if !strings.Contains(o.stderr, "Proxy-Authorization: Basic") {
				t.Errorf("curl did not authenticate to the proxy:\n%s", o.stderr)
			}
			if up.count() != before+1 {
				t.Fatalf("upstream got %d requests, want 1", up.count()-before)
			}
			s := up.last(t)
			pxCheckInjected(t, s, "Bearer "+pxAPIKey)
			if c.post {
				want := c.args[len(c.args)-2]
				if s.Method != http.MethodPost || string(s.Body) != want {
					t.Errorf("upstream saw %s %q, want POST %q", s.Method, s.Body, want)
				}
			}
		})
	}
}

func TestProxyPythonRequests(t *testing.T) {
	t.Parallel()
	py := pxPython(t)
	b, up, tok := pxBearerSetup(t)
	script := `
import sys, json, requests
proxy, ca, base = sys.argv[1], sys.argv[2], sys.argv[3]
s = requests.Session()
s.trust_env = False  # only what this script says
r = s.get(base + "/user?fields=login", proxies={"https": proxy}, verify=ca, timeout=20)
print("GET", r.status_code, r.text)
print("request headers:", dict(r.request.headers))
print("response headers:", dict(r.headers))
r = s.post(base + "/gists", json={"files": {"a.txt": "hello from python"}}, proxies={"https": proxy}, verify=ca, timeout=20)
print("POST", r.status_code, r.text)
print("request headers:", dict(r.request.headers))
`
	for _, host := range []string{up.hostport(), "127.0.0.1:" + strconv.Itoa(up.port)} {
		before := up.count()
		o := b.run("", pxClientEnv(t), py, "-c", script, b.proxyURL(tok, "default").String(), b.caFile, "https://"+host)
		if o.err != nil {
			t.Fatalf("python failed:\n%s", o)
		}
		if !strings.Contains(o.stdout, "GET 200 authorized GET /user") || !strings.Contains(o.stdout, "POST 200 authorized POST /gists") {
			t.Fatalf("python did not get the upstream's answers:\n%s", o)
		}
		reqs := up.requests()[before:]
		if len(reqs) != 2 {
			t.Fatalf("upstream got %d requests, want 2", len(reqs))
		}
		for _, s := range reqs {
			pxCheckInjected(t, s, "Bearer "+pxAPIKey)
		}
		if got := string(reqs[1].Body); got != `{"files": {"a.txt": "hello from python"}}` {
			t.Errorf("upstream saw POST body %q", got)
		}
		if reqs[0].RawQuery != "fields=login" {
			t.Errorf("upstream saw query %q", reqs[0].RawQuery)
		}
	}
}

// pxNodeScript tunnels by hand (Node's fetch ignores proxies): CONNECT
// through http.request, TLS over the socket trusting only the broker CA,
// then an https.request on that TLS socket.
const pxNodeScript = `
const http = require('http'), https = require('https'), tls = require('tls'), fs = require('fs');
const [proxyHost, proxyPort, proxyAuth, caFile, host, port] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);
function viaProxy(method, path, body) {
  return new Promise((resolve, reject) => {
    const target = host + ':' + port;
    const creq = http.request({host: proxyHost, port: Number(proxyPort), method: 'CONNECT', path: target,
      headers: {'Host': target, 'Proxy-Authorization': proxyAuth}});
    creq.on('error', reject);
    creq.on('connect', (res, socket) => {
      if (res.statusCode !== 200) { reject(new Error('CONNECT answered ' + res.statusCode)); return; }
      const req = https.request({host, port: Number(port), method, path,
        headers: body ? {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)} : {},
        createConnection: () => tls.connect({socket, host, servername: host === '127.0.0.1' ? undefined : host, ca, ALPNProtocols: ['http/1.1']})},
        (resp) => {
          let data = '';
          resp.on('data', (c) => data += c);
          resp.on('end', () => resolve({status: resp.statusCode, headers: resp.headers, body: data}));
        });
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
    creq.end();
  });
}
(async () => {
  const a = await viaProxy('GET', '/models?limit=1');
  console.log('GET', a.status, a.body, JSON.stringify(a.headers));
  const b = await viaProxy('POST', '/chat', JSON.stringify({prompt: 'hi from node'}));
  console.log('POST', b.status, b.body, JSON.stringify(b.headers));
})().catch((e) => { console.error('node client failed:', e); process.exit(1); });
`

func TestProxyNodeJS(t *testing.T) {
	t.Parallel()
	node := pxTool(t, "node")
	b, up, tok := pxBearerSetup(t)
	dir := t.TempDir()
	script := pxWriteFile(t, dir, "client.js", pxNodeScript)
	host, port, _ := strings.Cut(b.proxyAddr, ":")
	for _, target := range []string{"localhost", "127.0.0.1"} {
		before := up.count()
		o := b.run(dir, pxClientEnv(t), node, script, host, port, pxBasic(tok, "default"), b.caFile, target, strconv.Itoa(up.port))
		if o.err != nil {
			t.Fatalf("node failed:\n%s", o)
		}
		if !strings.Contains(o.stdout, "GET 200 authorized GET /models") || !strings.Contains(o.stdout, "POST 200 authorized POST /chat") {
			t.Fatalf("node did not get the upstream's answers:\n%s", o)
		}
		reqs := up.requests()[before:]
		if len(reqs) != 2 {
			t.Fatalf("upstream got %d requests, want 2", len(reqs))
		}
		for _, s := range reqs {
			pxCheckInjected(t, s, "Bearer "+pxAPIKey)
		}
		if got := string(reqs[1].Body); got != `{"prompt":"hi from node"}` {
			t.Errorf("upstream saw POST body %q", got)
		}
	}
}

// pxGitEnv is a git environment of its own (no system config, no prompts).
func pxGitEnv(t *testing.T, home string) []string {
	return append(pxClientEnv(t), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com", "GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.com")
}

func TestProxyGitCloneBasicAuth(t *testing.T) {
	t.Parallel()
	git := pxTool(t, "git")
	backend := "/usr/lib/git-core/git-http-backend"
	if out, err := exec.Command(git, "--exec-path").Output(); err == nil {
		if p := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"); p != "" {
			if _, err := os.Stat(p); err == nil {
				backend = p
			}
		}
	}
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("git http-backend is not installed: %v", err)
	}
	const user, pass = "git-bot", "ghp_e2e_PASSWORD_c0ffee1234"
	work := t.TempDir()
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}

	// A private repository with one commit.
	root := filepath.Join(work, "repos")
	src := filepath.Join(work, "src")
	b0 := &pxBroker{t: t} // runs git before the broker exists (no secrets yet)
	genv := pxGitEnv(t, home)
	for _, args := range [][]string{
		{"init", "-q", "--bare", filepath.Join(root, "repo.git")},
		{"init", "-q", "-b", "main", src},
		{"-C", src, "commit", "-q", "--allow-empty", "-m", "e2e: the commit to clone"},
		{"-C", src, "push", "-q", filepath.Join(root, "repo.git"), "main"},
		{"-C", filepath.Join(root, "repo.git"), "symbolic-ref", "HEAD", "refs/heads/main"},
	} {
		if o := b0.run(work, genv, git, args...); o.err != nil {
			t.Fatalf("preparing the repository:\n%s", o)
		}
	}
	cgiHandler := &cgi.Handler{Path: backend, Root: "/", Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	ca := pxNewCA(t)
	up := pxStartUpstream(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if vals := r.Header.Values("Authorization"); len(vals) != 1 || vals[0] != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="private git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		cgiHandler.ServeHTTP(w, r)
	}))

	b := pxStart(t, pxOpts{ca: ca})
	b.creds("", map[string]string{"GIT_USER": user, "GIT_PASSWORD": pass})
	b.services("", `services:
  - name: git-host
    host: localhost:`+strconv.Itoa(up.port)+`
    auth: {type: basic, username: GIT_USER, password: GIT_PASSWORD}
`)
	tok := b.agent("bot")
	repoURL := up.url() + "/repo.git"

	// Without the broker the upstream refuses (so the clone below proves
	// that the broker's credential got it through).
	direct := b.run(work, genv, git, "-c", "http.sslCAInfo="+ca.file, "ls-remote", repoURL)
	if direct.err == nil || up.count() == 0 {
		t.Fatalf("the upstream served git without credentials:\n%s", direct)
	}
	before := up.count()

	dst := filepath.Join(work, "clone")
	o := b.run(work, genv, git, "-c", "http.proxy="+b.proxyURL(tok, "default").String(), "-c", "http.sslCAInfo="+b.caFile,
		"clone", repoURL, dst)
	if o.err != nil {
		t.Fatalf("git clone through the proxy:\n%s", o)
	}
	logOut := b.run(work, genv, git, "-C", dst, "log", "--format=%s", "-1")
	if strings.TrimSpace(logOut.stdout) != "e2e: the commit to clone" {
		t.Fatalf("the clone does not have the commit:\n%s", logOut)
	}
	reqs := up.requests()[before:]
	if len(reqs) < 2 {
		t.Fatalf("upstream saw %d requests for a clone, want at least 2", len(reqs))
	}
	for _, s := range reqs {
		pxCheckInjected(t, s, want)
	}
	// Nothing on the agent's side holds the password: git's config, the
	// clone's config and the remote URL.
	for _, f := range []string{filepath.Join(dst, ".git", "config"), filepath.Join(home, ".gitconfig"), filepath.Join(home, ".git-credentials")} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		b.recordClient(string(data))
	}
	cfg := b.run(work, genv, git, "-C", dst, "config", "--list", "--show-origin")
	if cfg.err != nil {
		t.Fatalf("git config --list:\n%s", cfg)
	}
}

// TestProxyPlainHTTP: absolute-form requests, as curl sends them for
// http:// URLs (and as some clients send for https:// ones).
func TestProxyPlainHTTP(t *testing.T) {
	t.Parallel()
	curl := pxTool(t, "curl")
	b, up, tok := pxBearerSetup(t)
	plain := pxStartUpstream(t, nil, pxAuthHandler("Bearer "+pxAPIKey))
	proxy := b.proxyURL(tok, "default").String()
	env := pxClientEnv(t)
	get := func(u string) pxOut {
		return b.run("", env, curl, "-sS", "-v", "--max-time", "10", "--noproxy", "", "--proxy", proxy, u)
	}
	// A credentialed service with no port never goes over plaintext.
	b.services("", `services:
  - name: plain
    host: localhost
    auth: {type: bearer, token: API_KEY}
`)
	o := get(plain.url() + "/x")
	if o.err != nil || !strings.Contains(o.stdout, `"insecure_transport"`) || !strings.Contains(o.stderr, "< HTTP/1.1 403") {
		t.Errorf("plaintext request for a port-less credentialed service:\n%s", o)
	}
	if plain.count() != 0 {
		t.Fatalf("the plaintext upstream was reached without the operator's opt-in")
	}
	// An explicit port alone is no opt-in (port 443 least of all).
	b.services("", `services:
  - name: plain
    host: `+plain.hostport()+`
    auth: {type: bearer, token: API_KEY}
`)
	if o = get(plain.url() + "/x"); o.err != nil || !strings.Contains(o.stdout, `"insecure_transport"`) {
		t.Errorf("plaintext request for an explicit-port service without allow_plaintext:\n%s", o)
	}
	if plain.count() != 0 {
		t.Fatalf("the plaintext upstream was reached without allow_plaintext")
	}
	// allow_plaintext is the operator's choice: injected.
	b.services("", `services:
  - name: plain
    host: `+plain.hostport()+`
    allow_plaintext: true
    auth: {type: bearer, token: API_KEY}
  - name: api
    host: `+up.hostport()+`
    auth: {type: bearer, token: API_KEY}
`)
	o = get(plain.url() + "/x?y=1")
	if o.err != nil || !strings.HasPrefix(o.stdout, "authorized GET /x") || !strings.Contains(o.stderr, "> GET "+plain.url()+"/x?y=1 HTTP/1.1") {
		t.Fatalf("absolute-form through curl:\n%s", o)
	}
	pxCheckInjected(t, plain.last(t), "Bearer "+pxAPIKey)
	if s := plain.last(t); s.Host != plain.hostport() || s.RawQuery != "y=1" {
		t.Errorf("upstream saw Host %q query %q", s.Host, s.RawQuery)
	}
	// Absolute-form https:// (no CONNECT) is forwarded over TLS.
	r := b.dialRaw()
	resp, body := r.roundTrip(t, "GET "+up.url()+"/abs HTTP/1.1\r\nHost: "+up.hostport()+"\r\nProxy-Authorization: "+pxBasic(tok, "default")+"\r\n\r\n", http.MethodGet)
	b.recordClient(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "authorized GET /abs") {
		t.Fatalf("absolute-form https://: %d %q", resp.StatusCode, body)
	}
	pxCheckInjected(t, up.last(t), "Bearer "+pxAPIKey)
}

// TestProxyRevocationOnOpenTunnel: revoking through the CLI takes effect on
// a kept-alive tunnel at its very next request.
func TestProxyRevocationOnOpenTunnel(t *testing.T) {
	t.Parallel()
	b, up, _ := pxBearerSetup(t)
	for _, h2 := range []bool{false, true} {
		name := "bot-h1"
		if h2 {
			name = "bot-h2"
		}
		t.Run(name, func(t *testing.T) {
			atok := b.agent(name)
			cl := b.client(atok, "default", h2)
			var reused []bool
			do := func() (int, string) {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, up.url()+"/x", nil)
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
					GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) },
				}))
				resp, err := cl.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				return resp.StatusCode, b.read(resp)
			}
			if st, body := do(); st != 200 {
				t.Fatalf("before revocation: %d %s", st, body)
			}
			b.owner.ok("", "agent", "revoke", name)
			st, body := do()
			if len(reused) != 2 || !reused[1] {
				t.Fatalf("the second request did not reuse the tunnel (reused=%v)", reused)
			}
			if st != http.StatusProxyAuthRequired {
				t.Fatalf("after revocation, on the same tunnel: %d %s, want 407", st, body)
			}
		})
	}
}
