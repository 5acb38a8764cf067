package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/oauth/oauthtest"
)

// ocProvider starts the go-oauth2 provider fixture and writes its CA to a
// file the server can trust.
func ocProvider(t *testing.T, consentPage bool) (*oauthtest.Server, string) {
	t.Helper()
	p := oauthtest.Start(t, oauthtest.Options{AccessTTL: time.Hour, ConsentPage: consentPage})
	f := filepath.Join(t.TempDir(), "provider-ca.pem")
	if err := os.WriteFile(f, p.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, f
}

// ocBroker starts the real server with its proxy, trusting the provider's
// CA for token requests and upstream TLS, loopback allowed.
func ocBroker(t *testing.T, caFile string) *pxBroker {
	t.Helper()
	return pxStart(t, pxOpts{args: []string{"--upstream-ca-file", caFile},
		env: []string{"AGENT_VAULT_OAUTH_CA_FILE=" + caFile, "AGENT_VAULT_NETWORK_ALLOWLIST=127.0.0.1/32"}})
}

// ocBrowser is a person's browser as a Go client: cookies, the
// provider's CA, no automatic redirects.
type ocBrowser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

var ocHidden = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

func ocHiddenFields(page string) url.Values {
	f := url.Values{}
	for _, m := range ocHidden.FindAllStringSubmatch(page, -1) {
		f.Set(m[1], html.UnescapeString(m[2]))
	}
	return f
}

// ocLogin opens the console's login page and logs in, as a person does.
func ocLogin(t *testing.T, base string, caFile string, email, pw string) *ocBrowser {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("the provider CA file holds no certificate")
	}
	jar, _ := cookiejar.New(nil)
	b := &ocBrowser{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, _, page := b.get(base + "/login")
	f := ocHiddenFields(page)
	f.Set("email", email)
	f.Set("password", pw)
	if st, _ := b.post("/login", f); st != http.StatusSeeOther {
		t.Fatalf("console login as %s: %d", email, st)
	}
	return b
}

func (b *ocBrowser) get(u string) (int, string, string) {
	b.t.Helper()
	resp, err := b.hc.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func (b *ocBrowser) post(path string, f url.Values) (int, string) {
	b.t.Helper()
	resp, err := b.hc.PostForm(b.base+path, f)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// consentAndFinish opens the provider URL (which approves at once),
// follows it back to the vault's callback page and presses Finish.
func (b *ocBrowser) consentAndFinish(authURL string) string {
	b.t.Helper()
	st, loc, body := b.get(authURL)
	if st != http.StatusFound || !strings.HasPrefix(loc, b.base+"/v1/oauth/callback?") {
		b.t.Fatalf("provider: %d Location %q\n%s", st, loc, body)
	}
	st, _, page := b.get(loc)
	if st != http.StatusOK {
		b.t.Fatalf("callback page: %d\n%s", st, page)
	}
	st, page = b.post("/v1/oauth/callback", ocHiddenFields(page))
	if st != http.StatusOK {
		b.t.Fatalf("finish: %d\n%s", st, page)
	}
	return page
}

// ocCLI is a running CLI command whose output is read as it comes.
type ocCLI struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	done   chan struct{}
	out    strings.Builder
}

// ocStartCLI starts `agent-vault <args>` as user c, in the background.
func ocStartCLI(t *testing.T, c *cliUser, stdin string, args ...string) *ocCLI {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"--address", c.addr, "--data-dir", c.dir}, args...)...)
	cmd.Env = childEnv()
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	r := &ocCLI{cmd: cmd, lines: make(chan string, 100), stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = r.stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
		_ = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// line waits for the next line of standard output.
func (r *ocCLI) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-r.lines:
		if !ok {
			t.Fatalf("the command ended without printing a line; stderr:\n%s", r.stderr.String())
		}
		r.out.WriteString(l + "\n")
		return l
	case <-time.After(60 * time.Second):
		t.Fatalf("no output within a minute; stderr:\n%s", r.stderr.String())
		return ""
	}
}

// wait waits for the command to end and returns its exit code and the
// rest of its output.
func (r *ocCLI) wait(t *testing.T) (int, string) {
	t.Helper()
	for l := range r.lines {
		r.out.WriteString(l + "\n")
	}
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the command did not end; stderr:\n%s", r.stderr.String())
	}
	return r.cmd.ProcessState.ExitCode(), r.out.String()
}

// oauthtestClient registers a confidential client posting its secret.
func oauthtestClient(id, secret, redirect string) oauthtest.Client {
	return oauthtest.Client{ID: id, Secret: secret, AuthMethod: "client_secret_post", RedirectURI: redirect}
}
