package proxy_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/proxy"
)

// safety bounds how long a test waits for the proxy to act; the limits
// under test are far shorter, so reaching it means the limit did not act.
const safety = 20 * time.Second

func dialProxy(t *testing.T, e *env) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByProxy reads until the proxy closes the connection, and fails if
// it does not within safety.
func closedByProxy(t *testing.T, c net.Conn, br *bufio.Reader, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(safety))
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: the connection was still open after %v", what, safety)
	}
}

func basicAuth(tok string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(tok+":default"))
}

// A connection left open after an answer (a 407 here, as an attacker
// holding connections would) is closed once it has been idle for
// IdleTimeout; so is one that never sends a byte.
func TestProxyClosesIdleKeptAliveConnections(t *testing.T) {
	e := newEnvConns(t, true, nil, nil, proxy.ConnLimits{IdleTimeout: 300 * time.Millisecond, StreamIdleTimeout: 2 * time.Second})
	for _, req := range []string{
		"GET http://" + e.plainUp + "/ HTTP/1.1\r\nHost: " + e.plainUp + "\r\n\r\n",
		"CONNECT api.test:443 HTTP/1.1\r\nHost: api.test:443\r\n\r\n",
	} {
		c := dialProxy(t, e)
		br := bufio.NewReader(c)
		_, _ = io.WriteString(c, req)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusProxyAuthRequired || resp.Close {
			t.Fatalf("%q: %d close=%v, want a kept-alive 407", req[:20], resp.StatusCode, resp.Close)
		}
		closedByProxy(t, c, br, "idle after a 407")
	}
	silent := dialProxy(t, e)
	closedByProxy(t, silent, bufio.NewReader(silent), "never sent a byte")
}

// A request that announces 100 body bytes and sends 3 is cut after
// BodyTimeout and its connection closed.
func TestProxyClosesSlowBody(t *testing.T) {
	e := newEnvConns(t, true, nil, nil, proxy.ConnLimits{BodyTimeout: 200 * time.Millisecond})
	e.setup(nil)
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "read %d %v", len(b), err)
	}))
	tok := e.agent("bot", "proxy")
	c := dialProxy(t, e)
	fmt.Fprintf(c, "POST http://%s/upload HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\nContent-Length: 100\r\n\r\nabc", e.plainUp, e.plainUp, basicAuth(tok))
	closedByProxy(t, c, bufio.NewReader(c), "3 of 100 body bytes")
}

// The per-address and total caps refuse the connection over them with a
// 503 the client can read; a connection closed frees its place.
func TestProxyConnectionCaps(t *testing.T) {
	for _, lim := range []proxy.ConnLimits{{MaxConnsPerIP: 2}, {MaxConns: 2}} {
		e := newEnvConns(t, true, nil, nil, lim)
		ask := func(c net.Conn) int {
			t.Helper()
			_ = c.SetDeadline(time.Now().Add(safety))
			_, _ = io.WriteString(c, "GET http://"+e.plainUp+"/ HTTP/1.1\r\nHost: "+e.plainUp+"\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%+v: %v", lim, err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && (resp.Header.Get(proxy.ErrorHeader) != "true" || resp.Header.Get("Retry-After") == "") {
				t.Fatalf("%+v: 503 without the broker's headers: %v", lim, resp.Header)
			}
			return resp.StatusCode
		}
		a, b := dialProxy(t, e), dialProxy(t, e)
		if ask(a) != http.StatusProxyAuthRequired || ask(b) != http.StatusProxyAuthRequired {
			t.Fatalf("%+v: the first two connections were refused", lim)
		}
		if st := ask(dialProxy(t, e)); st != http.StatusServiceUnavailable {
			t.Fatalf("%+v: a third connection got %d, want 503", lim, st)
		}
		a.Close()
		freed := false
		for i := 0; i < 200 && !freed; i++ {
			c := dialProxy(t, e)
			freed = ask(c) == http.StatusProxyAuthRequired
			c.Close()
			time.Sleep(10 * time.Millisecond)
		}
		if !freed {
			t.Fatalf("%+v: closing a connection did not free its place", lim)
		}
	}
}

// An event stream that sends an event now and then lives far longer than
// every timeout: idle means that no byte moved either way.
func TestProxyLongEventStreamOutlivesIdleTimeouts(t *testing.T) {
	// The stream lasts longer than the timeouts, its gaps are far shorter
	// (wide margins: a starved test machine must not close it).
	const every, events = 20 * time.Millisecond, 125 // 2.5 s of stream
	lim := proxy.ConnLimits{IdleTimeout: 1500 * time.Millisecond, BodyTimeout: 1500 * time.Millisecond, StreamIdleTimeout: 1500 * time.Millisecond}
	e := newEnvConns(t, true, nil, nil, lim)
	e.setup(map[string]string{"API_KEY": "sk-stream"}, bearer("api", "api.test", "API_KEY"))
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < events; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(every)
		}
		fmt.Fprint(w, "data: done\n\n")
	}))
	tok := e.agent("bot", "proxy")
	for _, h2 := range []bool{false, true} {
		resp, err := e.client(tok, "default", h2).Get("https://" + e.upstream + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		body := read(t, resp)
		if got := strings.Count(body, "data: "); got != events+1 || !strings.HasSuffix(body, "data: done\n\n") {
			t.Fatalf("h2=%v: %d events, want %d and the end: %q", h2, got, events+1, body)
		}
	}
}

// A blind tunnel on which nothing moves is closed after StreamIdleTimeout.
func TestProxyClosesIdleBlindTunnel(t *testing.T) {
	e := newEnvConns(t, true, nil, nil, proxy.ConnLimits{StreamIdleTimeout: time.Second})
	e.setup(nil)
	tok := e.agent("bot", "proxy")
	c := dialProxy(t, e)
	target := "tunnel.test:" + strconv.Itoa(e.upPort)
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n", target, target, basicAuth(tok))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	closedByProxy(t, c, br, "an idle blind tunnel")
}

