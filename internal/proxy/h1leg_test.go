package proxy_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/proxy"
)

// Simple requests (GET and HEAD without a body) of HTTP/1 agents go
// upstream over pooled HTTP/1.1 connections written and read by the
// handler itself. A kept connection serves the next request.
func TestUpstreamConnectionReused(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": "sk_live_reuse_0123456789"}, bearer("api", "api.test", "API_KEY"))
	var mu sync.Mutex
	var remotes []string
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		remotes = append(remotes, r.RemoteAddr)
		mu.Unlock()
		_, _ = io.WriteString(w, "upstream "+r.Method+" "+r.URL.Path)
	}))
	c := e.client(e.agent("bot", "proxy"), "default", false)
	for _, m := range []string{"GET", "HEAD", "GET"} {
		req, _ := http.NewRequest(m, "https://"+e.upstream+"/r", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := read(t, resp)
		if want := map[string]string{"GET": "upstream GET /r", "HEAD": ""}[m]; resp.StatusCode != 200 || body != want {
			t.Fatalf("%s: %d %q", m, resp.StatusCode, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(remotes) != 3 || remotes[0] != remotes[1] || remotes[1] != remotes[2] {
		t.Fatalf("the upstream connection was not reused: %v", remotes)
	}
}

// An upstream that sends a second, unsolicited response after the one
// asked for (in the same packet, or later while the connection is idle)
// must not have it taken as the answer to the next request through the
// pool (the same agent's: another agent's never goes out on it,
// TestUpstreamConnectionsAreNotShared): the connection is dropped instead.
// The extra bytes may sit in the response reader, in the TLS layer's
// buffer (a record of their own) or in the socket.
func TestUpstreamUnsolicitedResponseNotServed(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": "sk_live_smuggle_0123456789"}, bearer("api", "api.test", "API_KEY"))
	const smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Smuggled: 1\r\n\r\nsmuggled"
	var held []net.Conn // kept open: a closed connection would not be reused anyway
	var heldMu sync.Mutex
	t.Cleanup(func() {
		heldMu.Lock()
		defer heldMu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	// written says when the upstream has sent everything: bytes that
	// arrive after the next request was sent are that request's answer as
	// far as HTTP/1.1 can tell (an upstream may answer anything), so the
	// test orders them before it.
	written := make(chan struct{}, 1)
	sendLate := make(chan struct{})
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same-packet", "/next-record", "/later":
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			heldMu.Lock()
			held = append(held, c)
			heldMu.Unlock()
			first := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
			switch r.URL.Path {
			case "/same-packet": // one TLS record
				_, _ = io.WriteString(brw, first+smuggled)
				_ = brw.Flush()
				written <- struct{}{}
				return
			case "/next-record": // two records, back to back
				_, _ = io.WriteString(brw, first)
				_ = brw.Flush()
				_, _ = io.WriteString(brw, smuggled)
				_ = brw.Flush()
				written <- struct{}{}
				return
			}
			_, _ = io.WriteString(brw, first)
			_ = brw.Flush()
			go func() {
				<-sendLate
				_, _ = io.WriteString(c, smuggled)
				written <- struct{}{}
			}()
		default:
			_, _ = io.WriteString(w, "genuine "+r.URL.Path)
		}
	}))
	agent := e.client(e.agent("bot", "proxy"), "default", false)
	for _, path := range []string{"/same-packet", "/next-record", "/later"} {
		resp, err := agent.Get("https://" + e.upstream + path)
		if err != nil {
			t.Fatal(err)
		}
		if body := read(t, resp); body != "first" {
			t.Fatalf("%s: %q", path, body)
		}
		if path == "/later" {
			close(sendLate)
		}
		<-written
		resp, err = agent.Get("https://" + e.upstream + "/next")
		if err != nil {
			t.Fatal(err)
		}
		body := read(t, resp)
		if body != "genuine /next" || resp.Header.Get("X-Smuggled") != "" {
			t.Fatalf("%s: the next request got %d %q %v", path, resp.StatusCode, body, resp.Header)
		}
	}
}

// An upstream (or a middlebox) can also cut its unsolicited response's
// TLS record so that the record's first bytes arrive in the same socket
// read as the answer asked for and the rest only later, after the next
// request was sent. crypto/tls reads ahead as much as the socket holds:
// the partial record sits in its private buffer, where neither the
// response reader, nor the socket, nor a TLS read that cannot complete a
// record sees it. The proxy must still not reuse that connection, or the
// next request through the pool would be answered with the upstream's
// unsolicited bytes. Cut after 1 byte, inside and at the end of the
// 5-byte record header, and inside the record's body; TLS 1.2 and 1.3.
// A clean connection is still reused (the control case).
func TestUpstreamUnsolicitedPartialRecordNotServed(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": "sk_live_partial_0123456789"}, bearer("api", "api.test", "API_KEY"))
	agent := e.client(e.agent("bot", "proxy"), "default", false)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, split := range []int{0, 1, 3, 5, 10} { // 0: nothing unsolicited (the control case)
			name := tls.VersionName(version) + " split " + itoa(split)
			up := startSplitRecordUpstream(t, e.upMinter, version, split)
			base := "https://api.test:" + itoa(up.port)
			first := "/dirty"
			if split == 0 {
				first = "/clean"
			}
			resp, err := agent.Get(base + first)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if body := read(t, resp); resp.StatusCode != 200 || (split > 0 && body != "first") {
				t.Fatalf("%s: the first request got %d %q", name, resp.StatusCode, body)
			}
			// The proxy has handed the connection back (to the pool, or
			// closed it) once the agent has the body or just after: wait
			// for either, so that the next request cannot miss a pooled
			// connection by coming too early.
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, ended, _ := up.state()
				if proxy.IdleUpstreamConns(e.proxy, base) == 1 || ended[1] {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: the proxy neither pooled nor closed the upstream connection", name)
				}
				time.Sleep(time.Millisecond)
			}
			resp, err = agent.Get(base + "/next")
			if err != nil {
				t.Fatalf("%s: the next request: %v", name, err)
			}
			body := read(t, resp)
			if resp.StatusCode != 200 || body != "genuine /next" || resp.Header.Get("X-Smuggled") != "" {
				t.Fatalf("%s: the next request got %d %q %v", name, resp.StatusCode, body, resp.Header)
			}
			paths, _, failed := up.state()
			if failed != nil {
				t.Fatalf("%s: %v", name, failed)
			}
			want := map[int][]string{1: {"/dirty"}, 2: {"/next"}}
			if split == 0 {
				want = map[int][]string{1: {"/clean", "/next"}}
			}
			if !reflect.DeepEqual(paths, want) {
				t.Fatalf("%s: the upstream's connections carried %v, want %v", name, paths, want)
			}
		}
	}
}

