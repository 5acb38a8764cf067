package proxy_test

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// forbiddenUpstream are request headers an agent sends that must never
// reach an upstream: its own token, broker and hop-by-hop headers.
var forbiddenUpstream = []string{"Proxy-Authorization", "X-Vault", "Proxy-Connection", "Proxy-Foo", "X-Agent-Vault-Token", "Keep-Alive", "X-Hop-Secret", "Te"}

// forbiddenAgent are response headers an upstream sends that must never
// reach the agent: forged broker errors and cookies.
var forbiddenAgent = []string{"X-Agent-Vault-Proxy-Error", "X-Agent-Vault-Forged", "Set-Cookie"}

// recordingUpstream answers as a hostile upstream: it forges broker
// headers, sets a cookie and a broker-named trailer, and completes
// websocket handshakes.
func recordingUpstream(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
			"X-Agent-Vault-Proxy-Error: true\r\nX-Agent-Vault-Forged: 1\r\nSet-Cookie: sid=upstream\r\n\r\n")
		_ = brw.Flush()
		return
	}
	h := w.Header()
	h.Set("Trailer", "X-Agent-Vault-Trailer")
	h.Set("X-Agent-Vault-Proxy-Error", "true")
	h.Set("X-Agent-Vault-Forged", "1")
	h.Set("Set-Cookie", "sid=upstream")
	h.Set("X-Upstream-Ok", "1")
	_, _ = io.WriteString(w, "upstream body")
	h.Set("X-Agent-Vault-Trailer", "forged")
	// Trailers nobody announced: the transports pass them on too.
	h.Set(http.TrailerPrefix+"X-Agent-Vault-Forged", "late")
	h.Set(http.TrailerPrefix+"Set-Cookie", "sid=late")
}

// TestBrokerHeadersStrippedFromUndeclaredTrailers: trailers an upstream
// sends without announcing them (no Trailer header) are stripped as
// announced ones are, on every upstream leg.
func TestBrokerHeadersStrippedFromUndeclaredTrailers(t *testing.T) {
	e := newEnv(t, true)
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "body")
		w.(http.Flusher).Flush() // chunked: room for trailers
		w.Header().Set(http.TrailerPrefix+"X-Agent-Vault-Proxy-Error", "true")
		w.Header().Set(http.TrailerPrefix+"Set-Cookie", "sid=late")
		w.Header().Set(http.TrailerPrefix+"X-Upstream-Sum", "42")
	}))
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	for _, h2 := range []bool{false, true} {
		for _, method := range []string{"GET", "POST"} {
			req, _ := http.NewRequest(method, "https://"+e.upstream+"/x", strings.NewReader("x"))
			if method == "GET" {
				req.Body, req.ContentLength = nil, 0
			}
			resp, err := e.client(tok, "default", h2).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if body := read(t, resp); body != "body" {
				t.Fatalf("HTTP/2 %v %s: %q", h2, method, body)
			}
			checkAgentHeaders(t, resp.Trailer, "undeclared trailer")
			if resp.Trailer.Get("X-Upstream-Sum") != "42" {
				t.Errorf("HTTP/2 %v %s: the upstream's own trailer was lost: %v", h2, method, resp.Trailer)
			}
		}
	}
}

// TestBrokerHeadersStrippedFromInformationalAnswers: an informational
// answer (103 Early Hints) reaches the agent without forged broker
// headers or cookies, over HTTP/1.1 and HTTP/2, and credential values in
// it are redacted.
func TestBrokerHeadersStrippedFromInformationalAnswers(t *testing.T) {
	e := newEnv(t, true)
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Agent-Vault-Proxy-Error", "true")
		w.Header().Set("Set-Cookie", "sid=early")
		w.Header().Set("Link", "</x>; rel=preload; "+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("X-Agent-Vault-Proxy-Error")
		w.Header().Del("Set-Cookie")
		_, _ = io.WriteString(w, "ok")
	}))
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	for _, h2 := range []bool{false, true} {
		var got []http.Header
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			got = append(got, http.Header(h).Clone())
			return nil
		}}
		req, _ := http.NewRequest("GET", "https://"+e.upstream+"/x", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := e.client(tok, "default", h2).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := read(t, resp); body != "ok" {
			t.Fatalf("HTTP/2 %v: %q", h2, body)
		}
		if len(got) != 1 {
			t.Fatalf("HTTP/2 %v: %d informational answers, want 1", h2, len(got))
		}
		checkAgentHeaders(t, got[0], "103 header")
		if l := got[0].Get("Link"); strings.Contains(l, secretValue) || !strings.Contains(l, "rel=preload") {
			t.Errorf("HTTP/2 %v: 103 Link %q", h2, l)
		}
	}
}

