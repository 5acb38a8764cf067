package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// laggingUpstream is an HTTP/1.1 server with two flaws real servers have
// had: POST …/ignore does not read its body (which it then parses as the
// next request), and once a connection has been desynchronised that way
// its answers lag: each is sent only when the next request's header has
// arrived, as a slow endpoint's would be. POST /echo answers with its body.
type laggingUpstream struct{ ln net.Listener }

func startLaggingUpstream(t *testing.T) *laggingUpstream {
	t.Helper()
	return &laggingUpstream{ln: serveRaw(t, serveLagging)}
}

func serveLagging(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	var held string // the answer waiting for the next request
	lagging := false
	for {
		method, path, n, auth, err := readRequestHead(br)
		if err != nil {
			return
		}
		if held != "" {
			if _, err := io.WriteString(c, held); err != nil {
				return
			}
			held = ""
		}
		answer := "ok"
		switch {
		case method == "POST" && strings.HasSuffix(path, "/ignore"):
			n = 0 // the flaw: the body is left to be read as the next request
			answer = "ignored"
		case method == "POST" && path == "/echo":
			body := make([]byte, n)
			if _, err := io.ReadFull(br, body); err != nil {
				return
			}
			n, answer = 0, string(body)
		case path == "/api/whoami": // shows the request's credential back
			answer = "you sent " + auth
		case path == "/smuggled":
			answer = "smuggled"
			lagging = true
		}
		if _, err := br.Discard(n); err != nil {
			return
		}
		msg := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(answer)) + "\r\n\r\n" + answer
		if lagging {
			held = msg
			continue
		}
		if _, err := io.WriteString(c, msg); err != nil {
			return
		}
	}
}

// readRequestHead reads a request line and header: the method, the path,
// the declared Content-Length and the Authorization field.
func readRequestHead(br *bufio.Reader) (method, path string, n int, auth string, err error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", "", 0, "", err
	}
	method, rest, _ := strings.Cut(line, " ")
	path, _, _ = strings.Cut(rest, " ")
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return "", "", 0, "", err
		}
		if h == "\r\n" {
			return method, path, n, auth, nil
		}
		k, v, _ := strings.Cut(h, ":")
		switch {
		case strings.EqualFold(k, "Content-Length"):
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		case strings.EqualFold(k, "Authorization"):
			auth = strings.TrimSpace(v)
		}
	}
}

