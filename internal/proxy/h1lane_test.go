package proxy_test

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/proxy"
)

// laneExchange sends raw on a fresh intercepted tunnel to the upstream and
// reads answers until the proxy closes the connection; it returns their
// status codes. methods are the requests' methods in
// order (a HEAD answer has no body).
func laneExchange(t *testing.T, e *env, tok, raw string, methods []string) []int {
	t.Helper()
	tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
	if _, err := io.WriteString(tc, raw); err != nil {
		t.Fatal(err)
	}
	var codes []int
	for i := 0; ; i++ {
		_ = tc.SetReadDeadline(time.Now().Add(20 * time.Second))
		var req *http.Request
		if i < len(methods) {
			req = &http.Request{Method: methods[i]}
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return codes
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
}

// TestLaneHandsOverWhatItDoesNotKeep: the HTTP/1.1 lane answers simple
// GETs and HEADs itself and hands everything else, unchanged, to net/http's
// server. So each sequence of requests below, sent after a GET (which the
// lane serves), must be answered exactly as when it is sent after a POST
// (which makes net/http serve the whole connection): the same answers and
// the same requests upstream. Smuggling attempts in particular meet
// net/http's rules in both cases and never reach the upstream.
func TestLaneHandsOverWhatItDoesNotKeep(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	var (
		mu          sync.Mutex
		upstreamSaw []string
	)
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstreamSaw = append(upstreamSaw, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok "+r.URL.Path)
	}))
	host := "Host: " + e.upstream + "\r\n"
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\n" + host + "\r\n" }
	smuggled := get("/smuggled")
	cases := []struct {
		name    string
		raw     string
		methods []string
	}{
		{"two GETs and a HEAD", get("/a") + "HEAD /b HTTP/1.1\r\n" + host + "\r\n" + get("/c"), []string{"GET", "HEAD", "GET"}},
		{"CL.TE", "GET /x HTTP/1.1\r\n" + host + "Content-Length: " + strconv.Itoa(5+len(smuggled)) + "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, nil},
		{"TE.CL", "GET /x HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n" + smuggled, nil},
		{"GET with a body", "GET /x HTTP/1.1\r\n" + host + "Content-Length: " + strconv.Itoa(len(smuggled)) + "\r\n\r\n" + smuggled + get("/after"), nil},
		{"GET with Content-Length 0", "GET /x HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n" + get("/after"), nil},
		{"obfuscated Transfer-Encoding", "GET /x HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled, nil},
		{"bare LF line ends", "GET /lf HTTP/1.1\n" + "Host: " + e.upstream + "\n\n" + get("/after"), nil},
		{"bare LF before the empty line", "GET /lf HTTP/1.1\r\nHost: " + e.upstream + "\n\r\n" + get("/after"), nil},
		{"obs-fold", "GET /fold HTTP/1.1\r\n" + host + "X-A: 1\r\n 2\r\n\r\n" + get("/after"), nil},
		{"two Host headers", "GET /x HTTP/1.1\r\n" + host + "Host: other.test\r\n\r\n" + get("/after"), nil},
		{"no Host header", "GET /x HTTP/1.1\r\n\r\n" + get("/after"), nil},
		{"absolute form", "GET https://" + e.upstream + "/abs HTTP/1.1\r\n" + host + "\r\n" + get("/after"), nil},
		{"HTTP/1.0", "GET /old HTTP/1.0\r\n" + host + "\r\n" + get("/after"), nil},
		{"Connection: close", "GET /x HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n" + get("/after"), nil},
		{"Expect", "GET /x HTTP/1.1\r\n" + host + "Expect: 100-continue\r\n\r\n" + get("/after"), nil},
		{"Upgrade", "GET /x HTTP/1.1\r\n" + host + "Upgrade: h2c\r\nConnection: Upgrade\r\n\r\n" + get("/after"), nil},
		{"control byte in a value", "GET /x HTTP/1.1\r\n" + host + "X-A: a\x01b\r\n\r\n" + get("/after"), nil},
		{"space before the colon", "GET /x HTTP/1.1\r\n" + host + "X-A : b\r\n\r\n" + get("/after"), nil},
		{"header longer than the lane's buffer", "GET /long HTTP/1.1\r\n" + host + "X-Long: " + strings.Repeat("a", 9000) + "\r\n\r\n" + get("/after"), nil},
		{"garbage", "\x16\x03\x01 not http\r\n\r\n", nil},
		{"POST then GET", "POST /p HTTP/1.1\r\n" + host + "Content-Length: 2\r\n\r\nhi" + get("/after"), nil},
		{"wrong Host", "GET /x HTTP/1.1\r\nHost: other.test\r\n\r\n" + get("/after"), nil},
	}
	// Every sequence ends with a request that closes the connection, so
	// the answers are read to the end of the stream.
	last := "GET /last HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"
	first := map[bool]string{
		true:  get("/first"), // served by the lane
		false: "POST /first HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var codes [2][]int
			var saw [2][]string
			for i, lane := range []bool{true, false} {
				mu.Lock()
				upstreamSaw = nil
				mu.Unlock()
				methods := append([]string{"GET"}, tc.methods...)
				before := proxy.LaneRequests(e.proxy)
				got := laneExchange(t, e, tok, first[lane]+tc.raw+last, append(methods, "GET"))
				if served := proxy.LaneRequests(e.proxy) - before; lane != (served > 0) {
					t.Fatalf("lane %v: the lane served %d requests", lane, served)
				}
				if len(got) == 0 || got[0] != http.StatusOK {
					t.Fatalf("first request (lane %v): answers %v", lane, got)
				}
				codes[i] = got[1:]
				mu.Lock()
				sawNow := append([]string(nil), upstreamSaw...)
				mu.Unlock()
				if len(sawNow) > 0 {
					saw[i] = sawNow[1:]
				}
				for _, s := range sawNow {
					if strings.Contains(s, "/smuggled") {
						t.Fatalf("lane %v: a smuggled request reached the upstream: %q", lane, sawNow)
					}
				}
			}
			if strings.Join(intsToStrings(codes[0]), ",") != strings.Join(intsToStrings(codes[1]), ",") {
				t.Fatalf("answers differ: after a lane request %v, after net/http %v", codes[0], codes[1])
			}
			if strings.Join(saw[0], ",") != strings.Join(saw[1], ",") {
				t.Fatalf("upstream saw %q after a lane request, %q after net/http", saw[0], saw[1])
			}
		})
	}
}