// A response the agent stops reading half way is not pooled: its rest
// would be read as the next response.
func TestUpstreamHalfReadResponseNotReused(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": "sk_live_halfread_0123456789"}, bearer("api", "api.test", "API_KEY"))
	big := strings.Repeat("B", 4<<20)
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = io.WriteString(w, big)
			return
		}
		_, _ = io.WriteString(w, "genuine "+r.URL.Path)
	}))
	tok := e.agent("bot", "proxy")
	tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
	_, _ = io.WriteString(tc, "GET /big HTTP/1.1\r\nHost: "+e.upstream+"\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	tc.Close() // the agent goes away mid-body
	for i := 0; i < 3; i++ {
		resp, err := e.client(tok, "default", false).Get("https://" + e.upstream + "/next")
		if err != nil {
			t.Fatal(err)
		}
		if body := read(t, resp); body != "genuine /next" {
			t.Fatalf("request %d after a half-read response got %d %.80q", i, resp.StatusCode, body)
		}
	}
}

// An HTTP/2 agent's simple GET and HEAD go upstream over the HTTP/1.1 leg
// (cheaper for the proxy and the upstream); its other requests (gRPC is a
// POST) keep HTTP/2 end to end.
func TestHTTP2AgentsSimpleRequestsTakeTheHTTP1Leg(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": "sk_live_h2leg_0123456789"}, bearer("api", "api.test", "API_KEY"))
	var mu sync.Mutex
	protos := map[string]int{}
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		protos[r.Method] = r.ProtoMajor
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer sk_live_h2leg_0123456789" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "upstream "+r.Method)
	}))
	c := e.client(e.agent("bot", "proxy"), "default", true)
	for _, m := range []string{"GET", "HEAD", "POST"} {
		var body io.Reader
		if m == "POST" {
			body = strings.NewReader("payload")
		}
		req, _ := http.NewRequest(m, "https://"+e.upstream+"/r", body)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got := read(t, resp)
		if resp.ProtoMajor != 2 {
			t.Fatalf("%s: the agent spoke HTTP/%d to the proxy, want 2", m, resp.ProtoMajor)
		}
		if want := map[string]string{"GET": "upstream GET", "HEAD": "", "POST": "upstream POST"}[m]; resp.StatusCode != 200 || got != want {
			t.Fatalf("%s: %d %q", m, resp.StatusCode, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if protos["GET"] != 1 || protos["HEAD"] != 1 || protos["POST"] != 2 {
		t.Fatalf("upstream saw HTTP major versions %v, want GET and HEAD 1, POST 2", protos)
	}
}