// TestUpstreamDesyncStaysWithItsAgent plays an agent that knows its
// upstream ignores the body of one endpoint and answers late. It smuggles
// a request in such a body, so that the upstream connection's answers lag
// one behind its requests, and then sends another request, hoping that a
// second agent's request went out on that connection in between: the
// second agent would get the smuggled request's answer, and the first
// would get the second's (with whatever it holds: the agent's data, a
// credential the upstream shows back). Upstream connections are never
// shared between agents, so the second agent's exchange goes out on a
// connection of its own and is answered correctly, and the first agent
// only ever reads answers to its own requests.
func TestUpstreamDesyncStaysWithItsAgent(t *testing.T) {
	e := newEnv(t, true)
	up := startLaggingUpstream(t)
	port := up.ln.Addr().(*net.TCPAddr).Port
	svc := bearer("api", "plain.test:"+itoa(port), "API_KEY")
	svc.AllowPlaintext = true
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	attacker := e.client(e.agent("attacker", "proxy"), "default", false)
	victim := e.client(e.agent("victim", "proxy"), "default", false)
	base := "http://plain.test:" + itoa(port)
	post := func(c *http.Client, path, body string) string {
		t.Helper()
		resp, err := c.Post(base+path, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		return string(b)
	}
	if got := post(attacker, "/ignore", "GET /smuggled HTTP/1.1\r\nHost: plain.test\r\n\r\n"); got != "ignored" {
		t.Fatalf("the smuggling request was answered %q", got)
	}
	const private = "the victim's private data"
	if got := post(victim, "/echo", private); got != private {
		t.Errorf("the victim's request was answered %q: its upstream connection is the attacker's", got)
	}
	if got := post(attacker, "/echo", "next"); strings.Contains(got, private) {
		t.Errorf("the attacker read the answer to the victim's request: %q", got)
	}
}

// TestUpstreamDesyncStaysWithItsService: the same attack by one agent
// against itself. It desynchronises a connection with a request of a
// service that injects a credential, sends a request of that service to
// an endpoint that shows its credential back, and then one no service
// matches (a passthrough, which nothing redacts), hoping to be answered
// with the credential. Upstream connections are kept per service, so the
// passthrough goes out on a connection of its own.
func TestUpstreamDesyncStaysWithItsService(t *testing.T) {
	e := newEnv(t, true)
	up := startLaggingUpstream(t)
	port := up.ln.Addr().(*net.TCPAddr).Port
	svc := bearer("api", "plain.test:"+itoa(port)+"/api/*", "API_KEY")
	svc.AllowPlaintext = true
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	agent := e.client(e.agent("attacker", "proxy"), "default", false)
	base := "http://plain.test:" + itoa(port)
	for _, step := range []struct{ path, body string }{
		{"/api/ignore", "GET /smuggled HTTP/1.1\r\nHost: plain.test\r\n\r\n"},
		{"/api/whoami", ""},
		{"/ignore", "passthrough"},
	} {
		resp, err := agent.Post(base+step.path, "text/plain", strings.NewReader(step.body))
		if err != nil {
			t.Fatalf("POST %s: %v", step.path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("POST %s: %v", step.path, err)
		}
		if strings.Contains(string(b), secretValue) {
			t.Fatalf("POST %s was answered with the credential: %q", step.path, b)
		}
	}
}

// TestUpstreamConnectionsAreNotShared: each agent's requests go out on
// upstream connections of its own, on every upstream leg (simple GETs,
// other HTTP/1.1 requests, HTTP/2), and an agent's consecutive requests
// still reuse its connection.
func TestUpstreamConnectionsAreNotShared(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	var mu sync.Mutex
	conns := map[string]map[string]int{} // agent → upstream connection (proxy's address) → requests
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		who := r.URL.Query().Get("agent")
		if conns[who] == nil {
			conns[who] = map[string]int{}
		}
		conns[who][r.Proto+" "+r.RemoteAddr]++
		mu.Unlock()
		_, _ = io.WriteString(w, "fine")
	}))
	agents := map[string]string{"one": e.agent("one", "proxy"), "two": e.agent("two", "proxy")}
	for _, h2 := range []bool{false, true} {
		clients := map[string]*http.Client{}
		for name, tok := range agents {
			clients[name] = e.client(tok, "default", h2)
		}
		for range 3 {
			for _, name := range []string{"one", "two"} {
				u := "https://" + e.upstream + "/x?agent=" + name
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					req, _ := http.NewRequest(method, u, strings.NewReader("body"))
					if method == http.MethodGet {
						req.Body, req.ContentLength = nil, 0
					}
					resp, err := clients[name].Do(req)
					if err != nil {
						t.Fatalf("%s %s (HTTP/2 %v): %v", method, name, h2, err)
					}
					if read(t, resp) != "fine" {
						t.Fatalf("%s %s: unexpected answer", method, name)
					}
				}
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for c, n := range conns["one"] {
		if conns["two"][c] > 0 {
			t.Errorf("upstream connection %s carried requests of both agents (%d and %d)", c, n, conns["two"][c])
		}
	}
	for name, cs := range conns {
		reused := false
		for _, n := range cs {
			reused = reused || n > 1
		}
		if !reused {
			t.Errorf("agent %s never reused an upstream connection: %v", name, cs)
		}
	}
}

// TestUpstreamConnectionsNotReusedAfterAServiceEdit: once a person saves
// the vault's services (here: a deny rule added to the service), the agent's next requests go over new upstream connections,
// never one opened under the services as they were (which an agent may
// have pushed out of step while its service was looser), on both
// upstream legs, for HTTP/1.1 and HTTP/2 agents.
func TestUpstreamConnectionsNotReusedAfterAServiceEdit(t *testing.T) {
	e := newEnv(t, true)
	svc := bearer("api", "api.test", "API_KEY")
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	var mu sync.Mutex
	var seen []string // upstream connection of each request, in order
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen = append(seen, r.Proto+" "+r.RemoteAddr)
		mu.Unlock()
		_, _ = io.WriteString(w, "fine")
	}))
	tok := e.agent("bot", "proxy")
	edits := 0
	for _, h2 := range []bool{false, true} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			c := e.client(tok, "default", h2)
			send := func() string {
				t.Helper()
				req, _ := http.NewRequest(method, "https://"+e.upstream+"/x", strings.NewReader("body"))
				if method == http.MethodGet {
					req.Body, req.ContentLength = nil, 0
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s (HTTP/2 %v): %v", method, h2, err)
				}
				if read(t, resp) != "fine" {
					t.Fatalf("%s: unexpected answer", method)
				}
				mu.Lock()
				defer mu.Unlock()
				return seen[len(seen)-1]
			}
			before := send()
			if again := send(); again != before {
				t.Fatalf("%s (HTTP/2 %v): no reuse before the edit (%s, then %s)", method, h2, before, again)
			}
			edits++
			svc.Paths = &apitype.PathRules{Deny: []string{"/admin-" + itoa(edits)}} // a change each time
			if _, err := e.b.ReplaceServices(context.Background(), e.owner, "default", apitype.ServiceList{Services: []apitype.Service{svc}}, false); err != nil {
				t.Fatal(err)
			}
			after := send()
			if after == before {
				t.Errorf("%s (HTTP/2 %v): after the edit the request went over the connection opened before it (%s)", method, h2, before)
			}
			if again := send(); again != after {
				t.Errorf("%s (HTTP/2 %v): no reuse after the edit (%s, then %s)", method, h2, after, again)
			}
		}
	}
}