func intsToStrings(ns []int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// TestLaneFramesAnswers: answers the lane writes reach an HTTP/1.1 agent
// whole and correctly framed: declared lengths, unknown lengths (chunked,
// with trailers), HEAD, 204 and 304 without a body, informational answers
// first, redaction on, and a stream whose first event arrives before the
// upstream has finished. Each runs on one kept-alive connection, which
// must still serve the next request.
func TestLaneFramesAnswers(t *testing.T) {
	e := newEnv(t, true)
	svc := bearer("api", "api.test", "API_KEY")
	on := true
	svc.RedactResponses = &on
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	tok := e.agent("bot", "proxy")
	release := make(chan struct{})
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", "5")
			_, _ = io.WriteString(w, "hello")
		case "/unknown":
			w.Header().Set("Trailer", "X-Sum")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "part one, ")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "part two")
			w.Header().Set("X-Sum", "42")
		case "/big":
			_, _ = io.WriteString(w, big)
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/notmodified":
			w.Header().Set("Etag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
		case "/hints":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = io.WriteString(w, "after hints")
		case "/echo":
			_, _ = io.WriteString(w, "you sent "+r.Header.Get("Authorization"))
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-release
			_, _ = io.WriteString(w, "data: last\n\n")
		default:
			http.NotFound(w, r)
		}
	}))
	tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
	ask := func(method, path string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(tc, method+" "+path+" HTTP/1.1\r\nHost: "+e.upstream+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp
	}
	body := func(resp *http.Response) string {
		t.Helper()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// Redaction may change a body's length, so the answer is chunked.
	if r := ask("GET", "/length"); body(r) != "hello" {
		t.Fatal("a short body changed on the way")
	}
	r := ask("GET", "/unknown")
	if r.ContentLength != -1 || len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" {
		t.Fatalf("unknown length: Content-Length %d, Transfer-Encoding %q", r.ContentLength, r.TransferEncoding)
	}
	if b := body(r); b != "part one, part two" || r.Trailer.Get("X-Sum") != "42" {
		t.Fatalf("chunked body %q, trailer %q", b, r.Trailer)
	}
	if r := ask("GET", "/big"); body(r) != big {
		t.Fatal("1 MiB body changed on the way")
	}
	if r := ask("HEAD", "/length"); r.StatusCode != http.StatusOK || body(r) != "" {
		t.Fatalf("HEAD: %d", r.StatusCode)
	}
	if r := ask("GET", "/nocontent"); r.StatusCode != http.StatusNoContent || body(r) != "" || r.Header.Get("Content-Length") != "" {
		t.Fatalf("204: %d %q", r.StatusCode, r.Header)
	}
	if r := ask("GET", "/notmodified"); r.StatusCode != http.StatusNotModified || body(r) != "" || r.Header.Get("Etag") != `"v1"` {
		t.Fatalf("304: %d %q", r.StatusCode, r.Header)
	}
	// An informational answer arrives first, then the final one.
	if _, err := io.WriteString(tc, "GET /hints HTTP/1.1\r\nHost: "+e.upstream+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	hints, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil || hints.StatusCode != http.StatusEarlyHints || hints.Header.Get("Link") == "" {
		t.Fatalf("early hints: %v %v", hints, err)
	}
	final, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil || final.StatusCode != http.StatusOK || body(final) != "after hints" {
		t.Fatalf("after early hints: %v %v", final, err)
	}
	if b := body(ask("GET", "/echo")); strings.Contains(b, secretValue) || !strings.HasPrefix(b, "you sent ") {
		t.Fatalf("redaction through the lane: %q", b)
	}
	// A stream: the first event is readable while the upstream still holds
	// the rest back.
	s := ask("GET", "/stream")
	line, err := bufio.NewReader(s.Body).ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	close(release)
	_, _ = io.Copy(io.Discard, s.Body)
	if r := ask("GET", "/length"); body(r) != "hello" {
		t.Fatal("the connection no longer serves requests")
	}
}

// TestLaneClosesAnAnswerCutShort: when an upstream drops its connection
// in the middle of a body that is already streaming to the agent (of
// declared or of unknown length), the agent cannot take the part for the
// whole: it reads an error, and the proxy closes that connection. The
// next tunnel works. (With response redaction on, a small body is read
// before the answer starts and the agent gets a 502 instead.)
func TestLaneClosesAnAnswerCutShort(t *testing.T) {
	e := newEnv(t, true)
	svc := bearer("api", "api.test", "API_KEY")
	off := false
	svc.RedactResponses = &off
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	tok := e.agent("bot", "proxy")
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/declared":
			w.Header().Set("Content-Length", "100")
		case "/unknown":
		default:
			_, _ = io.WriteString(w, "fine")
			return
		}
		_, _ = io.WriteString(w, "only ten b")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the upstream drops the connection
	}))
	for _, path := range []string{"/declared", "/unknown"} {
		t.Run(path, func(t *testing.T) {
			tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
			_, _ = io.WriteString(tc, "GET "+path+" HTTP/1.1\r\nHost: "+e.upstream+"\r\n\r\n")
			_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
			// The answer may break off in its header (still buffered when
			// the upstream failed) or in its body: either is an error.
			resp, err := http.ReadResponse(br, nil)
			var b []byte
			if err == nil {
				b, err = io.ReadAll(resp.Body)
			}
			if err == nil || isTimeout(err) {
				t.Fatalf("a body cut short read as %q, %v", b, err)
			}
			if n, err := br.Read(make([]byte, 1)); err == nil || n > 0 || isTimeout(err) {
				t.Fatalf("the connection stayed open after an answer cut short (read %d, %v)", n, err)
			}
		})
	}
	got, err := e.client(tok, "default", false).Get("https://" + e.upstream + "/ok")
	if err != nil || read(t, got) != "fine" {
		t.Fatalf("next tunnel: %v", err)
	}
}