// TestBrokerHeadersStrippedOnEveryPath is one table over every way a
// request reaches an upstream: intercepted HTTP/1.1 and HTTP/2,
// absolute-form http:// and https://, and websocket upgrades on each
// HTTP/1.1 path, through the plain reverse proxy and through the
// frame-rewriting websocket path. A real upstream records what it got.
func TestBrokerHeadersStrippedOnEveryPath(t *testing.T) {
	e := newEnv(t, true)
	e.handler.Store(http.HandlerFunc(recordingUpstream))
	wsSub := []apitype.Substitution{{Key: "API_KEY", Placeholder: "__WS_KEY__", In: []string{"websocket"}}}
	plainPort := itoa(e.plainPort)
	e.setup(map[string]string{"API_KEY": secretValue},
		bearer("api", "api.test", "API_KEY"),
		apitype.Service{Name: "ws-subst", Host: "other.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}, Substitutions: wsSub},
		apitype.Service{Name: "plain", Host: "plain.test:" + plainPort, Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}, AllowPlaintext: true},
		apitype.Service{Name: "plain-ws-subst", Host: "off.test:" + plainPort, Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}, Substitutions: wsSub, AllowPlaintext: true},
	)
	tok := e.agent("bot", "proxy")
	upPort := itoa(e.upPort)
	cases := []struct {
		name      string
		ingress   string // tunnel, absolute
		scheme    string
		host      string // host:port
		websocket bool
		userinfo  bool // the absolute URL carries the agent's token as userinfo
	}{
		{"intercepted HTTP/1.1", "tunnel", "https", "api.test:" + upPort, false, false},
		{"intercepted websocket", "tunnel", "https", "api.test:" + upPort, true, false},
		{"intercepted websocket with substitutions", "tunnel", "https", "other.test:" + upPort, true, false},
		{"absolute https", "absolute", "https", "api.test:" + upPort, false, false},
		{"absolute https websocket", "absolute", "https", "api.test:" + upPort, true, false},
		{"absolute https websocket with substitutions", "absolute", "https", "other.test:" + upPort, true, false},
		{"absolute http", "absolute", "http", "plain.test:" + plainPort, false, false},
		{"absolute http websocket", "absolute", "http", "plain.test:" + plainPort, true, false},
		{"absolute http websocket with substitutions", "absolute", "http", "off.test:" + plainPort, true, false},
		{"absolute http, token in the URL, unmatched host", "absolute", "http", "tunnel.test:" + plainPort, false, true},
		{"absolute http websocket, token in the URL, unmatched host", "absolute", "http", "tunnel.test:" + plainPort, true, true},
		{"absolute https, token in the URL, unmatched host", "absolute", "https", "tunnel.test:" + upPort, false, true},
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(tok+":default"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var conn io.ReadWriter
			var br *bufio.Reader
			target := "/x"
			if tc.ingress == "tunnel" {
				tc2, br2 := e.rawConnect(t, tc.host, tok, strings.Split(tc.host, ":")[0])
				conn, br = tc2, br2
			} else {
				c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				conn, br = c, bufio.NewReader(c)
				target = tc.scheme + "://" + tc.host + "/x"
				if tc.userinfo {
					target = tc.scheme + "://" + tok + ":default@" + tc.host + "/x"
				}
			}
			connection := "close, X-Hop-Secret"
			ws := ""
			if tc.websocket {
				connection = "Upgrade, X-Hop-Secret"
				ws = "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
			}
			req := "GET " + target + " HTTP/1.1\r\nHost: " + tc.host + "\r\nProxy-Authorization: " + auth + "\r\nX-Vault: default\r\n" +
				"Proxy-Connection: keep-alive\r\nProxy-Foo: 1\r\nX-Agent-Vault-Token: " + tok + "\r\nKeep-Alive: timeout=5\r\n" +
				"Connection: " + connection + "\r\nX-Hop-Secret: 1\r\nTE: gzip\r\nX-Keep: yes\r\n" + ws + "\r\n"
			before := len(e.seen.reqs)
			if _, err := io.WriteString(conn, req); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := http.StatusOK
			if tc.websocket {
				want = http.StatusSwitchingProtocols
			} else {
				_, _ = io.ReadAll(resp.Body) // trailers arrive with the end of the body
			}
			resp.Body.Close()
			if resp.StatusCode != want || len(e.seen.reqs) == before {
				t.Fatalf("status %d (want %d), upstream reached: %v", resp.StatusCode, want, len(e.seen.reqs) > before)
			}
			got := e.seen.last()
			checkUpstreamHeaders(t, got.Header, !tc.userinfo)
			if tc.websocket && (!strings.EqualFold(got.Header.Get("Upgrade"), "websocket") || got.Header.Get("Sec-WebSocket-Key") == "") {
				t.Errorf("the websocket handshake lost its headers: %v", got.Header)
			}
			checkAgentHeaders(t, resp.Header, "header")
			checkAgentHeaders(t, resp.Trailer, "trailer")
		})
	}
	// HTTP/2 has no hop-by-hop headers; the broker ones still go. A GET
	// takes the HTTP/1.1 upstream leg, a POST the HTTP/2 one.
	for method, upstreamMajor := range map[string]int{"GET": 1, "POST": 2} {
		t.Run("intercepted HTTP/2 "+method, func(t *testing.T) {
			c := e.client(tok, "default", true)
			var body io.Reader
			if method == "POST" {
				body = strings.NewReader("payload")
			}
			req, _ := http.NewRequest(method, "https://api.test:"+upPort+"/x", body)
			for _, h := range []string{"Proxy-Authorization", "X-Vault", "Proxy-Foo", "X-Agent-Vault-Token"} {
				req.Header.Set(h, auth)
			}
			req.Header.Set("X-Keep", "yes")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
				t.Fatalf("%s %d", resp.Proto, resp.StatusCode)
			}
			got := e.seen.last()
			if got.ProtoMajor != upstreamMajor {
				t.Errorf("upstream leg spoke HTTP/%d, want %d", got.ProtoMajor, upstreamMajor)
			}
			checkUpstreamHeaders(t, got.Header, true)
			checkAgentHeaders(t, resp.Header, "header")
			checkAgentHeaders(t, resp.Trailer, "trailer")
		})
	}
}

// checkUpstreamHeaders: nothing forbidden and no trace of the agent's
// token arrived; ordinary headers did, and the credential when injected.
func checkUpstreamHeaders(t *testing.T, h http.Header, injected bool) {
	t.Helper()
	for _, name := range forbiddenUpstream {
		if v := h.Values(name); len(v) > 0 {
			t.Errorf("upstream received %s: %q", name, v)
		}
	}
	for name, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, "Basic ") || strings.Contains(v, "av_agt_") {
				t.Errorf("upstream received the agent's proxy credentials in %s", name)
			}
		}
	}
	want := ""
	if injected {
		want = "Bearer " + secretValue
	}
	if h.Get("X-Keep") != "yes" || h.Get("Authorization") != want {
		t.Errorf("upstream lost ordinary headers or the injected credential: X-Keep %q, Authorization set %v", h.Get("X-Keep"), h.Get("Authorization") != "")
	}
}

func checkAgentHeaders(t *testing.T, h http.Header, what string) {
	t.Helper()
	for _, name := range append(forbiddenAgent, "X-Agent-Vault-Trailer") {
		if v := h.Values(name); len(v) > 0 {
			t.Errorf("agent received upstream %s %s: %q", what, name, v)
		}
	}
}