// A body announced over the limit is refused with 413 before it is sent,
// and the answer reaches a client that waits for it before sending the
// body (with Expect: 100-continue or without); the connection is closed
// after it, over both ingresses.
func TestProxyEarly413ReachesAWaitingClient(t *testing.T) {
	e := newEnv(t, true) // MaxRequestBytes: 1 MiB
	e.setup(map[string]string{"API_KEY": "sk-413"}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	for _, expect := range []string{"", "Expect: 100-continue\r\n"} {
		for _, small := range []bool{false, true} {
			c := dialProxy(t, e)
			_ = c.SetDeadline(time.Now().Add(safety))
			size := 2 << 20
			if small { // over the limit by little: net/http would try to drain it
				size = 1<<20 + 1
			}
			fmt.Fprintf(c, "PUT http://%s/big HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\nContent-Length: %d\r\n%s\r\n", e.plainUp, e.plainUp, basicAuth(tok), size, expect)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("expect=%q size=%d: no answer before the body: %v", expect, size, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close || resp.Header.Get(proxy.ErrorHeader) != "true" {
				t.Fatalf("expect=%q: %d close=%v, want 413 and Connection: close", expect, resp.StatusCode, resp.Close)
			}
			closedByProxy(t, c, br, "after the 413")
		}
	}
	// Inside an intercepted tunnel too.
	tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
	_ = tc.SetDeadline(time.Now().Add(safety))
	fmt.Fprintf(tc, "PUT /big HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", e.upstream, 1<<20+1)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Fatalf("in a tunnel: %v %v", resp, err)
	}
}

// A websocket whose upstream sends a message now and then outlives every
// timeout; once nothing moves either way, it is closed.
func TestProxyWebsocketOutlivesIdleTimeouts(t *testing.T) {
	const every, messages = 20 * time.Millisecond, 125 // 2.5 s of traffic, gaps far shorter than the timeouts
	lim := proxy.ConnLimits{IdleTimeout: 1500 * time.Millisecond, BodyTimeout: 1500 * time.Millisecond, StreamIdleTimeout: 1500 * time.Millisecond}
	e := newEnvConns(t, true, nil, nil, lim)
	e.setup(map[string]string{"API_KEY": "sk-ws"}, bearer("api", "api.test", "API_KEY"))
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		for i := 0; i < messages; i++ {
			msg := "m" + strconv.Itoa(i)
			_, _ = c.Write(append([]byte{0x81, byte(len(msg))}, msg...))
			time.Sleep(every)
		}
		_, _ = io.Copy(io.Discard, c) // then silence, until the proxy closes
	}))
	tok := e.agent("bot", "proxy")
	tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
	_ = tc.SetDeadline(time.Now().Add(safety))
	fmt.Fprintf(tc, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", e.upstream)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for i := 0; i < messages; i++ {
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatalf("message %d of %d: %v", i, messages, err)
		}
		msg := make([]byte, hdr[1])
		if _, err := io.ReadFull(br, msg); err != nil || string(msg) != "m"+strconv.Itoa(i) {
			t.Fatalf("message %d: %q %v", i, msg, err)
		}
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("a byte after the last message")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the silent websocket was still open after %v", safety)
	}
}

// Over HTTP/2 the 413 ends only its stream: the agent's other requests
// keep the connection.
func TestProxyEarly413OverHTTP2KeepsTheConnection(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": "sk-413"}, bearer("api", "api.test", "API_KEY"))
	c := e.client(e.agent("bot", "proxy"), "default", true)
	conns := 0
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			conns++
		}
	}}
	do := func(method string, body io.Reader, size int64) *http.Response {
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, "https://"+e.upstream+"/x", body)
		req.ContentLength = size
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		read(t, resp)
		return resp
	}
	if r := do("GET", nil, 0); r.StatusCode != 200 || r.ProtoMajor != 2 {
		t.Fatalf("GET: %d over HTTP/%d", r.StatusCode, r.ProtoMajor)
	}
	if r := do("PUT", strings.NewReader(strings.Repeat("x", 1<<20+1)), 1<<20+1); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT over the limit: %d", r.StatusCode)
	}
	if r := do("GET", nil, 0); r.StatusCode != 200 || conns != 1 {
		t.Fatalf("GET after the 413: %d, %d connections opened (want 1)", r.StatusCode, conns)
	}
}

// Inside an intercepted tunnel, a connection idle after its answers is
// closed after IdleTimeout too, whether its last request arrived whole or
// in pieces (the HTTP/1.1 lane sets the header deadline only for the
// latter).
func TestProxyClosesIdleInterceptedConnections(t *testing.T) {
	e := newEnvConns(t, true, nil, nil, proxy.ConnLimits{IdleTimeout: 300 * time.Millisecond, StreamIdleTimeout: time.Hour})
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	host := "api.test:" + itoa(e.upPort)
	get := "GET /x HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	for name, pieces := range map[string][]string{
		"whole":     {get},
		"in pieces": {get[:10], get[10:]},
	} {
		c, br := e.rawConnect(t, host, tok, "api.test")
		for i, p := range pieces {
			if i > 0 {
				time.Sleep(50 * time.Millisecond) // likely read alone; the assertions hold either way
			}
			if _, err := io.WriteString(c, p); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("%s: %d close=%v, want a kept-alive 200", name, resp.StatusCode, resp.Close)
		}
		closedByProxy(t, c, br, "idle after an answer, request sent "+name)
	}
}