// TestLaneConnectionsEndWithTheProxy: closing the proxy ends connections
// the lane is serving, idle or not.
func TestLaneConnectionsEndWithTheProxy(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "fine") }))
	tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
	_, _ = io.WriteString(tc, "GET /a HTTP/1.1\r\nHost: "+e.upstream+"\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || read(t, resp) != "fine" {
		t.Fatalf("first request: %v", err)
	}
	e.proxy.Close()
	_ = tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("the idle lane connection is still open after Close: %v", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(interface{ Timeout() bool })
	return ok && ne.Timeout()
}

// TestLaneGivesHTTP2ToTheInnerServer: an agent that negotiates HTTP/2 in
// the tunnel is served by net/http's HTTP/2 server.
func TestLaneGivesHTTP2ToTheInnerServer(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "fine") }))
	resp, err := e.client(tok, "default", true).Get("https://" + e.upstream + "/x")
	if err != nil {
		t.Fatal(err)
	}
	if b := read(t, resp); resp.ProtoMajor != 2 || b != "fine" {
		t.Fatalf("HTTP/%d answer %q", resp.ProtoMajor, b)
	}
}

// heldRecorder is a Recorder whose Record waits until release is closed.
type heldRecorder struct {
	entered chan struct{} // gets a value each time Record starts waiting
	release chan struct{}
}

func (h heldRecorder) Record(model.RequestLog) {
	h.entered <- struct{}{}
	<-h.release
}

// TestLaneAnswersBeforeItsBookkeeping: the lane sends the whole answer —
// the last chunk of a redacted (chunked) body, the last byte of one of
// declared length — before the request's bookkeeping. Here the request
// log holds the handler until the agent has read its whole answer; with
// the bookkeeping before the answer's end, the agent's read would wait
// for it and time out.
func TestLaneAnswersBeforeItsBookkeeping(t *testing.T) {
	rec := heldRecorder{entered: make(chan struct{}, 4), release: make(chan struct{})}
	e := newRecEnv(t, true, rec)
	redacted := bearer("api", "api.test", "API_KEY")
	on := true
	redacted.RedactResponses = &on
	e.setup(map[string]string{"API_KEY": secretValue}, redacted)
	tok := e.agent("bot", "proxy")
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "hello")
	}))
	tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
	t.Cleanup(func() { close(rec.release) })
	if _, err := io.WriteString(tc, "GET /a HTTP/1.1\r\nHost: "+e.upstream+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("no answer while the request log waits: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "hello" {
		t.Fatalf("answer %q, %v (Transfer-Encoding %q)", b, err, resp.TransferEncoding)
	}
	select {
	case <-rec.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request was never recorded")
	}
}
