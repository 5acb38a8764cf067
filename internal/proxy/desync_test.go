package proxy_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// cl0Upstream is an HTTP/1.1 server with a desync bug real servers have
// had ("CL.0"): it ignores the Content-Length of a GET, HEAD, OPTIONS or
// DELETE and reads the body as the next request on the connection. It
// stores the body of POST /store, as a comment or issue API would.
type cl0Upstream struct {
	ln     net.Listener
	mu     sync.Mutex
	stored []string
}

func startCL0Upstream(t *testing.T) *cl0Upstream {
	t.Helper()
	u := &cl0Upstream{}
	u.ln = serveRaw(t, u.serve)
	return u
}

func (u *cl0Upstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		method, rest, _ := strings.Cut(line, " ")
		path, _, _ := strings.Cut(rest, " ")
		n := 0
		for {
			h, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if h == "\r\n" {
				break
			}
			if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "Content-Length") {
				n, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		switch method {
		case "GET", "HEAD", "OPTIONS", "DELETE":
			n = 0 // the bug: the body is left to be read as the next request
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		if method == "POST" && path == "/store" {
			u.mu.Lock()
			u.stored = append(u.stored, string(body))
			u.mu.Unlock()
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// TestUpstreamDesyncCannotCaptureACredential plays an agent that knows its
// upstream ignores the body of a GET (a "CL.0" desync). It sends a GET
// whose body is the start of a POST /store with a long Content-Length;
// the upstream answers the GET and waits for the POST's body. Were the
// proxy to reuse that connection for its next request (a POST that
// carries the injected credential, the agent's own or another agent's),
// that request would become the stored body, credential included, for
// the agent to read back. A request whose method gives a body no meaning
// never leaves its upstream connection open for another.
func TestUpstreamDesyncCannotCaptureACredential(t *testing.T) {
	e := newEnv(t, true)
	up := startCL0Upstream(t)
	port := up.ln.Addr().(*net.TCPAddr).Port
	svc := bearer("api", "plain.test:"+itoa(port), "API_KEY")
	svc.AllowPlaintext = true
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	c := e.client(e.agent("bot", "proxy"), "default", false)
	attemptCL0Capture(t, c, "http://plain.test:"+itoa(port), []string{"GET", "HEAD", "OPTIONS", "DELETE"}, 1)
	up.requireNothingCaptured(t)
}

// attemptCL0Capture sends, for each method, a request whose body starts a
// POST /store with a long length, then a POST that carries the injected
// credential, which a desynchronised upstream would store; the agent
// speaks HTTP/major to the proxy.
func attemptCL0Capture(t *testing.T, c *http.Client, base string, methods []string, major int) {
	t.Helper()
	for _, method := range methods {
		smuggled := "POST /store HTTP/1.1\r\nHost: plain.test\r\nContent-Length: 180\r\n\r\n"
		req, _ := http.NewRequest(method, base+"/x", strings.NewReader(smuggled))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s with a body: %v", method, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != major {
			t.Fatalf("the agent spoke HTTP/%d, want HTTP/%d", resp.ProtoMajor, major)
		}
		// The credential-bearing request that could be captured.
		victim, _ := http.NewRequest(http.MethodPost, base+"/api/comments", strings.NewReader(strings.Repeat("v", 200)))
		if resp, err = c.Do(victim); err != nil {
			t.Fatalf("%s: the next POST: %v", method, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// requireNothingCaptured fails t if the upstream stored a request that
// carried the credential.
func (u *cl0Upstream) requireNothingCaptured(t *testing.T) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range u.stored {
		if strings.Contains(s, secretValue) || strings.Contains(s, "Authorization") {
			t.Errorf("the upstream stored a captured request:\n%s", s)
		}
	}
}

// TestUpstreamDesyncFromAnHTTP2AgentCannotCaptureACredential is the same
// attack by an agent that speaks HTTP/2 to the proxy, through an
// intercepted tunnel to an HTTPS upstream that speaks only HTTP/1.1. The
// agent's side has no "CL.0" of its own, but the upstream leg does: what
// decides is the protocol the proxy speaks upstream, not the agent's.
func TestUpstreamDesyncFromAnHTTP2AgentCannotCaptureACredential(t *testing.T) {
	e := newEnv(t, true)
	up := &cl0Upstream{}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{NextProtos: []string{"http/1.1"},
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return e.upMinter.Leaf(h.ServerName) }})
	if err != nil {
		t.Fatal(err)
	}
	up.ln = ln
	serveOn(t, ln, up.serve)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	c := e.client(e.agent("bot", "proxy"), "default", true)
	attemptCL0Capture(t, c, "https://api.test:"+itoa(ln.Addr().(*net.TCPAddr).Port), []string{"GET", "OPTIONS", "DELETE"}, 2)
	up.requireNothingCaptured(t)
}
